"""A mock exchange on an ephemeral port with a virtual clock, and signed clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.config import load_config
from mock_exchange.server import MockExchangeServer
from tests.support.rest_client import RestClient

API_KEY = "test-trader-key"
API_SECRET = "test-trader-secret"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start_us=1_780_000_000_000_000)


@pytest.fixture
async def server(clock: VirtualClock) -> AsyncIterator[MockExchangeServer]:
    config = load_config()
    trader = config.account("trader")
    trader.api_key, trader.api_secret = API_KEY, API_SECRET
    mm = config.account("market-maker")
    mm.api_key, mm.api_secret = "test-mm-key", "test-mm-secret"
    async with MockExchangeServer(config, clock=clock) as s:
        yield s


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def client(server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock) -> RestClient:
    return RestClient(session, server.rest_url, API_KEY, API_SECRET, lambda: clock.now_us() // 1000)


@pytest.fixture
def mm_client(server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock) -> RestClient:
    return RestClient(
        session, server.rest_url, "test-mm-key", "test-mm-secret", lambda: clock.now_us() // 1000
    )
