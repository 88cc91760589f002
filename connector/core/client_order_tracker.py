"""``ClientOrderTracker``: the orders this client placed, and the events they produce.

Every ``process_*`` call runs synchronously, to completion, in call order: it changes the
order (through ``InFlightOrder``'s transition table), then publishes the resulting events as
one batch on the ``EventBus``. Nothing is scheduled for later (Hummingbot processed order
updates as fire-and-forget tasks, which reordered them; study W3).

The event contract
==================

For every order the tracker resolves, listeners see, in this order::

    OrderCreated -> OrderFilled* -> exactly one of
                    (OrderCompleted | OrderCancelled | OrderExpired | OrderFailed)

1. **Created first.** ``OrderCreated`` (``BuyOrderCreated``/``SellOrderCreated``) is published
   once, when the exchange first shows the order exists: an acknowledgement, any reported
   state other than FAILED, or a fill. A fill or a FILLED status that arrives while the order
   is still ``PENDING_CREATE`` (the user stream beat the create response) therefore yields
   ``Created`` and then the fill. An order that fails before the exchange ever acknowledged
   it gets no ``Created``: just ``OrderFailed``.
2. **Each fill once.** ``OrderFilled`` is published once per trade id, however many sources
   report the trade (user stream, ``myTrades``, the FULL order response, a restart).
3. **Exactly one terminal event,** after all the fills it accounts for. Its executed amounts
   and fee are the exact sums of the ``OrderFilled`` events before it.
4. **A terminal status waits for its fills.** A FILLED/CANCELED/EXPIRED status whose cumulative
   executed amount exceeds the fills received is held back; its terminal event is published
   when the missing fills arrive. ``orders_awaiting_fills()`` lists such orders so the exchange
   layer can fetch the fills (e.g. ``myTrades`` by ``orderId``). ``force_resolve`` /
   ``force_resolve_awaiting_fills(older_than_s=...)`` give up waiting: an
   ``OrderAnomaly(MISSING_FILLS)`` is published, then the terminal event with
   ``fills_complete=False`` and the exchange's cumulative amounts. It is still the only
   terminal event, and a Completed event never reports 0 executed (FILLED without a reported
   amount counts as the whole order).
5. **EXPIRED is its own outcome** (``OrderExpired``), including after partial fills (an IOC or
   MARKET remainder). It is never reported as ``OrderFailed``.
6. **Nothing after the terminal event but anomalies.** A new fill for a resolved order (a lost
   order that traded after all, a fill that was missing at a forced resolution) is published
   as ``OrderAnomaly(FILL_AFTER_TERMINAL)`` carrying the trade; a status contradicting the
   published outcome as ``OrderAnomaly(STATE_AFTER_TERMINAL)``. The order's state and amounts
   do not change.
7. **Batches are atomic.** The events of one call are published with ``EventBus.publish_all``:
   a listener that calls back into the tracker cannot wedge its events inside the batch.

Lost orders (study W1/W2)
=========================

An order is declared lost (``FAILED`` with an ``OrderLost`` error, then kept in
``lost_orders`` so late evidence is still recognised) only when **both** hold:

* ``lost_order_count_limit`` (default 2) *consecutive authoritative* not-found answers, i.e.
  ``process_order_not_found(..., authoritative=True)``: the exchange answered and said the
  order does not exist. Transient failures (timeouts, 5xx, 429, auth, DNS) must be reported
  with ``authoritative=False``: they never count, and they do not break a run either. Any
  evidence that the order exists (an update or a fill) resets the count;
* ``lost_order_min_age_s`` (default 15 s) since the create was attempted: Binance may
  take its 10 s backend timeout plus ``recvWindow`` to settle an order, so a young order
  cannot be proven absent.

A create with an unknown outcome (``process_order_failure`` with an error whose
``outcome_unknown`` is True) is *not* a failure: the order stays ``PENDING_CREATE`` with
``creation_outcome_unknown=True`` until an update, a fill or the lost-order rule settles it.

Stopping tracking
=================

``stop_tracking_order`` forgets an order. Doing so before it resolved is the one way to get no
terminal event: the caller chose to abandon it (e.g. at shutdown; persist ``tracking_states``
first). Resolved orders are moved to ``cached_orders`` (bounded by size and age) by the
tracker itself, so late fills are still recognised.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .data_types import OrderState, TradeType
from .errors import ConfigurationError, ConnectorError, InvalidOrder, InvalidOrderReason, OrderLost
from .events import (
    AnomalyKind,
    BuyOrderCompleted,
    BuyOrderCreated,
    ConnectorEvent,
    EventBus,
    OrderAnomaly,
    OrderCancelled,
    OrderCreated,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderResolved,
    SellOrderCompleted,
    SellOrderCreated,
)
from .in_flight_order import (
    FillResult,
    InFlightOrder,
    OrderUpdate,
    TradeUpdate,
    UpdateResult,
)

Clock = Callable[[], float]


class _ExpiringOrders:
    """Orders kept for a while: at most ``max_size``, each for at most ``ttl_s`` seconds.

    Insertion order is age order, so expiry pops from the front: amortised O(1).
    """

    def __init__(
        self, max_size: int, ttl_s: float, clock: Clock, on_evict: Callable[[InFlightOrder], None]
    ) -> None:
        self._items: OrderedDict[str, tuple[float, InFlightOrder]] = OrderedDict()
        self._max_size = max_size
        self._ttl_s = ttl_s
        self._clock = clock
        self._on_evict = on_evict

    def put(self, order: InFlightOrder) -> None:
        self._items[order.client_order_id] = (self._clock(), order)
        self._items.move_to_end(order.client_order_id)
        self.expire()

    def get(self, client_order_id: str) -> InFlightOrder | None:
        self.expire()
        item = self._items.get(client_order_id)
        return None if item is None else item[1]

    def __contains__(self, client_order_id: object) -> bool:
        """Membership without expiring anything (safe to call from ``on_evict``)."""
        return client_order_id in self._items

    def pop(self, client_order_id: str) -> InFlightOrder | None:
        item = self._items.pop(client_order_id, None)
        return None if item is None else item[1]

    def snapshot(self) -> dict[str, InFlightOrder]:
        self.expire()
        return {k: order for k, (_, order) in self._items.items()}

    def __iter__(self) -> Iterator[InFlightOrder]:
        self.expire()
        return iter([order for _, order in self._items.values()])

    def expire(self) -> None:
        deadline = self._clock() - self._ttl_s
        items = self._items
        while items:
            key, (added, order) = next(iter(items.items()))
            if len(items) <= self._max_size and added > deadline:
                break
            del items[key]
            self._on_evict(order)


class ClientOrderTracker:
    """Tracks in-flight orders, applies updates and fills, and publishes order events.

    ``clock`` returns local time in seconds; it stamps events, ages orders for the lost-order
    rule and expires the caches. Inject a fake clock in tests.
    """

    def __init__(
        self,
        event_bus: EventBus,
        *,
        clock: Clock = time.time,
        lost_order_count_limit: int = 2,
        lost_order_min_age_s: float = 15.0,
        cached_order_ttl_s: float = 120.0,
        cached_order_max_size: int = 1000,
        lost_order_ttl_s: float = 3600.0,
        lost_order_max_size: int = 1000,
    ) -> None:
        if lost_order_count_limit < 1:
            raise ValueError(f"lost_order_count_limit must be >= 1, got {lost_order_count_limit}")
        self._bus = event_bus
        self._clock = clock
        self.lost_order_count_limit = lost_order_count_limit
        self.lost_order_min_age_s = lost_order_min_age_s
        self._active: dict[str, InFlightOrder] = {}
        self._cached = _ExpiringOrders(
            cached_order_max_size, cached_order_ttl_s, clock, self._forget_if_untracked
        )
        self._lost = _ExpiringOrders(lost_order_max_size, lost_order_ttl_s, clock, self._forget_if_untracked)
        self._by_exchange_id: dict[str, str] = {}
        self._not_found_counts: dict[str, int] = {}
        self._awaiting_fills_since: dict[str, float] = {}
        self._reported_conflicts: dict[str, set[OrderState]] = {}

    # -- views --------------------------------------------------------------------------------

    @property
    def active_orders(self) -> dict[str, InFlightOrder]:
        """Orders not yet resolved, by client order id."""
        return dict(self._active)

    @property
    def cached_orders(self) -> dict[str, InFlightOrder]:
        """Recently resolved orders (bounded by size and age), still matched by late fills."""
        return self._cached.snapshot()

    @property
    def lost_orders(self) -> dict[str, InFlightOrder]:
        """Orders declared lost. Keep trying to cancel and look them up; evidence that they
        exist is reported as an anomaly."""
        return self._lost.snapshot()

    @property
    def all_fillable_orders(self) -> dict[str, InFlightOrder]:
        """Every order a fill may still belong to: active, recently resolved and lost."""
        return {**self._cached.snapshot(), **self._lost.snapshot(), **self._active}

    @property
    def all_updatable_orders(self) -> dict[str, InFlightOrder]:
        """Every order whose status is worth asking for: active and lost."""
        return {**self._lost.snapshot(), **self._active}

    def orders_awaiting_fills(self) -> list[InFlightOrder]:
        """Active orders whose terminal status is held back for missing fills (rule 4)."""
        return [o for o in self._active.values() if o.awaiting_fills]

    def orders_with_unknown_creation(self) -> list[InFlightOrder]:
        """Active orders whose create had an unknown outcome: reconcile them by client id."""
        return [o for o in self._active.values() if o.creation_outcome_unknown]

    def not_found_count(self, client_order_id: str) -> int:
        """Consecutive authoritative not-found answers recorded for an active order."""
        return self._not_found_counts.get(client_order_id, 0)

    def fetch_order(
        self, client_order_id: str | None = None, exchange_order_id: str | None = None
    ) -> InFlightOrder | None:
        """Find an order (active, lost or recently resolved) by either id."""
        if client_order_id is not None:
            order = self._find_by_client_id(client_order_id)
            if order is not None:
                return order
        if exchange_order_id is not None:
            known = self._by_exchange_id.get(exchange_order_id)
            if known is not None:
                return self._find_by_client_id(known)
        return None

    def fetch_tracked_order(self, client_order_id: str) -> InFlightOrder | None:
        """An active order only."""
        return self._active.get(client_order_id)

    # -- lifecycle ----------------------------------------------------------------------------

    def start_tracking_order(self, order: InFlightOrder) -> None:
        """Track a new order. Call *before* sending the create, so that no answer can arrive
        for an order the tracker does not know."""
        if self._find_by_client_id(order.client_order_id) is not None:
            raise InvalidOrder(
                InvalidOrderReason.DUPLICATE_CLIENT_ORDER_ID,
                f"client order id {order.client_order_id!r} is already tracked",
                trading_pair=order.trading_pair,
            )
        self._active[order.client_order_id] = order
        self._index(order)

    def stop_tracking_order(self, client_order_id: str) -> InFlightOrder | None:
        """Forget an order wherever it is. An unresolved order gets no terminal event."""
        order = (
            self._active.pop(client_order_id, None)
            or self._lost.pop(client_order_id)
            or self._cached.pop(client_order_id)
        )
        if order is not None:
            self._forget(order)
        return order

    # -- inputs -------------------------------------------------------------------------------

    def process_order_update(self, update: OrderUpdate) -> UpdateResult | None:
        """Apply a status report. Returns what the order did with it (None: not tracked)."""
        order = self.fetch_order(update.client_order_id, update.exchange_order_id)
        if order is None:
            return None
        was_ack, was_done = order.acknowledged, order.is_done
        result = order.apply_order_update(update)
        if result is UpdateResult.MISMATCH:
            return result
        self._not_found_counts.pop(order.client_order_id, None)
        events: list[ConnectorEvent] = []
        if result is UpdateResult.ABSORBED:
            self._on_update_after_terminal(order, update, events)
        else:
            if result is UpdateResult.DEFERRED:
                self._awaiting_fills_since.setdefault(order.client_order_id, self._clock())
            self._progress(order, was_ack, was_done, None, events)
        self._bus.publish_all(events)
        return result

    def process_trade_update(self, trade: TradeUpdate) -> FillResult | None:
        """Apply a fill. Returns what the order did with it (None: not tracked)."""
        order = self.fetch_order(trade.client_order_id, trade.exchange_order_id)
        if order is None:
            return None
        was_ack, was_done = order.acknowledged, order.is_done
        result = order.apply_trade_update(trade)
        if result is FillResult.MISMATCH:
            return result
        self._not_found_counts.pop(order.client_order_id, None)
        events: list[ConnectorEvent] = []
        if result is FillResult.LATE:
            events.append(
                self._anomaly(
                    order,
                    AnomalyKind.FILL_AFTER_TERMINAL,
                    f"trade {trade.trade_id} ({trade.fill_base_amount} at {trade.fill_price}) "
                    f"arrived after the order was resolved as {order.current_state}",
                    trade=trade,
                )
            )
        elif result is FillResult.APPLIED:
            self._progress(order, was_ack, was_done, trade, events)
        self._bus.publish_all(events)
        return result

    def process_cancel_requested(self, client_order_id: str) -> UpdateResult | None:
        """A cancel is about to be sent: the order goes ``PENDING_CANCEL``."""
        order = self._active.get(client_order_id)
        if order is None:
            return None
        return order.request_cancel()

    def process_cancel_failure(self, client_order_id: str, error: ConnectorError) -> bool:
        """A cancel request failed. Returns True if the order went back to its previous state.

        An error with an unknown outcome leaves the order ``PENDING_CANCEL``: the cancel may
        have landed, and the next status report will say. A "no such order" answer is also
        evidence for the lost-order rule: report it with ``process_order_not_found`` too.
        """
        order = self._active.get(client_order_id)
        if order is None or error.outcome_unknown:
            return False
        return order.reject_cancel() is UpdateResult.APPLIED

    def process_order_failure(self, client_order_id: str, error: ConnectorError) -> bool:
        """The create request failed. Returns True if the order is now FAILED.

        If ``error.outcome_unknown`` (timeout, 5xx, -1006/-1007, connection dropped after
        sending) the order may exist: it stays ``PENDING_CREATE`` with
        ``creation_outcome_unknown=True`` and this returns False. An order the exchange has
        already acknowledged (its user stream said NEW first) exists whatever the create's
        answer says: it is never failed by one, and this returns False.
        """
        order = self._active.get(client_order_id)
        if order is None or order.acknowledged:
            return False
        if error.outcome_unknown:
            order.mark_creation_outcome_unknown()
            return False
        return self._apply_local(order, lambda: order.fail(error) is UpdateResult.APPLIED)

    def process_create_sent(self, client_order_id: str) -> None:
        """The create request of ``client_order_id`` is going out now (again, on a retry)."""
        order = self._active.get(client_order_id)
        if order is not None:
            order.sent_timestamp = self._clock()

    def process_create_refused_before_retry(self, client_order_id: str) -> None:
        """The create went out but was refused unexecuted (a -1021 timestamp refusal) and
        will be sent again: until then, nothing of it is on the exchange."""
        order = self._active.get(client_order_id)
        if order is not None and not order.acknowledged:
            order.sent_timestamp = None

    def process_order_not_found(
        self,
        client_order_id: str,
        *,
        authoritative: bool,
        reason: ConnectorError | None = None,
    ) -> bool:
        """The exchange could not find the order, or the lookup failed.

        ``authoritative`` is True only when the exchange answered that the order does not
        exist (Binance -2013 on a query, -2011 "Unknown order sent." on a cancel). Anything
        else (timeouts, 5xx, auth errors, rate limits) must pass False and is ignored.
        Returns True if this answer made the tracker declare the order lost.
        """
        order = self._active.get(client_order_id)
        if order is None or not authoritative:
            return False
        count = self._not_found_counts.get(client_order_id, 0) + 1
        self._not_found_counts[client_order_id] = count
        if count < self.lost_order_count_limit:
            return False
        # Age counts from when the create last went out, not from when it was asked for
        # (it may have waited for the rate limiter), if the connector said when.
        sent = order.creation_timestamp if order.sent_timestamp is None else order.sent_timestamp
        if self._clock() - sent < self.lost_order_min_age_s:
            return False
        error = OrderLost(
            f"order {client_order_id} not found on the exchange {count} times in a row",
            not_found_count=count,
            last_reason=reason,
        )
        return self._apply_local(order, lambda: order.declare_lost(error) is UpdateResult.APPLIED)

    def force_resolve(self, client_order_id: str) -> bool:
        """Stop waiting for missing fills and publish the held-back terminal event."""
        order = self._active.get(client_order_id)
        if order is None:
            return False
        return self._apply_local(order, order.force_resolve)

    def force_resolve_awaiting_fills(self, *, older_than_s: float) -> list[InFlightOrder]:
        """``force_resolve`` every order that has waited for fills at least ``older_than_s``."""
        now = self._clock()
        due = [
            client_id
            for client_id, since in self._awaiting_fills_since.items()
            if now - since >= older_than_s
        ]
        resolved = []
        for client_id in due:
            if self.force_resolve(client_id):
                order = self.fetch_order(client_id)
                if order is not None:
                    resolved.append(order)
        return resolved

    # -- persistence --------------------------------------------------------------------------

    @property
    def tracking_states(self) -> dict[str, dict[str, Any]]:
        """JSON-safe state of active and lost orders, to persist for a restart."""
        states = {o.client_order_id: o.to_json() for o in self._lost}
        states.update({k: o.to_json() for k, o in self._active.items()})
        return states

    def restore_tracking_states(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        """Re-track orders saved by ``tracking_states``: unresolved ones as active, lost ones
        as lost; resolved ones are skipped. Publishes nothing (their events were published
        before the restart). Anything that is not what ``tracking_states`` saved raises
        ``ConfigurationError`` and restores nothing."""
        if not isinstance(states, Mapping):
            raise ConfigurationError(
                f"tracking states must map client order ids to saved states, got {type(states).__name__}"
            )
        # Every state is read before any is restored: a bad one restores nothing.
        orders = []
        for client_order_id, data in states.items():
            try:
                order = InFlightOrder.from_json(data)
            except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
                raise ConfigurationError(
                    f"tracking state {client_order_id!r} is not one saved by tracking_states: {exc!r}"
                ) from exc
            if order.client_order_id != client_order_id:
                raise ConfigurationError(
                    f"tracking state {client_order_id!r} holds order {order.client_order_id!r}"
                )
            orders.append(order)
        for order in orders:
            if self._find_by_client_id(order.client_order_id) is not None:
                continue
            if order.is_open:
                self._active[order.client_order_id] = order
                if order.awaiting_fills:
                    self._awaiting_fills_since[order.client_order_id] = self._clock()
            elif order.is_lost:
                self._lost.put(order)
            else:
                continue
            self._index(order)

    # -- internals ----------------------------------------------------------------------------

    def _find_by_client_id(self, client_order_id: str) -> InFlightOrder | None:
        return (
            self._active.get(client_order_id)
            or self._lost.get(client_order_id)
            or self._cached.get(client_order_id)
        )

    def _index(self, order: InFlightOrder) -> None:
        if order.exchange_order_id is not None:
            self._by_exchange_id[order.exchange_order_id] = order.client_order_id

    def _forget(self, order: InFlightOrder) -> None:
        client_id = order.client_order_id
        exchange_id = order.exchange_order_id
        if exchange_id is not None and self._by_exchange_id.get(exchange_id) == client_id:
            del self._by_exchange_id[exchange_id]
        self._not_found_counts.pop(client_id, None)
        self._awaiting_fills_since.pop(client_id, None)
        self._reported_conflicts.pop(client_id, None)

    def _forget_if_untracked(self, order: InFlightOrder) -> None:
        # Called on cache/lost expiry: the order may have moved elsewhere meanwhile. Must not
        # expire anything itself (no re-entry into the container being expired).
        client_id = order.client_order_id
        if not (client_id in self._active or client_id in self._lost or client_id in self._cached):
            self._forget(order)

    def _apply_local(self, order: InFlightOrder, change: Callable[[], bool]) -> bool:
        """Make a local change (``change`` returns whether it took), then publish what it
        did to the order. Returns whether it took."""
        was_ack, was_done = order.acknowledged, order.is_done
        if not change():
            return False
        events: list[ConnectorEvent] = []
        self._progress(order, was_ack, was_done, None, events)
        self._bus.publish_all(events)
        return True

    def _progress(
        self,
        order: InFlightOrder,
        was_ack: bool,
        was_done: bool,
        fill: TradeUpdate | None,
        events: list[ConnectorEvent],
    ) -> None:
        """Turn one change of ``order`` into events, in contract order."""
        self._index(order)
        if order.acknowledged and not was_ack and not was_done:
            events.append(self._created(order))
        if fill is not None:
            events.append(self._filled(order, fill))
        if order.is_done and not was_done:
            self._retire(order)
            if not order.fills_complete:
                events.append(
                    self._anomaly(
                        order,
                        AnomalyKind.MISSING_FILLS,
                        f"resolved as {order.current_state} with "
                        f"{order.missing_fill_amount} of fills missing",
                    )
                )
            events.append(self._resolved(order))

    def _retire(self, order: InFlightOrder) -> None:
        client_id = order.client_order_id
        self._active.pop(client_id, None)
        self._not_found_counts.pop(client_id, None)
        self._awaiting_fills_since.pop(client_id, None)
        if order.is_lost:
            self._lost.put(order)
        else:
            self._cached.put(order)

    def _on_update_after_terminal(
        self, order: InFlightOrder, update: OrderUpdate, events: list[ConnectorEvent]
    ) -> None:
        reported = update.new_state
        contradicts = reported is not order.current_state and (reported.is_terminal or order.is_lost)
        seen = self._reported_conflicts.setdefault(order.client_order_id, set())
        if contradicts and reported not in seen:
            # Once per reported state: a lost order polled every few seconds must not flood.
            seen.add(reported)
            events.append(
                self._anomaly(
                    order,
                    AnomalyKind.STATE_AFTER_TERMINAL,
                    f"the exchange reports {reported} for an order resolved as "
                    f"{order.current_state}" + (" (lost)" if order.is_lost else ""),
                    update=update,
                )
            )
        if order.is_lost and reported.is_terminal:
            # The exchange has settled the order: no reason to keep chasing it.
            self._lost.pop(order.client_order_id)
            self._cached.put(order)

    # -- event builders -------------------------------------------------------------------------

    def _created(self, order: InFlightOrder) -> OrderCreated:
        cls = BuyOrderCreated if order.trade_type is TradeType.BUY else SellOrderCreated
        return cls(
            timestamp=self._clock(),
            client_order_id=order.client_order_id,
            trading_pair=order.trading_pair,
            exchange_order_id=order.exchange_order_id,
            trade_type=order.trade_type,
            order_type=order.order_type,
            amount=order.amount,
            price=order.price,
            creation_timestamp=order.creation_timestamp,
        )

    def _filled(self, order: InFlightOrder, trade: TradeUpdate) -> OrderFilled:
        return OrderFilled(
            timestamp=self._clock(),
            client_order_id=order.client_order_id,
            trading_pair=order.trading_pair,
            exchange_order_id=trade.exchange_order_id or order.exchange_order_id,
            trade_type=order.trade_type,
            order_type=order.order_type,
            trade_id=trade.trade_id,
            price=trade.fill_price,
            amount=trade.fill_base_amount,
            quote_amount=trade.fill_quote_amount,
            fee=trade.fee,
            is_maker=trade.is_maker,
            fill_timestamp=trade.fill_timestamp,
        )

    def _resolved(self, order: InFlightOrder) -> OrderResolved:
        common: dict[str, Any] = {
            "timestamp": self._clock(),
            "client_order_id": order.client_order_id,
            "trading_pair": order.trading_pair,
            "exchange_order_id": order.exchange_order_id,
            "trade_type": order.trade_type,
            "order_type": order.order_type,
            "executed_amount_base": order.final_executed_amount_base,
            "executed_amount_quote": order.final_executed_amount_quote,
            "fee": order.cumulative_fee,
            "fills_complete": order.fills_complete,
        }
        state = order.current_state
        if state is OrderState.FILLED:
            if order.trade_type is TradeType.BUY:
                return BuyOrderCompleted(**common)
            return SellOrderCompleted(**common)
        if state is OrderState.CANCELED:
            return OrderCancelled(**common)
        if state is OrderState.EXPIRED:
            return OrderExpired(**common)
        error = order.failure_error or ConnectorError(f"order {order.client_order_id} failed")
        return OrderFailed(error=error, **common)

    def _anomaly(
        self,
        order: InFlightOrder,
        kind: AnomalyKind,
        detail: str,
        *,
        trade: TradeUpdate | None = None,
        update: OrderUpdate | None = None,
    ) -> OrderAnomaly:
        return OrderAnomaly(
            timestamp=self._clock(),
            client_order_id=order.client_order_id,
            trading_pair=order.trading_pair,
            exchange_order_id=order.exchange_order_id,
            trade_type=order.trade_type,
            order_type=order.order_type,
            kind=kind,
            detail=detail,
            trade=trade,
            update=update,
        )
