"""Hummingbot's real Binance Spot connector, unmodified, against the mock.

Hummingbot is not a project dependency (CI does not install it), so this test is skipped
unless ``hummingbot`` can be imported. To run it, use a separate virtualenv:

    python3 -m venv /tmp/hbvenv
    /tmp/hbvenv/bin/pip install hummingbot==20260922   # see the note below
    /tmp/hbvenv/bin/pip install -e . pytest pytest-asyncio pytest-timeout
    /tmp/hbvenv/bin/python -m pytest tests/clients/test_hummingbot.py

Note: hummingbot 20260922 is an sdist (Cython, C++; about 7 minutes to build on 2 cores)
and requires ``pandas-ta>=0.4.71b``, whose releases all need Python >= 3.12. On Python 3.11
install it without that one dependency, which the connector never imports:
``pip install numpy cython setuptools wheel``, then
``pip install --no-build-isolation --no-deps hummingbot==20260922``, then every other
requirement listed in its ``setup.py`` (``install_requires`` minus ``pandas-ta``).

The only change made to Hummingbot is where it connects: the module constants
``REST_URL``, ``WSS_URL`` and ``WSS_API_URL`` of
``hummingbot.connector.exchange.binance.binance_constants`` are pointed at the mock
(Hummingbot reads them at call time). Hummingbot's own ``Clock`` (real-time mode) drives
the connector, as it does in the bot, and its own ``EventLogger`` observes the events.

Checked: the connector becomes ready (symbols, order book, balances, trading rules, user
stream); its order book equals ``GET /api/v3/depth`` and keeps equalling it through the
diff stream; a far-from-market limit buy is created (and listed by ``openOrders``) and
cancelled; a market buy of 0.01 BTC fills with price, quantity and fee equal to
``myTrades`` and completes; balances follow ``GET /api/v3/account``. Hummingbot's REST
status poll is made to run once only (for the balances readiness needs), so order, fill and
balance updates can only arrive through the WebSocket API user data stream
(``userDataStream.subscribe.signature``); the test checks both that Hummingbot received
them there and that it made no REST order/trade queries. It also checks that Hummingbot
answers the server's WebSocket pings.

Takes about 1.5 s (plus about 2 s to import Hummingbot).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import warnings
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from mock_exchange.binance.app import REST
from mock_exchange.binance.ws import WS_API
from mock_exchange.config import load_config
from mock_exchange.server import MockExchangeServer
from tests.support.waiting import eventually

with warnings.catch_warnings():
    # Hummingbot's import chain (pydantic, web3, ...) warns about its own dependencies.
    warnings.simplefilter("ignore")
    pytest.importorskip("hummingbot")
    import hummingbot.connector.exchange.binance.binance_constants as CONSTANTS
    from hummingbot.connector.exchange.binance.binance_api_user_stream_data_source import (
        BinanceAPIUserStreamDataSource,
    )
    from hummingbot.connector.exchange.binance.binance_exchange import BinanceExchange
    from hummingbot.core.clock import Clock, ClockMode
    from hummingbot.core.data_type.common import OrderType, TradeType
    from hummingbot.core.data_type.trade_fee import TokenAmount
    from hummingbot.core.event.event_logger import EventLogger
    from hummingbot.core.event.events import (
        BuyOrderCompletedEvent,
        BuyOrderCreatedEvent,
        MarketEvent,
        MarketOrderFailureEvent,
        OrderCancelledEvent,
        OrderFilledEvent,
    )

# Hummingbot and its dependencies raise deprecation warnings of their own while running;
# they are not the mock's, and the project turns every warning into an error.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")

API_KEY = "hummingbot-key"
API_SECRET = "hummingbot-secret"
PAIR = "BTC-USDT"
SYMBOL = "BTCUSDT"
TIMEOUT = 10.0


async def next_event(log: Any, cls: type, match: Callable[[Any], bool] = lambda e: True) -> Any:
    """The first logged ``cls`` event that ``match``es, waiting for it if need be.

    The log is scanned and the waiter registered with no await in between, so an event
    that fires at any moment is never missed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        for e in log.event_log:
            if isinstance(e, cls) and match(e):
                return e
        remaining = deadline - loop.time()
        if remaining <= 0:
            failures = [e for e in log.event_log if isinstance(e, MarketOrderFailureEvent)]
            raise AssertionError(f"no {cls.__name__} within {TIMEOUT} s; failures: {failures}")
        try:
            await log.wait_for(cls, remaining)
        except TimeoutError:
            pass


def decimals(levels: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(q)) for p, q in levels]


