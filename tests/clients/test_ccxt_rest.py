"""ccxt's binance class, unmodified, completes a REST trading flow against the mock."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from mock_exchange.server import MockExchangeServer
from tests.clients.conftest import API_KEY, API_SECRET

ccxt = pytest.importorskip("ccxt")


def make(base: str, secret: str = API_SECRET) -> Any:
    ex = ccxt.binance(
        {
            "apiKey": API_KEY,
            "secret": secret,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
        }
    )
    for name, url in list(ex.urls["api"].items()):
        if isinstance(url, str) and url.startswith("https://api.binance.com/api/v3"):
            ex.urls["api"][name] = base + "/api/v3"
    return ex


def flow(base: str) -> dict[str, Any]:
    ex = make(base)
    out: dict[str, Any] = {"time": ex.fetch_time(), "markets": sorted(ex.load_markets())}
    out["book"] = ex.fetch_order_book("BTC/USDT", 5)
    out["balance"] = ex.fetch_balance()["total"]
    limit = ex.create_order("BTC/USDT", "limit", "buy", 0.01, 59000)
    out["limit_status"] = limit["status"]
    out["fetched_status"] = ex.fetch_order(limit["id"], "BTC/USDT")["status"]
    out["open"] = [o["id"] for o in ex.fetch_open_orders("BTC/USDT")]
    out["limit_id"] = limit["id"]
    out["cancel_status"] = ex.cancel_order(limit["id"], "BTC/USDT")["status"]
    market = ex.create_order("BTC/USDT", "market", "buy", 0.01)
    out["market"] = market
    out["trades"] = ex.fetch_my_trades("BTC/USDT")
    out["ticker"] = ex.fetch_ticker("BTC/USDT")
    errors = {}
    for name, call in {
        "post_only_cross": lambda: ex.create_order(
            "BTC/USDT", "limit", "buy", 0.01, 61000, params={"postOnly": True}
        ),
        "min_notional": lambda: ex.create_order("BTC/USDT", "limit", "buy", 0.00001, 59000),
        "unknown_order": lambda: ex.fetch_order("999999", "BTC/USDT"),
    }.items():
        try:
            call()
            errors[name] = None
        except Exception as e:  # ccxt's own exception classes are the point
            errors[name] = (type(e).__name__, str(e))
    bad = make(base, "wrong-secret")
    bad.markets, bad.markets_by_id, bad.symbols = ex.markets, ex.markets_by_id, ex.symbols
    try:
        bad.fetch_balance()
        errors["bad_signature"] = None
    except Exception as e:
        errors["bad_signature"] = (type(e).__name__, str(e))
    out["errors"] = errors
    return out


async def test_ccxt_rest_flow(server: MockExchangeServer) -> None:
    out = await asyncio.to_thread(flow, server.rest_url)
    assert out["markets"] == ["BTC/USDT", "ETH/BTC", "ETH/USDT"]
    assert out["book"]["bids"][0] == [59995.0, 0.25]  # float ok: ccxt's own representation
    assert out["balance"]["USDT"] == 100000
    assert (out["limit_status"], out["fetched_status"]) == ("open", "open")
    assert out["open"] == [out["limit_id"]]
    assert out["cancel_status"] == "canceled"
    market = out["market"]
    assert market["status"] == "closed" and market["filled"] == 0.01
    assert market["fee"] == {"currency": "BTC", "cost": 1e-05}
    last = out["trades"][-1]
    assert last["order"] == market["id"] and last["fee"]["currency"] == "BTC"
    assert Decimal(str(last["fee"]["cost"])) == Decimal("0.00001")
    assert out["ticker"]["last"] == 60005.0
    errors = out["errors"]
    assert errors["post_only_cross"][0] == "OrderImmediatelyFillable"
    assert "Filter failure: NOTIONAL" in errors["min_notional"][1]
    assert errors["unknown_order"][0] == "OrderNotFound"
    assert errors["bad_signature"][0] == "AuthenticationError"
    assert '"code":-1022' in errors["bad_signature"][1]
