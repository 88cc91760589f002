"""One order as this client knows it: ``InFlightOrder``, fed ``OrderUpdate``s and ``TradeUpdate``s.

Rules of this module (h11 style):

1. **Every state change goes through ``_ORDER_STATE_TABLE``.** The table maps
   ``(current state, input)`` to the next state; a pair missing from it is an invalid
   transition and the input is ignored (the caller gets ``UpdateResult.INVALID_TRANSITION``).
   Nothing assigns ``current_state`` any other way. ``transitions()`` returns the table for
   documentation and tests.
2. **States only move forward.** ``PENDING_CREATE -> OPEN -> PARTIALLY_FILLED -> terminal``.
   ``PENDING_CANCEL`` is a side state entered when we ask to cancel; a rejected cancel returns
   to the state the order was in (updated by any fill seen meanwhile). Terminal states
   (``FILLED``, ``CANCELED``, ``EXPIRED``, ``FAILED``) absorb every input.
3. **Stale updates are dropped.** An ``OrderUpdate`` whose exchange timestamp is older than the
   newest one already taken is ignored (``STALE``): a slow REST answer cannot undo what the user
   stream already said. Equal timestamps are fine (Binance stamps NEW and TRADE in one ms).
4. **Fills are applied once, by trade id.** The same trade seen on the user stream, in
   ``myTrades`` and in a FULL order response counts once. Executed amounts and fees are exact
   ``Decimal`` sums of the applied fills, nothing else.
5. **A terminal state needs its fills.** ``FILLED``/``CANCELED``/``EXPIRED`` reported with a
   cumulative executed amount larger than the fills seen so far is held back as
   ``pending_terminal`` (result ``DEFERRED``) and applied as soon as the missing fills arrive,
   or by ``force_resolve()`` when the caller gives up waiting. So "state is terminal" always
   means "the fills that make up the outcome are in" (or ``fills_complete`` is False).
6. **Acknowledgement is a fact, not a state.** ``acknowledged`` turns True the first time the
   exchange shows the order exists (any reported state but ``FAILED``, or a fill). It is what
   the tracker keys ``OrderCreated`` on, which is why a fill that overtakes the create response
   still yields Created before Filled.
7. **Local inputs are not exchange updates.** ``request_cancel``, ``reject_cancel``, ``fail``
   and ``declare_lost`` come from this client, carry no exchange timestamp and do not move the
   staleness watermark.

This module emits no events: ``ClientOrderTracker`` compares an order before and after each
call and publishes what changed. Mutate orders only through the tracker, or events are lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Final

from .data_types import (
    ZERO,
    ZERO_FEE,
    OrderState,
    OrderType,
    TradeFee,
    TradeType,
    check_decimal,
)
from .errors import ConnectorError, OrderLost, OrderRejected


class OrderInput(StrEnum):
    """What can happen to an order: the column of the transition table."""

    ACCEPTED = "ACCEPTED"  # the exchange reports the order live (Binance NEW)
    PARTIAL_FILL = "PARTIAL_FILL"  # a fill, or a PARTIALLY_FILLED report
    FILL = "FILL"  # the order is completely filled
    CANCEL_REQUESTED = "CANCEL_REQUESTED"  # we sent a cancel (or the exchange reports one)
    CANCEL_REJECTED = "CANCEL_REJECTED"  # our cancel was refused
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"  # the create failed (locally or on the exchange)
    LOST = "LOST"  # repeatedly not found: the tracker gives up on it


class _Previous(Enum):
    PREVIOUS = "PREVIOUS"


#: Table value meaning "back to the state before the cancel was requested".
PREVIOUS: Final = _Previous.PREVIOUS

_S = OrderState
_I = OrderInput

_ORDER_STATE_TABLE: Final[dict[tuple[OrderState, OrderInput], OrderState | _Previous]] = {
    # PENDING_CREATE: sent (or about to be), not yet confirmed by the exchange.
    (_S.PENDING_CREATE, _I.ACCEPTED): _S.OPEN,
    # A fill overtook the create response (user stream faster than REST).
    (_S.PENDING_CREATE, _I.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    # A taker order filled completely before we saw the create response.
    (_S.PENDING_CREATE, _I.FILL): _S.FILLED,
    # Cancel by client order id while the create is still in flight: Binance allows it.
    (_S.PENDING_CREATE, _I.CANCEL_REQUESTED): _S.PENDING_CANCEL,
    # Cancelled (by us or another session) before we saw the create response.
    (_S.PENDING_CREATE, _I.CANCELED): _S.CANCELED,
    # IOC/FOK/MARKET that expired on arrival: the FULL response says EXPIRED at once.
    (_S.PENDING_CREATE, _I.EXPIRED): _S.EXPIRED,
    (_S.PENDING_CREATE, _I.REJECTED): _S.FAILED,
    # The create never showed up on the exchange (create outcome was unknown).
    (_S.PENDING_CREATE, _I.LOST): _S.FAILED,
    # OPEN: resting on the book.
    (_S.OPEN, _I.ACCEPTED): _S.OPEN,  # the same ack from REST and the user stream
    (_S.OPEN, _I.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.OPEN, _I.FILL): _S.FILLED,
    (_S.OPEN, _I.CANCEL_REQUESTED): _S.PENDING_CANCEL,
    # Cancelled without our request reaching us first (another session, cancel-all).
    (_S.OPEN, _I.CANCELED): _S.CANCELED,
    # The exchange expired a resting order (self-trade prevention, maintenance).
    (_S.OPEN, _I.EXPIRED): _S.EXPIRED,
    # Odd: rejected after being accepted (e.g. the new leg of a cancelReplace).
    (_S.OPEN, _I.REJECTED): _S.FAILED,
    # Acknowledged once, then repeatedly not found.
    (_S.OPEN, _I.LOST): _S.FAILED,
    # PARTIALLY_FILLED: some fills, more may come.
    # A late or duplicate NEW after a fill: stay, states never go back.
    (_S.PARTIALLY_FILLED, _I.ACCEPTED): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _I.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _I.FILL): _S.FILLED,
    (_S.PARTIALLY_FILLED, _I.CANCEL_REQUESTED): _S.PENDING_CANCEL,
    (_S.PARTIALLY_FILLED, _I.CANCELED): _S.CANCELED,
    # An IOC or MARKET remainder expired after partial fills: EXPIRED, not FAILED.
    (_S.PARTIALLY_FILLED, _I.EXPIRED): _S.EXPIRED,
    # Odd: an order with fills cannot vanish from Binance, but a lost verdict is the tracker's
    # decision (after repeated authoritative not-found answers), so it is allowed.
    (_S.PARTIALLY_FILLED, _I.LOST): _S.FAILED,
    # (PARTIALLY_FILLED, REJECTED) is deliberately absent: an order that traded was accepted.
    # PENDING_CANCEL: our cancel is in flight.
    (_S.PENDING_CANCEL, _I.ACCEPTED): _S.PENDING_CANCEL,  # the create ack arrives late
    # A fill raced our cancel; the cancel may still land on the remainder.
    (_S.PENDING_CANCEL, _I.PARTIAL_FILL): _S.PENDING_CANCEL,
    # The fill won the race: nothing was left to cancel.
    (_S.PENDING_CANCEL, _I.FILL): _S.FILLED,
    (_S.PENDING_CANCEL, _I.CANCEL_REQUESTED): _S.PENDING_CANCEL,  # a duplicate request
    # The cancel was refused: back to where we were (see rule 2).
    (_S.PENDING_CANCEL, _I.CANCEL_REJECTED): PREVIOUS,
    (_S.PENDING_CANCEL, _I.CANCELED): _S.CANCELED,
    (_S.PENDING_CANCEL, _I.EXPIRED): _S.EXPIRED,
    # Odd: the create was rejected while we were already cancelling it (cancel requested in
    # PENDING_CREATE).
    (_S.PENDING_CANCEL, _I.REJECTED): _S.FAILED,
    (_S.PENDING_CANCEL, _I.LOST): _S.FAILED,
    # Not listed: CANCEL_REJECTED outside PENDING_CANCEL (nothing to revert to).
}
# Terminal states absorb everything, including a fill: a fill after the terminal event is
# reported by the tracker as an anomaly, never applied.
for _state in (_S.FILLED, _S.CANCELED, _S.EXPIRED, _S.FAILED):
    for _input in OrderInput:
        _ORDER_STATE_TABLE[(_state, _input)] = _state
del _state, _input


def transitions() -> dict[tuple[OrderState, OrderInput], OrderState | _Previous]:
    """A copy of the transition table (for documentation, diagrams and tests)."""
    return dict(_ORDER_STATE_TABLE)


#: How a state reported by the exchange (``OrderUpdate.new_state``) enters the table.
#: ``PENDING_CREATE`` is not an input: such a report only carries ids and amounts.
_INPUT_FOR_REPORTED_STATE: Final[dict[OrderState, OrderInput]] = {
    _S.OPEN: _I.ACCEPTED,
    _S.PARTIALLY_FILLED: _I.PARTIAL_FILL,
    _S.PENDING_CANCEL: _I.CANCEL_REQUESTED,
    _S.FILLED: _I.FILL,
    _S.CANCELED: _I.CANCELED,
    _S.EXPIRED: _I.EXPIRED,
    _S.FAILED: _I.REJECTED,
}

#: Terminal outcomes that can carry fills, and so may have to wait for them (rule 5).
_FILL_BEARING_OUTCOMES: Final = frozenset({_S.FILLED, _S.CANCELED, _S.EXPIRED})


class UpdateResult(StrEnum):
    """What an order did with an update or a local input."""

    APPLIED = "APPLIED"  # taken (the state may or may not have changed)
    DEFERRED = "DEFERRED"  # a terminal state held back until the missing fills arrive
    STALE = "STALE"  # older than the newest update already taken
    INVALID_TRANSITION = "INVALID_TRANSITION"  # not in the table from the current state
    ABSORBED = "ABSORBED"  # the order is already terminal
    MISMATCH = "MISMATCH"  # ids or trading pair do not belong to this order


class FillResult(StrEnum):
    """What an order did with a ``TradeUpdate``."""

    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"  # this trade id was seen before (applied or late)
    LATE = "LATE"  # a new trade after the order went terminal: recorded, not applied
    MISMATCH = "MISMATCH"


def _check_id(value: object, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _saved_decimal(value: object) -> Decimal:
    """A decimal saved by ``to_json``: always a string (a float would bring its binary
    error into money, ``Decimal(0.1)``)."""
    if not isinstance(value, str):
        raise TypeError(f"a saved decimal must be a string, got {value!r}")
    return Decimal(value)


def _opt_decimal(value: str | None) -> Decimal | None:
    return None if value is None else _saved_decimal(value)


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdate:
    """A report of an order's status, from the exchange.

    ``update_timestamp`` is exchange time in milliseconds (Binance ``E`` on the user stream,
    ``updateTime``/``transactTime`` over REST); it orders updates (rule 3). The executed
    amounts are *cumulative* (Binance ``z``/``Z``, ``executedQty``/``cummulativeQuoteQty``)
    and optional. ``error`` explains a ``FAILED`` report.
    """

    client_order_id: str
    trading_pair: str
    update_timestamp: int
    new_state: OrderState
    exchange_order_id: str | None = None
    executed_amount_base: Decimal | None = None
    executed_amount_quote: Decimal | None = None
    error: ConnectorError | None = None

    def __post_init__(self) -> None:
        _check_id(self.client_order_id, "client_order_id")
        _check_id(self.trading_pair, "trading_pair")
        if self.exchange_order_id is not None:
            _check_id(self.exchange_order_id, "exchange_order_id")
        if not isinstance(self.update_timestamp, int) or isinstance(self.update_timestamp, bool):
            raise TypeError(f"update_timestamp must be int ms, got {self.update_timestamp!r}")
        if not isinstance(self.new_state, OrderState):
            raise TypeError(f"new_state must be an OrderState, got {self.new_state!r}")
        if self.executed_amount_base is not None:
            check_decimal(self.executed_amount_base, "executed_amount_base")
        if self.executed_amount_quote is not None:
            check_decimal(self.executed_amount_quote, "executed_amount_quote")

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict. ``error`` is kept as text only."""
        return {
            "client_order_id": self.client_order_id,
            "trading_pair": self.trading_pair,
            "update_timestamp": self.update_timestamp,
            "new_state": str(self.new_state),
            "exchange_order_id": self.exchange_order_id,
            "executed_amount_base": _opt_str(self.executed_amount_base),
            "executed_amount_quote": _opt_str(self.executed_amount_quote),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderUpdate:
        return cls(
            client_order_id=data["client_order_id"],
            trading_pair=data["trading_pair"],
            update_timestamp=int(data["update_timestamp"]),
            new_state=OrderState(data["new_state"]),
            exchange_order_id=data.get("exchange_order_id"),
            executed_amount_base=_opt_decimal(data.get("executed_amount_base")),
            executed_amount_quote=_opt_decimal(data.get("executed_amount_quote")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeUpdate:
    """One fill of an order. ``trade_id`` identifies it across every source.

    Amounts are of *this* fill (Binance ``l``/``L``, ``myTrades.qty``/``price``), not
    cumulative. Use the exchange's trade id verbatim as a string (``str(56)``) on every
    source, or deduplication cannot work. ``fill_timestamp`` is exchange time in ms.
    """

    trade_id: str
    client_order_id: str
    exchange_order_id: str | None
    trading_pair: str
    fill_timestamp: int
    fill_price: Decimal
    fill_base_amount: Decimal
    fill_quote_amount: Decimal
    fee: TradeFee
    is_maker: bool

    def __post_init__(self) -> None:
        _check_id(self.trade_id, "trade_id")
        _check_id(self.client_order_id, "client_order_id")
        _check_id(self.trading_pair, "trading_pair")
        if self.exchange_order_id is not None:
            _check_id(self.exchange_order_id, "exchange_order_id")
        if not isinstance(self.fill_timestamp, int) or isinstance(self.fill_timestamp, bool):
            raise TypeError(f"fill_timestamp must be int ms, got {self.fill_timestamp!r}")
        check_decimal(self.fill_price, "fill_price")
        check_decimal(self.fill_base_amount, "fill_base_amount")
        check_decimal(self.fill_quote_amount, "fill_quote_amount")
        if self.fill_base_amount == 0:
            raise ValueError(f"trade {self.trade_id}: a fill of 0 is not a fill")
        if not isinstance(self.fee, TradeFee):
            raise TypeError(f"fee must be a TradeFee, got {self.fee!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "trade_id": self.trade_id,
            "client_order_id": self.client_order_id,
            "exchange_order_id": self.exchange_order_id,
            "trading_pair": self.trading_pair,
            "fill_timestamp": self.fill_timestamp,
            "fill_price": str(self.fill_price),
            "fill_base_amount": str(self.fill_base_amount),
            "fill_quote_amount": str(self.fill_quote_amount),
            "fee": self.fee.to_json(),
            "is_maker": self.is_maker,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TradeUpdate:
        return cls(
            trade_id=data["trade_id"],
            client_order_id=data["client_order_id"],
            exchange_order_id=data.get("exchange_order_id"),
            trading_pair=data["trading_pair"],
            fill_timestamp=int(data["fill_timestamp"]),
            fill_price=_saved_decimal(data["fill_price"]),
            fill_base_amount=_saved_decimal(data["fill_base_amount"]),
            fill_quote_amount=_saved_decimal(data["fill_quote_amount"]),
            fee=TradeFee.from_json(data["fee"]),
            is_maker=bool(data["is_maker"]),
        )


class InFlightOrder:
    """An order this client placed, and everything it knows about it.

    Read the attributes freely; change the order only through ``ClientOrderTracker`` (see
    the module docstring). Times: ``creation_timestamp`` is local seconds (when the create was
    attempted); ``sent_timestamp`` local seconds when the create request last went out
    (``None`` until the connector says so: it may wait for the rate limiter first);
    ``last_update_timestamp`` is exchange milliseconds.
    """

    def __init__(
        self,
        *,
        client_order_id: str,
        trading_pair: str,
        order_type: OrderType,
        trade_type: TradeType,
        amount: Decimal,
        creation_timestamp: float,
        price: Decimal | None = None,
        exchange_order_id: str | None = None,
    ) -> None:
        _check_id(client_order_id, "client_order_id")
        _check_id(trading_pair, "trading_pair")
        check_decimal(amount, "amount")
        if price is not None:
            check_decimal(price, "price")
        self.client_order_id = client_order_id
        self.trading_pair = trading_pair
        self.order_type = OrderType(order_type)
        self.trade_type = TradeType(trade_type)
        self.amount = amount
        self.price = price
        self.creation_timestamp = float(creation_timestamp)  # float ok: seconds
        self.sent_timestamp: float | None = None
        self.exchange_order_id = exchange_order_id

        self.current_state: OrderState = OrderState.PENDING_CREATE
        self.acknowledged = False
        self.creation_outcome_unknown = False
        self.is_lost = False
        #: False only when the order was force-resolved while fills were still missing.
        self.fills_complete = True
        self.failure_error: ConnectorError | None = None
        self.last_update_timestamp: int | None = None
        #: The largest cumulative executed amounts the exchange reported (may run ahead of
        #: the fills received).
        self.exchange_executed_amount_base = ZERO
        self.exchange_executed_amount_quote = ZERO
        self.order_fills: dict[str, TradeUpdate] = {}
        self.late_fills: dict[str, TradeUpdate] = {}
        self.executed_amount_base = ZERO
        self.executed_amount_quote = ZERO
        self.cumulative_fee: TradeFee = ZERO_FEE
        self.pending_terminal: OrderUpdate | None = None
        self._state_before_cancel: OrderState | None = None
        self._created_event = asyncio.Event()
        self._done_event = asyncio.Event()

    def __repr__(self) -> str:
        return (
            f"InFlightOrder({self.client_order_id!r}, {self.trading_pair}, {self.trade_type} "
            f"{self.order_type} {self.amount}@{self.price}, {self.current_state}, "
            f"executed={self.executed_amount_base})"
        )

    # -- predicates -------------------------------------------------------------------------

    @property
    def is_done(self) -> bool:
        """Terminal: the tracker has emitted (or is emitting) the terminal event."""
        return self.current_state.is_terminal

    @property
    def is_open(self) -> bool:
        return not self.current_state.is_terminal

    @property
    def is_pending_create(self) -> bool:
        return self.current_state is OrderState.PENDING_CREATE

    @property
    def is_pending_cancel(self) -> bool:
        return self.current_state is OrderState.PENDING_CANCEL

    @property
    def is_filled(self) -> bool:
        return self.current_state is OrderState.FILLED

    @property
    def is_cancelled(self) -> bool:
        return self.current_state is OrderState.CANCELED

    @property
    def is_expired(self) -> bool:
        return self.current_state is OrderState.EXPIRED

    @property
    def is_failure(self) -> bool:
        return self.current_state is OrderState.FAILED

    @property
    def awaiting_fills(self) -> bool:
        """A terminal state is known but held back because fills are missing."""
        return self.pending_terminal is not None

    @property
    def remaining_amount(self) -> Decimal:
        return max(self.amount - self.executed_amount_base, ZERO)

    @property
    def average_executed_price(self) -> Decimal | None:
        if self.executed_amount_base == 0:
            return None
        return self.executed_amount_quote / self.executed_amount_base

    @property
    def missing_fill_amount(self) -> Decimal:
        """How much base the exchange says executed beyond the fills received."""
        expected = self.exchange_executed_amount_base
        return max(expected - self.executed_amount_base, ZERO)

    @property
    def final_executed_amount_base(self) -> Decimal:
        """What the terminal event reports: the fills, or the exchange's total if forced."""
        if self.fills_complete:
            return self.executed_amount_base
        return max(self.executed_amount_base, self.exchange_executed_amount_base)

    @property
    def final_executed_amount_quote(self) -> Decimal:
        if self.fills_complete:
            return self.executed_amount_quote
        return max(self.executed_amount_quote, self.exchange_executed_amount_quote)

    @property
    def state_before_cancel(self) -> OrderState | None:
        """Where a rejected cancel would return to (None unless ``PENDING_CANCEL``)."""
        return self._state_before_cancel

    # -- awaitables ---------------------------------------------------------------------------

    async def wait_until_created(self) -> None:
        """Return once the exchange acknowledged the order or it reached a terminal state.

        Raises the failure (``failure_error``) if the order failed without ever being
        acknowledged. An order whose create had an unknown outcome keeps waiting until it is
        reconciled one way or the other; wrap in ``asyncio.timeout`` to bound the wait.
        """
        await self._created_event.wait()
        if not self.acknowledged and self.current_state is OrderState.FAILED:
            raise self.failure_error or ConnectorError(
                f"order {self.client_order_id} failed before it was created"
            )

    async def wait_until_done(self) -> OrderState:
        """Return the terminal state once reached (never raises for a failed order)."""
        await self._done_event.wait()
        return self.current_state

    # -- inputs -------------------------------------------------------------------------------

    def apply_order_update(self, update: OrderUpdate) -> UpdateResult:
        """Take a status report from the exchange (rules 1-3, 5, 6)."""
        if not self._matches(update.client_order_id, update.exchange_order_id, update.trading_pair):
            return UpdateResult.MISMATCH
        last = self.last_update_timestamp
        if last is not None and update.update_timestamp < last:
            return UpdateResult.STALE
        if self.is_done:
            return UpdateResult.ABSORBED
        order_input = _INPUT_FOR_REPORTED_STATE.get(update.new_state)
        if order_input is not None and (self.current_state, order_input) not in _ORDER_STATE_TABLE:
            return UpdateResult.INVALID_TRANSITION

        # From here on the report is taken as information.
        self.last_update_timestamp = update.update_timestamp
        if self.exchange_order_id is None and update.exchange_order_id is not None:
            self.exchange_order_id = update.exchange_order_id
        if update.executed_amount_base is not None:
            self.exchange_executed_amount_base = max(
                self.exchange_executed_amount_base, update.executed_amount_base
            )
        if update.executed_amount_quote is not None:
            self.exchange_executed_amount_quote = max(
                self.exchange_executed_amount_quote, update.executed_amount_quote
            )
        if order_input is None:  # a PENDING_CREATE report: ids and amounts only
            return UpdateResult.APPLIED

        if update.new_state is OrderState.FAILED:
            self.failure_error = update.error or OrderRejected(
                f"the exchange reported order {self.client_order_id} as rejected"
            )
        else:
            self._acknowledge()

        if update.new_state in _FILL_BEARING_OUTCOMES:
            if update.new_state is OrderState.FILLED and not update.executed_amount_base:
                # FILLED means all of it, even when the report does not say how much.
                self.exchange_executed_amount_base = max(self.exchange_executed_amount_base, self.amount)
            if self.executed_amount_base < self.exchange_executed_amount_base:
                self.pending_terminal = update
                if (self.current_state, OrderInput.ACCEPTED) in _ORDER_STATE_TABLE:
                    self._apply_input(OrderInput.ACCEPTED)
                self._signal()
                return UpdateResult.DEFERRED

        self._apply_input(order_input)
        return UpdateResult.APPLIED

    def apply_trade_update(self, trade: TradeUpdate) -> FillResult:
        """Take one fill (rule 4). A fill proves the order exists (rule 6)."""
        if not self._matches(trade.client_order_id, trade.exchange_order_id, trade.trading_pair):
            return FillResult.MISMATCH
        if trade.trade_id in self.order_fills or trade.trade_id in self.late_fills:
            return FillResult.DUPLICATE
        if self.is_done:
            self.late_fills[trade.trade_id] = trade
            return FillResult.LATE
        self._add_fill(trade)
        if self.exchange_order_id is None and trade.exchange_order_id is not None:
            self.exchange_order_id = trade.exchange_order_id
        self._acknowledge()
        complete = self.amount > 0 and self.executed_amount_base >= self.amount
        self._apply_input(OrderInput.FILL if complete else OrderInput.PARTIAL_FILL)
        pending = self.pending_terminal
        if (
            pending is not None
            and not self.is_done
            and self.executed_amount_base >= self.exchange_executed_amount_base
        ):
            self._apply_input(_INPUT_FOR_REPORTED_STATE[pending.new_state])
        return FillResult.APPLIED

    def request_cancel(self) -> UpdateResult:
        """Local: a cancel request is about to be sent."""
        return self._local(OrderInput.CANCEL_REQUESTED)

    def reject_cancel(self) -> UpdateResult:
        """Local: the cancel request was definitively refused."""
        return self._local(OrderInput.CANCEL_REJECTED)

    def fail(self, error: ConnectorError) -> UpdateResult:
        """Local: the create failed for certain (validation, or a definitive rejection)."""
        result = self._check_local(OrderInput.REJECTED)
        if result is UpdateResult.APPLIED:
            self.failure_error = error
            self._apply_input(OrderInput.REJECTED)
        return result

    def declare_lost(self, error: OrderLost) -> UpdateResult:
        """Local: the tracker gives up on the order after repeated not-found answers."""
        result = self._check_local(OrderInput.LOST)
        if result is UpdateResult.APPLIED:
            self.failure_error = error
            self.is_lost = True
            self._apply_input(OrderInput.LOST)
        return result

    def mark_creation_outcome_unknown(self) -> bool:
        """Local: the create request got no definitive answer (timeout, 5xx).

        The order stays ``PENDING_CREATE`` (or ``PENDING_CANCEL`` over it) until reconciled.
        Returns False if the order is already acknowledged or done, when there is nothing
        unknown about it any more.
        """
        if self.acknowledged or self.is_done:
            return False
        self.creation_outcome_unknown = True
        return True

    def force_resolve(self) -> bool:
        """Apply a deferred terminal state although fills are still missing (rule 5).

        Sets ``fills_complete`` to False when fills are missing; the terminal event then
        reports the exchange's cumulative amounts. Returns False if nothing was pending.
        """
        pending = self.pending_terminal
        if pending is None or self.is_done:
            return False
        self.fills_complete = self.executed_amount_base >= self.exchange_executed_amount_base
        self._apply_input(_INPUT_FOR_REPORTED_STATE[pending.new_state])
        return True

    # -- internals ----------------------------------------------------------------------------

    def _matches(self, client_order_id: str, exchange_order_id: str | None, pair: str) -> bool:
        if pair != self.trading_pair:
            return False
        if self.exchange_order_id is not None and exchange_order_id is not None:
            return exchange_order_id == self.exchange_order_id
        return client_order_id == self.client_order_id

    def _check_local(self, order_input: OrderInput) -> UpdateResult:
        if self.is_done:
            return UpdateResult.ABSORBED
        if (self.current_state, order_input) not in _ORDER_STATE_TABLE:
            return UpdateResult.INVALID_TRANSITION
        return UpdateResult.APPLIED

    def _local(self, order_input: OrderInput) -> UpdateResult:
        result = self._check_local(order_input)
        if result is UpdateResult.APPLIED:
            self._apply_input(order_input)
        return result

    def _acknowledge(self) -> None:
        self.acknowledged = True
        self.creation_outcome_unknown = False

    def _add_fill(self, trade: TradeUpdate) -> None:
        self.order_fills[trade.trade_id] = trade
        self.executed_amount_base += trade.fill_base_amount
        self.executed_amount_quote += trade.fill_quote_amount
        self.cumulative_fee = self.cumulative_fee + trade.fee

    def _apply_input(self, order_input: OrderInput) -> None:
        state = self.current_state
        target = _ORDER_STATE_TABLE[(state, order_input)]
        if target is PREVIOUS:
            target = self._state_before_cancel or OrderState.OPEN
            self._state_before_cancel = None
        elif state is OrderState.PENDING_CANCEL and target is OrderState.PENDING_CANCEL:
            # Track where a rejected cancel would return to, as if no cancel were pending.
            before = self._state_before_cancel
            if before is not None and order_input is not OrderInput.CANCEL_REQUESTED:
                moved = _ORDER_STATE_TABLE.get((before, order_input), before)
                if isinstance(moved, OrderState) and not moved.is_terminal:
                    self._state_before_cancel = moved
        elif target is OrderState.PENDING_CANCEL:
            self._state_before_cancel = state
        assert isinstance(target, OrderState)
        self.current_state = target
        if target.is_terminal:
            self.pending_terminal = None
            self._state_before_cancel = None
            self.creation_outcome_unknown = False
        self._signal()

    def _signal(self) -> None:
        if self.acknowledged or self.is_done:
            self._created_event.set()
        if self.is_done:
            self._done_event.set()

    # -- persistence --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe snapshot for restarts, including every trade id seen."""
        return {
            "client_order_id": self.client_order_id,
            "exchange_order_id": self.exchange_order_id,
            "trading_pair": self.trading_pair,
            "order_type": str(self.order_type),
            "trade_type": str(self.trade_type),
            "amount": str(self.amount),
            "price": _opt_str(self.price),
            "creation_timestamp": self.creation_timestamp,
            "sent_timestamp": self.sent_timestamp,
            "current_state": str(self.current_state),
            "state_before_cancel": (
                None if self._state_before_cancel is None else str(self._state_before_cancel)
            ),
            "acknowledged": self.acknowledged,
            "creation_outcome_unknown": self.creation_outcome_unknown,
            "is_lost": self.is_lost,
            "fills_complete": self.fills_complete,
            "failure_message": None if self.failure_error is None else str(self.failure_error),
            "last_update_timestamp": self.last_update_timestamp,
            "exchange_executed_amount_base": str(self.exchange_executed_amount_base),
            "exchange_executed_amount_quote": str(self.exchange_executed_amount_quote),
            "order_fills": [t.to_json() for t in self.order_fills.values()],
            "late_fills": [t.to_json() for t in self.late_fills.values()],
            "pending_terminal": (None if self.pending_terminal is None else self.pending_terminal.to_json()),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InFlightOrder:
        """Rebuild an order saved by ``to_json``. Executed sums are recomputed from fills."""
        order = cls(
            client_order_id=data["client_order_id"],
            trading_pair=data["trading_pair"],
            order_type=OrderType(data["order_type"]),
            trade_type=TradeType(data["trade_type"]),
            amount=_saved_decimal(data["amount"]),
            creation_timestamp=float(data["creation_timestamp"]),  # float ok: seconds
            price=_opt_decimal(data.get("price")),
            exchange_order_id=data.get("exchange_order_id"),
        )
        order.current_state = OrderState(data["current_state"])
        # Saved before this field existed: the create was at least attempted at creation.
        sent = data.get("sent_timestamp", order.creation_timestamp)
        order.sent_timestamp = None if sent is None else float(sent)  # float ok: seconds
        before = data.get("state_before_cancel")
        order._state_before_cancel = None if before is None else OrderState(before)
        order.acknowledged = bool(data.get("acknowledged", False))
        order.creation_outcome_unknown = bool(data.get("creation_outcome_unknown", False))
        order.is_lost = bool(data.get("is_lost", False))
        order.fills_complete = bool(data.get("fills_complete", True))
        message = data.get("failure_message")
        if message is not None:
            order.failure_error = OrderLost(message) if order.is_lost else ConnectorError(message)
        last = data.get("last_update_timestamp")
        order.last_update_timestamp = None if last is None else int(last)
        order.exchange_executed_amount_base = _saved_decimal(data["exchange_executed_amount_base"])
        order.exchange_executed_amount_quote = _saved_decimal(data["exchange_executed_amount_quote"])
        for fill in data.get("order_fills", ()):
            order._add_fill(TradeUpdate.from_json(fill))
        for fill in data.get("late_fills", ()):
            late = TradeUpdate.from_json(fill)
            order.late_fills[late.trade_id] = late
        pending = data.get("pending_terminal")
        order.pending_terminal = None if pending is None else OrderUpdate.from_json(pending)
        order._signal()
        return order
