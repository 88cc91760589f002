"""The exchange's sense of time: wall time (optionally skewed) or a virtual clock.

Everything time-dependent in the server (exchange timestamps, recvWindow checks, rate-limit
windows, keepalive pings, listenKey expiry, depth batching) reads ``now_us()`` and waits
with ``sleep()``, so a virtual clock makes a 24-hour disconnect or a 60-minute expiry take
milliseconds, and runs reproducible.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now_us(self) -> int:
        """Exchange time, microseconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class WallClock:
    """Real time plus an adjustable skew (to simulate a client whose clock drifts)."""

    def __init__(self, skew_us: int = 0) -> None:
        self.skew_us = skew_us

    def now_us(self) -> int:
        return time.time_ns() // 1000 + self.skew_us

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def call_later(clock: Clock, seconds: float, fn: Callable[[], None], tasks: set[asyncio.Task[None]]) -> None:
    """Run ``fn`` after ``seconds`` of ``clock`` time. The task waits in ``tasks`` until it is
    done, so its owner can cancel what is still pending when it stops."""

    async def run() -> None:
        await clock.sleep(seconds)
        fn()

    task = asyncio.ensure_future(run())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


#: Event-loop turns ``settle`` allows for one instant before it gives up waiting for quiet
#: (something that never stops at a fixed virtual time must not hang the caller).
SETTLE_MAX_TURNS = 20_000


async def settle(max_turns: int = SETTLE_MAX_TURNS) -> None:
    """Let everything that can happen at this instant happen: run the event loop until
    nothing is ready to run, no timer is due and no socket has data (or room) waiting.

    A client and server in one process talk over loopback, where a write is readable on
    the other side at once, so an idle loop means every request, answer and message in
    flight has been handled. This reads CPython's event-loop internals; on another loop
    it falls back to a millisecond of real time.
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    scheduled = getattr(loop, "_scheduled", None)
    selector = getattr(loop, "_selector", None)
    if ready is None or scheduled is None or selector is None:  # not CPython's loop
        await asyncio.sleep(0.001)
        return
    quiet = 0
    for _ in range(max_turns):
        await asyncio.sleep(0)
        busy = (
            bool(ready) or bool(scheduled and scheduled[0].when() <= loop.time()) or bool(selector.select(0))
        )
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return


class VirtualClock:
    """Time that moves only when told to. ``sleep`` returns once ``advance`` reaches it.

    Sleepers wake in deadline order (ties in the order they started sleeping), and each
    gets a chance to run, I/O included (see ``settle``), before time moves past the next
    deadline, so timer-driven code behaves as it would in real time, only faster.
    """

    def __init__(self, start_us: int = 1_700_000_000_000_000) -> None:
        self._now = start_us
        self._seq = itertools.count()
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self.skew_us = 0

    def now_us(self) -> int:
        return self._now + self.skew_us

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Round up, and never to zero: a caller that loops "sleep until the deadline"
        # with sub-microsecond remainders must still see time move, or it spins forever.
        deadline = self._now + max(1, math.ceil(seconds * 1_000_000 - 1e-3))
        heapq.heappush(self._sleepers, (deadline, next(self._seq), fut))
        await fut

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking every sleeper whose deadline passes."""
        target = self._now + int(seconds * 1_000_000)
        await settle()  # let tasks that are about to sleep register their deadlines first
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not fut.done():
                fut.set_result(None)
            # Let the woken task, whatever it wakes and any I/O it starts (a request over
            # loopback and its answer) run at this instant, before time moves on.
            await settle()
        self._now = target

    def next_deadline_us(self) -> int | None:
        """When the earliest sleeper wakes (skew excluded), or None if nobody sleeps."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleepers
        return self._sleepers[0][0] if self._sleepers else None

    @property
    def pending_sleepers(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())
