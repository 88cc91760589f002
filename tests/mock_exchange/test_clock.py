"""The virtual clock: deadline order, and progress for sub-microsecond sleeps."""

from __future__ import annotations

import asyncio

from mock_exchange.clock import VirtualClock


async def test_sleepers_wake_in_deadline_order() -> None:
    clock = VirtualClock(start_us=0)
    woke: list[tuple[str, int]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now_us()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("b", 2.0), ("a", 1.0), ("c", 2.0))]
    await clock.advance(1.5)
    assert woke == [("a", 1_000_000)]
    await clock.advance(1.0)
    assert woke == [("a", 1_000_000), ("b", 2_000_000), ("c", 2_000_000)]
    assert clock.now_us() == 2_500_000
    await asyncio.gather(*tasks)


async def test_sub_microsecond_sleep_still_moves_time() -> None:
    # A loop that sleeps "the rest of the way" to a deadline ends up sleeping fractions of
    # a microsecond; each of those must still advance the clock or the loop never ends.
    clock = VirtualClock(start_us=0)
    deadline_us = 3

    async def wait_until_deadline() -> int:
        rounds = 0
        while clock.now_us() < deadline_us:
            await clock.sleep(0.95e-6)
            rounds += 1
        return rounds

    task = asyncio.create_task(wait_until_deadline())
    await clock.advance(0.00001)
    assert task.done()
    assert task.result() == 3


async def test_sleep_rounds_up_not_down() -> None:
    clock = VirtualClock(start_us=0)
    task = asyncio.create_task(clock.sleep(1.5e-6))
    await clock.advance(1e-6)
    assert not task.done()
    await clock.advance(1e-6)
    assert task.done()
