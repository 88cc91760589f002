"""Network checks, server time, timeouts and the throttler fed by the server (template tests
9-11; additions (e), (f), (g), (p)).

Time-dependent tests run the mock *and* the connector on one ``VirtualClock``: a 120 s ban
takes no real time, and "the request waited" is observed as "not sent until the clock was
advanced", never by measuring elapsed time."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from connector.binance import (
    BinanceEndpoints,
    BuyOrderCompleted,
    BuyOrderCreated,
    InvalidTimestamp,
    IPBanned,
    NetworkStatus,
    OrderFailed,
    OrderState,
    OrderType,
    RateLimited,
    ReconciliationCompleted,
    RequestTimeout,
    TransportError,
)
from connector.binance.binance_constants import ORDERS_10S, REQUEST_WEIGHT
from connector.core.errors import ConfigurationError
from mock_exchange.clock import VirtualClock, WallClock
from mock_exchange.clock import settle as idle
from tests.connector.e2e.support import BTC, SAFETY, Harness, harness_for, make_config, until, virtual_clock

ACCOUNT = "/api/v3/account"
ORDER = "/api/v3/order"


async def vstarted(harness: Harness, vclock: VirtualClock, **overrides: Any) -> Any:
    return await harness.started(clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep, **overrides)


async def settle() -> None:
    """Let every runnable task run until it blocks (on I/O or the virtual clock)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_check_network_success(harness: Harness) -> None:
    """Template 9."""
    exchange, _ = await harness.started()
    assert await exchange.check_network() is NetworkStatus.CONNECTED


async def test_check_network_failure(harness: Harness) -> None:
    """Template 10: an error answer, and an unreachable host."""
    exchange, _ = await harness.started()
    harness.faults.fail("GET", "/api/v3/ping")
    assert await exchange.check_network() is NetworkStatus.NOT_CONNECTED

    closed = harness.exchange(endpoints=BinanceEndpoints.local("127.0.0.1", 9), trading_required=False)
    await closed.start()
    assert await closed.check_network() is NetworkStatus.NOT_CONNECTED


async def test_check_network_raises_cancel_exception(harness: Harness) -> None:
    """Template 11: cancelling the check propagates; it is not reported as a failure."""
    exchange, _ = await harness.started()
    release = asyncio.Event()
    harness.faults.hold("GET", "/api/v3/ping", release, execute_first=False)
    task = asyncio.create_task(exchange.check_network())
    await until(lambda: any(c.path == "/api/v3/ping" for c in harness.faults.calls), what="the ping")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()


async def test_invalid_timestamp_resyncs_and_retries_once(harness: Harness) -> None:
    """Addition (g): the server's clock jumps 10 s back; the next signed request gets -1021,
    the connector resyncs (GET /time) and retries once, successfully."""
    exchange, _ = await harness.started()
    assert isinstance(harness.clock, WallClock)
    harness.clock.skew_us = -10_000_000
    harness.faults.calls.clear()
    await exchange.update_balances()
    assert [(c.method, c.path, c.status) for c in harness.faults.calls] == [
        ("GET", ACCOUNT, 400),
        ("GET", "/api/v3/time", 200),
        ("GET", ACCOUNT, 200),
    ]
    assert abs(exchange.time_synchronizer.offset_ms + 10_000) < 1_000


async def test_invalid_timestamp_is_retried_exactly_once(harness: Harness) -> None:
    exchange, _ = await harness.started()
    body = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    harness.faults.fail("GET", ACCOUNT, status=400, body=body, times=None)
    harness.faults.calls.clear()
    with pytest.raises(InvalidTimestamp):
        await exchange.update_balances()
    assert harness.faults.count("GET", ACCOUNT) == 2
    assert harness.faults.count("GET", "/api/v3/time") == 1


