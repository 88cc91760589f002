"""Events the connector publishes, and the ``EventBus`` that delivers them.

Events are frozen, slotted dataclasses with keyword-only fields: once published, nothing can
change them. Order events follow the contract documented in ``client_order_tracker``:
``OrderCreated -> OrderFilled* -> exactly one OrderResolved`` (``OrderCompleted``,
``OrderCancelled``, ``OrderExpired`` or ``OrderFailed``). ``OrderAnomaly`` reports what falls
outside that contract (a fill after the terminal event...) without breaking it.

``EventBus`` fixes Hummingbot's ``PubSub`` weak points (study W15):

* **Strong references.** A listener stays subscribed until its ``Subscription`` handle is
  unsubscribed; an unreferenced lambda keeps receiving events (Hummingbot's weakref
  listeners silently stopped).
* **Synchronous, ordered publishing.** ``publish`` delivers to every matching listener before
  it returns. A listener that publishes in turn does not jump the queue: the nested event is
  delivered after the current one has reached every listener, so all listeners see all events
  in one global order. A listener that raises does not stop delivery (``on_listener_error``).
* **Async iteration with a bounded queue.** ``subscribe_iter`` returns an ``EventStream`` to
  ``async for`` over. Publishing never waits for a consumer; each stream buffers at most
  ``maxsize`` events and applies its ``OverflowPolicy`` beyond that (default ``CLOSE``: the
  consumer gets what it buffered, then ``SubscriberOverflow``, because trading on a silently
  incomplete picture is worse than failing loudly).
* **Bounded history** (``history_size`` events; Hummingbot kept every fill forever).
* **Typed filters:** by event class (``isinstance``, so ``OrderResolved`` selects every
  terminal event) and/or by client order id.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import TracebackType
from typing import Generic, Self, TypeVar, cast

from .data_types import OrderType, TradeFee, TradeType
from .errors import ConnectorError, SubscriberOverflow
from .in_flight_order import OrderUpdate, TradeUpdate

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorEvent:
    """Base of every event. ``timestamp`` is local time (seconds) at publication."""

    timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(ConnectorEvent):
    """Base of events about one order."""

    client_order_id: str
    trading_pair: str
    exchange_order_id: str | None
    trade_type: TradeType
    order_type: OrderType


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCreated(OrderEvent):
    """The exchange acknowledged the order (or showed it exists by filling it).

    The tracker publishes the side-specific subclasses ``BuyOrderCreated`` and
    ``SellOrderCreated``; subscribe to ``OrderCreated`` for both.
    """

    amount: Decimal
    price: Decimal | None
    creation_timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyOrderCreated(OrderCreated):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class SellOrderCreated(OrderCreated):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(OrderEvent):
    """One fill, published once per trade id. ``fill_timestamp`` is exchange time (ms)."""

    trade_id: str
    price: Decimal
    amount: Decimal
    quote_amount: Decimal
    fee: TradeFee
    is_maker: bool
    fill_timestamp: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderResolved(OrderEvent):
    """Base of the terminal events: exactly one per order.

    The executed amounts and ``fee`` are the exact sums of the ``OrderFilled`` events
    published for the order, unless ``fills_complete`` is False: the order was force-resolved
    with fills still missing, and the amounts are the exchange's cumulative totals (the fee
    then covers only the fills received).
    """

    executed_amount_base: Decimal
    executed_amount_quote: Decimal
    fee: TradeFee
    fills_complete: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCompleted(OrderResolved):
    """Completely filled. Published as ``BuyOrderCompleted`` or ``SellOrderCompleted``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyOrderCompleted(OrderCompleted):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class SellOrderCompleted(OrderCompleted):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(OrderResolved):
    """Cancelled, possibly after partial fills (see the executed amounts)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(OrderResolved):
    """Expired by the exchange's rules: an IOC/MARKET remainder, an unfillable FOK, STP.

    Possibly after partial fills. Never reported as a failure.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFailed(OrderResolved):
    """The order was refused, or given up on as lost. ``error`` says why."""

    error: ConnectorError


# Hummingbot-style names, for readers coming from there.
BuyOrderCreatedEvent = BuyOrderCreated
SellOrderCreatedEvent = SellOrderCreated
BuyOrderCompletedEvent = BuyOrderCompleted
SellOrderCompletedEvent = SellOrderCompleted
OrderFilledEvent = OrderFilled
OrderCancelledEvent = OrderCancelled
OrderExpiredEvent = OrderExpired
MarketOrderFailureEvent = OrderFailed


