"""Lost orders (template tests 34-39; addition (k)).

An order is declared lost only after repeated *authoritative* not-found answers. To get a
lost order that in fact exists (the case the template is about), the exchange is made to
answer -2013 for a live order twice (and to hide it from ``openOrders``); then the faults
are lifted and the order's real life continues. After the ``OrderFailed(OrderLost)``
terminal event, whatever happens to it is reported as ``OrderAnomaly``, never as a second
terminal event, and a lost order found open is cancelled (it is untracked exposure)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connector.binance import (
    BuyOrderCompleted,
    BuyOrderCreated,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderLost,
    OrderState,
    OrderType,
)
from connector.core.events import AnomalyKind, OrderAnomaly, OrderEvent
from mock_exchange.engine import Side
from tests.connector.e2e.support import BTC, NEVER, Harness, stream_down, until

D = Decimal
ORDER = "/api/v3/order"
OPEN_ORDERS = "/api/v3/openOrders"
NOT_FOUND = {"code": -2013, "msg": "Order does not exist."}


async def lose_an_order(harness: Harness, *, stream_up: bool) -> tuple[Any, Any, str]:
    overrides: dict[str, Any] = {"lost_order_min_age_s": 0}
    if not stream_up:
        overrides["stream_backoff"] = NEVER
    exchange, log = await harness.started(**overrides)
    order_id = exchange.buy(BTC, D("0.5"), OrderType.LIMIT, D("59999"))
    await log.wait_for(BuyOrderCreated, order_id)
    if not stream_up:
        await stream_down(harness, exchange)
    harness.faults.rewrite("GET", OPEN_ORDERS, lambda body: [])
    harness.faults.fail("GET", ORDER, status=400, body=NOT_FOUND, times=None)
    await exchange.update_order_status()
    assert exchange.order_tracker.not_found_count(order_id) == 1 and not log.of(OrderFailed)
    await exchange.update_order_status()
    failed = await log.wait_for(OrderFailed, order_id)
    assert isinstance(failed.error, OrderLost)
    assert order_id in exchange.order_tracker.lost_orders
    harness.faults.clear()
    return exchange, log, order_id


def anomalies(log: Any, order_id: str, kind: AnomalyKind) -> list[OrderAnomaly]:
    return [a for a in log.of(OrderAnomaly, order_id) if a.kind is kind]


async def test_lost_order_fills_are_reported_but_never_completed(harness: Harness) -> None:
    """Template 34 and addition (k): the lost order filled; the status pass reports the
    contradicting FILLED and each new trade as anomalies; no Filled, no Completed."""
    exchange, log, order_id = await lose_an_order(harness, stream_up=False)
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")
    await exchange.update_order_status()
    fill = anomalies(log, order_id, AnomalyKind.FILL_AFTER_TERMINAL)
    assert len(fill) == 1 and fill[0].trade is not None and fill[0].trade.fill_base_amount == D("0.5")
    assert anomalies(log, order_id, AnomalyKind.STATE_AFTER_TERMINAL)[0].update.new_state is OrderState.FILLED  # type: ignore[union-attr]
    assert not log.of(OrderFilled, order_id) and not log.of(BuyOrderCompleted, order_id)
    assert order_id not in exchange.order_tracker.lost_orders  # settled on the exchange: no longer chased


async def test_lost_order_found_open_is_cancelled(harness: Harness) -> None:
    """Template 35: the next pass finds the lost order open and cancels it; no second
    terminal event."""
    exchange, log, order_id = await lose_an_order(harness, stream_up=False)
    await exchange.update_order_status()
    assert harness.find_order(order_id).status.value == "CANCELED"
    assert not log.of(OrderCancelled, order_id)
    assert order_id not in exchange.order_tracker.lost_orders
    states = [a.update.new_state for a in anomalies(log, order_id, AnomalyKind.STATE_AFTER_TERMINAL)]  # type: ignore[union-attr]
    assert states == [OrderState.OPEN, OrderState.CANCELED]


async def test_lost_order_cancel_failure_keeps_it_lost(harness: Harness) -> None:
    """Template 36: the cancel of the lost order fails: no event, it stays lost (and is
    retried on the next pass)."""
    exchange, log, order_id = await lose_an_order(harness, stream_up=False)
    harness.faults.fail("DELETE", ORDER, times=None)
    await exchange.update_order_status()
    assert order_id in exchange.order_tracker.lost_orders
    assert harness.find_order(order_id).status.value == "NEW"
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFailed", "OrderAnomaly"]
    harness.faults.clear()
    await exchange.update_order_status()
    assert harness.find_order(order_id).status.value == "CANCELED"


async def test_lost_order_not_found_again_stays_quiet(harness: Harness) -> None:
    """Template 37: further not-found answers publish nothing more."""
    exchange, log, order_id = await lose_an_order(harness, stream_up=False)
    harness.faults.rewrite("GET", OPEN_ORDERS, lambda body: [])
    harness.faults.fail("GET", ORDER, status=400, body=NOT_FOUND, times=None)
    count = len(log.events)
    for _ in range(3):
        await exchange.update_order_status()
    assert not [e for e in log.events[count:] if isinstance(e, OrderEvent)]
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFailed"]


async def test_lost_order_cancelled_on_the_stream_is_settled(harness: Harness) -> None:
    """Template 38: a CANCELED user-stream event for a lost order settles it (anomaly only)."""
    exchange, log, order_id = await lose_an_order(harness, stream_up=True)
    harness.cancel_on_exchange(order_id)
    await until(lambda: order_id not in exchange.order_tracker.lost_orders, exchange.events, what="settled")
    assert not log.of(OrderCancelled, order_id)
    assert (
        anomalies(log, order_id, AnomalyKind.STATE_AFTER_TERMINAL)[0].update.new_state is OrderState.CANCELED
    )  # type: ignore[union-attr]


async def test_lost_order_full_fill_on_the_stream(harness: Harness) -> None:
    """Template 39 and addition (k): the fill of a lost order arrives on the user stream."""
    exchange, log, order_id = await lose_an_order(harness, stream_up=True)
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")
    fill = await log.wait_for(OrderAnomaly, order_id, lambda a: a.kind is AnomalyKind.FILL_AFTER_TERMINAL)
    assert fill.trade is not None and fill.trade.fill_price == D("59999")
    assert not log.of(OrderFilled, order_id) and not log.of(BuyOrderCompleted, order_id)
    await until(lambda: order_id not in exchange.order_tracker.lost_orders, exchange.events, what="settled")


async def test_cancel_of_a_lost_order_is_sent(harness: Harness) -> None:
    """Cancelling an order declared lost still sends the DELETE (lost means not found, not
    proven absent); success removes the exposure with no second terminal event."""
    exchange, log, order_id = await lose_an_order(harness, stream_up=False)
    result = await exchange.cancel(BTC, order_id)
    assert result.success and result.state is OrderState.FAILED
    assert harness.find_order(order_id).status.value == "CANCELED"
    assert harness.faults.count("DELETE", ORDER) == 1
    assert not log.of(OrderCancelled, order_id)
