"""Placing orders: LIMIT, LIMIT_MAKER, MARKET by base and by quote amount; local validation;
the awaitable API; event order and fill deduplication (template tests 13-16; additions (j),
(m), (n))."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from connector.binance import (
    BuyOrderCompleted,
    BuyOrderCreated,
    FilterFailure,
    InvalidOrder,
    InvalidOrderReason,
    NotReady,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderRejected,
    OrderResolved,
    OrderState,
    OrderType,
    SellOrderCompleted,
    SellOrderCreated,
    TradeFee,
    TradeType,
)
from connector.core.events import OrderEvent
from mock_exchange.clock import VirtualClock
from mock_exchange.engine import Side
from tests.connector.e2e.support import BTC, ETH, SAFETY, Harness, harness_for, make_config

D = Decimal
ORDER = "/api/v3/order"


async def test_create_buy_limit_order(harness: Harness) -> None:
    """Template 13."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    assert exchange.in_flight_orders[order_id].current_state is OrderState.PENDING_CREATE
    order = await asyncio.wait_for(exchange.wait_for_created(order_id), SAFETY)
    created = await log.wait_for(BuyOrderCreated, order_id)
    assert order.current_state is OrderState.OPEN and order.exchange_order_id is not None
    assert created.exchange_order_id == order.exchange_order_id
    assert (created.amount, created.price, created.order_type) == (D("0.01"), D("59000"), OrderType.LIMIT)
    on_exchange = harness.open_order(order_id)
    assert (on_exchange.price, on_exchange.orig_qty) == (5_900_000_000_000, 1_000_000)
    assert on_exchange.time_in_force.value == "GTC"


async def test_create_sell_limit_order(harness: Harness) -> None:
    """Template 14."""
    exchange, log = await harness.started()
    order_id = exchange.sell(BTC, D("0.02"), OrderType.LIMIT, D("61000"))
    await log.wait_for(SellOrderCreated, order_id)
    assert harness.open_order(order_id).side.value == "SELL"
    assert exchange.in_flight_orders[order_id].current_state is OrderState.OPEN


async def test_create_order_fails_and_raises_failure_event(harness: Harness) -> None:
    """Template 15: the exchange refuses (insufficient balance, -2010): one OrderFailed with the
    typed error, no OrderCreated; the awaitable raises it."""
    exchange, log = await harness.started()
    order_id = exchange.sell(BTC, D("5"), OrderType.LIMIT, D("61000"))  # the trader has 1 BTC
    failed = await log.wait_for(OrderFailed, order_id)
    assert isinstance(failed.error, OrderRejected) and failed.error.code == -2010
    assert log.names(order_id) == ["OrderFailed"]
    with pytest.raises(OrderRejected):
        await exchange.wait_for_created(order_id)
    assert await exchange.wait_until_done(order_id) is OrderState.FAILED


async def test_limit_maker_that_would_take_is_rejected(harness: Harness) -> None:
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT_MAKER, D("60010"))  # crosses the ask
    failed = await log.wait_for(OrderFailed, order_id)
    assert failed.error.msg == "Order would immediately match and take."  # type: ignore[attr-defined]


async def test_limit_maker_rests(harness: Harness) -> None:
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT_MAKER, D("59990"))
    await log.wait_for(BuyOrderCreated, order_id)
    assert harness.open_order(order_id).type.value == "LIMIT_MAKER"


INVALID_ORDERS = [
    ("DOGE-USDT", D("1"), OrderType.LIMIT, D("1"), InvalidOrderReason.UNKNOWN_TRADING_PAIR),
    (BTC, D("0.00001"), OrderType.LIMIT, D("60000"), InvalidOrderReason.BELOW_MIN_NOTIONAL),
    (BTC, D("0.000005"), OrderType.LIMIT, D("60000"), InvalidOrderReason.BELOW_MIN_SIZE),  # 0 once quantized
    (BTC, D("1"), OrderType.LIMIT, D("0.004"), InvalidOrderReason.BELOW_MIN_PRICE),  # 0 once quantized
    (BTC, D("0"), OrderType.LIMIT, D("60000"), InvalidOrderReason.INVALID_AMOUNT),
    (BTC, D("-1"), OrderType.LIMIT, D("60000"), InvalidOrderReason.INVALID_AMOUNT),
    (BTC, D("9001"), OrderType.LIMIT, D("60000"), InvalidOrderReason.ABOVE_MAX_SIZE),
    (BTC, D("101"), OrderType.MARKET, None, InvalidOrderReason.ABOVE_MAX_SIZE),  # MARKET_LOT_SIZE
    (BTC, D("0.01"), OrderType.LIMIT, None, InvalidOrderReason.INVALID_PRICE),
    (BTC, D("0.01"), OrderType.LIMIT, D("NaN"), InvalidOrderReason.INVALID_PRICE),
    (BTC, D("0.01"), OrderType.LIMIT, D("2000000"), InvalidOrderReason.ABOVE_MAX_PRICE),
]


