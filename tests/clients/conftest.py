"""Unmodified third-party Binance clients against the mock, given only its base URL.

The clients are blocking (requests), so they run in a worker thread while the server runs
on the test's event loop. They come from the ``clients`` extra; CI installs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mock_exchange.config import load_config
from mock_exchange.server import MockExchangeServer

API_KEY = "client-compat-key"
API_SECRET = "client-compat-secret"


@pytest.fixture
async def server() -> AsyncIterator[MockExchangeServer]:
    config = load_config()
    trader = config.account("trader")
    trader.api_key, trader.api_secret = API_KEY, API_SECRET
    async with MockExchangeServer(config) as s:
        yield s
