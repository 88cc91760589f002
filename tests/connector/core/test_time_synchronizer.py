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
    """A slow round trip (sent at 10 s, answered at 20 s, the server having answered at
    once) gives a far-off midpoint; its wide interval still fits the others, so it is an
    outlier for the median to ignore, not a clock step."""
    sync = TimeSynchronizer(clock=FakeClock(0.0), max_samples=3)
    sync.add_sample(10.0, 10_100, 10.0)
    sync.add_sample(10.0, 10_100, 20.0)  # offset -4900 +- 5000
    sync.add_sample(30.0, 30_110, 30.0)
    sync.add_sample(40.0, 40_120, 40.0)
    assert sync.samples_ms == (-4900.0, 110.0, 120.0)
    assert sync.offset_ms == 110.0
    sync.add_sample(50.0, 50_130, 50.0)
    assert sync.offset_ms == 120.0 and sync.steps_detected == 0


def test_a_clock_step_too_small_for_1021_is_taken_at_once() -> None:
    """The exchange's clock steps 900 ms back: within what Binance accepts, so no -1021
    says so. The first sample proving it (its interval fits no kept one) replaces the old
    samples instead of being outvoted by them."""
    sync = TimeSynchronizer(clock=FakeClock(0.0))
    for t in (10.0, 11.0, 12.0, 13.0):
        sync.add_sample(t, t * 1000 + 5, t + 0.02)  # offset -5 +- 10
    sync.add_sample(14.0, 14_000 - 900, 14.02)
    assert sync.samples_ms == (-910.0,) and sync.offset_ms == -910.0
    assert sync.steps_detected == 1
    # A few ms of disagreement between servers is noise, not a step.
    sync.add_sample(15.0, 15_000 - 920, 15.02)
    assert sync.samples_ms == (-910.0, -930.0) and sync.steps_detected == 1


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
    # Until the next sample, the last estimate (not 0: the rate limiter runs on time()).
    assert sync.offset_ms == 0.0 and sync.time() == 10.0
    sync.add_sample(10.0, 11_000, 10.0)
    sync.invalidate()
    assert sync.offset_ms == 1000.0 and sync.time() == 11.0
    sync.add_sample(10.0, 12_000, 10.0)  # the local clock fell 2 s behind
    assert sync.offset_ms == 2000.0
    assert not sync.resync_due()


def test_bad_input_is_refused() -> None:
    sync = TimeSynchronizer(clock=FakeClock(0.0))
    with pytest.raises(ValueError):
        sync.add_sample(2.0, 0, 1.0)
    with pytest.raises(ValueError):
        TimeSynchronizer(max_samples=0)
