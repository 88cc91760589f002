"""Cancelling: one order, all orders, failures, unknown outcomes, and an order that filled
just before the cancel arrived (template tests 17-20)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from connector.binance import (
    BuyOrderCompleted,
    BuyOrderCreated,
    CancellationResult,
    ExchangeError,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderLost,
    OrderNotFound,
    OrderState,
    OrderType,
    ReconciliationCompleted,
    ServerError,
)
from mock_exchange.clock import VirtualClock
from mock_exchange.engine import Side
from tests.connector.e2e.support import BTC, NEVER, SAFETY, Harness, stream_down, tracking_state, until

D = Decimal
ORDER = "/api/v3/order"
RESTRICTED = {"code": -2011, "msg": "Order was not canceled due to cancel restrictions."}


async def test_cancel_order_successfully(harness: Harness) -> None:
    """Template 17."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    result = await exchange.cancel(BTC, order_id)
    assert result == CancellationResult(order_id, True, OrderState.CANCELED)
    cancelled = await log.wait_for(OrderCancelled, order_id)
    assert cancelled.executed_amount_base == 0
    assert log.names(order_id) == ["BuyOrderCreated", "OrderCancelled"]
    assert harness.find_order(order_id).status.value == "CANCELED"


async def test_cancel_refused_by_the_exchange_raises_no_event(harness: Harness) -> None:
    """Template 18: a definitive refusal leaves the order as it was, with no event."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.fail("DELETE", ORDER, status=400, body=RESTRICTED)
    result = await exchange.cancel(BTC, order_id)
    assert not result.success and result.state is OrderState.OPEN
    assert isinstance(result.error, ExchangeError) and result.error.code == -2011
    assert exchange.in_flight_orders[order_id].current_state is OrderState.OPEN
    assert log.names(order_id) == ["BuyOrderCreated"]


async def test_cancel_with_unknown_outcome_that_did_not_land_is_sent_again(harness: Harness) -> None:
    """A 503 before the exchange acted: the order stays PENDING_CANCEL; reconciliation sees
    it still open and sends the cancel again, which lands: one OrderCancelled."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.fail("DELETE", ORDER)
    result = await exchange.cancel(BTC, order_id)
    assert isinstance(result.error, ServerError) and result.state is OrderState.PENDING_CANCEL
    await log.wait_for(OrderCancelled, order_id)
    assert log.names(order_id) == ["BuyOrderCreated", "OrderCancelled"]
    assert harness.faults.count("DELETE", ORDER) == 2


async def test_cancel_that_keeps_failing_returns_the_order_to_open(harness: Harness) -> None:
    """If the re-sent cancels keep failing, the order goes back to OPEN (no event): the
    cancel did not happen and the caller may try again."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.fail("DELETE", ORDER, times=None)
    await exchange.cancel(BTC, order_id)
    await until(
        lambda: exchange.in_flight_orders[order_id].current_state is OrderState.OPEN,
        exchange.events,
        what="the order back to OPEN",
    )
    assert harness.faults.count("DELETE", ORDER) == 3  # the cancel, then two retries
    assert log.names(order_id) == ["BuyOrderCreated"]


async def test_cancel_with_unknown_outcome_that_landed(harness: Harness) -> None:
    """A 503 *after* the exchange cancelled: the order is resolved CANCELED, once."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.fail("DELETE", ORDER, after_execution=True)
    result = await exchange.cancel(BTC, order_id)
    assert isinstance(result.error, ServerError)
    # The user stream may report the cancel before the 503 arrives: success then says so.
    assert result.success == (result.state is OrderState.CANCELED)
    await log.wait_for(OrderCancelled, order_id)
    assert log.names(order_id) == ["BuyOrderCreated", "OrderCancelled"]


async def test_cancel_order_not_found_in_the_exchange(harness: Harness) -> None:
    """Template 19: an order the exchange never had (restored from a stale state). Each
    cancel gets -2011, the status query -2013: one authoritative not-found per check, and
    the order is declared lost only after repeated answers."""
    # No automatic retry passes: each not-found below comes from the step that caused it.
    exchange, log = await harness.started(
        lost_order_count_limit=3, lost_order_min_age_s=0, reconcile_backoff=NEVER
    )
    exchange.restore_tracking_states({"ghost-1": tracking_state("ghost-1")})
    await log.wait_for(ReconciliationCompleted, predicate=lambda e: "restored" in e.trigger)
    assert exchange.order_tracker.not_found_count("ghost-1") == 1
    result = await exchange.cancel(BTC, "ghost-1")
    assert isinstance(result.error, OrderNotFound) and result.state is OrderState.OPEN
    assert exchange.order_tracker.not_found_count("ghost-1") == 2
    assert log.names("ghost-1") == []
    result = await exchange.cancel(BTC, "ghost-1")
    failed = await log.wait_for(OrderFailed, "ghost-1")
    assert isinstance(failed.error, OrderLost) and failed.error.not_found_count == 3
    assert result.state is OrderState.FAILED and "ghost-1" in exchange.order_tracker.lost_orders


async def test_cancel_all_with_one_failure(harness: Harness) -> None:
    """Template 20: one result per order, in order; the refused one is False."""
    exchange, log = await harness.started()
    first = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    second = exchange.sell(BTC, D("0.01"), OrderType.LIMIT, D("61000"))
    await log.wait_for(BuyOrderCreated, first)
    await exchange.wait_for_created(second)
    harness.faults.fail(
        "DELETE", ORDER, status=400, body=RESTRICTED, where=lambda call: second in call.request.query_string
    )
    results = await exchange.cancel_all(timeout_s=SAFETY)
    assert [(r.client_order_id, r.success) for r in results] == [(first, True), (second, False)]
    assert results[1].state is OrderState.OPEN
    assert list(exchange.in_flight_orders) == [second]