async def test_invalid_orders_raise_before_anything_is_sent(harness: Harness) -> None:
    """Template 16 (and W4): a rule violation raises ``InvalidOrder`` synchronously, naming
    the rule; nothing is tracked, sent or published."""
    exchange, log = await harness.started()
    before = len(log.events)
    harness.faults.calls.clear()
    for pair, amount, order_type, price, reason in INVALID_ORDERS:
        with pytest.raises(InvalidOrder) as info:
            exchange.buy(pair, amount, order_type, price)
        assert info.value.reason is reason, (amount, price)
    assert exchange.in_flight_orders == {}
    await exchange.check_network()  # a round trip: anything scheduled would have run by now
    assert [c.path for c in harness.faults.calls] == ["/api/v3/ping"]
    assert not any(isinstance(e, OrderEvent) for e in log.events[before:])


async def test_orders_before_start_are_refused(harness: Harness) -> None:
    exchange = harness.exchange()
    with pytest.raises(NotReady):
        exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("60000"))


async def test_market_order_notional_is_judged_by_the_exchanges_average_price(harness: Harness) -> None:
    """Binance checks a MARKET order's notional at its average price, not at the book. On a
    thin book (best bid 40000, trades at 60000) a 0.0001 BTC sell is 4 USDT at the bid but
    6 USDT at the average: the exchange fills it, so the connector must not refuse it
    locally. One below the minimum at the average is refused by the exchange, typed."""
    harness.server.control.clear_book("BTCUSDT")
    harness.mm_order("BTCUSDT", Side.BUY, "0.01", "60000")
    harness.mm_order("BTCUSDT", Side.SELL, "0.01", "60000")  # a trade at 60000
    harness.mm_order("BTCUSDT", Side.BUY, "0.01", "40000")
    exchange, log = await harness.started(trading_pairs=[BTC])
    assert exchange.get_best_bid(BTC) == D("40000")
    order_id = exchange.sell(BTC, D("0.0001"), OrderType.MARKET)
    completed = await log.wait_for(OrderCompleted, order_id)
    assert completed.executed_amount_base == D("0.0001")
    tiny = exchange.sell(BTC, D("0.00005"), OrderType.MARKET)  # 3 USDT at the average
    failed = await log.wait_for(OrderFailed, tiny)
    assert isinstance(failed.error, FilterFailure) and failed.error.code == -1013


async def test_amounts_and_prices_are_quantized(harness: Harness) -> None:
    exchange, log = await harness.started()
    assert exchange.quantize_order_amount(BTC, D("0.0123456789")) == D("0.01234")
    assert exchange.quantize_order_price(BTC, D("59000.019"), TradeType.BUY) == D("59000.01")
    assert exchange.quantize_order_price(BTC, D("60999.991"), TradeType.SELL) == D("61000.00")
    order_id = exchange.buy(BTC, D("0.0123456789"), OrderType.LIMIT, D("59000.019"))
    created = await log.wait_for(OrderCreated, order_id)
    assert (created.amount, created.price) == (D("0.01234"), D("59000.01"))


