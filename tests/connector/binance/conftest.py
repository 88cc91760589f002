"""Fixtures for the Binance layer's own tests: the mock exchange on an ephemeral port, an
``aiohttp`` session, and a REST client plus symbol map wired like the connector wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from connector.binance.binance_auth import BinanceAuth
from connector.binance.binance_utils import SymbolMapper, parse_exchange_info
from connector.binance.binance_web_utils import BinanceRestClient, build_rate_limiter
from connector.core.throttler import AsyncThrottler
from connector.core.time_synchronizer import TimeSynchronizer
from tests.connector.e2e.support import API_KEY, API_SECRET, Harness, harness_for, make_config


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async for h in harness_for(make_config()):
        yield h


@dataclass
class Wiring:
    session: aiohttp.ClientSession
    rest: BinanceRestClient
    auth: BinanceAuth
    time_synchronizer: TimeSynchronizer
    symbols: SymbolMapper


@pytest.fixture
async def wiring(harness: Harness) -> AsyncIterator[Wiring]:
    async with aiohttp.ClientSession() as session:
        time_sync = TimeSynchronizer()
        auth = BinanceAuth(API_KEY, API_SECRET, time_sync.time_ms)
        rest = BinanceRestClient(
            session,
            harness.server.rest_url,
            throttler=AsyncThrottler(build_rate_limiter(), clock=time_sync.time),
            time_synchronizer=time_sync,
            auth=auth,
            clock=time_sync.time,
        )
        symbols = SymbolMapper()
        symbols.update(
            parse_exchange_info(await rest.request("GET", "/api/v3/exchangeInfo")).symbols.values()
        )
        yield Wiring(session, rest, auth, time_sync, symbols)
