"""RateLimiter (sans-I/O) and AsyncThrottler on a fake clock: windows, booking order,
server headers, 429/418, configuration errors."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.core.errors import ConfigurationError
from connector.core.throttler import (
    AsyncThrottler,
    EndpointLimit,
    RateLimit,
    RateLimiter,
    RateLimitKind,
    interval_header_suffix,
)

WEIGHT = RateLimit("REQUEST_WEIGHT", 10, 60, RateLimitKind.REQUEST_WEIGHT)
ORDERS_10S = RateLimit("ORDERS_10S", 2, 10, RateLimitKind.ORDERS)
ORDERS_1D = RateLimit("ORDERS_1D", 100, 86400, RateLimitKind.ORDERS)
RAW = RateLimit("RAW_REQUESTS", 1000, 300, RateLimitKind.RAW_REQUESTS)


def depth_weight(params: Mapping[str, Any]) -> int:
    limit = int(params.get("limit", 100))
    return 1 if limit <= 100 else 5


ENDPOINTS = [
    EndpointLimit("GET", "/api/v3/depth", {"REQUEST_WEIGHT": depth_weight}),
    EndpointLimit("GET", "/api/v3/order", {"REQUEST_WEIGHT": 4}),
    EndpointLimit("DELETE", "/api/v3/order", {"REQUEST_WEIGHT": 1}),
    EndpointLimit("POST", "/api/v3/order", {"REQUEST_WEIGHT": 1, "ORDERS_10S": 1, "ORDERS_1D": 1}),
    EndpointLimit("GET", "/api/v3/ping", {}),
]


def limiter(**options: float) -> RateLimiter:
    return RateLimiter([WEIGHT, ORDERS_10S, ORDERS_1D, RAW], ENDPOINTS, **options)


# -- configuration ---------------------------------------------------------------------------


def test_endpoint_with_an_unknown_pool_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="ORDERS_1M"):
        RateLimiter([WEIGHT], [EndpointLimit("POST", "/api/v3/order", {"ORDERS_1M": 1})])


def test_endpoint_with_an_unknown_pool_is_refused_at_registration() -> None:
    rl = limiter()
    with pytest.raises(ConfigurationError):
        rl.register_endpoint(EndpointLimit("GET", "/api/v3/x", {"NOPE": 1}))


def test_request_to_an_unregistered_endpoint_is_refused_clearly() -> None:
    with pytest.raises(ConfigurationError, match="GET /api/v3/unknown"):
        limiter().acquire("GET", "/api/v3/unknown", 0.0)


def test_duplicate_pool_and_bad_limits_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        RateLimiter([WEIGHT, WEIGHT])
    with pytest.raises(ConfigurationError):
        RateLimit("X", 0, 60)
    with pytest.raises(ConfigurationError):
        RateLimit("X", 1, 0)
    with pytest.raises(ConfigurationError):
        RateLimiter([WEIGHT], safety_margin=1.0)


def test_a_request_heavier_than_a_whole_window_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="could never be sent"):
        limiter().reserve({"REQUEST_WEIGHT": 11}, 0.0)


# -- weights ----------------------------------------------------------------------------------


def test_weights_per_endpoint_parameter_dependent_and_raw_requests() -> None:
    rl = limiter()
    assert rl.weights_for("get", "/api/v3/depth", {"limit": 500}) == {
        "REQUEST_WEIGHT": 5,
        "RAW_REQUESTS": 1,
    }
    assert rl.weights_for("GET", "/api/v3/depth") == {"REQUEST_WEIGHT": 1, "RAW_REQUESTS": 1}
    assert rl.weights_for("GET", "/api/v3/ping") == {"RAW_REQUESTS": 1}


def test_only_new_orders_count_against_the_order_pools() -> None:
    rl = limiter()
    for method in ("GET", "DELETE"):
        rl.acquire(method, "/api/v3/order", 0.0)
    assert rl.used("ORDERS_10S", 0.0) == 0
    rl.acquire("POST", "/api/v3/order", 0.0)
    assert rl.used("ORDERS_10S", 0.0) == 1
    assert rl.used("ORDERS_1D", 0.0) == 1
    assert rl.used("REQUEST_WEIGHT", 0.0) == 6
    assert rl.used("RAW_REQUESTS", 0.0) == 3


# -- fixed windows and booking order ------------------------------------------------------------


def test_windows_are_aligned_to_the_clock_not_to_the_first_request() -> None:
    rl = limiter()
    first = rl.reserve({"REQUEST_WEIGHT": 10}, 59.0)
    second = rl.reserve({"REQUEST_WEIGHT": 1}, 59.5)
    assert first.ready_at == 59.0
    assert second.ready_at == 60.0  # the next minute starts at 60, not at 119
    assert second.delay(59.5) == 0.5


def test_booking_a_later_window_keeps_the_current_one() -> None:
    """A request counted ahead in the next window (a window-edge guard) must not make the
    limiter forget what the current window already holds."""
    rl = limiter()
    rl.mark_sent(rl.reserve({"ORDERS_10S": 1}, 9.0))
    ahead = rl.reserve({"ORDERS_10S": 1}, 9.98, start=10.0)
    assert ahead.ready_at == 10.0
    assert rl.used("ORDERS_10S", 9.98) == 1 and rl.used("ORDERS_10S", 10.0) == 1


def test_capacity_is_booked_in_call_order_and_never_taken_by_later_callers() -> None:
    rl = limiter()
    a = rl.reserve({"REQUEST_WEIGHT": 8}, 0.0)
    b = rl.reserve({"REQUEST_WEIGHT": 5}, 0.0)  # does not fit: next minute
    c = rl.reserve({"REQUEST_WEIGHT": 2}, 0.0)  # fits in what is left of this minute
    d = rl.reserve({"REQUEST_WEIGHT": 6}, 0.0)  # b already holds 5 of the next minute
    assert [r.ready_at for r in (a, b, c, d)] == [0.0, 60.0, 0.0, 120.0]


def test_an_order_count_wait_does_not_hold_up_other_requests() -> None:
    rl = limiter()
    rl.acquire("POST", "/api/v3/order", 1.0)
    rl.acquire("POST", "/api/v3/order", 1.0)
    third = rl.acquire("POST", "/api/v3/order", 1.0)
    read = rl.acquire("GET", "/api/v3/order", 1.0)
    assert third.ready_at == 10.0
    assert read.ready_at == 1.0


def test_safety_margin_keeps_headroom() -> None:
    rl = limiter(safety_margin=0.2)
    assert rl.capacity("REQUEST_WEIGHT") == 8
    assert rl.capacity("ORDERS_10S") == 1


def test_released_reservation_gives_its_capacity_back() -> None:
    rl = limiter()
    held = rl.reserve({"REQUEST_WEIGHT": 10}, 0.0)
    rl.release(held)
    rl.release(held)  # idempotent
    assert rl.used("REQUEST_WEIGHT", 0.0) == 0
    assert rl.reserve({"REQUEST_WEIGHT": 10}, 0.0).ready_at == 0.0


def test_old_windows_are_pruned() -> None:
    rl = RateLimiter([RateLimit("W", 1, 1)])
    for second in range(10_000):
        rl.mark_sent(rl.reserve({"W": 1}, float(second)))
    pool = rl._pools["W"]
    assert len(pool.used) <= 2 and len(pool.windows) <= 2
    assert len(rl._waiting) == 0


# -- server feedback ----------------------------------------------------------------------------


def test_used_weight_header_raises_the_local_count_case_insensitively() -> None:
    rl = limiter()
    rl.reserve({"REQUEST_WEIGHT": 2}, 0.0)
    rl.update_from_headers({"x-mbx-used-weight-1m": "9", "Content-Type": "json"}, 1.0)
    assert rl.used("REQUEST_WEIGHT", 1.0) == 9
    rl.update_from_headers({"X-MBX-USED-WEIGHT-1M": "3"}, 2.0)  # never lowered
    assert rl.used("REQUEST_WEIGHT", 2.0) == 9
    assert rl.reserve({"REQUEST_WEIGHT": 2}, 2.0).ready_at == 60.0


def test_order_count_headers_map_to_the_pools_with_their_interval() -> None:
    rl = limiter()
    rl.update_from_headers({"X-MBX-ORDER-COUNT-10S": "2", "X-MBX-ORDER-COUNT-1D": "40"}, 5.0)
    assert rl.used("ORDERS_10S", 5.0) == 2
    assert rl.used("ORDERS_1D", 5.0) == 40
    assert rl.acquire("POST", "/api/v3/order", 5.0).ready_at == 10.0


def test_an_exact_order_count_lowers_ours_and_keeps_waiting_bookings() -> None:
    """Binance counts unfilled orders: two that filled at once leave the window empty on
    the server. An answer vouched exact (no other order in flight) lowers our count to the
    server's, plus what is booked and still waiting; other answers only raise it."""
    rl = limiter()
    for _ in range(2):
        rl.mark_sent(rl.acquire("POST", "/api/v3/order", 1.0))
    waiting = rl.acquire("POST", "/api/v3/order", 1.0)
    assert waiting.ready_at == 10.0  # ORDERS_10S holds 2
    rl.update_from_headers({"X-MBX-ORDER-COUNT-10S": "0"}, 1.5)
    assert rl.used("ORDERS_10S", 1.5) == 2  # not vouched for: never lowered
    rl.update_from_headers(
        {"X-MBX-ORDER-COUNT-10S": "0", "X-MBX-ORDER-COUNT-1D": "1"}, 1.5, exact_orders=True
    )
    # The day's window also holds the waiting one: 1 from the server, 1 still to go.
    assert rl.used("ORDERS_10S", 1.5) == 0 and rl.used("ORDERS_1D", 1.5) == 2
    assert rl.acquire("POST", "/api/v3/order", 1.5).ready_at == 1.5
    # The waiting one was booked in the next window; what it holds there stays.
    rl.update_from_headers({"X-MBX-ORDER-COUNT-10S": "0"}, 10.0, exact_orders=True)
    assert rl.used("ORDERS_10S", 10.0) == 1
    # Weight is never lowered, exact or not.
    rl.update_from_headers({"X-MBX-USED-WEIGHT-1M": "0"}, 10.0, exact_orders=True)
    assert rl.used("REQUEST_WEIGHT", 10.0) == 4


