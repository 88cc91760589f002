"""python-binance's Client, unmodified, completes a REST trading flow against the mock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mock_exchange.server import MockExchangeServer
from tests.clients.conftest import API_KEY, API_SECRET

client_mod = pytest.importorskip("binance.client")
exceptions = pytest.importorskip("binance.exceptions")


def flow(base: str) -> dict[str, Any]:
    Client = client_mod.Client
    c = Client(API_KEY, API_SECRET, requests_params={"timeout": 10}, ping=False)
    c.API_URL = base + "/api"
    c.ping()  # the constructor's usual first call
    out: dict[str, Any] = {"time": c.get_server_time(), "info": c.get_exchange_info()}
    out["book"] = c.get_order_book(symbol="BTCUSDT", limit=5)
    out["ticker"] = c.get_ticker(symbol="BTCUSDT")
    out["account"] = c.get_account()
    o = c.create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="59000"
    )
    out["placed"] = o
    out["queried"] = c.get_order(symbol="BTCUSDT", orderId=o["orderId"])
    out["open"] = c.get_open_orders(symbol="BTCUSDT")
    out["canceled"] = c.cancel_order(symbol="BTCUSDT", orderId=o["orderId"])
    out["market"] = c.order_market_buy(symbol="BTCUSDT", quantity="0.01")
    out["trades"] = c.get_my_trades(symbol="BTCUSDT")
    errors = {}
    for name, call in {
        "limit_maker": lambda: c.create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER", quantity="0.01", price="61000"
        ),
        "min_notional": lambda: c.create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.00001", price="59000"
        ),
        "unknown_order": lambda: c.get_order(symbol="BTCUSDT", orderId=999999),
    }.items():
        try:
            call()
            errors[name] = None
        except exceptions.BinanceAPIException as e:
            errors[name] = (e.status_code, e.code, e.message)
    bad = Client(API_KEY, "wrong-secret", ping=False)
    bad.API_URL = base + "/api"
    try:
        bad.get_account()
        errors["bad_signature"] = None
    except exceptions.BinanceAPIException as e:
        errors["bad_signature"] = (e.status_code, e.code, e.message)
    out["errors"] = errors
    return out


def flow_with_own_loop(base: str) -> dict[str, Any]:
    # python-binance creates an event loop in the calling thread if there is none and never
    # closes it; give it one we close.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return flow(base)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def test_python_binance_rest_flow(server: MockExchangeServer) -> None:
    out = await asyncio.to_thread(flow_with_own_loop, server.rest_url)
    assert [s["symbol"] for s in out["info"]["symbols"]] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]
    assert out["book"]["asks"][0] == ["60005.00000000", "0.25000000"]
    assert out["placed"]["status"] == out["queried"]["status"] == "NEW"
    assert [o["orderId"] for o in out["open"]] == [out["placed"]["orderId"]]
    assert out["canceled"]["status"] == "CANCELED"
    market = out["market"]
    assert market["status"] == "FILLED"
    [fill] = market["fills"]
    trade = out["trades"][-1]
    assert trade["id"] == fill["tradeId"] and trade["commission"] == fill["commission"] == "0.00001000"
    assert out["errors"] == {
        "limit_maker": (400, -2010, "Order would immediately match and take."),
        "min_notional": (400, -1013, "Filter failure: NOTIONAL"),
        "unknown_order": (400, -2013, "Order does not exist."),
        "bad_signature": (400, -1022, "Signature for this request is not valid."),
    }
