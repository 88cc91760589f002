"""Order status over REST: the reconciliation pass (template tests 22-27) and unknown
create outcomes (additions (h), (i)).

To see what REST alone recovers, the user stream is closed first and kept down (``NEVER``
backoff), then the exchange changes the order behind the connector's back, then one pass
runs (``update_order_status``)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from connector.binance import (
    BuyOrderCompleted,
    BuyOrderCreated,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderLost,
    OrderState,
    OrderType,
    ReconciliationCompleted,
)
from connector.binance import binance_constants as CONSTANTS
from connector.core.events import AnomalyKind, OrderAnomaly
from mock_exchange.clock import VirtualClock
from mock_exchange.engine import Side
from tests.connector.e2e.support import BTC, NEVER, SAFETY, Harness, stream_down, until

D = Decimal
ORDER = "/api/v3/order"
OPEN_ORDERS = "/api/v3/openOrders"
MY_TRADES = "/api/v3/myTrades"


async def resting_order_with_stream_down(harness: Harness, **overrides: Any) -> tuple[Any, Any, str]:
    exchange, log = await harness.started(stream_backoff=NEVER, **overrides)
    order_id = exchange.buy(BTC, D("0.5"), OrderType.LIMIT, D("59999"))  # the best bid
    await log.wait_for(BuyOrderCreated, order_id)
    await stream_down(harness, exchange)
    return exchange, log, order_id


async def test_update_order_status_when_filled(harness: Harness) -> None:
    """Template 22."""
    exchange, log, order_id = await resting_order_with_stream_down(harness)
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")
    assert await exchange.update_order_status()
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    assert completed.executed_amount_base == D("0.5")
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFilled", "BuyOrderCompleted"]


async def test_update_order_status_when_canceled(harness: Harness) -> None:
    """Template 23: cancelled by another session."""
    exchange, log, order_id = await resting_order_with_stream_down(harness)
    harness.cancel_on_exchange(order_id)
    assert await exchange.update_order_status()
    await log.wait_for(OrderCancelled, order_id)
    assert order_id not in exchange.in_flight_orders


async def test_update_order_status_when_order_has_not_changed(harness: Harness) -> None:
    """Template 24: no events; one ``openOrders`` per symbol, no per-order query (W6)."""
    exchange, log, order_id = await resting_order_with_stream_down(harness)
    before = list(log.of(BuyOrderCreated))
    harness.faults.calls.clear()
    assert await exchange.update_order_status()
    assert log.names(order_id) == ["BuyOrderCreated"] and log.of(BuyOrderCreated) == before
    paths = [c.path for c in harness.faults.calls]
    assert paths.count(OPEN_ORDERS) == 1 and ORDER not in paths
    assert exchange.in_flight_orders[order_id].current_state is OrderState.OPEN


async def test_update_order_status_when_request_fails_does_not_count_as_not_found(harness: Harness) -> None:
    """Template 25, fixed (W1): a failing status request is not evidence of anything."""
    exchange, log, order_id = await resting_order_with_stream_down(harness, lost_order_min_age_s=0)
    harness.faults.fail("GET", OPEN_ORDERS, times=None)
    harness.faults.fail("GET", ORDER, times=None)
    for _ in range(3):
        assert not await exchange.update_order_status()
    assert exchange.order_tracker.not_found_count(order_id) == 0
    assert exchange.in_flight_orders[order_id].current_state is OrderState.OPEN
    assert log.names(order_id) == ["BuyOrderCreated"]


async def test_update_order_status_with_one_partial_fill(harness: Harness) -> None:
    """Template 26, and addition (j) across sources: the first fill came on the user stream,
    the second while it was down; myTrades returns both and only the new one is published."""
    exchange, log = await harness.started(stream_backoff=NEVER)
    order_id = exchange.buy(BTC, D("0.5"), OrderType.LIMIT, D("59999"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.mm_order("BTCUSDT", Side.SELL, "0.1")
    first = await log.wait_for(OrderFilled, order_id)
    await stream_down(harness, exchange)
    harness.mm_order("BTCUSDT", Side.SELL, "0.2")
    assert await exchange.update_order_status()
    fills = log.of(OrderFilled, order_id)
    assert [f.amount for f in fills] == [D("0.1"), D("0.2")] and fills[0] == first
    assert harness.faults.count("GET", MY_TRADES) == 1
    order = exchange.in_flight_orders[order_id]
    assert order.current_state is OrderState.PARTIALLY_FILLED and order.executed_amount_base == D("0.3")


async def test_fills_are_fetched_page_by_page(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """An order can have more trades than one myTrades answer holds (at most 1000; 3 here):
    the connector pages with ``fromId`` until a short page, and publishes every fill once."""
    monkeypatch.setattr(CONSTANTS, "MY_TRADES_PAGE_LIMIT", 3)
    exchange, log, order_id = await resting_order_with_stream_down(harness)
    for _ in range(5):
        harness.mm_order("BTCUSDT", Side.SELL, "0.1")
    harness.faults.calls.clear()
    assert await exchange.update_order_status()
    fills = log.of(OrderFilled, order_id)
    assert [f.amount for f in fills] == [D("0.1")] * 5
    assert len({f.trade_id for f in fills}) == 5
    queries = [c.query for c in harness.faults.calls if c.path == MY_TRADES]
    assert len(queries) == 2 and all("limit=3" in q for q in queries)
    assert "fromId" not in queries[0] and "fromId=" in queries[1]
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    assert completed.fills_complete and completed.executed_amount_base == D("0.5")


async def test_filled_status_waits_for_its_fills(harness: Harness) -> None:
    """Template 27, fixed: GET /order says FILLED but myTrades fails. No Completed with
    missing amounts: the order waits; the next pass (scheduled by itself) gets the fills."""
    exchange, log, order_id = await resting_order_with_stream_down(harness)
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")
    harness.faults.fail("GET", MY_TRADES)
    assert not await exchange.update_order_status()
    order = exchange.in_flight_orders[order_id]
    assert order.awaiting_fills and not log.of(BuyOrderCompleted, order_id)
    completed = await log.wait_for(BuyOrderCompleted, order_id)  # the retry pass
    assert completed.fills_complete and completed.executed_amount_base == D("0.5")
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFilled", "BuyOrderCompleted"]


async def test_missing_fills_are_given_up_on_explicitly(harness: Harness) -> None:
    """If the fills never come, the order is resolved with the exchange's amounts and an
    ``OrderAnomaly(MISSING_FILLS)`` says so (never a silent 0-amount Completed)."""
    exchange, log, order_id = await resting_order_with_stream_down(harness, fills_wait_timeout_s=0)
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")
    harness.faults.fail("GET", MY_TRADES, times=None)
    await exchange.update_order_status()
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    assert not completed.fills_complete and completed.executed_amount_base == D("0.5")
    anomaly = log.of(OrderAnomaly, order_id)[0]
    assert anomaly.kind is AnomalyKind.MISSING_FILLS
    assert log.names(order_id) == ["BuyOrderCreated", "OrderAnomaly", "BuyOrderCompleted"]


async def test_create_with_unknown_outcome_is_found_by_client_id(harness: Harness) -> None:
    """Addition (h): the create got a 503 after the exchange placed the order. The order is
    not failed; reconciliation finds it by ``origClientOrderId`` and it is Created."""
    exchange, log = await harness.started(stream_backoff=NEVER)
    await stream_down(harness, exchange)
    harness.faults.fail("POST", ORDER, after_execution=True)
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    created = await log.wait_for(BuyOrderCreated, order_id)
    assert created.exchange_order_id == str(harness.open_order(order_id).order_id)
    assert not log.of(OrderFailed)
    assert exchange.in_flight_orders[order_id].current_state is OrderState.OPEN


async def test_create_timeout_is_an_unknown_outcome(vharness: Harness, vclock: VirtualClock) -> None:
    """Addition (h): no answer within the order timeout; the order had been placed. On a
    virtual clock, so the timeout passes only once the order is surely on the exchange."""
    exchange, log = await vharness.started(
        clock=lambda: vclock.now_us() / 1e6,
        sleep=vclock.sleep,
        stream_backoff=NEVER,
        order_request_timeout_s=0.3,
    )
    await stream_down(vharness, exchange)
    release = asyncio.Event()
    vharness.faults.hold("POST", ORDER, release)
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await until(
        lambda: any(
            o.client_order_id == order_id
            for o in vharness.server.service.exchange.open_orders(vharness.account_id(), "BTCUSDT")
        ),
        what="the order on the exchange",
    )
    await vclock.advance(0.3)
    await log.wait_for(BuyOrderCreated, order_id)
    assert not log.of(OrderFailed)
    release.set()


async def test_create_that_never_happened_is_lost_only_after_repeated_checks(harness: Harness) -> None:
    """Addition (h): the 503 came *before* the exchange placed anything. The order stays
    PENDING_CREATE through the first not-found answer and fails (``OrderLost``) only after
    the second one, never on the 503 itself."""
    exchange, log = await harness.started(stream_backoff=NEVER, lost_order_min_age_s=0)
    await stream_down(harness, exchange)
    harness.faults.fail("POST", ORDER)
    counts: list[int] = []
    exchange.events.subscribe(
        ReconciliationCompleted, lambda e: counts.append(exchange.order_tracker.not_found_count(order_id))
    )
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    failed = await log.wait_for(OrderFailed, order_id)
    assert isinstance(failed.error, OrderLost) and failed.error.not_found_count == 2
    assert counts[0] == 1  # the first pass only counted
    assert log.names(order_id) == ["OrderFailed"]


async def test_stale_rest_answer_does_not_move_an_order_back(harness: Harness) -> None:
    """Addition (i): an openOrders answer produced while the order was NEW arrives after the
    user stream reported it FILLED: ignored; one Completed."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.5"), OrderType.LIMIT, D("59999"))
    await log.wait_for(BuyOrderCreated, order_id)
    release = asyncio.Event()
    harness.faults.hold("GET", OPEN_ORDERS, release)
    task = asyncio.create_task(exchange.update_order_status())
    await until(lambda: harness.faults.count("GET", OPEN_ORDERS) > 0, what="the openOrders request")
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")
    await log.wait_for(BuyOrderCompleted, order_id)
    release.set()
    await asyncio.wait_for(task, SAFETY)
    assert exchange.get_order(order_id).current_state is OrderState.FILLED  # type: ignore[union-attr]
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFilled", "BuyOrderCompleted"]
    assert not [a for a in log.of(OrderAnomaly, order_id) if a.kind is not AnomalyKind.STATE_AFTER_TERMINAL]