async def test_a_refused_timestamp_stays_the_answer_when_the_resync_fails(harness: Harness) -> None:
    """-1021 means nothing executed. If the clock resync after it fails (a 5xx from /time),
    the order fails at once with the -1021, not with the resync's "outcome unknown"."""
    exchange, log = await harness.started()
    body = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    harness.faults.fail("POST", ORDER, status=400, body=body)
    harness.faults.fail("GET", "/api/v3/time", status=503)
    oid = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    failed = await log.wait_for(OrderFailed, oid)
    assert isinstance(failed.error, InvalidTimestamp)
    assert not failed.error.outcome_unknown
    assert harness.faults.count("POST", ORDER) == 1
    assert oid not in exchange.in_flight_orders


async def test_cancel_withdraws_a_create_refused_with_1021_before_its_retry(harness: Harness) -> None:
    """-1021 means nothing executed, and the create waits for the clock resync before it is
    sent again: a cancel meanwhile withdraws it, instead of waiting out the resync and then
    placing the order only to cancel it (here /time never answers within the test)."""
    exchange, log = await harness.started(request_timeout_s=60.0)
    body = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    harness.faults.fail("POST", ORDER, status=400, body=body)
    never = asyncio.Event()
    harness.faults.hold("GET", "/api/v3/time", never, execute_first=False, times=None)
    oid = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    order = exchange.get_order(oid)
    assert order is not None
    # Sent once, refused, and waiting for the resync to be sent again.
    await until(
        lambda: harness.faults.count("POST", ORDER) == 1 and order.sent_timestamp is None,
        what="the refusal",
    )
    result = await asyncio.wait_for(exchange.cancel("BTC-USDT", oid), SAFETY)
    assert result.state is OrderState.FAILED
    failed = await log.wait_for(OrderFailed, oid)  # the -1021 itself, or "withdrawn": never sent
    assert isinstance(failed.error, InvalidTimestamp | TransportError) and not failed.error.outcome_unknown
    assert harness.faults.count("POST", ORDER) == 1 and harness.find_order(oid) is None
    never.set()


async def test_a_failed_clock_sync_before_sending_is_no_unknown_outcome(harness: Harness) -> None:
    """When the clock needs a sync before a signed request and /time answers 503, the
    request is never sent: the order fails with a known outcome and is not reconciled."""
    exchange, log = await harness.started()
    exchange.time_synchronizer.invalidate()
    harness.faults.fail("GET", "/api/v3/time", status=503)
    harness.faults.calls.clear()
    oid = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    failed = await log.wait_for(OrderFailed, oid)
    assert isinstance(failed.error, TransportError)
    assert not failed.error.request_sent and not failed.error.outcome_unknown
    assert failed.error.transient
    assert harness.faults.count("POST", ORDER) == 0
    assert oid not in exchange.in_flight_orders


async def test_recv_window_is_sent(harness: Harness) -> None:
    exchange, _ = await harness.started(recv_window_ms=7000)
    harness.faults.calls.clear()
    await exchange.update_balances()
    assert "recvWindow=7000" in harness.faults.calls[0].query
    assert "signature=" in harness.faults.calls[0].query


async def test_requests_time_out(harness: Harness) -> None:
    """Per-request timeouts: a read that never answers raises ``RequestTimeout``."""
    exchange, _ = await harness.started(request_timeout_s=0.2)
    release = asyncio.Event()
    harness.faults.hold("GET", ACCOUNT, release, execute_first=False)
    with pytest.raises(RequestTimeout) as info:
        await exchange.update_balances()
    assert info.value.outcome_unknown
    release.set()


async def test_429_blocks_every_request_until_retry_after(vharness: Harness, vclock: VirtualClock) -> None:
    """Addition (e): after a 429 with ``Retry-After: 2`` nothing is sent for 2 s."""
    exchange, _ = await vstarted(vharness, vclock)
    vharness.faults.fail(
        "GET",
        ACCOUNT,
        status=429,
        headers={"Retry-After": "2"},
        body={"code": -1003, "msg": "Too much request weight used"},
    )
    with pytest.raises(RateLimited) as info:
        await exchange.update_balances()
    assert info.value.retry_after == 2.0
    sent = len(vharness.faults.calls)
    task = asyncio.create_task(exchange.check_network())
    await settle()
    assert not task.done() and len(vharness.faults.calls) == sent  # held back
    await vclock.advance(1.0)
    await settle()
    assert not task.done()
    await vclock.advance(1.0)
    assert await asyncio.wait_for(task, SAFETY) is NetworkStatus.CONNECTED


