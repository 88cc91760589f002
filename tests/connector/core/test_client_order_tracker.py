"""ClientOrderTracker: the event contract, lost orders, caches, restarts.

Every test drives the tracker with synchronous calls on a fake clock and asserts on the
published events and the order state. ``assert_contract`` checks the documented contract on
any event sequence; the property test at the end feeds it random interleavings.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.core.client_order_tracker import ClientOrderTracker
from connector.core.data_types import OrderState, OrderType, TradeFee, TradeType
from connector.core.errors import (
    ConfigurationError,
    InvalidOrder,
    InvalidOrderReason,
    OrderLost,
    OrderNotFound,
    OrderRejected,
    RequestInfo,
    RequestTimeout,
    ServerError,
)
from connector.core.events import (
    AnomalyKind,
    BuyOrderCompleted,
    BuyOrderCreated,
    ConnectorEvent,
    EventBus,
    OrderAnomaly,
    OrderCancelled,
    OrderCreated,
    OrderEvent,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderResolved,
    SellOrderCompleted,
    SellOrderCreated,
)
from connector.core.in_flight_order import (
    FillResult,
    InFlightOrder,
    OrderUpdate,
    TradeUpdate,
    UpdateResult,
)

D = Decimal
S = OrderState
PAIR = "BTC-USDT"
E = TypeVar("E", bound=ConnectorEvent)
ZERO = D(0)


# -- harness ------------------------------------------------------------------------------------


class Harness:
    """A tracker on a fake clock, recording every published event."""

    def __init__(self, **tracker_options: float) -> None:
        self.now = 1000.0
        self.bus = EventBus(history_size=0)
        self.events: list[ConnectorEvent] = []
        self.bus.subscribe(ConnectorEvent, self.events.append)
        self.tracker = ClientOrderTracker(
            self.bus,
            clock=lambda: self.now,
            **tracker_options,  # type: ignore[arg-type]
        )

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def place(
        self,
        client_order_id: str = "c1",
        amount: str = "1",
        *,
        side: TradeType = TradeType.BUY,
        order_type: OrderType = OrderType.LIMIT,
    ) -> InFlightOrder:
        order = InFlightOrder(
            client_order_id=client_order_id,
            trading_pair=PAIR,
            order_type=order_type,
            trade_type=side,
            amount=D(amount),
            price=D("100"),
            creation_timestamp=self.now,
        )
        self.tracker.start_tracking_order(order)
        return order

    def status(
        self,
        state: OrderState,
        ts: int,
        executed: str | None = None,
        quote: str | None = None,
        *,
        client_order_id: str = "c1",
        exchange_order_id: str | None = "e1",
    ) -> UpdateResult | None:
        return self.tracker.process_order_update(
            OrderUpdate(
                client_order_id=client_order_id,
                trading_pair=PAIR,
                update_timestamp=ts,
                new_state=state,
                exchange_order_id=exchange_order_id,
                executed_amount_base=None if executed is None else D(executed),
                executed_amount_quote=None if quote is None else D(quote),
            )
        )

    def fill(
        self,
        trade_id: int,
        amount: str,
        price: str = "100",
        *,
        client_order_id: str = "c1",
        exchange_order_id: str | None = "e1",
    ) -> FillResult | None:
        return self.tracker.process_trade_update(
            make_trade(trade_id, amount, price, client_order_id, exchange_order_id)
        )

    def kinds(self, client_order_id: str | None = None) -> list[str]:
        return [
            type(e).__name__
            for e in self.events
            if client_order_id is None or getattr(e, "client_order_id", None) == client_order_id
        ]

    def of(self, cls: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, cls)]

    def anomalies(self) -> list[OrderAnomaly]:
        return [e for e in self.events if isinstance(e, OrderAnomaly)]

    def terminal(self) -> OrderResolved:
        [event] = [e for e in self.events if isinstance(e, OrderResolved)]
        return event


def state(order: InFlightOrder) -> OrderState:
    """The order's state, read through a call so that type checkers do not narrow it."""
    return order.current_state


def make_trade(
    trade_id: int,
    amount: str,
    price: str = "100",
    client_order_id: str = "c1",
    exchange_order_id: str | None = "e1",
) -> TradeUpdate:
    return TradeUpdate(
        trade_id=str(trade_id),
        client_order_id=client_order_id,
        exchange_order_id=exchange_order_id,
        trading_pair=PAIR,
        fill_timestamp=trade_id,
        fill_price=D(price),
        fill_base_amount=D(amount),
        fill_quote_amount=D(amount) * D(price),
        fee=TradeFee.of("BTC", D(amount) / 1000),
        is_maker=False,
    )


