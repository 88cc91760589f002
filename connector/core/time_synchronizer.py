"""``TimeSynchronizer``: the offset between the local clock and the exchange's.

Signed requests carry a ``timestamp`` that Binance rejects (``-1021``) if it is more than 1 s
ahead of the server or older than ``recvWindow``. A sample is one ``GET /api/v3/time``:
``(local_before, server_time_ms, local_after)``. The server read its clock somewhere inside
the round trip; the midpoint is the best single guess, off by at most half the round trip.

The offset is the **median** of the last few samples: one slow round trip (a GC pause, a
congested link) moves a mean but not a median. After ``invalidate()`` (call it on ``-1021``)
the old samples are dropped, not merged: they describe a clock relationship that no longer
holds (the local clock jumped), and a median would outvote the first new sample.

A clock step too small for ``-1021`` (the exchange's clock 900 ms behind ours is still
accepted) would be outvoted the same way, for as long as old samples outnumber new ones,
while Binance counts orders and weight in fixed windows on *its* clock. So each sample is
also kept as the interval it proves: the true offset lies within half the round trip of
the midpoint. A new sample whose interval is disjoint from every kept one (beyond
``STEP_TOLERANCE_MS`` of noise) cannot be a slow round trip: the clocks stepped, and the
old samples are dropped as if invalidated.

Local times are seconds from the injected ``clock`` (``time.time`` by default, which is what
makes ``time_ms()`` an epoch timestamp); the server time and the offset are milliseconds.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable

#: Server clocks are read in whole milliseconds, and Binance's servers need not agree to the
#: millisecond: a disagreement smaller than this is noise, not a clock step.
STEP_TOLERANCE_MS = 10.0


class TimeSynchronizer:
    """Server-time offset from round-trip samples. Pure arithmetic: it never does I/O."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        max_samples: int = 5,
        resync_interval_s: float = 600.0,
    ) -> None:
        if max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, got {max_samples}")
        self._clock = clock
        #: The kept samples as (offset, half the round trip), in ms: the true offset lies
        #: within the half round trip of the sample's offset.
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self.steps_detected = 0
        self._resync_interval_s = resync_interval_s
        self._last_sample_at: float | None = None
        self._last_offset_ms = 0.0  # what offset_ms says while there are no samples
        self.last_round_trip_s: float | None = None

    @property
    def has_samples(self) -> bool:
        return bool(self._samples)

    @property
    def samples_ms(self) -> tuple[float, ...]:
        """The kept offsets (server minus local, ms), oldest first."""
        return tuple(offset for offset, _ in self._samples)

    @property
    def offset_ms(self) -> float:
        """Median offset (server minus local) in ms; 0 before the first sample. Between
        ``invalidate()`` and the next sample, the last estimate: it is stale, but it is
        nearer than 0 (the rate limiter runs on ``time()`` meanwhile)."""
        if not self._samples:
            return self._last_offset_ms
        return float(
            statistics.median(offset for offset, _ in self._samples)
        )  # float ok: milliseconds of clock offset

    def add_sample(self, local_before: float, server_time_ms: float, local_after: float) -> None:
        """Record one round trip: local clock before sending and after receiving (seconds),
        and the server's time from the response (ms)."""
        if local_after < local_before:
            raise ValueError(f"local_after ({local_after}) is before local_before ({local_before})")
        midpoint_ms = (local_before + local_after) / 2 * 1000
        offset = server_time_ms - midpoint_ms
        half_width = (local_after - local_before) / 2 * 1000
        if self._samples and all(
            abs(offset - kept) > half_width + kept_half + STEP_TOLERANCE_MS
            for kept, kept_half in self._samples
        ):
            self.steps_detected += 1
            self.invalidate()  # no kept sample is compatible: the clocks stepped
        self._samples.append((offset, half_width))
        self._last_sample_at = local_after
        self.last_round_trip_s = local_after - local_before

    def time(self) -> float:
        """Estimated server time in seconds."""
        return self._clock() + self.offset_ms / 1000

    def time_ms(self) -> int:
        """Estimated server time in integer milliseconds: the ``timestamp`` to sign."""
        return round(self._clock() * 1000 + self.offset_ms)

    def invalidate(self) -> None:
        """Forget the samples and ask for a resync (e.g. after a ``-1021`` rejection)."""
        self._last_offset_ms = self.offset_ms
        self._samples.clear()

    def resync_due(self, now: float | None = None) -> bool:
        """True with no samples, after ``invalidate()``, or ``resync_interval_s`` after the
        last sample (clocks drift)."""
        last = self._last_sample_at
        if last is None or not self._samples:  # ``invalidate()`` drops the samples
            return True
        current = self._clock() if now is None else now
        return current - last >= self._resync_interval_s