async def orders_blocked_for_100_s(vharness: Harness, exchange: Any, log: Any) -> Callable[[], int]:
    """Have one order answered 429 -1015 with Retry-After 100: new orders are then held for
    100 s. Returns a count of the order placements sent so far."""
    vharness.faults.fail(
        "POST",
        ORDER,
        status=429,
        headers={"Retry-After": "100"},
        body={"code": -1015, "msg": "Too many new orders; current limit is 50 orders per 10 SECOND."},
    )
    refused = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("58000"))
    await log.wait_for(OrderFailed, refused)
    return lambda: sum(1 for c in vharness.faults.calls if c.method == "POST" and c.path == ORDER)


async def test_an_order_count_429_holds_only_new_orders(vharness: Harness, vclock: VirtualClock) -> None:
    """-1015 (too many new orders, per account) is no reason to stop cancelling or asking:
    only new orders wait out its Retry-After."""
    exchange, log = await vstarted(vharness, vclock)
    resting = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await log.wait_for(BuyOrderCreated, resting)
    posts = await orders_blocked_for_100_s(vharness, exchange, log)
    sent = posts()
    # With the clock standing still, a cancel and a query go through at once...
    result = await asyncio.wait_for(exchange.cancel("BTC-USDT", resting), SAFETY)
    assert result.success
    await asyncio.wait_for(exchange.update_balances(), SAFETY)
    # ...while a new order waits for the order block to end.
    later = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await settle()
    assert posts() == sent
    await vclock.advance(100.0)
    await log.wait_for(BuyOrderCreated, later)
    assert posts() == sent + 1
    # Its lost-order age counts from the send, not from buy().
    order = exchange.in_flight_orders[later]
    assert order.sent_timestamp is not None and order.sent_timestamp - order.creation_timestamp >= 100.0