def assert_contract(events: Iterable[ConnectorEvent]) -> None:
    """Created? -> Filled* -> at most one terminal, per order; each trade id once; nothing
    but anomalies after the terminal event; terminal amounts equal the fills (if complete)."""
    per_order: dict[str, list[OrderEvent]] = defaultdict(list)
    for event in events:
        if isinstance(event, OrderEvent):
            per_order[event.client_order_id].append(event)
    for client_id, order_events in per_order.items():
        created_seen = terminal_seen = False
        trade_ids: set[str] = set()
        fills: list[OrderFilled] = []
        for event in order_events:
            where = f"{client_id}: {[type(e).__name__ for e in order_events]}"
            if isinstance(event, OrderAnomaly):
                if event.kind is AnomalyKind.MISSING_FILLS:
                    assert not terminal_seen, where
                else:
                    assert terminal_seen, where
                continue
            assert not terminal_seen, f"event after the terminal event in {where}"
            if isinstance(event, OrderCreated):
                assert not created_seen and not fills, where
                created_seen = True
            elif isinstance(event, OrderFilled):
                assert created_seen, f"fill before Created in {where}"
                assert event.trade_id not in trade_ids, f"duplicate fill in {where}"
                trade_ids.add(event.trade_id)
                fills.append(event)
            elif isinstance(event, OrderResolved):
                terminal_seen = True
                if not isinstance(event, OrderFailed):
                    assert created_seen, f"{type(event).__name__} without Created in {where}"
                if isinstance(event, OrderCompleted_):
                    assert event.executed_amount_base > 0, where
                if event.fills_complete:
                    assert event.executed_amount_base == sum((f.amount for f in fills), D(0))
                    assert event.executed_amount_quote == sum((f.quote_amount for f in fills), D(0))
                    assert event.fee == sum((f.fee for f in fills), TradeFee())


OrderCompleted_ = (BuyOrderCompleted, SellOrderCompleted)


# -- creation and the happy paths ------------------------------------------------------------------


def test_ack_publishes_buy_or_sell_created() -> None:
    h = Harness()
    h.place("b")
    h.place("s", side=TradeType.SELL)
    h.status(S.OPEN, 1, client_order_id="b", exchange_order_id="1")
    h.status(S.OPEN, 1, client_order_id="s", exchange_order_id="2")
    assert h.kinds() == ["BuyOrderCreated", "SellOrderCreated"]
    created = h.events[0]
    assert isinstance(created, BuyOrderCreated)
    assert created.exchange_order_id == "1" and created.amount == D("1")
    assert isinstance(h.events[1], SellOrderCreated)


def test_duplicate_ack_publishes_created_once() -> None:
    h = Harness()
    h.place()
    h.status(S.OPEN, 1)
    h.status(S.OPEN, 1)
    h.status(S.OPEN, 2)
    assert h.kinds() == ["BuyOrderCreated"]


def test_limit_order_created_filled_completed() -> None:
    h = Harness()
    order = h.place(amount="1")
    h.status(S.OPEN, 1)
    h.fill(1, "0.4")
    h.status(S.PARTIALLY_FILLED, 2, "0.4", "40")
    h.fill(2, "0.6", "101")
    h.status(S.FILLED, 3, "1", "100.6")
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled", "OrderFilled", "BuyOrderCompleted"]
    done = h.terminal()
    assert done.executed_amount_base == D("1")
    assert done.executed_amount_quote == D("100.6")
    assert done.fee == TradeFee.of("BTC", D("0.001"))
    assert done.fills_complete
    assert order.is_filled
    assert "c1" not in h.tracker.active_orders and "c1" in h.tracker.cached_orders
    assert_contract(h.events)


def test_sell_completion_uses_the_sell_class() -> None:
    h = Harness()
    h.place(side=TradeType.SELL)
    h.fill(1, "1")
    assert h.kinds() == ["SellOrderCreated", "OrderFilled", "SellOrderCompleted"]


def test_fill_before_the_create_response_yields_created_first() -> None:
    h = Harness()
    h.place(amount="1")
    h.fill(1, "0.5")  # user stream beat the REST response
    h.status(S.OPEN, 1)  # the REST create response arrives late
    h.fill(2, "0.5")
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled", "OrderFilled", "BuyOrderCompleted"]
    assert_contract(h.events)


