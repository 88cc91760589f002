"""Restarting with saved ``tracking_states`` (template test 2, and fills made while the
connector was down)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from connector.binance import (
    BinanceExchange,
    BuyOrderCompleted,
    BuyOrderCreated,
    OrderCancelled,
    OrderCreated,
    OrderFailed,
    OrderFilled,
    OrderState,
    OrderType,
    ReconciliationCompleted,
    TransportError,
)
from mock_exchange.engine import Side
from tests.connector.e2e.support import (
    BTC,
    NEVER,
    SAFETY,
    EventLog,
    Harness,
    stream_down,
    tracking_state,
    until,
)

D = Decimal


def saved(states: dict[str, object]) -> dict[str, dict[str, object]]:
    """Through JSON, as a real restart would read them back."""
    return json.loads(json.dumps(states))  # type: ignore[no-any-return]


async def create_held_on_the_wire(harness: Harness, exchange: BinanceExchange, release: asyncio.Event) -> str:
    """Place a buy whose create goes out and reaches the exchange only once ``release`` is
    set (never executed before); returns its client order id once it is on the wire."""
    harness.faults.hold("POST", "/api/v3/order", release, execute_first=False)
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    order = exchange.get_order(order_id)
    assert order is not None
    await until(lambda: order.sent_timestamp is not None, what="the create going out")
    return order_id


async def test_restore_tracking_states_only_registers_open_orders(harness: Harness) -> None:
    """Template 2: unresolved orders become active again; resolved ones are not tracked."""
    first, log = await harness.started()
    order_id = first.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    states = saved(first.tracking_states)
    await first.stop()
    states["done-1"] = tracking_state("done-1", state="FILLED")
    states["cancelled-1"] = tracking_state("cancelled-1", state="CANCELED")

    second = harness.exchange()
    second.restore_tracking_states(states)
    assert list(second.in_flight_orders) == [order_id]
    second_log_names: list[str] = []
    second.events.subscribe(OrderCreated, lambda e: second_log_names.append(e.client_order_id))
    await second.start()
    await asyncio.wait_for(second.events.wait_for(ReconciliationCompleted), SAFETY)
    assert second.in_flight_orders[order_id].current_state is OrderState.OPEN
    assert second_log_names == []  # its Created was published before the restart


async def test_restart_recovers_fills_made_while_down(harness: Harness) -> None:
    """The order was partly filled before the stop (that fill is in the saved state) and
    filled while the connector was down: after the restart the missing fill and the
    completion are published, the known fill is not repeated."""
    first, log = await harness.started()
    order_id = first.buy(BTC, D("0.5"), OrderType.LIMIT, D("59999"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.mm_order("BTCUSDT", Side.SELL, "0.1")
    known = await log.wait_for(OrderFilled, order_id)
    states = saved(first.tracking_states)
    await first.stop()

    harness.mm_order("BTCUSDT", Side.SELL, "0.4")  # nobody is listening

    second = harness.exchange()
    second.restore_tracking_states(states)
    events: list[object] = []
    second.events.subscribe(OrderFilled, events.append)
    second.events.subscribe(BuyOrderCompleted, events.append)
    completed = second.events.wait_for(BuyOrderCompleted, client_order_id=order_id)
    await second.start()
    done = await completed
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert [f.amount for f in fills] == [D("0.4")] and fills[0].trade_id != known.trade_id
    assert done.executed_amount_base == D("0.5") and done.fills_complete
    assert events[-1] is done


async def test_restart_with_an_unknown_create_outcome(harness: Harness) -> None:
    """Saved while the create had no answer (a 503 after the exchange placed it, and no
    reconciliation could finish): after the restart the order is found by its client id."""
    first, _ = await harness.started(stream_backoff=NEVER)
    await stream_down(harness, first)
    never = asyncio.Event()
    harness.faults.hold("GET", "/api/v3/openOrders", never, execute_first=False, times=None)
    harness.faults.fail("POST", "/api/v3/order", after_execution=True)
    order_id = first.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    order = first.get_order(order_id)
    assert order is not None
    await until(lambda: order.creation_outcome_unknown, what="the unknown outcome")
    states = saved(first.tracking_states)
    await first.stop()
    assert states[order_id]["current_state"] == "PENDING_CREATE"
    assert states[order_id]["creation_outcome_unknown"] is True
    harness.faults.clear()

    second = harness.exchange()
    second.restore_tracking_states(states)
    await second.start()
    restored = await asyncio.wait_for(second.wait_for_created(order_id), SAFETY)
    assert restored.current_state is OrderState.OPEN
    assert restored.exchange_order_id == str(harness.open_order(order_id).order_id)
    never.set()


async def test_an_order_placed_right_before_stop_fails_as_not_sent(harness: Harness) -> None:
    """``buy`` then ``stop`` with nothing in between: the create task never ran, so its
    request never went out. The order must not stay PENDING_CREATE for good (nothing
    would ever settle it): it fails with a typed, outcome-known error."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await exchange.stop()
    failed = await log.wait_for(OrderFailed, order_id)
    assert isinstance(failed.error, TransportError) and not failed.error.outcome_unknown
    assert order_id not in exchange.in_flight_orders and not exchange._creating
    assert harness.find_order(order_id) is None