async def test_cancel_all_reports_orders_not_cancelled_in_time(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """On a virtual clock, so the deadline passes only once the other cancel is done (on
    the real clock a pause of the test process longer than the deadline failed it)."""
    exchange, log = await vharness.started(clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep)
    first = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    second = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("58000"))
    await exchange.wait_for_created(first)
    await exchange.wait_for_created(second)
    release = asyncio.Event()

    async def hang(call: Any, proceed: Any) -> Any:
        await release.wait()
        return await proceed()

    # The cancel of ``first`` hangs, whichever of the two requests arrives first.
    vharness.faults.add("DELETE", ORDER, hang, where=lambda call: first in call.request.query_string)
    results = asyncio.ensure_future(exchange.cancel_all(timeout_s=0.3))
    await log.wait_for(OrderCancelled, second)
    await vclock.advance(0.3)
    done = await asyncio.wait_for(results, SAFETY)
    assert sorted((r.client_order_id, r.success) for r in done) == sorted([(first, False), (second, True)])
    release.set()


async def test_cancel_all_with_nothing_to_cancel(harness: Harness) -> None:
    exchange, _ = await harness.started()
    assert await exchange.cancel_all(timeout_s=1) == []


async def test_cancel_of_an_order_that_just_filled(harness: Harness) -> None:
    """-2011 because the order filled while the user stream was down: the status check finds
    FILLED and the fills; no failure, no cancel event."""
    exchange, log = await harness.started(stream_backoff=NEVER)
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59999"))  # best bid now
    await log.wait_for(BuyOrderCreated, order_id)
    await stream_down(harness, exchange)
    harness.mm_order("BTCUSDT", Side.SELL, "0.01")  # takes our bid
    result = await exchange.cancel(BTC, order_id)
    assert isinstance(result.error, OrderNotFound)
    assert not result.success and result.state is OrderState.FILLED
    await log.wait_for(BuyOrderCompleted, order_id)
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFilled", "BuyOrderCompleted"]
    assert log.of(OrderFilled, order_id)[0].is_maker
    assert not log.of(OrderFailed) and not log.of(OrderCancelled)


async def test_cancel_does_not_wait_for_a_slow_create_answer_once_acknowledged(harness: Harness) -> None:
    """The exchange placed the order and the user stream said so (NEW), but the create's
    own answer is slow. The cancel need not wait for it: the order exists, so the DELETE
    goes out at once and succeeds; the late create answer changes nothing."""
    exchange, log = await harness.started()
    release = asyncio.Event()
    harness.faults.hold("POST", "/api/v3/order", release)  # executed now, answered later
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)  # from the user stream
    result = await asyncio.wait_for(exchange.cancel(BTC, order_id), SAFETY)
    assert result.success and result.state is OrderState.CANCELED
    assert harness.faults.count("DELETE", "/api/v3/order") == 1
    assert order_id in exchange._creating  # the create answer is still outstanding
    release.set()
    await until(lambda: order_id not in exchange._creating, what="the create answer")
    assert log.names(order_id) == ["BuyOrderCreated", "OrderCancelled"]
    assert not log.of(OrderFailed)


async def test_cancel_right_after_buy_withdraws_the_order(harness: Harness) -> None:
    """A cancel issued right after ``buy``, before the create went out, withdraws it: the
    order never reaches the exchange (it could not fill meanwhile) and fails as not sent."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    result = await exchange.cancel(BTC, order_id)
    assert not result.success and result.state is OrderState.FAILED
    assert log.names(order_id) == ["OrderFailed"]
    assert harness.find_order(order_id) is None


async def test_a_withdrawal_completes_even_if_the_cancelling_task_is_cancelled(harness: Harness) -> None:
    """The withdrawal's bookkeeping must not depend on the caller waiting for it: a caller
    cancelled right after ``cancel()`` began still leaves the order failed as never sent,
    not PENDING_CREATE for good."""
    exchange, log = await harness.started()
    placed: list[str] = []

    async def buy_then_cancel() -> None:
        placed.append(exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000")))
        await exchange.cancel(BTC, placed[0])

    caller = asyncio.create_task(buy_then_cancel())
    await asyncio.sleep(0)  # it has called cancel(), which waits for the create task
    caller.cancel()
    await asyncio.gather(caller, return_exceptions=True)
    failed = await log.wait_for(OrderFailed, placed[0])
    assert not failed.error.outcome_unknown
    assert placed[0] not in exchange.in_flight_orders and placed[0] not in exchange._creating


async def test_cancel_while_the_create_is_in_flight(harness: Harness) -> None:
    """A cancel issued while the create is on the wire waits for its answer, then cancels."""
    exchange, log = await harness.started()
    release = asyncio.Event()
    harness.faults.hold("POST", ORDER, release)
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    order = exchange.get_order(order_id)
    assert order is not None
    await until(lambda: order.sent_timestamp is not None, what="the create going out")
    cancelling = asyncio.ensure_future(exchange.cancel(BTC, order_id))
    release.set()
    result = await asyncio.wait_for(cancelling, SAFETY)
    assert result.success
    assert log.names(order_id) == ["BuyOrderCreated", "OrderCancelled"]