def test_headers_for_unknown_intervals_or_junk_values_are_ignored() -> None:
    rl = limiter()
    rl.update_from_headers(
        {"X-MBX-USED-WEIGHT-1H": "5", "X-MBX-USED-WEIGHT-1M": "lots", "X-MBX-USED-WEIGHT": "7"},
        0.0,
    )
    assert rl.used("REQUEST_WEIGHT", 0.0) == 0


def test_429_blocks_new_requests_and_rebooks_queued_ones_in_order() -> None:
    rl = limiter()
    rl.mark_sent(rl.reserve({"REQUEST_WEIGHT": 10}, 0.0))
    queued_a = rl.reserve({"REQUEST_WEIGHT": 4}, 1.0)
    queued_b = rl.reserve({"REQUEST_WEIGHT": 4}, 1.0)
    assert queued_a.ready_at == queued_b.ready_at == 60.0
    rl.on_rate_limited(90.0, 2.0)
    assert rl.blocked_until == 92.0
    assert queued_a.ready_at == queued_b.ready_at == 92.0
    late = rl.reserve({"REQUEST_WEIGHT": 4}, 3.0)
    assert late.ready_at == 120.0  # the queued ones keep their place
    assert rl.reserve({"RAW_REQUESTS": 1}, 3.0).ready_at == 92.0