def test_filled_status_while_pending_create_waits_for_its_fills() -> None:
    h = Harness()
    h.place(amount="1")
    assert h.status(S.FILLED, 5, "1", "100") is UpdateResult.DEFERRED
    assert h.kinds() == ["BuyOrderCreated"]
    assert [o.client_order_id for o in h.tracker.orders_awaiting_fills()] == ["c1"]
    h.fill(1, "0.3")
    h.fill(2, "0.7")
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled", "OrderFilled", "BuyOrderCompleted"]
    assert h.tracker.orders_awaiting_fills() == []
    assert_contract(h.events)


def test_same_trade_from_three_sources_is_filled_once() -> None:
    h = Harness()
    h.place(amount="2")
    h.status(S.OPEN, 1)
    assert h.fill(1, "1") is FillResult.APPLIED  # user stream
    assert h.fill(1, "1") is FillResult.DUPLICATE  # FULL order response
    assert h.fill(1, "1") is FillResult.DUPLICATE  # myTrades
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled"]


def test_updates_and_fills_for_untracked_orders_are_ignored() -> None:
    h = Harness()
    assert h.status(S.OPEN, 1, client_order_id="nobody", exchange_order_id="x") is None
    assert h.fill(1, "1", client_order_id="nobody", exchange_order_id="x") is None
    assert h.events == []


def test_order_is_found_by_exchange_id_when_the_client_id_differs() -> None:
    h = Harness()
    h.place()
    h.status(S.OPEN, 1, exchange_order_id="e9")
    # e.g. a cancel event whose client id is the cancel request's own id
    h.status(S.CANCELED, 2, "0", client_order_id="cancel-req", exchange_order_id="e9")
    assert h.kinds() == ["BuyOrderCreated", "OrderCancelled"]
    assert h.tracker.fetch_order(exchange_order_id="e9") is h.tracker.fetch_order("c1")


# -- cancel, expire, fail --------------------------------------------------------------------------


def test_cancel_after_partial_fill_reports_the_executed_amounts() -> None:
    h = Harness()
    h.place(amount="1")
    h.status(S.OPEN, 1)
    h.fill(1, "0.25")
    assert h.tracker.process_cancel_requested("c1") is UpdateResult.APPLIED
    h.status(S.CANCELED, 3, "0.25", "25")
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled", "OrderCancelled"]
    cancelled = h.terminal()
    assert isinstance(cancelled, OrderCancelled)
    assert cancelled.executed_amount_base == D("0.25")


def test_ioc_remainder_expired_after_partial_fill_is_expired_not_failed() -> None:
    h = Harness()
    h.place(amount="1")
    h.status(S.OPEN, 1)
    h.fill(1, "0.6")
    h.status(S.EXPIRED, 2, "0.6", "60")
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled", "OrderExpired"]
    assert isinstance(h.terminal(), OrderExpired)
    assert h.of(OrderFailed) == []


def test_market_order_expiring_on_arrival_is_created_then_expired() -> None:
    h = Harness()
    h.place(order_type=OrderType.MARKET)
    h.status(S.EXPIRED, 1, "0", "0")
    assert h.kinds() == ["BuyOrderCreated", "OrderExpired"]


def test_rejected_create_publishes_only_failed() -> None:
    h = Harness()
    order = h.place()
    error = OrderRejected(
        "Account has insufficient balance for requested action.",
        code=-2010,
        http_status=400,
        request=RequestInfo("POST", "/api/v3/order"),
    )
    assert h.tracker.process_order_failure("c1", error)
    assert h.kinds() == ["OrderFailed"]
    failed = h.terminal()
    assert isinstance(failed, OrderFailed) and failed.error is error
    assert order.is_failure
    assert_contract(h.events)


def test_a_create_failure_never_fails_an_order_the_exchange_acknowledged() -> None:
    """The user stream's NEW came before the create's answer, which says no: the order
    exists whatever that answer says (it was failed, then its fills were anomalies)."""
    h = Harness()
    order = h.place()
    h.status(S.OPEN, 1)
    error = OrderRejected("Duplicate order sent.", code=-2010, http_status=400)
    assert not h.tracker.process_order_failure("c1", error)
    assert order.current_state is S.OPEN and not order.is_failure
    assert h.kinds() == ["BuyOrderCreated"]
    assert_contract(h.events)