async def test_cancel_withdraws_an_order_still_waiting_to_be_sent(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """An order held back by an order-count block has not gone out: cancelling it withdraws
    it at once (it fails as never sent) instead of waiting out the block and then placing
    an order the caller no longer wants."""
    exchange, log = await vstarted(vharness, vclock)
    posts = await orders_blocked_for_100_s(vharness, exchange, log)
    sent = posts()
    held = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await settle()
    result = await asyncio.wait_for(exchange.cancel("BTC-USDT", held), SAFETY)
    assert not result.success and result.state is OrderState.FAILED
    failed = await log.wait_for(OrderFailed, held)
    assert isinstance(failed.error, TransportError) and not failed.error.outcome_unknown
    assert held not in exchange.in_flight_orders and held not in exchange._creating
    # The block ends: nothing is sent for it.
    await vclock.advance(100.0)
    await settle()
    assert posts() == sent and vharness.find_order(held) is None
    # The same when the cancel comes before the create task has even run (awaited
    # directly: ``wait_for`` would let the create task run first).
    again = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    result = await exchange.cancel("BTC-USDT", again)
    assert result.state is OrderState.FAILED and again not in exchange._creating
    await log.wait_for(OrderFailed, again)


async def test_a_small_clock_step_does_not_overfill_the_servers_order_window() -> None:
    """The exchange's clock steps 0.9 s ahead (too little for -1021). A burst of orders at
    9.3 s into a 10 s window (our estimate) is really counted in the exchange's next
    window; the step shows in the first answers' ``transactTime``, and the orders still
    waiting must then be paced by the exchange's window, not by our old estimate's: no
    -1015."""
    config = make_config()
    config.rate_limits.orders_per_10s = 10
    vclock = virtual_clock()
    async for harness in harness_for(config, clock=vclock):
        exchange, _ = await vstarted(harness, vclock, trading_pairs=[BTC])
        harness.server.control.skew(900)
        await vclock.advance(10 - vclock.now_us() / 1e6 % 10 + 9.3)  # 9.3 s into a window
        ids = [exchange.buy(BTC, Decimal("0.001"), OrderType.LIMIT, Decimal("50000")) for _ in range(25)]
        for _ in range(5):  # three windows' worth, with room to spare
            await vclock.advance(10.0)
        created = [exchange.wait_for_created(order_id) for order_id in ids]
        results = await asyncio.wait_for(asyncio.gather(*created, return_exceptions=True), SAFETY)
        assert [c for c in harness.faults.calls if c.status == 429] == []
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert exchange.time_synchronizer.steps_detected >= 1


async def test_orders_that_fill_at_once_do_not_use_up_the_order_count() -> None:
    """Binance counts unfilled orders: a market order that fills leaves the count as it
    was. Placed one after another (each answered before the next), 25 of them go out
    at once under a limit of 10 per 10 s: the connector takes the exchange's count from
    each answer instead of pacing them as if they rested. Its clock does not move here,
    so any wait for the next window would hang the test."""
    config = make_config()
    config.rate_limits.orders_per_10s = 10
    vclock = virtual_clock()
    async for harness in harness_for(config, clock=vclock):
        exchange, log = await vstarted(harness, vclock, trading_pairs=[BTC])
        for _ in range(25):
            order_id = exchange.buy(BTC, Decimal("0.001"), OrderType.MARKET)
            await asyncio.wait_for(exchange.wait_until_done(order_id), SAFETY)
        assert len(log.of(BuyOrderCompleted)) == 25
        assert [c for c in harness.faults.calls if c.status == 429] == []


async def test_an_order_answer_lowers_the_order_count_only_when_nothing_else_was_in_flight(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """The exchange's count in an order's answer holds every order of ours only if no other
    one was in flight meanwhile: with two overlapping orders, the first one's answer can
    arrive last with the older count; an order left unanswered (a timeout) may still
    execute. In both cases the connector's count must not be lowered to the answer's."""
    exchange, _ = await vstarted(vharness, vclock, trading_pairs=[BTC])
    limiter = exchange.throttler.limiter
    used = lambda: limiter.used(ORDERS_10S, exchange.time_synchronizer.time())  # noqa: E731
    await vclock.advance(10 - exchange.time_synchronizer.time() % 10 + 0.1)  # a window's start
    price = Decimal("59000")
    # 1. Overlapping: the first executes at once but its answer (count 1) comes a second
    #    late, after the second's (count 2).
    vharness.server.control.add_fault(
        {"surface": "rest", "method": "POST", "path": ORDER, "action": "execute_then_delay", "seconds": 1}
    )
    first = exchange.buy(BTC, Decimal("0.001"), OrderType.LIMIT, price)
    second = exchange.buy(BTC, Decimal("0.001"), OrderType.LIMIT, price)
    await vclock.advance(1.5)
    for order_id in (first, second):
        await asyncio.wait_for(exchange.wait_for_created(order_id), SAFETY)
    await idle()
    assert used() == 2
    # 2. Left unanswered: the create times out; the next order's answer, alone in flight
    #    otherwise, does not vouch for it.
    never = asyncio.Event()
    vharness.faults.hold("POST", ORDER, never, execute_first=False)
    lost = exchange.buy(BTC, Decimal("0.001"), OrderType.LIMIT, price)
    await vclock.advance(3.0)  # past the order request timeout
    order = exchange.get_order(lost)
    assert order is not None and order.creation_outcome_unknown
    alone = exchange.buy(BTC, Decimal("0.001"), OrderType.LIMIT, price)
    await asyncio.wait_for(exchange.wait_for_created(alone), SAFETY)
    await idle()  # its answer too, not only the user stream's NEW
    assert used() == 4
    never.set()


async def test_an_order_left_unanswered_by_stop_still_counts_after_start(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """stop() cuts off a create that may still execute: after start(), the first order's
    answer must not lower the order count past it (a long recvWindow: the restart and its
    resync take a few virtual seconds)."""
    exchange, _ = await vstarted(vharness, vclock, trading_pairs=[BTC], recv_window_ms=60_000)
    limiter = exchange.throttler.limiter
    used = lambda: limiter.used(ORDERS_10S, exchange.time_synchronizer.time())  # noqa: E731
    await vclock.advance(10 - exchange.time_synchronizer.time() % 10 + 0.1)  # a window's start
    never = asyncio.Event()
    vharness.faults.hold("POST", ORDER, never, execute_first=False)
    cut = exchange.buy(BTC, Decimal("0.001"), OrderType.LIMIT, Decimal("59000"))
    order = exchange.get_order(cut)
    assert order is not None
    await until(lambda: order.sent_timestamp is not None, what="the create going out")
    await exchange.stop()
    await exchange.start()
    await asyncio.wait_for(exchange.wait_until_ready(), SAFETY)
    alone = exchange.buy(BTC, Decimal("0.001"), OrderType.LIMIT, Decimal("59000"))
    await asyncio.wait_for(exchange.wait_for_created(alone), SAFETY)
    await idle()
    assert used() == 2  # the server says 1: the cut-off one may still land
    never.set()


async def banned_via_rest(exchange: Any, vharness: Harness, vclock: VirtualClock, seconds: int) -> None:
    """Have an account query answered with a ``seconds`` IP ban (418), as Binance words it."""
    until_ms = vclock.now_us() // 1000 + seconds * 1000
    vharness.faults.fail(
        "GET",
        ACCOUNT,
        status=418,
        headers={"Retry-After": str(seconds)},
        body={"code": -1003, "msg": f"Way too much request weight used; IP banned until {until_ms}."},
    )
    with pytest.raises(IPBanned):
        await exchange.update_balances()


async def test_the_user_stream_waits_out_an_ip_ban(vharness: Harness, vclock: VirtualClock) -> None:
    """Connecting to the WebSocket API is a request too: during a ban seen on REST the
    user stream does not reconnect (each attempt would meet another 418)."""
    exchange, _ = await vstarted(vharness, vclock)
    await banned_via_rest(exchange, vharness, vclock, 60)
    vharness.close_user_streams()
    await until(lambda: not vharness.user_sessions(), what="the user stream to drop")
    for _ in range(5):  # 50 s of the ban: the reconnect backoff alone would retry at once
        await vclock.advance(10.0)
        await settle()
        assert not vharness.user_sessions()
    await vclock.advance(12.0)  # past the ban and its margin
    await until(lambda: bool(vharness.user_sessions()), what="the user stream to reconnect")


async def test_418_ban_stops_all_requests_until_it_ends(vharness: Harness, vclock: VirtualClock) -> None:
    """Addition (e): a 418 ban pauses every request (not only the one that failed)."""
    exchange, _ = await vstarted(vharness, vclock)
    await banned_via_rest(exchange, vharness, vclock, 120)
    assert exchange.throttler.limiter.is_banned(vclock.now_us() / 1e6)
    sent = len(vharness.faults.calls)
    ping = asyncio.create_task(exchange.check_network())
    prices = asyncio.create_task(exchange.get_last_traded_prices(["BTC-USDT"]))
    await vclock.advance(120.0)  # the announced end: still held, a 1 s margin covers clock error
    await settle()
    assert not ping.done() and not prices.done() and len(vharness.faults.calls) == sent
    await vclock.advance(1.0)
    assert await asyncio.wait_for(ping, SAFETY) is NetworkStatus.CONNECTED
    assert "BTC-USDT" in await asyncio.wait_for(prices, SAFETY)


async def test_used_weight_header_feeds_the_throttler(vharness: Harness, vclock: VirtualClock) -> None:
    """Addition (f): the server says 5990 of 6000 weight are used (another process on the
    same IP); the throttler adopts it and holds a 20-weight request to the next minute."""
    exchange, _ = await vstarted(vharness, vclock)

    async def heavy(call: Any, proceed: Any) -> web.StreamResponse:
        response = await proceed()
        response.headers["X-MBX-USED-WEIGHT-1M"] = "5990"
        return response

    vharness.faults.add("GET", "/api/v3/ping", heavy)
    await exchange.check_network()
    now = vclock.now_us() / 1e6
    assert exchange.throttler.limiter.used(REQUEST_WEIGHT, now) >= 5990
    sent = len(vharness.faults.calls)
    task = asyncio.create_task(exchange.update_balances())  # weight 20
    await settle()
    assert not task.done() and len(vharness.faults.calls) == sent
    await vclock.advance(60.0)
    await asyncio.wait_for(task, SAFETY)


async def test_unregistered_endpoint_is_refused_before_sending(harness: Harness) -> None:
    """Addition (p): a request whose cost is not declared never leaves the process."""
    exchange, _ = await harness.started()
    harness.faults.calls.clear()
    with pytest.raises(ConfigurationError):
        await exchange.rest.request("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert harness.faults.calls == []


async def test_requests_keep_clear_of_rate_limit_window_edges(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """Binance counts orders in 10 s windows on its own clock, which the connector only
    estimates. An order due right at a window's start waits out the estimate's error; one
    sent just before a window ends is counted in the next window as well."""
    from decimal import Decimal

    from connector.binance import OrderType
    from connector.binance.binance_constants import ORDERS_10S

    exchange, _ = await vstarted(vharness, vclock)
    guard = exchange.rest.window_guard_s()
    now = vclock.now_us() / 1e6
    await vclock.advance(10 - now % 10)  # exactly on a boundary
    posts = vharness.faults.count("POST", "/api/v3/order")
    first = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await settle()
    assert vharness.faults.count("POST", "/api/v3/order") == posts  # held at the edge
    await vclock.advance(guard)
    await asyncio.wait_for(exchange.wait_for_created(first), SAFETY)

    now = vclock.now_us() / 1e6
    await vclock.advance(10 - now % 10 - guard / 2)  # just before the next boundary
    second = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("58000"))
    await asyncio.wait_for(exchange.wait_for_created(second), SAFETY)
    limiter = exchange.throttler.limiter
    now = vclock.now_us() / 1e6
    assert limiter.used(ORDERS_10S, now) == 2 and limiter.used(ORDERS_10S, now + guard) == 1


async def test_a_cancel_held_by_a_ban_fails_typed_when_the_connector_stops(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """A cancel waiting out an IP ban when ``stop()`` closes the session never goes out:
    it ends with a typed ``TransportError`` (not aiohttp's RuntimeError) and the order goes
    back to its state before the cancel, for the next start to reconcile."""
    exchange, log = await vstarted(vharness, vclock)
    order_id = exchange.buy("BTC-USDT", Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    await banned_via_rest(exchange, vharness, vclock, 60)
    cancel = asyncio.create_task(exchange.cancel("BTC-USDT", order_id))
    await settle()
    assert not cancel.done()
    await exchange.stop()
    await vclock.advance(61.0)
    result = await asyncio.wait_for(cancel, SAFETY)
    assert isinstance(result.error, TransportError) and not result.error.outcome_unknown
    assert not result.success and result.state is OrderState.OPEN


LATIN1_PAGE = "<html><body>502 Passerelle erronée</body></html>".encode("latin-1")


def answer(status: int, body: bytes, content_type: str, *, execute: bool) -> Any:
    """A REST fault action: answer ``body`` as is, after running the request if ``execute``."""

    async def action(call: Any, proceed: Callable[[], Any]) -> web.StreamResponse:
        if execute:
            await proceed()
        return web.Response(status=status, body=body, content_type=content_type)

    return action


async def test_an_error_page_in_another_charset_is_a_typed_error(harness: Harness) -> None:
    """A proxy's 502 page that is not UTF-8 is an unknown outcome like any 5xx: the cancel
    stays pending and reconciliation, finding the order still open, cancels it; a ping
    reports the network down. (It raised UnicodeDecodeError, and the order stayed
    PENDING_CANCEL through reconciliation.)"""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.add("DELETE", ORDER, answer(502, LATIN1_PAGE, "text/html", execute=False))
    result = await exchange.cancel(BTC, order_id)
    assert result.error is not None and result.error.outcome_unknown, result
    assert exchange.get_order(order_id).current_state is OrderState.PENDING_CANCEL  # type: ignore[union-attr]
    assert await exchange.update_order_status()
    assert exchange.get_order(order_id).current_state is OrderState.CANCELED  # type: ignore[union-attr]
    assert harness.find_order(order_id).status.name == "CANCELED"
    harness.faults.add("GET", "/api/v3/ping", answer(502, LATIN1_PAGE, "text/html", execute=False))
    assert await exchange.check_network() is NetworkStatus.NOT_CONNECTED


@pytest.mark.parametrize("body", [b"[]", b"true", b"123"])
async def test_a_create_answered_with_json_of_the_wrong_shape_is_reconciled(
    harness: Harness, body: bytes
) -> None:
    """A 2xx whose JSON is not the object Binance answers says nothing about the order:
    an unknown outcome, settled by reconciliation (with the user stream's reports lost, it
    stayed PENDING_CREATE: the order task died on ``data.get``)."""
    exchange, log = await harness.started()
    harness.server.control.add_fault(
        {"surface": "user_data", "event": "executionReport", "action": "drop", "times": 10}
    )
    harness.faults.add("POST", ORDER, answer(200, body, "application/json", execute=True))
    order_id = exchange.buy(BTC, Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    assert harness.find_order(order_id).status.name == "NEW"
    assert not log.of(OrderFailed, order_id)


async def test_balances_answered_with_json_of_the_wrong_shape_raise_typed(harness: Harness) -> None:
    exchange, _ = await harness.started()
    harness.faults.add("GET", ACCOUNT, answer(200, b"[]", "application/json", execute=False))
    with pytest.raises(TransportError, match="not an object"):
        await exchange.update_balances()


async def test_a_malformed_account_answer_changes_nothing_and_orders_are_still_reconciled(
    harness: Harness,
) -> None:
    """A TypeError from an entry that is not an object escaped untyped (and, inside a
    reconciliation pass, skipped the orders); balances read before it were applied."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    before = exchange.get_all_balances()

    def spoil(body: Any) -> Any:
        body["balances"] = [{"asset": "BTC", "free": "0", "locked": "0"}, "not an object"]
        return body

    harness.faults.rewrite("GET", ACCOUNT, spoil, times=2)
    with pytest.raises(TransportError, match="unreadable account answer"):
        await exchange.update_balances()
    assert exchange.get_all_balances() == before
    checked = exchange.events.wait_for(ReconciliationCompleted, predicate=lambda e: e.trigger == "manual")
    assert not await exchange.update_order_status()  # incomplete: the balances failed
    assert (await asyncio.wait_for(checked, SAFETY)).orders_checked == 1


async def test_retry_after_given_as_an_http_date(vharness: Harness, vclock: VirtualClock) -> None:
    """HTTP allows ``Retry-After`` as a date (a proxy's 429): it holds requests until then,
    read on the server's clock, instead of the 1 s default."""
    exchange, _ = await vstarted(vharness, vclock)
    until_s = exchange.rest.time_synchronizer.time() + 30
    vharness.faults.fail(
        "GET",
        ACCOUNT,
        status=429,
        headers={"Retry-After": email.utils.formatdate(until_s, usegmt=True)},
        body={"code": -1003, "msg": "Too much request weight used"},
    )
    with pytest.raises(RateLimited) as info:
        await exchange.update_balances()
    assert info.value.retry_after is not None and 29 <= info.value.retry_after <= 30
    ping = asyncio.create_task(exchange.check_network())
    await vclock.advance(28.0)
    await settle()
    assert not ping.done()
    await vclock.advance(2.0)
    assert await asyncio.wait_for(ping, SAFETY) is NetworkStatus.CONNECTED


async def test_a_429_without_retry_after_waits_out_the_minute(
    vharness: Harness, vclock: VirtualClock
) -> None:
    exchange, _ = await vstarted(vharness, vclock)
    vharness.faults.fail(
        "GET", ACCOUNT, status=429, body={"code": -1003, "msg": "Too much request weight used"}
    )
    with pytest.raises(RateLimited):
        await exchange.update_balances()
    to_minute_end = 60.0 - exchange.rest.time_synchronizer.time() % 60.0
    ping = asyncio.create_task(exchange.check_network())
    await vclock.advance(max(0.0, to_minute_end - 0.5))
    await settle()
    assert not ping.done() or to_minute_end <= 0.5
    await vclock.advance(1.0)
    assert await asyncio.wait_for(ping, SAFETY) is NetworkStatus.CONNECTED