async def test_a_restored_pending_cancel_is_settled(harness: Harness) -> None:
    """A cancel answered 503 leaves the order PENDING_CANCEL with an unknown outcome. After
    a restart from ``tracking_states`` the new process does not know that either, so its
    reconciliation settles it (here: the order is still open, the cancel is sent again)."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, Decimal("0.01"), OrderType.LIMIT, Decimal("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.fail("DELETE", "/api/v3/order", status=503, body={"code": -1007, "msg": "unknown"})
    result = await exchange.cancel(BTC, order_id)
    assert not result.success and result.state is OrderState.PENDING_CANCEL
    states = json.loads(json.dumps(exchange.tracking_states))
    await exchange.stop()
    again = harness.exchange()
    again_log = EventLog(again.events)
    again.restore_tracking_states(states)
    await again.start()
    await asyncio.wait_for(again.wait_until_ready(), SAFETY)
    await again_log.wait_for(OrderCancelled, order_id)
    assert harness.find_order(order_id).status == "CANCELED"
    await again.stop()


async def test_a_restored_pending_create_is_settled(harness: Harness) -> None:
    """Saved while the create was in flight (a bot persisting on every change) and never
    answered: the new process cannot know whether it reached the exchange, so it settles it
    as an unknown create. Here it never did: it is declared lost once the lost-order rule
    allows, not left PENDING_CREATE until a slow safety poll (or for ever without one)."""
    first, _ = await harness.started()
    never = asyncio.Event()
    order_id = await create_held_on_the_wire(harness, first, never)
    states = saved(first.tracking_states)
    assert states[order_id]["creation_outcome_unknown"] is False
    await first.stop()  # the held create is dropped: it never reaches the engine
    harness.faults.clear()

    # Old enough to be declared lost only after the first passes (start, user stream up):
    # later passes must be scheduled because the order is unsettled.
    second = harness.exchange(lost_order_min_age_s=0.5)
    second_log = EventLog(second.events)
    second.restore_tracking_states(states)
    await second.start()
    failed = await second_log.wait_for(OrderFailed, order_id)
    assert failed.error is not None and harness.find_order(order_id) is None
    never.set()


async def test_restart_of_the_same_connector_resyncs_books_and_balances(harness: Harness) -> None:
    """``stop`` then ``start`` on one object: the book and balances from before the stop are
    stale (the market moved and funds arrived meanwhile), so neither may count as synced or
    loaded until read again."""
    exchange, _ = await harness.started()
    assert exchange.get_best_ask(BTC) == D("60005")
    await exchange.stop()
    harness.server.control.clear_book("BTCUSDT")
    harness.mm_order("BTCUSDT", Side.SELL, "0.1", "61000")
    harness.mm_order("BTCUSDT", Side.BUY, "0.1", "50000")
    before = exchange.get_balance("USDT")
    harness.deposit("USDT", "5")
    await exchange.start()
    assert not exchange.is_order_book_synced(BTC) and not exchange.ready
    assert exchange.status_dict["account_balance"] is False
    await asyncio.wait_for(exchange.wait_until_ready(), SAFETY)
    assert exchange.get_best_ask(BTC) == D("61000")
    assert exchange.get_balance("USDT") == before + 5


async def test_a_cancel_cut_short_by_stop_is_settled_after_start(harness: Harness) -> None:
    """Reconciliation re-sends a cancel whose first answer was lost (503); that one gets
    -2011 and stop() comes while the status query after it is unanswered: the order is
    left PENDING_CANCEL. After start() on the same connector, reconciliation must settle
    it (here: still open, so the cancel is sent again), not leave it pending for good."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.fail("DELETE", "/api/v3/order", status=503, body={"code": -1007, "msg": "unknown"})
    harness.faults.fail(
        "DELETE", "/api/v3/order", status=400, body={"code": -2011, "msg": "Unknown order sent."}
    )
    never = asyncio.Event()
    harness.faults.hold("GET", "/api/v3/order", never, execute_first=False)
    result = await exchange.cancel(BTC, order_id)
    assert not result.success and result.state is OrderState.PENDING_CANCEL
    await until(lambda: harness.faults.count("GET", "/api/v3/order") >= 1, what="the query after -2011")
    await exchange.stop()
    order = exchange.get_order(order_id)
    assert order is not None and order.current_state is OrderState.PENDING_CANCEL
    harness.faults.clear()
    await exchange.start()
    await log.wait_for(OrderCancelled, order_id)
    assert harness.find_order(order_id).status.value == "CANCELED"
    never.set()


async def test_restoring_states_leaves_orders_already_tracked_alone(harness: Harness) -> None:
    """Restoring saved states into a running connector adds what it lacks; an order it
    already tracks, with its create in flight, must not become an unknown create."""
    exchange, log = await harness.started()
    release = asyncio.Event()
    order_id = await create_held_on_the_wire(harness, exchange, release)
    order = exchange.get_order(order_id)
    assert order is not None
    exchange.restore_tracking_states(saved(exchange.tracking_states))
    assert not order.creation_outcome_unknown
    release.set()
    await log.wait_for(BuyOrderCreated, order_id)