async def test_rejected_create_raises_from_wait_until_created() -> None:
    h = Harness()
    order = h.place()
    error = OrderRejected("Duplicate order sent.", code=-2010)
    h.tracker.process_order_failure("c1", error)
    with pytest.raises(OrderRejected):
        await order.wait_until_created()


def test_rejected_status_from_the_exchange_is_a_failure_with_a_typed_error() -> None:
    h = Harness()
    h.place()
    h.status(S.FAILED, 1)
    failed = h.terminal()
    assert isinstance(failed, OrderFailed) and isinstance(failed.error, OrderRejected)


def test_definitive_cancel_failure_reverts_but_unknown_outcome_keeps_pending_cancel() -> None:
    h = Harness()
    order = h.place()
    h.status(S.OPEN, 1)
    h.tracker.process_cancel_requested("c1")
    assert not h.tracker.process_cancel_failure("c1", RequestTimeout("no answer"))
    assert state(order) is S.PENDING_CANCEL
    rejected = OrderRejected("Order was not canceled due to cancel restrictions.", code=-2011)
    assert h.tracker.process_cancel_failure("c1", rejected)
    assert state(order) is S.OPEN
    assert h.kinds() == ["BuyOrderCreated"]


# -- unknown outcomes and lost orders --------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [RequestTimeout("timed out"), ServerError("Internal error", http_status=503)],
    ids=["timeout", "5xx"],
)
def test_create_with_unknown_outcome_stays_pending(error: Exception) -> None:
    h = Harness()
    order = h.place()
    assert isinstance(error, RequestTimeout | ServerError)
    assert not h.tracker.process_order_failure("c1", error)
    assert state(order) is S.PENDING_CREATE
    assert h.tracker.orders_with_unknown_creation() == [order]
    assert h.events == []
    # Reconciled by client id: the order was placed after all.
    h.status(S.OPEN, 7)
    assert h.tracker.orders_with_unknown_creation() == []
    assert h.kinds() == ["BuyOrderCreated"]


def test_transient_errors_never_count_toward_lost() -> None:
    h = Harness()
    order = h.place()
    h.advance(3600)
    for _ in range(10):
        assert not h.tracker.process_order_not_found(
            "c1", authoritative=False, reason=RequestTimeout("DNS failure")
        )
    assert h.tracker.not_found_count("c1") == 0
    assert order.is_open and h.events == []


def test_lost_needs_consecutive_authoritative_answers_and_a_minimum_age() -> None:
    h = Harness(lost_order_count_limit=2, lost_order_min_age_s=15.0)
    order = h.place()
    order.mark_creation_outcome_unknown()
    not_found = OrderNotFound("Order does not exist.", code=-2013, http_status=400)
    assert not h.tracker.process_order_not_found("c1", authoritative=True, reason=not_found)
    assert not h.tracker.process_order_not_found("c1", authoritative=True, reason=not_found)
    assert order.is_open  # two answers, but the order is only 0 s old
    h.advance(15)
    assert h.tracker.process_order_not_found("c1", authoritative=True, reason=not_found)
    assert h.kinds() == ["OrderFailed"]
    failed = h.terminal()
    assert isinstance(failed, OrderFailed) and isinstance(failed.error, OrderLost)
    assert failed.error.not_found_count == 3 and failed.error.last_reason is not_found
    assert order.is_lost
    assert "c1" in h.tracker.lost_orders and "c1" not in h.tracker.active_orders
    assert "c1" in h.tracker.all_updatable_orders and "c1" in h.tracker.all_fillable_orders


def test_evidence_that_the_order_exists_resets_the_not_found_run() -> None:
    h = Harness(lost_order_count_limit=2, lost_order_min_age_s=0.0)
    order = h.place()
    assert not h.tracker.process_order_not_found("c1", authoritative=True)
    h.status(S.OPEN, 1)
    assert h.tracker.not_found_count("c1") == 0
    assert not h.tracker.process_order_not_found("c1", authoritative=True)
    assert order.is_open
    assert h.tracker.process_order_not_found("c1", authoritative=True)


def test_lost_order_age_counts_from_when_the_create_went_out() -> None:
    """A create that waited (for the rate limiter) is young when sent, whatever its age."""
    h = Harness(lost_order_count_limit=1, lost_order_min_age_s=15.0)
    order = h.place()
    order.mark_creation_outcome_unknown()
    h.advance(20)  # queued behind a 429 for 20 s
    h.tracker.process_create_sent("c1")
    assert order.sent_timestamp == h.now
    h.advance(10)
    assert not h.tracker.process_order_not_found("c1", authoritative=True)  # 10 s after sending
    h.advance(5)
    assert h.tracker.process_order_not_found("c1", authoritative=True)