def test_an_order_count_429_holds_only_new_orders() -> None:
    """Binance's -1015 (too many new orders) is about the account's order count: cancels
    and queries, which count only request weight, go on."""
    rl = limiter()
    queued_order = rl.acquire("POST", "/api/v3/order", 0.0)
    queued_query = rl.acquire("GET", "/api/v3/order", 0.0)
    rl.on_rate_limited(50.0, 1.0, kind=RateLimitKind.ORDERS)
    assert rl.blocked_until == -math.inf and rl.kind_blocked_until(RateLimitKind.ORDERS) == 51.0
    assert queued_order.ready_at == 51.0  # re-booked after the block
    assert queued_query.ready_at == 0.0  # untouched
    assert rl.acquire("DELETE", "/api/v3/order", 2.0).ready_at == 2.0
    assert rl.acquire("POST", "/api/v3/order", 2.0).ready_at == 51.0
    # A general 429 still holds everything, the order block included.
    rl.on_rate_limited(10.0, 3.0)
    assert rl.acquire("DELETE", "/api/v3/order", 4.0).ready_at == 13.0
    assert rl.acquire("POST", "/api/v3/order", 4.0).ready_at >= 51.0


def test_429_without_retry_after_uses_the_default() -> None:
    rl = limiter(default_retry_after_s=5.0)
    rl.on_rate_limited(None, 10.0)
    assert rl.reserve({"RAW_REQUESTS": 1}, 10.0).ready_at == 15.0


def test_418_ban_blocks_everything_until_it_ends() -> None:
    rl = limiter()
    waiting = rl.reserve({"REQUEST_WEIGHT": 1}, 0.0)
    rl.on_banned(None, 0.5, until=300.0)
    assert rl.is_banned(100.0) and not rl.is_banned(300.0)
    assert waiting.ready_at == 300.0
    assert rl.reserve({"RAW_REQUESTS": 1}, 1.0).ready_at == 300.0


