"""Binance's own SDK (binance-sdk-spot), unmodified, completes a REST flow against the mock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mock_exchange.server import MockExchangeServer
from tests.clients.conftest import API_KEY, API_SECRET

configuration = pytest.importorskip("binance_common.configuration")
spot = pytest.importorskip("binance_sdk_spot.spot")


def flow(base: str) -> dict[str, Any]:
    cfg = configuration.ConfigurationRestAPI(api_key=API_KEY, api_secret=API_SECRET, base_path=base)
    api = spot.Spot(config_rest_api=cfg).rest_api
    out: dict[str, Any] = {"time": api.time().data().server_time}
    out["symbols"] = [s.symbol for s in api.exchange_info().data().symbols]
    out["bids"] = api.depth(symbol="BTCUSDT", limit=5).data().bids
    placed = api.new_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.01, price=59000
    ).data()
    out["placed"] = placed.status
    out["queried"] = api.get_order(symbol="BTCUSDT", order_id=placed.order_id).data().status
    out["open"] = len(api.get_open_orders(symbol="BTCUSDT").data())
    out["canceled"] = api.delete_order(symbol="BTCUSDT", order_id=placed.order_id).data().status
    market = api.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.01).data()
    out["market"] = (market.status, [(f.trade_id, f.commission) for f in market.fills])
    trade = api.my_trades(symbol="BTCUSDT").data()[-1]
    out["trade"] = (trade.id, trade.commission, trade.commission_asset)
    errors = {}
    for name, call in {
        "limit_maker": lambda: api.new_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER", quantity=0.01, price=61000
        ),
        "unknown_order": lambda: api.get_order(symbol="BTCUSDT", order_id=999999),
    }.items():
        try:
            call()
            errors[name] = None
        except Exception as e:  # the SDK's own error classes
            errors[name] = (type(e).__name__, str(e))
    out["errors"] = errors
    return out


async def test_binance_sdk_rest_flow(server: MockExchangeServer) -> None:
    out = await asyncio.to_thread(flow, server.rest_url)
    assert out["symbols"] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]
    assert out["bids"][0] == ["59995.00000000", "0.25000000"]
    assert (out["placed"], out["queried"], out["open"], out["canceled"]) == ("NEW", "NEW", 1, "CANCELED")
    status, fills = out["market"]
    assert status == "FILLED" and fills == [(out["trade"][0], "0.00001000")]
    assert out["trade"][2] == "BTC"
    assert out["errors"]["limit_maker"] == (
        "BadRequestError",
        "(-2010, 'Order would immediately match and take.')",
    )
    assert out["errors"]["unknown_order"] == ("BadRequestError", "(-2013, 'Order does not exist.')")