def test_lost_order_count_limit_is_configurable() -> None:
    h = Harness(lost_order_count_limit=4, lost_order_min_age_s=0.0)
    h.place()
    results = [h.tracker.process_order_not_found("c1", authoritative=True) for _ in range(4)]
    assert results == [False, False, False, True]


def test_lost_order_that_turns_up_is_reported_without_breaking_the_contract() -> None:
    h = Harness(lost_order_min_age_s=0.0)
    h.place(amount="1")
    h.status(S.OPEN, 1)
    h.tracker.process_order_not_found("c1", authoritative=True)
    h.tracker.process_order_not_found("c1", authoritative=True)
    assert h.kinds() == ["BuyOrderCreated", "OrderFailed"]
    # It traded after all, and the exchange layer then cancelled it.
    assert h.fill(5, "0.5") is FillResult.LATE
    assert h.fill(5, "0.5") is FillResult.DUPLICATE
    h.status(S.OPEN, 2)
    h.status(S.OPEN, 3)
    h.status(S.CANCELED, 4, "0.5")
    kinds = [a.kind for a in h.anomalies()]
    assert kinds == [
        AnomalyKind.FILL_AFTER_TERMINAL,
        AnomalyKind.STATE_AFTER_TERMINAL,  # OPEN, once
        AnomalyKind.STATE_AFTER_TERMINAL,  # CANCELED
    ]
    assert h.anomalies()[0].trade is not None
    assert "c1" not in h.tracker.lost_orders and "c1" in h.tracker.cached_orders
    assert len(h.of(OrderResolved)) == 1
    assert_contract(h.events)


def test_lost_order_reported_rejected_is_settled_without_an_anomaly() -> None:
    h = Harness(lost_order_min_age_s=0.0)
    h.place()
    h.tracker.process_order_not_found("c1", authoritative=True)
    h.tracker.process_order_not_found("c1", authoritative=True)
    h.status(S.FAILED, 1)  # consistent with the published failure
    assert h.anomalies() == []
    assert h.tracker.lost_orders == {} and "c1" in h.tracker.cached_orders


def test_views_list_orders_where_fills_and_updates_may_still_land() -> None:
    h = Harness(lost_order_min_age_s=0.0)
    h.place("active")
    h.place("done")
    h.status(S.CANCELED, 1, "0", client_order_id="done", exchange_order_id="e2")
    h.place("lost")
    h.tracker.process_order_not_found("lost", authoritative=True)
    h.tracker.process_order_not_found("lost", authoritative=True)
    assert sorted(h.tracker.all_fillable_orders) == ["active", "done", "lost"]
    assert sorted(h.tracker.all_updatable_orders) == ["active", "lost"]
    assert sorted(h.tracker.active_orders) == ["active"]


def test_not_found_for_a_done_or_unknown_order_is_ignored() -> None:
    h = Harness(lost_order_min_age_s=0.0)
    assert not h.tracker.process_order_not_found("ghost", authoritative=True)
    h.place()
    h.fill(1, "1")
    assert not h.tracker.process_order_not_found("c1", authoritative=True)
    assert len(h.of(OrderResolved)) == 1


# -- waiting for fills and forcing -----------------------------------------------------------------


def test_force_resolve_after_timeout_publishes_one_terminal_with_exchange_totals() -> None:
    h = Harness()
    h.place(amount="1")
    h.status(S.OPEN, 1)
    h.fill(1, "0.4")
    h.status(S.FILLED, 2, "1", "100")
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled"]
    h.advance(4)
    assert h.tracker.force_resolve_awaiting_fills(older_than_s=5) == []
    h.advance(1)
    [resolved] = h.tracker.force_resolve_awaiting_fills(older_than_s=5)
    assert resolved.client_order_id == "c1"
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled", "OrderAnomaly", "BuyOrderCompleted"]
    assert h.anomalies()[0].kind is AnomalyKind.MISSING_FILLS
    done = h.terminal()
    assert not done.fills_complete
    assert done.executed_amount_base == D("1") and done.executed_amount_quote == D("100")
    # The missing fill arrives later: an anomaly, never a second terminal event.
    h.fill(2, "0.6")
    assert h.anomalies()[-1].kind is AnomalyKind.FILL_AFTER_TERMINAL
    assert len(h.of(OrderResolved)) == 1
    assert_contract(h.events)


