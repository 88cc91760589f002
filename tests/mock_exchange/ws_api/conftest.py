"""A mock exchange with a virtual clock and known keys, and WS API / REST clients for it.

The trader has an HMAC key and an Ed25519 key (generated per test); the market maker has
an HMAC key. ``WsApiClient`` sends requests over a real socket and keeps the user-data
events that arrive between replies, in order, so tests can assert on exact sequences.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mock_exchange.clock import VirtualClock
from mock_exchange.config import MockConfig, load_config
from mock_exchange.server import MockExchangeServer

TIMEOUT = 5.0
API_KEY = "ws-trader-key"
API_SECRET = "ws-trader-secret"
ED_API_KEY = "ws-trader-ed25519-key"
MM_KEY = "ws-mm-key"
MM_SECRET = "ws-mm-secret"
START_US = 1_780_000_000_000_000
#: The trader's usual order: a limit buy below the seeded book's best ask.
LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01000",
    "price": "59000.00",
}


@dataclass
class Ed25519Key:
    api_key: str
    private: Ed25519PrivateKey

    def sign(self, payload: str) -> str:
        return base64.b64encode(self.private.sign(payload.encode())).decode()


def ws_payload(params: dict[str, Any]) -> str:
    """Binance's WS API payload: every param but ``signature``, sorted, ``k=v&...``."""
    return "&".join(f"{k}={_text(params[k])}" for k in sorted(params) if k != "signature")


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def hmac_sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start_us=START_US)


@pytest.fixture
def ed_key() -> Ed25519Key:
    return Ed25519Key(ED_API_KEY, Ed25519PrivateKey.generate())


@pytest.fixture
def config(ed_key: Ed25519Key) -> MockConfig:
    cfg = load_config()
    trader = cfg.account("trader")
    trader.api_key, trader.api_secret = API_KEY, API_SECRET
    trader.ed25519_api_key = ed_key.api_key
    trader.ed25519_public_key = (
        ed_key.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    )
    mm = cfg.account("market-maker")
    mm.api_key, mm.api_secret = MM_KEY, MM_SECRET
    return cfg


@pytest.fixture
async def server(clock: VirtualClock, config: MockConfig) -> AsyncIterator[MockExchangeServer]:
    async with MockExchangeServer(config, clock=clock) as s:
        yield s


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class WsApiClient:
    """One WS API connection. ``call`` returns the reply to its request; any other frame
    (user-data events, connection events) received meanwhile is kept in ``pending``."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, clock: VirtualClock) -> None:
        self.ws = ws
        self.clock = clock
        self.pending: list[Any] = []
        self._n = 0

    def now_ms(self) -> int:
        return self.clock.now_us() // 1000

    async def recv(self) -> Any:
        msg = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"expected a text frame, got {msg.type} {msg.data!r}")
        return json.loads(msg.data)

    async def send_raw(self, text: str) -> Any:
        """Send a frame as is and return the next frame (for malformed requests)."""
        await self.ws.send_str(text)
        return await self.recv()

    async def call(self, method: str, params: dict[str, Any] | None = None, *, rid: Any = "auto") -> Any:
        if rid == "auto":
            self._n += 1
            rid = f"req{self._n}"
        body: dict[str, Any] = {"id": rid, "method": method}
        if params is not None:
            body["params"] = params
        await self.ws.send_str(json.dumps(body))
        while True:
            msg = await self.recv()
            if isinstance(msg, dict) and "status" in msg and msg.get("id") == rid:
                return msg
            self.pending.append(msg)

    def signed(
        self, params: dict[str, Any] | None = None, *, key: str = API_KEY, secret: str = API_SECRET
    ) -> dict[str, Any]:
        """``params`` plus apiKey, timestamp and an HMAC signature."""
        p = {**(params or {}), "apiKey": key}
        p.setdefault("timestamp", self.now_ms())
        p["signature"] = hmac_sign(secret, ws_payload(p))
        return p

    def ed_signed(self, key: Ed25519Key, params: dict[str, Any] | None = None) -> dict[str, Any]:
        p = {**(params or {}), "apiKey": key.api_key}
        p.setdefault("timestamp", self.now_ms())
        p["signature"] = key.sign(ws_payload(p))
        return p

    async def events(self, n: int) -> list[Any]:
        """The next ``n`` non-reply frames (already received ones first)."""
        while len(self.pending) < n:
            self.pending.append(await self.recv())
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    async def drain(self) -> list[Any]:
        """Every event queued before now: a ping round trip is a barrier, because the
        server queues events synchronously, before any later reply."""
        await self.call("ping")
        out, self.pending = self.pending, []
        return out


Connect = Callable[..., Awaitable[WsApiClient]]


@pytest.fixture
async def connect(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> AsyncIterator[Connect]:
    opened: list[aiohttp.ClientWebSocketResponse] = []

    async def go(query: str = "", **kw: Any) -> WsApiClient:
        ws = await session.ws_connect(server.ws_api_url + query, **kw)
        opened.append(ws)
        return WsApiClient(ws, clock)

    yield go
    for ws in opened:
        await ws.close()


@pytest.fixture
async def ws(connect: Connect) -> WsApiClient:
    return await connect()


async def handshake(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, str], str]:
    """A raw WebSocket upgrade request, to see a refused handshake's status and body."""
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
    }
    async with session.get(url.replace("ws://", "http://", 1), headers=headers) as r:
        return r.status, dict(r.headers), await r.text()


class Rest:
    """A few signed REST calls, signed the REST way (over the query string we send)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        clock: VirtualClock,
        key: str = API_KEY,
        secret: str = API_SECRET,
    ) -> None:
        self.session, self.base, self.clock = session, base, clock
        self.key, self.secret = key, secret

    async def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, *, signed: bool = False
    ) -> tuple[int, Any]:
        p = dict(params or {})
        headers = {}
        if signed:
            p["timestamp"] = self.clock.now_us() // 1000
            query = urlencode(p)
            query += "&signature=" + hmac_sign(self.secret, query)
            headers["X-MBX-APIKEY"] = self.key
        else:
            query = urlencode(p)
        url = self.base + path + ("?" + query if query else "")
        async with self.session.request(method, url, headers=headers) as r:
            return r.status, json.loads(await r.text())

    async def get(self, path: str, params: dict[str, Any] | None = None, *, signed: bool = False) -> Any:
        status, body = await self.request("GET", path, params, signed=signed)
        assert status == 200, body
        return body


@pytest.fixture
def rest(server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock) -> Rest:
    return Rest(session, server.rest_url, clock)


@pytest.fixture
def mm_rest(server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock) -> Rest:
    return Rest(session, server.rest_url, clock, MM_KEY, MM_SECRET)
