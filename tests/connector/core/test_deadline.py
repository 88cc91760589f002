"""with_deadline: timeouts measured on the injected clock, not in real time."""

from __future__ import annotations

import asyncio

import pytest

from connector.core.deadline import with_deadline
from mock_exchange.clock import VirtualClock


async def test_result_before_the_deadline() -> None:
    clock = VirtualClock(start_us=0)

    async def quick() -> str:
        return "done"

    assert await with_deadline(quick(), 1.0, clock.sleep) == "done"


async def test_timeout_follows_virtual_time_only() -> None:
    clock = VirtualClock(start_us=0)
    never = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(with_deadline(never, 2.0, clock.sleep))
    await clock.advance(1.999)
    assert not task.done()  # real time passing does not matter, only the clock
    await clock.advance(0.001)
    with pytest.raises(TimeoutError):
        await task
    assert never.cancelled()


async def test_errors_of_the_work_propagate() -> None:
    clock = VirtualClock(start_us=0)

    async def broken() -> None:
        raise ValueError("bad answer")

    with pytest.raises(ValueError, match="bad answer"):
        await with_deadline(broken(), 1.0, clock.sleep)
    assert clock.pending_sleepers == 0  # the timer was cancelled