async def test_lost_order_needs_a_minimum_age(vharness: Harness, vclock: VirtualClock) -> None:
    """On a virtual clock: repeated not-found answers for a young order do not fail it (the
    exchange may still be settling the create); once it is old enough, they do."""
    exchange, log = await vharness.started(
        clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep, stream_backoff=NEVER, lost_order_min_age_s=15
    )
    await stream_down(vharness, exchange)
    vharness.faults.fail("POST", ORDER)  # never reaches the engine
    first = exchange.events.wait_for(ReconciliationCompleted, predicate=lambda e: "create" in e.trigger)
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await asyncio.wait_for(first, SAFETY)
    assert exchange.order_tracker.not_found_count(order_id) == 1
    again = exchange.events.wait_for(ReconciliationCompleted, predicate=lambda e: e.trigger == "retry")
    await vclock.advance(1.0)
    await asyncio.wait_for(again, SAFETY)
    assert exchange.order_tracker.not_found_count(order_id) >= 2
    assert exchange.in_flight_orders[order_id].current_state is OrderState.PENDING_CREATE
    assert not log.of(OrderFailed)
    failed = exchange.events.wait_for(OrderFailed, client_order_id=order_id)
    await vclock.advance(15.0)
    assert isinstance((await asyncio.wait_for(failed, SAFETY)).error, OrderLost)


