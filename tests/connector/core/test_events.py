"""EventBus: ordering, filtering, strong references, bounded history and async streams."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from decimal import Decimal

import pytest

from connector.core.data_types import OrderType, TradeFee, TradeType
from connector.core.errors import OrderRejected, SubscriberOverflow
from connector.core.events import (
    BalanceUpdated,
    BuyOrderCreated,
    ConnectorEvent,
    EventBus,
    OrderCancelled,
    OrderCreated,
    OrderFailed,
    OrderFilled,
    OrderResolved,
    OverflowPolicy,
    SellOrderCreated,
    Subscription,
)

D = Decimal


def created(client_order_id: str = "c1", *, sell: bool = False) -> OrderCreated:
    cls = SellOrderCreated if sell else BuyOrderCreated
    return cls(
        timestamp=1.0,
        client_order_id=client_order_id,
        trading_pair="BTC-USDT",
        exchange_order_id="1",
        trade_type=TradeType.SELL if sell else TradeType.BUY,
        order_type=OrderType.LIMIT,
        amount=D("1"),
        price=D("100"),
        creation_timestamp=1.0,
    )


def cancelled(client_order_id: str = "c1") -> OrderCancelled:
    return OrderCancelled(
        timestamp=2.0,
        client_order_id=client_order_id,
        trading_pair="BTC-USDT",
        exchange_order_id="1",
        trade_type=TradeType.BUY,
        order_type=OrderType.LIMIT,
        executed_amount_base=D(0),
        executed_amount_quote=D(0),
        fee=TradeFee(),
        fills_complete=True,
    )


def balance(asset: str = "BTC", total: str = "1") -> BalanceUpdated:
    return BalanceUpdated(timestamp=3.0, asset=asset, total=D(total), available=D(total))


# -- events -------------------------------------------------------------------------------------


def test_events_are_immutable_and_slotted() -> None:
    event = created()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.amount = D(2)  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


def test_side_specific_created_events_are_order_created() -> None:
    assert isinstance(created(sell=True), OrderCreated)
    assert isinstance(cancelled(), OrderResolved)


def test_failed_event_carries_the_typed_error() -> None:
    error = OrderRejected("Duplicate order sent.", code=-2010)
    failed = OrderFailed(
        timestamp=1.0,
        client_order_id="c1",
        trading_pair="BTC-USDT",
        exchange_order_id=None,
        trade_type=TradeType.BUY,
        order_type=OrderType.MARKET,
        executed_amount_base=D(0),
        executed_amount_quote=D(0),
        fee=TradeFee(),
        fills_complete=True,
        error=error,
    )
    assert failed.error is error


# -- publishing ---------------------------------------------------------------------------------


def test_publish_delivers_synchronously_in_subscription_order() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(ConnectorEvent, lambda e: seen.append(f"first:{type(e).__name__}"))
    bus.subscribe(ConnectorEvent, lambda e: seen.append(f"second:{type(e).__name__}"))
    bus.publish(balance())
    assert seen == ["first:BalanceUpdated", "second:BalanceUpdated"]


def test_filter_by_class_includes_subclasses() -> None:
    bus = EventBus()
    creations: list[OrderCreated] = []
    buys: list[BuyOrderCreated] = []
    bus.subscribe(OrderCreated, creations.append)
    bus.subscribe(BuyOrderCreated, buys.append)
    bus.publish(created("a"))
    bus.publish(created("b", sell=True))
    bus.publish(balance())
    assert [e.client_order_id for e in creations] == ["a", "b"]
    assert [e.client_order_id for e in buys] == ["a"]


def test_filter_by_client_order_id() -> None:
    bus = EventBus()
    seen: list[ConnectorEvent] = []
    bus.subscribe(ConnectorEvent, seen.append, client_order_id="b")
    bus.publish(created("a"))
    bus.publish(created("b"))
    bus.publish(balance())  # has no client order id: never matches an id filter
    assert seen == [created("b")]


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    bus = EventBus()
    seen: list[ConnectorEvent] = []
    sub = bus.subscribe(ConnectorEvent, seen.append)
    bus.publish(balance())
    sub.unsubscribe()
    sub.unsubscribe()
    bus.publish(balance())
    assert len(seen) == 1
    assert not sub.active
    assert bus.subscriber_count == 0


def test_subscription_as_context_manager() -> None:
    bus = EventBus()
    seen: list[ConnectorEvent] = []
    with bus.subscribe(ConnectorEvent, seen.append) as sub:
        assert isinstance(sub, Subscription)
        bus.publish(balance())
    bus.publish(balance())
    assert len(seen) == 1


def test_listeners_are_held_strongly() -> None:
    bus = EventBus()
    seen: list[ConnectorEvent] = []

    def register() -> None:
        # The only reference to this closure is the bus's (Hummingbot's weakrefs lost it).
        bus.subscribe(ConnectorEvent, lambda e: seen.append(e))

    register()
    gc.collect()
    bus.publish(balance())
    assert len(seen) == 1


def test_unsubscribing_during_publish_takes_effect_immediately() -> None:
    bus = EventBus()
    seen: list[str] = []
    subs: list[Subscription] = []

    def first(event: ConnectorEvent) -> None:
        seen.append("first")
        subs[1].unsubscribe()

    subs.append(bus.subscribe(ConnectorEvent, first))
    subs.append(bus.subscribe(ConnectorEvent, lambda e: seen.append("second")))
    bus.publish(balance())
    assert seen == ["first"]


def test_nested_publish_is_delivered_after_the_current_event_to_everyone() -> None:
    bus = EventBus()
    log: list[str] = []

    def reacts(event: ConnectorEvent) -> None:
        log.append(f"A:{type(event).__name__}")
        if isinstance(event, OrderCreated):
            bus.publish(cancelled())

    bus.subscribe(ConnectorEvent, reacts)
    bus.subscribe(ConnectorEvent, lambda e: log.append(f"B:{type(e).__name__}"))
    bus.publish(created())
    assert log == [
        "A:BuyOrderCreated",
        "B:BuyOrderCreated",
        "A:OrderCancelled",
        "B:OrderCancelled",
    ]


def test_publish_all_is_not_split_by_a_reentrant_publisher() -> None:
    bus = EventBus()
    log: list[str] = []

    def reacts(event: ConnectorEvent) -> None:
        if isinstance(event, OrderCreated):
            bus.publish(balance())

    bus.subscribe(ConnectorEvent, reacts)
    bus.subscribe(ConnectorEvent, lambda e: log.append(type(e).__name__))
    bus.publish_all([created(), cancelled()])
    assert log == ["BuyOrderCreated", "OrderCancelled", "BalanceUpdated"]


def test_failing_listener_does_not_stop_delivery() -> None:
    errors: list[tuple[str, str]] = []
    bus = EventBus(
        on_listener_error=lambda event, error, sub: errors.append((type(event).__name__, str(error)))
    )
    seen: list[ConnectorEvent] = []

    def broken(event: ConnectorEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe(ConnectorEvent, broken)
    bus.subscribe(ConnectorEvent, seen.append)
    bus.publish(balance())
    assert errors == [("BalanceUpdated", "boom")]
    assert len(seen) == 1


def test_only_events_can_be_published_or_subscribed() -> None:
    bus = EventBus()
    with pytest.raises(TypeError):
        bus.publish("not an event")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bus.subscribe(str, print)  # type: ignore[type-var]


# -- history ------------------------------------------------------------------------------------


def test_history_is_bounded_and_filterable() -> None:
    bus = EventBus(history_size=3)
    for i in range(5):
        bus.publish(created(f"c{i}"))
    bus.publish(balance())
    assert [e.client_order_id for e in bus.history(OrderCreated)] == ["c3", "c4"]
    assert bus.history(BalanceUpdated) == [balance()]
    assert bus.history(ConnectorEvent, client_order_id="c4") == [created("c4")]
    bus.clear_history()
    assert bus.history(ConnectorEvent) == []


def test_history_can_be_disabled() -> None:
    bus = EventBus(history_size=0)
    bus.publish(balance())
    assert bus.history(ConnectorEvent) == []


# -- async streams ------------------------------------------------------------------------------


async def test_stream_yields_matching_events_in_order() -> None:
    bus = EventBus()
    async with bus.subscribe_iter(OrderCreated) as stream:
        bus.publish(created("a"))
        bus.publish(balance())
        bus.publish(created("b"))
        got = [await stream.__anext__(), await stream.__anext__()]
    assert [e.client_order_id for e in got] == ["a", "b"]
    assert bus.subscriber_count == 0


async def test_stream_consumer_waits_for_a_later_publish() -> None:
    bus = EventBus()
    stream = bus.subscribe_iter(OrderFilled)
    consumer = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    assert not consumer.done()
    fill = OrderFilled(
        timestamp=1.0,
        client_order_id="c1",
        trading_pair="BTC-USDT",
        exchange_order_id="1",
        trade_type=TradeType.BUY,
        order_type=OrderType.LIMIT,
        trade_id="7",
        price=D("100"),
        amount=D("1"),
        quote_amount=D("100"),
        fee=TradeFee(),
        is_maker=True,
        fill_timestamp=5,
    )
    bus.publish(fill)
    assert await consumer is fill


async def test_async_for_ends_after_close_once_the_buffer_is_drained() -> None:
    bus = EventBus()
    stream = bus.subscribe_iter(ConnectorEvent, client_order_id="c1")
    bus.publish(created("c1"))
    bus.publish(created("c2"))
    bus.publish(cancelled("c1"))
    stream.close()
    bus.publish(created("c1"))  # after close: not buffered
    got = [type(e).__name__ async for e in stream]
    assert got == ["BuyOrderCreated", "OrderCancelled"]


async def test_closing_wakes_a_waiting_consumer() -> None:
    bus = EventBus()
    stream = bus.subscribe_iter(ConnectorEvent)
    consumer = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    await stream.aclose()
    with pytest.raises(StopAsyncIteration):
        await consumer


async def test_overflow_close_delivers_the_buffer_then_raises() -> None:
    bus = EventBus()
    stream = bus.subscribe_iter(OrderCreated, maxsize=2, overflow=OverflowPolicy.CLOSE)
    for i in range(4):
        bus.publish(created(f"c{i}"))  # publishing never blocks or raises
    assert stream.closed and stream.dropped == 1
    assert bus.subscriber_count == 0
    got: list[str] = []
    with pytest.raises(SubscriberOverflow):
        async for event in stream:
            got.append(event.client_order_id)
    assert got == ["c0", "c1"]


def test_overflow_drop_oldest_keeps_the_newest() -> None:
    bus = EventBus()
    stream = bus.subscribe_iter(OrderCreated, maxsize=2, overflow=OverflowPolicy.DROP_OLDEST)
    for i in range(5):
        bus.publish(created(f"c{i}"))
    assert [e.client_order_id for e in stream.drain()] == ["c3", "c4"]
    assert stream.dropped == 3 and not stream.closed


def test_overflow_drop_newest_keeps_the_oldest() -> None:
    bus = EventBus()
    stream = bus.subscribe_iter(OrderCreated, maxsize=2, overflow=OverflowPolicy.DROP_NEWEST)
    for i in range(5):
        bus.publish(created(f"c{i}"))
    assert stream.get_nowait() == created("c0")
    assert stream.get_nowait() == created("c1")
    assert stream.get_nowait() is None
    assert stream.dropped == 3


def test_stream_needs_room_for_one_event() -> None:
    with pytest.raises(ValueError):
        EventBus().subscribe_iter(ConnectorEvent, maxsize=0)


# -- wait_for ------------------------------------------------------------------------------------


async def test_wait_for_resolves_on_the_next_matching_event_and_unsubscribes() -> None:
    bus = EventBus()
    future = bus.wait_for(OrderResolved, client_order_id="c2")
    bus.publish(cancelled("c1"))
    assert not future.done()
    bus.publish(cancelled("c2"))
    assert await future == cancelled("c2")
    assert bus.subscriber_count == 0


async def test_wait_for_with_predicate_and_cancellation() -> None:
    bus = EventBus()
    future = bus.wait_for(BalanceUpdated, predicate=lambda e: e.total > 1)
    bus.publish(balance(total="1"))
    bus.publish(balance(total="2"))
    assert (await future).total == D("2")
    pending = bus.wait_for(BalanceUpdated)
    pending.cancel()
    await asyncio.sleep(0)  # one loop turn: done-callbacks run via call_soon
    assert bus.subscriber_count == 0