def test_forced_completion_never_reports_zero_executed() -> None:
    h = Harness()
    h.place(amount="2")
    h.status(S.FILLED, 1)  # no executed amount in the report, and no fills at all
    assert h.tracker.force_resolve("c1")
    done = h.terminal()
    assert isinstance(done, BuyOrderCompleted)
    assert done.executed_amount_base == D("2")
    assert not h.tracker.force_resolve("c1")


def test_duplicate_terminal_status_is_silent_but_a_conflicting_one_is_an_anomaly() -> None:
    h = Harness()
    h.place(amount="1")
    h.status(S.OPEN, 1)
    h.status(S.CANCELED, 2, "0")
    h.status(S.CANCELED, 2, "0")  # the REST answer repeating the user stream
    assert h.anomalies() == []
    h.status(S.FILLED, 3, "1")
    h.status(S.FILLED, 4, "1")
    assert [a.kind for a in h.anomalies()] == [AnomalyKind.STATE_AFTER_TERMINAL]
    assert len(h.of(OrderResolved)) == 1


# -- tracking, caches, restarts --------------------------------------------------------------------


def test_duplicate_client_order_id_is_refused() -> None:
    h = Harness()
    h.place()
    with pytest.raises(InvalidOrder) as raised:
        h.place()
    assert raised.value.reason is InvalidOrderReason.DUPLICATE_CLIENT_ORDER_ID


def test_stop_tracking_forgets_without_events() -> None:
    h = Harness()
    order = h.place()
    h.status(S.OPEN, 1, exchange_order_id="e5")
    assert h.tracker.stop_tracking_order("c1") is order
    assert h.tracker.fetch_order("c1") is None
    assert h.tracker.fetch_order(exchange_order_id="e5") is None
    assert h.fill(1, "1", exchange_order_id="e5") is None
    assert h.kinds() == ["BuyOrderCreated"]
    assert h.tracker.stop_tracking_order("c1") is None


def test_cached_orders_expire_by_age_and_by_size() -> None:
    h = Harness(cached_order_ttl_s=60.0, cached_order_max_size=2)
    for i in range(3):
        h.place(f"c{i}")
        h.status(S.CANCELED, 1, "0", client_order_id=f"c{i}", exchange_order_id=f"e{i}")
    assert sorted(h.tracker.cached_orders) == ["c1", "c2"]
    assert h.tracker.fetch_order(exchange_order_id="e0") is None
    h.advance(61)
    assert h.tracker.cached_orders == {}
    assert h.fill(1, "1", client_order_id="c2", exchange_order_id="e2") is None


def test_late_fill_within_the_cache_window_is_an_anomaly() -> None:
    h = Harness()
    h.place(amount="1")
    h.status(S.CANCELED, 1, "0")
    h.fill(3, "0.1")
    [anomaly] = h.anomalies()
    assert anomaly.kind is AnomalyKind.FILL_AFTER_TERMINAL
    assert anomaly.trade is not None and anomaly.trade.trade_id == "3"
    assert h.of(OrderFilled) == []


def test_restore_tracking_states_resumes_active_and_lost_orders_silently() -> None:
    before = Harness(lost_order_min_age_s=0.0)
    before.place("open", amount="1")
    before.status(S.OPEN, 1, client_order_id="open", exchange_order_id="e1")
    before.fill(1, "0.5", client_order_id="open", exchange_order_id="e1")
    before.place("lost")
    before.tracker.process_order_not_found("lost", authoritative=True)
    before.tracker.process_order_not_found("lost", authoritative=True)
    before.place("done")
    before.status(S.CANCELED, 1, "0", client_order_id="done", exchange_order_id="e3")
    saved = json.loads(json.dumps(before.tracker.tracking_states))
    assert sorted(saved) == ["lost", "open"]

    after = Harness()
    after.tracker.restore_tracking_states(saved)
    assert sorted(after.tracker.active_orders) == ["open"]
    assert sorted(after.tracker.lost_orders) == ["lost"]
    assert after.events == []
    # The fill seen before the restart is not published again; the rest completes normally.
    assert after.fill(1, "0.5", client_order_id="open", exchange_order_id="e1") is (FillResult.DUPLICATE)
    after.fill(2, "0.5", client_order_id="open", exchange_order_id="e1")
    assert after.kinds() == ["OrderFilled", "BuyOrderCompleted"]
    assert after.terminal().executed_amount_base == D("1")