@pytest.mark.parametrize(
    ("code", "msg"),
    [
        (-1000, "An unknown error occurred while processing the request."),
        (-1001, "Internal error; unable to process your request. Please try again."),
    ],
)
async def test_an_executed_create_answered_with_an_internal_error_is_reconciled(
    harness: Harness, code: int, msg: str
) -> None:
    """-1000 and -1001 say nothing of how far the request got: an unknown outcome, even
    with HTTP 400. The order, placed, is never failed (it was: OrderFailed beside the
    stream's NEW, and what happened to it later only anomalies)."""
    exchange, log = await harness.started(stream_backoff=NEVER)
    await stream_down(harness, exchange)  # only the create's answer and REST can tell
    harness.faults.fail("POST", ORDER, status=400, body={"code": code, "msg": msg}, after_execution=True)
    reconciled = exchange.events.wait_for(
        ReconciliationCompleted, predicate=lambda e: "create outcome unknown" in e.trigger
    )
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await asyncio.wait_for(reconciled, SAFETY)
    assert harness.find_order(order_id).status.name == "NEW"
    assert exchange.get_order(order_id).current_state is OrderState.OPEN  # type: ignore[union-attr]
    await exchange.cancel(BTC, order_id)
    await log.wait_for(OrderCancelled, order_id)
    assert log.names(order_id) == ["BuyOrderCreated", "OrderCancelled"]


async def test_a_reconciliation_pass_that_breaks_still_schedules_its_retry(
    vharness: Harness, vclock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception no branch expected (here: one pass's fill resolution raising) fails
    that pass, not the retries: it was raised out of the supervisor after the pending
    request was cleared, so nothing retried until the slow safety poll."""
    exchange, _ = await vharness.started(clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep)
    tracker = exchange.order_tracker
    original = tracker.force_resolve_awaiting_fills
    broken = [True]

    def resolve_once_broken(*args: Any, **kwargs: Any) -> Any:
        if broken:
            broken.clear()
            raise RuntimeError("unexpected")
        return original(*args, **kwargs)

    monkeypatch.setattr(tracker, "force_resolve_awaiting_fills", resolve_once_broken)
    failed = exchange.events.wait_for(ReconciliationCompleted, predicate=lambda e: e.trigger == "broken")
    exchange.request_reconciliation("broken")
    assert not (await asyncio.wait_for(failed, SAFETY)).complete
    retried = exchange.events.wait_for(ReconciliationCompleted, predicate=lambda e: e.trigger == "retry")
    await vclock.advance(1.0)
    assert (await asyncio.wait_for(retried, SAFETY)).complete