def test_418_with_retry_after_or_nothing() -> None:
    rl = limiter(default_ban_s=120.0)
    rl.on_banned(30.0, 0.0)
    assert rl.blocked_until == 30.0
    rl.on_banned(None, 10.0)
    assert rl.blocked_until == 130.0


def test_a_block_rebooks_waiting_requests_in_call_order() -> None:
    rl = limiter()
    first = rl.reserve({"REQUEST_WEIGHT": 6}, 0.0)  # booked, not yet sent
    second = rl.reserve({"REQUEST_WEIGHT": 6}, 0.0)  # next minute
    rl.on_rate_limited(100.0, 1.0)
    assert first.ready_at == 101.0
    assert second.ready_at == 120.0


def test_sent_requests_are_not_rebooked_by_a_ban() -> None:
    rl = limiter()
    sent = rl.reserve({"REQUEST_WEIGHT": 1}, 0.0)
    rl.mark_sent(sent)
    rl.on_banned(60.0, 0.5)
    assert sent.ready_at == 0.0


def test_a_clock_step_moves_what_was_sent_into_the_servers_windows() -> None:
    """Orders sent at 9.3 s on our estimate were at 10.2 s on the server's clock (a +0.9 s
    step found afterwards): they fill its window 10-20, so the one still waiting must go
    in the window after, not at 10.2 s."""
    rl = limiter()
    for _ in range(2):
        rl.mark_sent(rl.reserve({"ORDERS_10S": 1}, 9.3))
    waiting = rl.reserve({"ORDERS_10S": 1}, 9.4)
    assert waiting.ready_at == 10.0  # the old estimate's next window
    rl.shift_clock(0.9, 10.3)  # now 10.3 on the corrected clock
    assert rl.used("ORDERS_10S", 10.3) == 2
    assert waiting.ready_at == 20.0


def test_clock_steps_back_and_forth_leave_the_counts_as_they_were() -> None:
    """Two server clocks that disagree (a sample from each, alternately) step the estimate
    back and forth on every order: the counts must not grow with each step."""
    rl = limiter()
    t = 105.0
    for _ in range(8):
        rl.mark_sent(rl.reserve({"ORDERS_1D": 1}, t))
        rl.shift_clock(-3.0, t - 3.0)
        rl.shift_clock(3.0, t)
        t += 0.1
    assert rl.used("ORDERS_1D", t) == 8


def test_a_step_back_across_a_window_boundary_finds_the_previous_window() -> None:
    """Sent at 8.0 s, then our estimate crosses into the next window (10.5 s) before a step
    back of 0.9 s is found: the previous window is current again and still holds them."""
    rl = limiter()
    for _ in range(2):
        rl.mark_sent(rl.reserve({"ORDERS_10S": 1}, 8.0))
    rl.update_from_headers({"X-MBX-ORDER-COUNT-10S": "0"}, 10.5)  # a new window: pruned
    assert rl.used("ORDERS_10S", 10.5) == 0
    rl.shift_clock(-0.9, 9.6)
    assert rl.used("ORDERS_10S", 9.6) == 2
    assert rl.reserve({"ORDERS_10S": 1}, 9.6).ready_at == 10.0


def test_a_new_limiter_takes_over_the_waiting_requests_in_call_order() -> None:
    old = limiter()
    for _ in range(2):
        old.mark_sent(old.acquire("POST", "/api/v3/order", 1.0))
    first = old.acquire("POST", "/api/v3/order", 1.0)
    second = old.acquire("POST", "/api/v3/order", 1.0)
    assert (first.ready_at, second.ready_at) == (10.0, 10.0)
    waiting, tickets = old.hand_over_waiting()
    new = limiter()
    new.update_from_headers({"X-MBX-ORDER-COUNT-10S": "2"}, 1.0)  # what was sent
    new.take_waiting(waiting, tickets, 1.0)
    later = new.acquire("POST", "/api/v3/order", 1.0)
    # The two waiting fill the next window; the newcomer goes after them.
    assert (first.ready_at, second.ready_at, later.ready_at) == (10.0, 10.0, 20.0)
    new.mark_sent(first)  # sending it is final in the new limiter
    assert first.sent and first.ticket < second.ticket < later.ticket


def test_a_count_raised_by_the_server_moves_with_its_window() -> None:
    rl = limiter()
    rl.update_from_headers({"X-MBX-ORDER-COUNT-10S": "2"}, 5.0)  # nothing booked locally
    rl.shift_clock(6.0, 11.0)  # the window 0-10 is 6-16 on the new clock: its middle is 11
    assert rl.used("ORDERS_10S", 11.0) == 2


