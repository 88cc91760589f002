"""Wait for a condition, never for a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def eventually(condition: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Yield to the event loop until ``condition()`` is true; fail after ``timeout`` seconds.

    Each round gives every ready task and I/O callback a turn, so this advances exactly as
    fast as the thing being waited for, and a condition that never comes true fails with
    ``what`` in the message instead of hanging.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0)