@pytest.fixture
async def server() -> Any:
    config = load_config()
    trader = config.account("trader")
    trader.api_key, trader.api_secret = API_KEY, API_SECRET
    config.timers.ping_interval = 0.5  # so the keepalive check needs no long wait
    config.timers.pong_timeout = 30.0
    async with MockExchangeServer(config) as s:
        yield s


async def test_hummingbot_binance_connector(server: MockExchangeServer, monkeypatch: Any) -> None:
    s = server
    monkeypatch.setattr(CONSTANTS, "REST_URL", s.rest_url + "/api/")
    monkeypatch.setattr(CONSTANTS, "WSS_URL", s.stream_url + "/ws")
    monkeypatch.setattr(CONSTANTS, "WSS_API_URL", s.ws_api_url)

    # What reaches Hummingbot's user stream data source (the WebSocket API connection).
    user_stream: list[dict[str, Any]] = []
    original = BinanceAPIUserStreamDataSource._process_event_message

    async def tap(self: Any, event_message: Any, queue: Any) -> None:
        if isinstance(event_message, dict):
            user_stream.append(event_message.get("event", event_message))
        await original(self, event_message, queue)

    monkeypatch.setattr(BinanceAPIUserStreamDataSource, "_process_event_message", tap)

    def reports(x: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            m
            for m in user_stream
            if m.get("e") == "executionReport"
            and m.get("x") == x
            and all(m.get(k) == v for k, v in fields.items())
        ]

    # Every REST request the mock serves, to show what Hummingbot polls.
    rest_log: list[str] = []

    async def record(call: Any, proceed: Callable[[], Awaitable[Any]]) -> Any:
        rest_log.append(f"{call.request.method} {call.request.path}")
        return await proceed()

    s.app[REST].interceptors.insert(0, record)

    http = aiohttp.ClientSession()

    async def public(path: str, **params: Any) -> Any:
        async with http.get(f"{s.rest_url}{path}", params=params) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def signed(path: str, **params: Any) -> Any:
        query = urlencode({**params, "timestamp": int(time.time() * 1000)})
        signature = hmac.new(API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
        url = f"{s.rest_url}{path}?{query}&signature={signature}"
        async with http.get(url, headers={"X-MBX-APIKEY": API_KEY}) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    exchange = BinanceExchange(binance_api_key=API_KEY, binance_api_secret=API_SECRET, trading_pairs=[PAIR])

    def hb_book() -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        book = exchange.get_order_book(PAIR)
        return (
            [(Decimal(str(e.price)), Decimal(str(e.amount))) for e in book.bid_entries()],
            [(Decimal(str(e.price)), Decimal(str(e.amount))) for e in book.ask_entries()],
        )

    async def assert_book_matches_depth() -> None:
        """Hummingbot's book comes to equal GET /api/v3/depth (diffs may still be in flight).

        The mock's book does not move while this waits (nothing else trades), so one depth
        request is the target; Hummingbot's compiled order book has no change notification,
        so the wait is on the condition itself."""
        depth = await public("/api/v3/depth", symbol=SYMBOL, limit=1000)
        want = (decimals(depth["bids"]), decimals(depth["asks"]))
        try:
            await eventually(
                lambda: hb_book() == want, "Hummingbot's book to equal GET /api/v3/depth", TIMEOUT
            )
        except AssertionError:
            assert hb_book() == want, "Hummingbot's order book differs from GET /api/v3/depth"
            raise

    async def mock_balances() -> dict[str, Decimal]:
        account = await signed("/api/v3/account")
        return {b["asset"]: Decimal(b["free"]) + Decimal(b["locked"]) for b in account["balances"]}

    events = EventLogger()
    for event in (
        MarketEvent.BuyOrderCreated,
        MarketEvent.OrderCancelled,
        MarketEvent.OrderFilled,
        MarketEvent.BuyOrderCompleted,
        MarketEvent.OrderFailure,
    ):
        exchange.add_listener(event, events)

    # REST polling only once: the status poll runs when a tick crosses a multiple of the
    # poll interval. With an interval of two thirds of the current time, the first tick
    # (from timestamp 0) polls once, which fetches the balances readiness needs, and no
    # later tick crosses another multiple for decades. After that, order, fill and balance
    # updates can only come from the user data stream.
    exchange.SHORT_POLL_INTERVAL = exchange.LONG_POLL_INTERVAL = time.time() / 1.5

    # Hummingbot's clock ticks the connector; its network iterator calls start_network().
    clock = Clock(ClockMode.REALTIME, tick_size=0.2)
    clock.add_iterator(exchange)
    with clock:
        clock_task = asyncio.ensure_future(clock.run())
        try:
            # --- ready
            await eventually(lambda: exchange.ready, "the connector to be ready", timeout=20)
            assert all(exchange.status_dict.values()), exchange.status_dict
            assert exchange.trading_rules[PAIR].min_price_increment == Decimal("0.01")
            ws_api = s.app[WS_API]
            trader_id = s.service.exchange.account_by_name("trader").account_id
            subscribed = [
                session
                for session in ws_api.sessions
                if any(sub.account_id == trader_id for sub in session.subs.values())
            ]
            assert len(subscribed) == 1, "Hummingbot should hold one WS API user data subscription"
            user_session = subscribed[0]
            polled_from = len(rest_log)  # the one status poll is over: it fetched balances
            assert rest_log.count("GET /api/v3/account") == 1, rest_log
            assert exchange.get_all_balances() == await mock_balances()

            # --- order book
            await assert_book_matches_depth()
            bids, asks = hb_book()
            assert bids[0] == (Decimal("59995"), Decimal("0.25"))
            assert asks[0] == (Decimal("60005"), Decimal("0.25"))

            # --- limit buy far from the market, then cancel
            limit_id = exchange.buy(PAIR, Decimal("0.01"), OrderType.LIMIT, Decimal("30000"))
            created = await next_event(events, BuyOrderCreatedEvent, lambda e: e.order_id == limit_id)
            assert created.trading_pair == PAIR
            assert (created.amount, created.price) == (Decimal("0.01"), Decimal("30000"))
            open_orders = await signed("/api/v3/openOrders", symbol=SYMBOL)
            assert [(o["clientOrderId"], str(o["orderId"]), o["status"]) for o in open_orders] == [
                (limit_id, created.exchange_order_id, "NEW")
            ]
            await eventually(lambda: reports("NEW", c=limit_id), "the NEW executionReport on the user stream")

            exchange.cancel(PAIR, limit_id)
            cancelled = await next_event(events, OrderCancelledEvent, lambda e: e.order_id == limit_id)
            assert cancelled.exchange_order_id == created.exchange_order_id
            await eventually(lambda: reports("CANCELED", C=limit_id), "the CANCELED executionReport")
            assert await signed("/api/v3/openOrders", symbol=SYMBOL) == []
            assert limit_id not in exchange.in_flight_orders

            # --- market buy of 0.01 BTC
            market_id = exchange.buy(PAIR, Decimal("0.01"), OrderType.MARKET)
            completed = await next_event(events, BuyOrderCompletedEvent, lambda e: e.order_id == market_id)
            fills = [
                e for e in events.event_log if isinstance(e, OrderFilledEvent) and e.order_id == market_id
            ]
            trades = await signed("/api/v3/myTrades", symbol=SYMBOL, orderId=int(completed.exchange_order_id))
            assert trades, "the mock has no trades for the market order"
            assert sorted(int(f.exchange_trade_id) for f in fills) == sorted(t["id"] for t in trades)
            by_id = {t["id"]: t for t in trades}
            for fill in fills:
                trade = by_id[int(fill.exchange_trade_id)]
                assert fill.trading_pair == PAIR and fill.trade_type is TradeType.BUY
                assert fill.order_type is OrderType.MARKET
                assert fill.price == Decimal(trade["price"])
                assert fill.amount == Decimal(trade["qty"])
                assert fill.trade_fee.flat_fees == [
                    TokenAmount(trade["commissionAsset"], Decimal(trade["commission"]))
                ]
            assert sum(f.amount for f in fills) == Decimal("0.01")
            assert completed.base_asset_amount == Decimal("0.01")
            assert completed.quote_asset_amount == sum(Decimal(t["quoteQty"]) for t in trades)
            assert (completed.base_asset, completed.quote_asset) == ("BTC", "USDT")
            assert {m["t"] for m in reports("TRADE", c=market_id)} == {t["id"] for t in trades}

            # Balances follow the user stream's outboundAccountPosition; the book, the diffs.
            want_balances = await mock_balances()
            await eventually(
                lambda: exchange.get_all_balances() == want_balances, "balances to follow the mock"
            )
            await assert_book_matches_depth()

            # Nothing above came from REST polling: the only order/trade queries since
            # polling stopped are the test's own single myTrades call.
            since_ready = rest_log[polled_from:]
            assert since_ready.count("GET /api/v3/order") == 0, since_ready
            assert since_ready.count("GET /api/v3/myTrades") == 1, since_ready

            # --- keepalive: Hummingbot answers the server's pings on the user stream socket
            since = user_session.conn.last_pong_us
            await eventually(
                lambda: user_session.conn.last_pong_us > since, "a pong from Hummingbot", timeout=5
            )
            assert user_session in ws_api.sessions
            assert not [e for e in events.event_log if isinstance(e, MarketOrderFailureEvent)]
        finally:
            clock_task.cancel()
            try:
                await clock_task
            except (asyncio.CancelledError, Exception):
                pass
            await exchange.stop_network()
            await http.close()