class AnomalyKind(StrEnum):
    """What went outside the event contract."""

    # A new trade id arrived after the order's terminal event (includes lost orders, and
    # fills that were still missing when the order was force-resolved). ``trade`` is set.
    FILL_AFTER_TERMINAL = "FILL_AFTER_TERMINAL"
    # The exchange reported a state that contradicts the terminal event already published
    # (e.g. a lost order found OPEN or CANCELED). ``update`` is set.
    STATE_AFTER_TERMINAL = "STATE_AFTER_TERMINAL"
    # The terminal event was forced while fills were missing (``fills_complete`` False).
    MISSING_FILLS = "MISSING_FILLS"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAnomaly(OrderEvent):
    """Something about a resolved order that the contract cannot express. Never ignore it:
    a late fill moves balances."""

    kind: AnomalyKind
    detail: str
    trade: TradeUpdate | None = None
    update: OrderUpdate | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceUpdated(ConnectorEvent):
    """An asset's balance. ``update_timestamp`` is the exchange's (ms) when known."""

    asset: str
    total: Decimal
    available: Decimal
    update_timestamp: int | None = None


# ---------------------------------------------------------------------------------------------
# The bus

E = TypeVar("E", bound=ConnectorEvent)


class OverflowPolicy(StrEnum):
    """What an ``EventStream`` does when its consumer falls ``maxsize`` events behind."""

    CLOSE = "CLOSE"  # stop buffering; after the buffered events, raise SubscriberOverflow
    DROP_OLDEST = "DROP_OLDEST"  # keep the newest ``maxsize`` events; count the dropped
    DROP_NEWEST = "DROP_NEWEST"  # keep the oldest ``maxsize`` events; count the dropped


ListenerErrorHandler = Callable[[ConnectorEvent, Exception, "Subscription"], None]


def _log_listener_error(event: ConnectorEvent, error: Exception, sub: Subscription) -> None:
    logger.error("event listener %r failed on %s", sub.listener, type(event).__name__, exc_info=error)


def _matches(event: ConnectorEvent, event_type: type, client_order_id: str | None) -> bool:
    if not isinstance(event, event_type):
        return False
    if client_order_id is None:
        return True
    return getattr(event, "client_order_id", None) == client_order_id


class Subscription:
    """The handle of one listener. ``unsubscribe()`` (or leaving its ``with``) ends it."""

    def __init__(
        self,
        bus: EventBus,
        sub_id: int,
        event_type: type[ConnectorEvent],
        client_order_id: str | None,
        listener: Callable[[ConnectorEvent], object],
    ) -> None:
        self._bus = bus
        self.id = sub_id
        self.event_type = event_type
        self.client_order_id = client_order_id
        self.listener = listener
        self.active = True

    def unsubscribe(self) -> None:
        """Stop delivery, effective immediately (also mid-publish). Idempotent."""
        if self.active:
            self.active = False
            self._bus._remove(self.id)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unsubscribe()


