from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.config import load_config
from mock_exchange.server import MockExchangeServer
from tests.support.rest_client import RestClient

KEY, SECRET = "fault-key", "fault-secret"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start_us=1_780_000_000_000_000)


@pytest.fixture
async def server(clock: VirtualClock) -> AsyncIterator[MockExchangeServer]:
    cfg = load_config()
    trader = cfg.account("trader")
    trader.api_key, trader.api_secret = KEY, SECRET
    cfg.timers.max_incoming_per_second = 10_000
    cfg.rate_limits.ban_after_violations = 2
    async with MockExchangeServer(cfg, clock=clock) as s:
        yield s


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def client(server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock) -> RestClient:
    return RestClient(session, server.rest_url, KEY, SECRET, lambda: clock.now_us() // 1000)


async def limit_order(client: RestClient, price: str = "59000", cid: str | None = None) -> Any:
    params: dict[str, Any] = dict(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price=price
    )
    if cid:
        params["newClientOrderId"] = cid
    return await client.signed("POST", "/api/v3/order", **params)


def signed(params: dict[str, Any]) -> dict[str, Any]:
    """WS API params plus the trader's HMAC signature."""
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return {**params, "signature": hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()}


def ws_limit_order(clock: VirtualClock, cid: str) -> dict[str, Any]:
    """Signed ``order.place`` params: the trader's limit buy of ``limit_order``."""
    return signed(
        {
            "apiKey": KEY,
            "timestamp": clock.now_us() // 1000,
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01",
            "price": "59000",
            "newClientOrderId": cid,
        }
    )


async def recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)
