"""A mock exchange with a virtual clock and short timers, and helpers for stream clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.config import load_config
from mock_exchange.server import MockExchangeServer

TIMEOUT = 5.0


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start_us=1_780_000_000_000_000)


@pytest.fixture
def config() -> Any:
    cfg = load_config()
    trader = cfg.account("trader")
    trader.api_key, trader.api_secret = "stream-key", "stream-secret"
    cfg.legacy_listen_key = True
    # Time stands still on the virtual clock, so every control message a test sends falls
    # in the same "second"; the 5-per-second limit has its own test.
    cfg.timers.max_incoming_per_second = 10_000
    cfg.rate_limits.request_weight_per_minute = 1_000_000
    cfg.timers.listen_key_validity = 30.0
    return cfg


@pytest.fixture
async def server(clock: VirtualClock, config: Any) -> AsyncIterator[MockExchangeServer]:
    async with MockExchangeServer(config, clock=clock) as s:
        yield s


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class StreamClient:
    """A raw WebSocket client that can wait until everything sent so far has arrived."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[Any] = []
        self._barrier = 0

    async def recv(self) -> Any:
        msg = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"expected a text frame, got {msg.type} {msg.data!r}")
        return json.loads(msg.data)

    async def request(self, method: str, params: Any = None, rid: Any = "auto") -> Any:
        """Send a control message; return its reply, keeping other messages in order."""
        if rid == "auto":
            self._barrier += 1
            rid = f"r{self._barrier}"
        body: dict[str, Any] = {"method": method, "id": rid}
        if params is not None:
            body["params"] = params
        await self.ws.send_str(json.dumps(body))
        while True:
            msg = await self.recv()
            if (
                isinstance(msg, dict)
                and msg.get("id") == rid
                and ("result" in msg or "error" in msg or "code" in msg)
            ):
                return msg
            self.messages.append(msg)

    async def sync(self) -> list[Any]:
        """Everything the server queued before now (a LIST_SUBSCRIPTIONS round trip)."""
        await self.request("LIST_SUBSCRIPTIONS")
        out, self.messages = self.messages, []
        return out


@pytest.fixture
def connect(server: MockExchangeServer, session: aiohttp.ClientSession):  # type: ignore[no-untyped-def]
    async def go(path: str, **kw: Any) -> StreamClient:
        ws = await session.ws_connect(server.stream_url + path, **kw)
        return StreamClient(ws)

    return go
