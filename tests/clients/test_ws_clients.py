"""Unmodified third-party clients on the mock's WebSocket surfaces: ccxt.pro keeps a synced
order book and delivers trades; python-binance's depth cache syncs without resyncing;
Binance's SDK subscribes to market streams and to the user data stream."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from mock_exchange.binance.ws import STREAMS, WS_API
from mock_exchange.engine import NewOrder, OrderType, Side
from mock_exchange.engine.units import parse_units
from mock_exchange.server import MockExchangeServer
from tests.clients.conftest import API_KEY, API_SECRET
from tests.support.waiting import eventually


def other_participant_trades(server: MockExchangeServer, n: int) -> None:
    """The market maker's own book moves: orders added, taken and cancelled."""
    ex = server.service.exchange
    mm = ex.account_by_name("market-maker").account_id
    trader = ex.account_by_name("trader").account_id
    for i in range(n):
        server.service.place_order(
            NewOrder(
                mm,
                "BTCUSDT",
                Side.BUY,
                OrderType.LIMIT,
                quantity=parse_units("0.1"),
                price=parse_units(str(59990 - i)),
                time_in_force="GTC",
            )
        )  # type: ignore[arg-type]
        server.service.place_order(
            NewOrder(trader, "BTCUSDT", Side.BUY, OrderType.MARKET, quantity=parse_units("0.01"))
        )


def engine_book(server: MockExchangeServer, depth: int) -> tuple[list[Any], list[Any]]:
    eng = server.service.exchange.engine("BTCUSDT")
    _, bids, asks = eng.snapshot(depth)
    scale = Decimal(100_000_000)
    return (
        [[Decimal(p) / scale, Decimal(q) / scale] for p, q in bids],
        [[Decimal(p) / scale, Decimal(q) / scale] for p, q in asks],
    )


async def test_ccxt_pro_order_book_and_trades(server: MockExchangeServer) -> None:
    ccxtpro = pytest.importorskip("ccxt.pro")
    ex = ccxtpro.binance(
        {
            "apiKey": API_KEY,
            "secret": API_SECRET,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
        }
    )
    for name, url in list(ex.urls["api"].items()):
        if isinstance(url, str) and url.startswith("https://api.binance.com/api/v3"):
            ex.urls["api"][name] = server.rest_url + "/api/v3"
    ex.urls["api"]["ws"]["spot"] = server.stream_url + "/ws"
    try:
        book = await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 10)
        assert book["bids"][0] == [59995.0, 0.25]  # float ok: ccxt's own representation
        hub = server.app[STREAMS]
        await eventually(lambda: "btcusdt@trade" not in hub.subs or True, "ccxt subscribed")
        trades_task = asyncio.ensure_future(ex.watch_trades("BTC/USDT"))
        await eventually(lambda: "btcusdt@trade" in hub.subs, "ccxt subscribed to trades")
        other_participant_trades(server, 5)
        trades = await asyncio.wait_for(trades_task, 10)
        assert trades and trades[-1]["price"] > 0
        # Let every pending diff reach ccxt, then compare with the engine's book.
        for _ in range(20):
            book = await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 10)
            bids, asks = engine_book(server, 10)
            if [[Decimal(str(p)), Decimal(str(q))] for p, q in book["bids"][:10]] == bids:
                break
        assert [[Decimal(str(p)), Decimal(str(q))] for p, q in book["bids"][:10]] == bids
        assert [[Decimal(str(p)), Decimal(str(q))] for p, q in book["asks"][:10]] == asks
    finally:
        await ex.close()