def _spoiled(saved: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**saved, "bad": {**saved["good"], "client_order_id": "bad", **changes}}


@pytest.mark.parametrize(
    "states",
    [
        [1, 2],
        None,
        {"good": "GOOD", "bad": 1},
        {"good": "GOOD", "bad": {}},
        "amount:abc",
        "amount:float",
        "current_state:BOGUS",
        "fee:float",
        "key",
    ],
)
def test_restoring_what_tracking_states_did_not_save_is_refused_whole(states: Any) -> None:
    """Garbage raised AttributeError, KeyError, InvalidOperation... from deep inside, after
    the entries before it were restored; a float amount was taken with its binary error."""
    before = Harness()
    before.place("good")
    before.status(S.OPEN, 1, client_order_id="good", exchange_order_id="e1")
    before.fill(1, "0.5", client_order_id="good", exchange_order_id="e1")
    saved: dict[str, Any] = json.loads(json.dumps(before.tracker.tracking_states))
    if isinstance(states, dict):
        states = {k: saved["good"] if v == "GOOD" else v for k, v in states.items()}
    elif states == "amount:abc":
        states = _spoiled(saved, amount="abc")
    elif states == "amount:float":
        states = _spoiled(saved, amount=0.001)
    elif states == "current_state:BOGUS":
        states = _spoiled(saved, current_state="BOGUS")
    elif states == "fee:float":
        fill = {**saved["good"]["order_fills"][0], "client_order_id": "bad", "fee": {"BTC": 0.0005}}
        states = _spoiled(saved, order_fills=[fill])
    elif states == "key":
        states = {"good": saved["good"], "other": {**saved["good"], "client_order_id": "bad"}}
    after = Harness()
    with pytest.raises(ConfigurationError):
        after.tracker.restore_tracking_states(states)
    assert after.tracker.active_orders == {} and after.events == []


def test_restored_order_awaiting_fills_can_be_forced() -> None:
    before = Harness()
    before.place()
    before.status(S.FILLED, 1, "1")
    after = Harness()
    after.tracker.restore_tracking_states(before.tracker.tracking_states)
    assert len(after.tracker.orders_awaiting_fills()) == 1
    after.advance(10)
    assert len(after.tracker.force_resolve_awaiting_fills(older_than_s=10)) == 1
    assert after.kinds() == ["OrderAnomaly", "BuyOrderCompleted"]


# -- re-entrancy and awaitables --------------------------------------------------------------------


def test_listener_calling_back_into_the_tracker_cannot_split_a_batch() -> None:
    h = Harness()
    h.place(amount="1")

    def cancel_on_create(event: OrderCreated) -> None:
        # A strategy reacting to Created by reporting the order cancelled, re-entrantly.
        h.status(S.CANCELED, 9, "0.5", "50", client_order_id=event.client_order_id)

    h.bus.subscribe(OrderCreated, cancel_on_create)
    h.fill(1, "0.5")  # publishes the batch [Created, Filled]
    assert h.kinds() == ["BuyOrderCreated", "OrderFilled", "OrderCancelled"]
    assert_contract(h.events)


async def test_awaitables_resolve_in_step_with_the_events() -> None:
    h = Harness()
    order = h.place(amount="1")
    h.status(S.FILLED, 1, "1")
    await order.wait_until_created()
    assert not order.is_done
    h.fill(1, "1")
    assert await order.wait_until_done() is S.FILLED
    assert h.kinds()[-1] == "BuyOrderCompleted"


# -- property: random interleavings of a consistent exchange history -------------------------------


@dataclass(frozen=True)
class Message:
    kind: str  # "status" or "fill"
    state: OrderState = S.OPEN
    ts: int = 0
    executed: Decimal = ZERO
    trade_id: int = 0
    amount: Decimal = ZERO


@dataclass(frozen=True)
class History:
    fills: list[Decimal]  # the true fills of an order of 1, trade ids 1..n
    outcome: OrderState | None  # the true final state (None: still open)
    delivered: list[Message]  # what reached the connector, in arrival order
    dropped_fills: frozenset[int]  # trade ids that never arrived (yet)
    status_dropped: bool  # every status report after the ack was lost