async def test_market_buy_by_base_amount(harness: Harness) -> None:
    """Addition (m): Created → Filled* → Completed for an order that fills on arrival; the
    terminal event's amounts are the sum of the fills."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.3"), OrderType.MARKET)
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFilled", "OrderFilled", "BuyOrderCompleted"]
    fills = log.of(OrderFilled, order_id)
    assert [(f.price, f.amount) for f in fills] == [(D("60005"), D("0.25")), (D("60010"), D("0.05"))]
    assert completed.executed_amount_base == D("0.3") == sum(f.amount for f in fills)
    assert completed.executed_amount_quote == sum(f.quote_amount for f in fills)
    assert completed.fee == TradeFee.of("BTC", D("0.0003"))  # 0.1 % of the BTC received
    assert await exchange.wait_until_done(order_id) is OrderState.FILLED
    await asyncio.wait_for(_balance(exchange, "BTC", D("1.2997")), SAFETY)


async def _balance(exchange: object, asset: str, value: Decimal) -> None:
    from connector.binance import BalanceUpdated, BinanceExchange

    assert isinstance(exchange, BinanceExchange)
    while exchange.get_balance(asset) != value:
        await exchange.events.wait_for(BalanceUpdated)


async def test_market_sell_by_base_amount(harness: Harness) -> None:
    exchange, log = await harness.started()
    order_id = exchange.sell(BTC, D("0.1"), OrderType.MARKET)
    completed = await log.wait_for(SellOrderCompleted, order_id)
    assert completed.executed_amount_quote == D("5999.5")
    assert completed.fee == TradeFee.of("USDT", D("5.9995"))


async def test_market_buy_by_quote_amount(harness: Harness) -> None:
    """``quoteOrderQty``: spend 1000 USDT; the executed base follows the step size."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, order_type=OrderType.MARKET, quote_amount=D("1000"))
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    assert D("0") < completed.executed_amount_quote <= D("1000")
    assert completed.executed_amount_base == D("0.01666")  # 1000 / 60005, truncated to 0.00001
    assert harness.faults.count("POST", ORDER) == 1


@pytest.mark.parametrize(
    ("order_type", "quote", "reason"),
    [
        (OrderType.LIMIT, D("1000"), InvalidOrderReason.UNSUPPORTED_ORDER_TYPE),
        (OrderType.MARKET, D("1"), InvalidOrderReason.BELOW_MIN_NOTIONAL),
        (OrderType.MARKET, D("0"), InvalidOrderReason.INVALID_AMOUNT),
    ],
)
async def test_invalid_quote_orders(
    harness: Harness, order_type: OrderType, quote: Decimal, reason: InvalidOrderReason
) -> None:
    exchange, _ = await harness.started()
    with pytest.raises(InvalidOrder) as info:
        exchange.buy(BTC, order_type=order_type, quote_amount=quote)
    assert info.value.reason is reason


async def test_fill_before_create_response_keeps_the_event_order(harness: Harness) -> None:
    """Additions (m), (i), (j): the create response is held until the user stream has already
    reported the fills and FILLED. The late response (same fills, status FILLED) changes
    nothing: Created → Filled → Filled → Completed, each trade once."""
    exchange, log = await harness.started()
    release = asyncio.Event()
    harness.faults.hold("POST", ORDER, release)
    order_id = exchange.buy(BTC, D("0.3"), OrderType.MARKET)
    await log.wait_for(BuyOrderCompleted, order_id)  # from the user stream alone
    assert exchange.get_order(order_id) is not None
    release.set()
    await asyncio.wait_for(_until_no_tasks(exchange), SAFETY)
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFilled", "OrderFilled", "BuyOrderCompleted"]
    assert len({f.trade_id for f in log.of(OrderFilled, order_id)}) == 2


async def _until_no_tasks(exchange: object) -> None:
    await asyncio.gather(*exchange._order_tasks)


async def test_create_response_before_user_stream_is_deduplicated(harness: Harness) -> None:
    """Addition (j), other order: the FULL response wins, the stream's copies are ignored."""
    exchange, log = await harness.started()
    order_id = exchange.sell(BTC, D("0.3"), OrderType.MARKET)
    await log.wait_for(SellOrderCompleted, order_id)
    await exchange.check_network()
    assert len(log.of(OrderFilled, order_id)) == 2
    assert len(log.of(OrderResolved, order_id)) == 1


@pytest.fixture
async def rich_harness() -> AsyncIterator[Harness]:
    async for h in harness_for(make_config(trader_balances={"BTC": "10", "ETH": "100", "USDT": "1000000"})):
        yield h


