"""TimeSynchronizer on a fake clock."""

from __future__ import annotations

import pytest

from connector.core.time_synchronizer import TimeSynchronizer


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_without_samples_the_local_clock_is_used_and_a_sync_is_due() -> None:
    sync = TimeSynchronizer(clock=FakeClock(1000.0))
    assert sync.offset_ms == 0.0
    assert sync.time_ms() == 1_000_000
    assert sync.resync_due()


def test_sample_uses_the_midpoint_of_the_round_trip() -> None:
    clock = FakeClock(1000.2)
    sync = TimeSynchronizer(clock=clock)
    # Sent at 1000.0, answered at 1000.2: the server read its clock at ~1000.1 local.
    sync.add_sample(1000.0, 1_000_350, 1000.2)
    assert sync.offset_ms == pytest.approx(250.0)
    assert sync.time_ms() == 1_000_450
    assert sync.time() == pytest.approx(1000.45)
    assert sync.last_round_trip_s == pytest.approx(0.2)


def test_offset_is_the_median_of_the_last_samples() -> None:
    sync = TimeSynchronizer(clock=FakeClock(0.0), max_samples=3)
    for offset in (100, 5000, 110, 120):  # one outlier, then it ages out
        sync.add_sample(10.0, 10_000 + offset, 10.0)
    assert sync.samples_ms == (5000.0, 110.0, 120.0)
    assert sync.offset_ms == 120.0
    sync.add_sample(10.0, 10_130, 10.0)
    assert sync.offset_ms == 120.0


def test_resync_is_due_after_the_interval() -> None:
    clock = FakeClock(100.0)
    sync = TimeSynchronizer(clock=clock, resync_interval_s=60.0)
    sync.add_sample(99.0, 99_500, 100.0)
    assert not sync.resync_due()
    clock.now = 159.9
    assert not sync.resync_due()
    assert sync.resync_due(now=160.0)


def test_invalidate_drops_the_samples_so_a_clock_jump_is_not_outvoted() -> None:
    clock = FakeClock(10.0)
    sync = TimeSynchronizer(clock=clock)
    for _ in range(4):
        sync.add_sample(10.0, 10_000, 10.0)
    sync.invalidate()  # e.g. the exchange answered -1021
    assert sync.resync_due()
    assert not sync.has_samples
    sync.add_sample(10.0, 12_000, 10.0)  # the local clock fell 2 s behind
    assert sync.offset_ms == 2000.0
    assert not sync.resync_due()


def test_bad_input_is_refused() -> None:
    sync = TimeSynchronizer(clock=FakeClock(0.0))
    with pytest.raises(ValueError):
        sync.add_sample(2.0, 0, 1.0)
    with pytest.raises(ValueError):
        TimeSynchronizer(max_samples=0)