@st.composite
def histories(draw: st.DrawFn) -> History:
    units = draw(st.lists(st.integers(1, 4), max_size=5))
    while sum(units) > 10:
        units.pop()
    fills = [D(u) / 10 for u in units]
    outcome: OrderState | None
    if sum(units) == 10:
        outcome = S.FILLED
    else:
        outcome = draw(st.sampled_from([S.CANCELED, S.EXPIRED, None]))
    messages = [Message("status", S.OPEN, ts=1)]
    cumulative = D(0)
    for i, amount in enumerate(fills, start=1):
        cumulative += amount
        copies = draw(st.integers(1, 3))  # user stream, myTrades, FULL response...
        messages += [Message("fill", trade_id=i, amount=amount)] * copies
        if cumulative < 1 and draw(st.booleans()):
            messages.append(Message("status", S.PARTIALLY_FILLED, ts=1 + i, executed=cumulative))
    if outcome is not None:
        messages.append(Message("status", outcome, ts=len(fills) + 2, executed=cumulative))
    dropped = frozenset(draw(st.sets(st.integers(1, len(fills)), max_size=2))) if fills else (frozenset())
    status_dropped = draw(st.booleans())
    delivered = [
        m
        for m in messages
        if not (m.kind == "fill" and m.trade_id in dropped)
        and not (status_dropped and m.kind == "status" and m.state is not S.OPEN)
    ]
    return History(fills, outcome, draw(st.permutations(delivered)), dropped, status_dropped)


RANK = {
    S.PENDING_CREATE: 0,
    S.OPEN: 1,
    S.PARTIALLY_FILLED: 2,
    S.PENDING_CANCEL: 3,
    S.FILLED: 4,
    S.CANCELED: 4,
    S.EXPIRED: 4,
    S.FAILED: 4,
}
TERMINAL_EVENT: dict[OrderState, type[OrderResolved]] = {
    S.FILLED: BuyOrderCompleted,
    S.CANCELED: OrderCancelled,
    S.EXPIRED: OrderExpired,
}


@settings(max_examples=300, deadline=None)
@given(histories())
def test_random_interleavings_keep_the_contract(history: History) -> None:
    h = Harness()
    order = h.place(amount="1")
    states = [order.current_state]
    for m in history.delivered:
        if m.kind == "fill":
            h.fill(m.trade_id, str(m.amount))
        else:
            h.status(m.state, m.ts, str(m.executed))
        states.append(order.current_state)
        # Transient noise never changes anything.
        h.tracker.process_order_not_found("c1", authoritative=False)

    assert_contract(h.events)
    assert all(RANK[a] <= RANK[b] for a, b in itertools.pairwise(states))
    delivered_ids = {str(m.trade_id) for m in history.delivered if m.kind == "fill"}
    filled = h.of(OrderFilled)
    assert len(filled) == len(delivered_ids)
    assert {e.trade_id for e in filled} == delivered_ids
    assert h.anomalies() == []

    outcome = history.outcome
    all_fills_in = not history.dropped_fills
    expect_terminal = all_fills_in and (
        outcome is S.FILLED or (outcome is not None and not history.status_dropped)
    )
    if expect_terminal:
        assert outcome is not None
        [terminal] = h.of(OrderResolved)
        assert isinstance(terminal, TERMINAL_EVENT[outcome])
        assert terminal.executed_amount_base == sum(history.fills, D(0))
        assert terminal.fills_complete
        assert state(order) is outcome
        return
    assert h.of(OrderResolved) == []
    assert order.is_open

    # Give up waiting if the exchange's final word arrived; then the stragglers come in, twice.
    forced = h.tracker.force_resolve("c1")
    assert forced == (outcome is not None and not history.status_dropped)
    for trade_id in sorted(history.dropped_fills):
        h.fill(trade_id, str(history.fills[trade_id - 1]))
        h.fill(trade_id, str(history.fills[trade_id - 1]))
    assert_contract(h.events)
    resolved = h.of(OrderResolved)
    late = [a for a in h.anomalies() if a.kind is AnomalyKind.FILL_AFTER_TERMINAL]
    if forced:
        assert outcome is not None
        [terminal] = resolved
        assert isinstance(terminal, TERMINAL_EVENT[outcome])
        assert not terminal.fills_complete
        assert terminal.executed_amount_base == sum(history.fills, D(0))
        assert len(late) == len(history.dropped_fills)
    elif outcome is S.FILLED:
        # The stragglers complete the order by themselves.
        [terminal] = resolved
        assert isinstance(terminal, BuyOrderCompleted) and terminal.fills_complete
        assert late == []
    else:
        assert resolved == [] and late == []
