"""Timeouts on the injected clock.

``asyncio.timeout`` measures real time. The connector takes its ``sleep`` as a parameter so
that a test or the scenario harness can run it on a virtual clock; a timeout measured in
real time would then fire at the wrong moment (too late when virtual time runs fast, or
spuriously when the machine is busy). ``with_deadline`` races an awaitable against the
injected ``sleep`` instead, so every timer the connector has follows the same clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[object]]


async def with_deadline(awaitable: Awaitable[T], seconds: float, sleep: Sleep) -> T:
    """The result of ``awaitable``, or ``TimeoutError`` once ``sleep(seconds)`` returns
    first (the awaitable is then cancelled). Exceptions of the awaitable propagate."""
    work = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(sleep(seconds))
    try:
        await asyncio.wait((work, timer), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # cancelled from outside: take both helpers down with us
        work.cancel()
        timer.cancel()
        await asyncio.gather(work, timer, return_exceptions=True)
        raise
    timer.cancel()
    if not work.done():
        work.cancel()
        # Let the cancelled work unwind (close its connection) before reporting.
        await asyncio.gather(work, timer, return_exceptions=True)
        raise TimeoutError(f"no result within {seconds:g} s")
    await asyncio.gather(timer, return_exceptions=True)
    return work.result()
