"""Fixtures: a mock exchange on an ephemeral port (wall clock, or a virtual clock for
time-dependent tests) and connectors against it, torn down in reverse order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mock_exchange.clock import VirtualClock
from tests.connector.e2e.support import Harness, harness_for, make_config, virtual_clock


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """The default mock exchange (wall clock) with known API keys."""
    async for h in harness_for(make_config()):
        yield h


@pytest.fixture
def vclock() -> VirtualClock:
    return virtual_clock()


@pytest.fixture
async def vharness(vclock: VirtualClock) -> AsyncIterator[Harness]:
    """The default mock exchange on a virtual clock: time moves only with ``vclock.advance``."""
    async for h in harness_for(make_config(), clock=vclock):
        yield h