@pytest.fixture
def python_binance_quick_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-binance's socket read loop polls for "stop" every ``TIMEOUT`` (10) seconds,
    so closing a quiet socket takes that long, against Binance too: shortened here."""
    module = pytest.importorskip("binance.ws.reconnecting_websocket")
    monkeypatch.setattr(module.ReconnectingWebsocket, "TIMEOUT", 0.2)


@pytest.mark.usefixtures("python_binance_quick_close")
async def test_python_binance_depth_cache_syncs(server: MockExchangeServer) -> None:
    binance = pytest.importorskip("binance")
    from binance.ws.depthcache import DepthCacheManager

    inits = 0

    class CountingDCM(DepthCacheManager):  # type: ignore[misc]
        async def _init_cache(self) -> None:
            nonlocal inits
            inits += 1
            await super()._init_cache()

    client = binance.AsyncClient(API_KEY, API_SECRET)
    client.API_URL = server.rest_url + "/api"
    try:
        bm = binance.BinanceSocketManager(client)
        bm.STREAM_URL = server.stream_url + "/"
        dcm = CountingDCM(client, "BTCUSDT", bm=bm, limit=1000, conv_type=Decimal, ws_interval=100)
        async with dcm as socket:
            other_participant_trades(server, 5)
            eng = server.service.exchange.engine("BTCUSDT")
            cache = await asyncio.wait_for(socket.recv(), 10)
            for _ in range(30):
                if dcm._last_update_id == eng.update_id:
                    break
                cache = await asyncio.wait_for(socket.recv(), 10)
            bids, asks = engine_book(server, 1000)
            assert cache.get_bids()[:10] == bids[:10] and cache.get_asks()[:10] == asks[:10]
            assert inits == 1, "python-binance had to resync: U != lastUpdateId + 1"
    finally:
        await client.close_connection()


# The SDK passes aiohttp a ``timeout`` float that aiohttp deprecates; that is the SDK's
# warning to fix, not the mock's.
@pytest.mark.filterwarnings("ignore:parameter 'timeout' of type 'float' is deprecated:DeprecationWarning")
async def test_binance_sdk_streams_and_user_data(server: MockExchangeServer) -> None:
    configuration = pytest.importorskip("binance_common.configuration")
    spot = pytest.importorskip("binance_sdk_spot.spot")
    client = spot.Spot(
        config_ws_streams=configuration.ConfigurationWebSocketStreams(stream_url=server.stream_url),
        config_ws_api=configuration.ConfigurationWebSocketAPI(
            api_key=API_KEY, api_secret=API_SECRET, stream_url=server.ws_api_url
        ),
    )
    streams = await client.websocket_streams.create_connection()
    api = await client.websocket_api.create_connection()
    try:
        trades: asyncio.Queue[Any] = asyncio.Queue()
        (await streams.trade(symbol="btcusdt")).on("message", trades.put_nowait)
        user: asyncio.Queue[Any] = asyncio.Queue()
        sub = await api.user_data_stream_subscribe_signature()
        sub.stream.on("message", user.put_nowait)
        hub = server.app[STREAMS]
        await eventually(lambda: "btcusdt@trade" in hub.subs, "the SDK's trade subscription")
        await eventually(lambda: server.app[WS_API] is not None, "the WS API")
        acct = server.service.exchange.account_by_name("trader").account_id
        result = server.service.place_order(
            NewOrder(acct, "BTCUSDT", Side.BUY, OrderType.MARKET, quantity=parse_units("0.01"))
        )
        trade = await asyncio.wait_for(trades.get(), 5)
        assert (trade.e, trade.t, trade.p) == ("trade", result.fills[0].trade_id, "60005.00000000")
        events = [(await asyncio.wait_for(user.get(), 5)).actual_instance for _ in range(3)]
        assert [(e.x, e.X) for e in events[:2]] == [("NEW", "NEW"), ("TRADE", "FILLED")]
        assert events[1].t == result.fills[0].trade_id and events[1].n == "0.00001000"
        assert {b.a for b in events[2].B} == {"BTC", "USDT"}
    finally:
        await streams.close_connection()
        await api.close_connection()


async def test_ccxt_pro_private_watchers(server: MockExchangeServer) -> None:
    """The README's ccxt.pro recipe, private side: ``watch_orders`` and ``watch_balance``
    go through the WebSocket API URL (they reached the real Binance without it)."""
    ccxtpro = pytest.importorskip("ccxt.pro")
    ex = ccxtpro.binance(
        {
            "apiKey": API_KEY,
            "secret": API_SECRET,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
        }
    )
    ex.urls["api"]["public"] = ex.urls["api"]["private"] = server.rest_url + "/api/v3"
    ex.urls["api"]["ws"]["spot"] = server.stream_url + "/ws"
    ex.urls["api"]["ws"]["ws-api"]["spot"] = server.ws_api_url
    try:
        orders_task = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
        balance_task = asyncio.ensure_future(ex.watch_balance())
        await eventually(lambda: bool(server.app[WS_API].sessions), "ccxt's WS API session")
        await eventually(
            lambda: any(s.subs for s in server.app[WS_API].sessions), "ccxt's user data subscription"
        )
        placed = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 59000)
        orders = await asyncio.wait_for(orders_task, 10)
        assert orders[-1]["id"] == placed["id"] and orders[-1]["status"] == "open"
        balance = await asyncio.wait_for(balance_task, 10)
        assert balance["USDT"]["used"] == 590  # float ok: ccxt's own representation
    finally:
        await ex.close()


@pytest.mark.usefixtures("python_binance_quick_close")
async def test_python_binance_user_socket(server: MockExchangeServer) -> None:
    """The README's python-binance recipe: class attributes set before the client exists,
    so its user socket (over the WS API) reaches the mock, not Binance."""
    binance = pytest.importorskip("binance")
    from binance.base_client import BaseClient

    saved = BaseClient.API_URL, BaseClient.WS_API_URL, binance.BinanceSocketManager.STREAM_URL
    BaseClient.API_URL = server.rest_url + "/api"
    BaseClient.WS_API_URL = server.ws_api_url
    binance.BinanceSocketManager.STREAM_URL = server.stream_url + "/"
    try:
        client = await binance.AsyncClient.create(API_KEY, API_SECRET)
        try:
            bm = binance.BinanceSocketManager(client)
            async with bm.user_socket() as socket:
                placed = await client.create_order(
                    symbol="BTCUSDT",
                    side="BUY",
                    type="LIMIT",
                    timeInForce="GTC",
                    quantity="0.01",
                    price="59000",
                )
                event = await asyncio.wait_for(socket.recv(), 10)
                while event.get("e") != "executionReport":
                    event = await asyncio.wait_for(socket.recv(), 10)
                assert (event["i"], event["X"]) == (placed["orderId"], "NEW")
        finally:
            await client.close_connection()
    finally:
        BaseClient.API_URL, BaseClient.WS_API_URL, binance.BinanceSocketManager.STREAM_URL = saved