async def test_expired_after_partial_fill_is_not_a_failure(rich_harness: Harness) -> None:
    """Addition (n): a MARKET order larger than the book fills what is there and the rest
    EXPIRES: ``OrderExpired`` with the executed amounts, never ``OrderFailed``."""
    exchange, log = await rich_harness.started()
    order_id = exchange.buy(ETH, D("50"), OrderType.MARKET)  # 20 asks x 2 ETH on the book
    expired = await log.wait_for(OrderExpired, order_id)
    assert expired.executed_amount_base == D("40")
    assert log.names(order_id)[0] == "BuyOrderCreated" and log.names(order_id)[-1] == "OrderExpired"
    assert len(log.of(OrderFilled, order_id)) == 20
    assert not log.of(OrderFailed, order_id)
    assert await exchange.wait_until_done(order_id) is OrderState.EXPIRED


async def test_client_order_ids(harness: Harness) -> None:
    exchange, log = await harness.started(client_order_id_prefix="x-MYBROKER")
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    assert order_id.startswith("x-MYBROKER") and len(order_id) <= 36
    mine = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"), client_order_id="my-own_id-1")
    await log.wait_for(OrderCreated, mine)
    assert harness.open_order("my-own_id-1").client_order_id == "my-own_id-1"
    with pytest.raises(InvalidOrder) as info:
        exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"), client_order_id="my-own_id-1")
    assert info.value.reason is InvalidOrderReason.DUPLICATE_CLIENT_ORDER_ID
    with pytest.raises(ValueError):
        exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"), client_order_id="bad id!")


async def test_fee_estimate_uses_the_account_commission_rates(harness: Harness) -> None:
    exchange, _ = await harness.started()
    assert exchange.fee_rates(BTC) == (D("0.001"), D("0.001"))
    assert harness.faults.count("GET", "/api/v3/account/commission") >= 1
    fee = exchange.get_fee(BTC, OrderType.LIMIT, TradeType.BUY, D("1"), D("60000"))
    assert fee == TradeFee.of("BTC", D("0.001"))
    fee = exchange.get_fee(BTC, OrderType.LIMIT, TradeType.SELL, D("1"), D("60000"), is_maker=True)
    assert fee == TradeFee.of("USDT", D("60"))


async def test_listeners_are_strong_references(harness: Harness) -> None:
    """W15: an unreferenced lambda keeps receiving events until unsubscribed."""
    exchange, log = await harness.started()
    seen: list[str] = []
    subscription = exchange.events.subscribe(OrderFilled, lambda e: seen.append(e.trade_id))
    gc.collect()
    order_id = exchange.buy(BTC, D("0.1"), OrderType.MARKET)
    await log.wait_for(BuyOrderCompleted, order_id)
    assert len(seen) == 1
    subscription.unsubscribe()
    second = exchange.buy(BTC, D("0.1"), OrderType.MARKET)
    await log.wait_for(BuyOrderCompleted, second)
    assert len(seen) == 1


@pytest.fixture
async def limited_harness(vclock: VirtualClock) -> AsyncIterator[Harness]:
    config = make_config()
    config.rate_limits.orders_per_10s = 3
    async for h in harness_for(config, clock=vclock):
        yield h


async def test_orders_are_paced_by_the_published_order_limit(
    limited_harness: Harness, vclock: VirtualClock
) -> None:
    """Hummingbot #5491 / W7: this exchange publishes ORDERS 3 per 10 s. A burst of five
    orders is paced into the next windows instead of being refused with -1015."""
    h = limited_harness
    exchange, log = await h.started(
        clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep, throttle_safety_margin=0
    )
    order_ids = [exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D(59000 - i)) for i in range(5)]
    for _ in range(3):
        await vclock.advance(10.0)
    for order_id in order_ids:
        await asyncio.wait_for(exchange.wait_for_created(order_id), SAFETY)
    assert h.faults.count("POST", ORDER) == 5
    assert not log.of(OrderFailed)


async def test_client_order_ids_follow_the_connectors_clock(vharness: Harness, vclock: VirtualClock) -> None:
    """The id's nonce is microseconds on the injected clock, not the wall clock: on a
    virtual clock the same run gives the same ids (reproducible scenario reports)."""
    exchange, _ = await vharness.started(clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep)
    now_us = vclock.now_us()
    first = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    second = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("58990"))
    assert first == "x-TCONNBBTCUSD" + format(now_us, "x")
    assert second == "x-TCONNBBTCUSD" + format(now_us + 1, "x")  # same instant: still unique