class EventStream(Generic[E]):
    """An async iterator over the events of one subscription, with a bounded buffer.

    ``async for event in stream`` ends when the stream is closed (``close()``/``aclose()``,
    or leaving ``async with``) after the buffered events are consumed, or raises
    ``SubscriberOverflow`` under the ``CLOSE`` policy. ``dropped`` counts events lost under
    the drop policies.
    """

    def __init__(self, maxsize: int, overflow: OverflowPolicy) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.overflow = OverflowPolicy(overflow)
        self.dropped = 0
        self._buffer: deque[E] = deque()
        self._closed = False
        self._overflowed = False
        self._waiter: asyncio.Future[None] | None = None
        self._subscription: Subscription | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._buffer)

    def _push(self, event: E) -> None:
        if self._closed:
            return
        if len(self._buffer) >= self.maxsize:
            if self.overflow is OverflowPolicy.DROP_NEWEST:
                self.dropped += 1
                return
            if self.overflow is OverflowPolicy.DROP_OLDEST:
                self._buffer.popleft()
                self.dropped += 1
            else:
                self._overflowed = True
                self.dropped += 1
                self.close()
                return
        self._buffer.append(event)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> E | None:
        """The next buffered event, or None. For synchronous consumers and tests."""
        return self._buffer.popleft() if self._buffer else None

    def drain(self) -> list[E]:
        """Every buffered event, oldest first, emptying the buffer."""
        events = list(self._buffer)
        self._buffer.clear()
        return events

    def close(self) -> None:
        """Unsubscribe. Buffered events can still be read; then iteration ends."""
        if self._closed:
            return
        self._closed = True
        if self._subscription is not None:
            self._subscription.unsubscribe()
        self._wake()

    async def aclose(self) -> None:
        self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> E:
        while not self._buffer:
            if self._closed:
                if self._overflowed:
                    raise SubscriberOverflow(f"event stream fell more than {self.maxsize} events behind")
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._buffer.popleft()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventBus:
    """Synchronous, ordered publish/subscribe with strong references and bounded history."""

    def __init__(
        self,
        *,
        history_size: int = 1000,
        on_listener_error: ListenerErrorHandler = _log_listener_error,
    ) -> None:
        if history_size < 0:
            raise ValueError(f"history_size must not be negative, got {history_size}")
        self._subscriptions: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self._history: deque[ConnectorEvent] = deque(maxlen=history_size)
        self._pending: deque[ConnectorEvent] = deque()
        self._dispatching = False
        self._on_listener_error = on_listener_error

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def subscribe(
        self,
        event_type: type[E],
        listener: Callable[[E], object],
        *,
        client_order_id: str | None = None,
    ) -> Subscription:
        """Call ``listener(event)`` for every published ``event_type`` (subclasses included),
        optionally only for one client order id. Keep the handle to unsubscribe."""
        if not (isinstance(event_type, type) and issubclass(event_type, ConnectorEvent)):
            raise TypeError(f"event_type must be a ConnectorEvent subclass, got {event_type!r}")
        sub_id = next(self._ids)
        # The listener only ever receives events that passed the isinstance filter, so the
        # cast to the broader signature is safe.
        wide = cast(Callable[[ConnectorEvent], object], listener)
        sub = Subscription(self, sub_id, event_type, client_order_id, wide)
        self._subscriptions[sub_id] = sub
        return sub

    def subscribe_iter(
        self,
        event_type: type[E],
        *,
        client_order_id: str | None = None,
        maxsize: int = 1024,
        overflow: OverflowPolicy = OverflowPolicy.CLOSE,
    ) -> EventStream[E]:
        """An ``EventStream`` of matching events, subscribed from this call on."""
        stream: EventStream[E] = EventStream(maxsize, overflow)
        stream._subscription = self.subscribe(event_type, stream._push, client_order_id=client_order_id)
        return stream

    def wait_for(
        self,
        event_type: type[E],
        *,
        client_order_id: str | None = None,
        predicate: Callable[[E], bool] | None = None,
    ) -> asyncio.Future[E]:
        """A future for the next matching event, subscribed *now* (call it before acting,
        so the event cannot slip through). Needs a running event loop."""
        future: asyncio.Future[E] = asyncio.get_running_loop().create_future()

        def listener(event: E) -> None:
            if future.done():
                sub.unsubscribe()
            elif predicate is None or predicate(event):
                future.set_result(event)
                sub.unsubscribe()

        sub = self.subscribe(event_type, listener, client_order_id=client_order_id)
        future.add_done_callback(lambda _: sub.unsubscribe())
        return future

    def publish(self, event: ConnectorEvent) -> None:
        """Deliver ``event`` to every matching listener, in subscription order, now."""
        self.publish_all((event,))

    def publish_all(self, events: Iterable[ConnectorEvent]) -> None:
        """Publish several events as one batch: an event a listener publishes meanwhile is
        delivered after the whole batch, so a batch such as ``Created, Filled, Completed``
        cannot be split by a re-entrant publisher."""
        batch = list(events)
        for event in batch:
            if not isinstance(event, ConnectorEvent):
                raise TypeError(f"only ConnectorEvent instances can be published, got {event!r}")
        self._pending.extend(batch)
        if self._dispatching:
            return  # a listener is publishing: delivered once the current event is done
        self._dispatching = True
        try:
            while self._pending:
                self._deliver(self._pending.popleft())
        finally:
            self._dispatching = False

    def _deliver(self, event: ConnectorEvent) -> None:
        self._history.append(event)
        for sub in list(self._subscriptions.values()):
            if not sub.active or not _matches(event, sub.event_type, sub.client_order_id):
                continue
            try:
                sub.listener(event)
            except Exception as error:  # a faulty listener must not starve the others
                self._on_listener_error(event, error, sub)

    def history(self, event_type: type[E], *, client_order_id: str | None = None) -> list[E]:
        """The retained events of ``event_type`` (oldest first), optionally for one order."""
        return [cast(E, e) for e in self._history if _matches(e, event_type, client_order_id)]

    def clear_history(self) -> None:
        self._history.clear()

    def _remove(self, sub_id: int) -> None:
        self._subscriptions.pop(sub_id, None)