def test_a_clock_step_moves_blocks_and_keeps_call_order() -> None:
    rl = limiter()
    rl.on_rate_limited(5.0, 1.0)  # held until 6.0 on the old clock
    first = rl.reserve({"REQUEST_WEIGHT": 6}, 1.0)
    second = rl.reserve({"REQUEST_WEIGHT": 6}, 1.0)
    assert (first.ready_at, second.ready_at) == (6.0, 60.0)
    rl.shift_clock(-2.0, -1.0)  # the same instant, 2 s earlier on the corrected clock
    assert rl.blocked_until == 4.0
    assert (first.ready_at, second.ready_at) == (4.0, 60.0)
    rl.shift_clock(0.0, -1.0)  # nothing moved
    assert (first.ready_at, second.ready_at) == (4.0, 60.0)


def test_interval_header_suffix() -> None:
    assert interval_header_suffix(60) == "1M"
    assert interval_header_suffix(10) == "10S"
    assert interval_header_suffix(86400) == "1D"
    assert interval_header_suffix(300) == "5M"


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 5, allow_nan=False), st.integers(1, 10), st.integers(0, 2)),
        max_size=60,
    )
)
def test_no_window_is_ever_overbooked_and_nobody_goes_early(
    requests: list[tuple[float, int, int]],
) -> None:
    rl = limiter()
    now = 0.0
    booked: dict[tuple[str, int], int] = {}
    for step, weight, orders in requests:
        now += step
        res = rl.reserve({"REQUEST_WEIGHT": weight, "ORDERS_10S": orders}, now)
        assert res.ready_at >= now
        for limit_id, units in res.weights:
            interval = 60 if limit_id == "REQUEST_WEIGHT" else 10
            key = (limit_id, int(res.ready_at // interval))
            booked[key] = booked.get(key, 0) + units
    for (limit_id, _), units in booked.items():
        assert units <= rl.capacity(limit_id)


# -- the asyncio wrapper ------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the throttler sleeps."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.on_sleep: list[Any] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        for hook in self.on_sleep:
            hook()
        self.now += seconds
        await asyncio.sleep(0)


async def test_async_throttler_sleeps_exactly_the_computed_delay() -> None:
    fake = FakeTime(start=5.0)
    throttler = AsyncThrottler(limiter(), clock=fake.clock, sleep=fake.sleep)
    for _ in range(2):
        async with throttler.acquire("POST", "/api/v3/order") as res:
            assert res.sent
    async with throttler.acquire("POST", "/api/v3/order"):
        assert fake.now == 10.0
    assert fake.sleeps == [5.0]


async def test_async_throttler_follows_a_ban_that_arrives_while_waiting() -> None:
    fake = FakeTime()
    rl = limiter()
    throttler = AsyncThrottler(rl, clock=fake.clock, sleep=fake.sleep)
    rl.mark_sent(rl.reserve({"REQUEST_WEIGHT": 10}, 0.0))
    fake.on_sleep.append(lambda: throttler.on_banned(None, until=500.0))
    async with throttler.acquire("GET", "/api/v3/depth", {"limit": 5}):
        assert fake.now == 500.0
    assert fake.sleeps == [60.0, 440.0]


async def test_cancelled_wait_gives_the_capacity_back() -> None:
    rl = limiter()
    rl.reserve({"REQUEST_WEIGHT": 10}, 0.0)
    gate = asyncio.Event()

    async def blocked_sleep(seconds: float) -> None:
        await gate.wait()

    throttler = AsyncThrottler(rl, clock=lambda: 0.0, sleep=blocked_sleep)

    async def request() -> None:
        async with throttler.acquire("GET", "/api/v3/order"):
            pass

    task = asyncio.ensure_future(request())
    await asyncio.sleep(0)
    assert rl.used("REQUEST_WEIGHT", 60.0) == 4
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rl.used("REQUEST_WEIGHT", 60.0) == 0


async def test_async_throttler_forwards_server_feedback() -> None:
    fake = FakeTime(start=1.0)
    rl = limiter()
    throttler = AsyncThrottler(rl, clock=fake.clock, sleep=fake.sleep)
    throttler.update_from_headers({"X-MBX-USED-WEIGHT-1M": "7"})
    assert rl.used("REQUEST_WEIGHT", 1.0) == 7
    throttler.on_rate_limited(2.0)
    assert rl.blocked_until == 3.0
