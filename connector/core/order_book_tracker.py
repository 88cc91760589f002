"""``OrderBookTracker``: the async shell around the per-pair sync machines.

All decisions live in ``OrderBookSync`` (sans-I/O); this module only moves data and
waits. It runs:

* one router task that consumes ``data_source.listen_for_subscriptions()`` and hands each
  diff, trade and connection notice to the right pair's machine, in stream order;
* one snapshot task per pair that sleeps on an ``asyncio.Event`` until that pair's
  machine needs a snapshot, then fetches one and feeds it back.

Failure handling (Hummingbot study W5, W9):

* A failed, hung (``snapshot_timeout``) or unusable snapshot is retried for that pair
  only, after an exponential backoff (``Backoff``); other pairs are untouched. The attempt
  count is reset only once a pair has stayed synced for ``Backoff.maximum`` seconds, so a
  stream that keeps gapping cannot drive a tight loop of expensive snapshot requests.
* If the message stream raises or ends, every book loses sync (its diffs stopped), and the
  stream is restarted after a backoff. Snapshot tasks keep running.

Synchronisation is by ``asyncio.Event`` only (no polling sleeps): ``wait_until_synced``,
``wait_until_ready``. The clock and the sleep function are injectable for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType

from connector.core.deadline import with_deadline
from connector.core.order_book import OrderBook
from connector.core.order_book_message import OrderBookDiffMessage, OrderBookTradeMessage
from connector.core.order_book_sync import OrderBookSync, SyncCounters, SyncProblem, SyncState
from connector.core.order_book_tracker_data_source import (
    DataSourceEvent,
    OrderBookTrackerDataSource,
    StreamConnected,
    StreamDisconnected,
)

__all__ = ["Backoff", "OrderBookTracker", "TrackerCounters"]

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: no wait before attempt 0, then ``initial * factor**(n-1)``."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (0-based)."""
        if attempt <= 0:
            return 0.0
        return min(self.maximum, self.initial * self.factor ** (attempt - 1))


@dataclass(slots=True)
class TrackerCounters:
    """Running totals across pairs, for observability and tests."""

    snapshot_requests: int = 0
    snapshot_failures: int = 0
    messages_routed: int = 0
    messages_for_unknown_pairs: int = 0
    stream_restarts: int = 0


class _Pair:
    """One pair's machine and the events the async side waits on."""

    __slots__ = (
        "attempt",
        "changed",
        "connection",
        "machine",
        "snapshot_wanted",
        "synced",
        "synced_since",
        "task",
        "updates",
    )

    def __init__(self, machine: OrderBookSync) -> None:
        self.machine = machine
        self.synced = asyncio.Event()  # set exactly while the machine is LIVE
        self.snapshot_wanted = asyncio.Event()  # wakes the snapshot task
        self.task: asyncio.Task[None] | None = None
        self.attempt = 0  # snapshot attempts since the pair last stayed synced a while
        self.synced_since: float | None = None
        #: Bumped whenever the pair's stream connects or drops: a snapshot requested under
        #: one connection is no answer for the next one.
        self.connection = 0
        #: Bumped on every message or state change that may change the book or last trade;
        #: ``changed`` resolves at the next bump (for ``wait_for_update``).
        self.updates = 0
        self.changed: asyncio.Future[None] | None = None

    def bump(self) -> None:
        self.updates += 1
        if self.changed is not None and not self.changed.done():
            self.changed.set_result(None)
        self.changed = None


class OrderBookTracker:
    """Keeps one ``OrderBook`` per trading pair in sync with the exchange.

    Use as ``async with OrderBookTracker(source) as tracker:`` or call ``start()`` and
    ``stop()``. ``order_books[pair]`` is the same object for the pair's whole life; check
    ``is_synced(pair)`` before trusting it (it is empty while not synced).
    """

    def __init__(
        self,
        data_source: OrderBookTrackerDataSource,
        *,
        backoff: Backoff | None = None,
        snapshot_timeout: float | None = 30.0,
        max_buffer: int = 10_000,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.data_source = data_source
        self.counters = TrackerCounters()
        self._backoff = Backoff() if backoff is None else backoff
        self._snapshot_timeout = snapshot_timeout
        self._max_buffer = max_buffer
        self._sleep = sleep
        self._clock = clock
        self._pairs: dict[str, _Pair] = {}
        self._books: dict[str, OrderBook] = {}
        self._router: asyncio.Task[None] | None = None
        for trading_pair in data_source.trading_pairs:
            self._add_pair(trading_pair)

    # -- observation ---------------------------------------------------------------------

    @property
    def order_books(self) -> Mapping[str, OrderBook]:
        """Read-only view: trading pair → its book."""
        return MappingProxyType(self._books)

    @property
    def trading_pairs(self) -> tuple[str, ...]:
        """The tracked pairs."""
        return tuple(self._pairs)

    @property
    def is_ready(self) -> bool:
        """True when every tracked pair is synced (vacuously true with no pairs)."""
        return all(pair.machine.is_synced for pair in self._pairs.values())

    def is_synced(self, trading_pair: str) -> bool:
        """True while ``trading_pair``'s book is proven equal to the exchange's."""
        return self._pairs[trading_pair].machine.is_synced

    def sync_state(self, trading_pair: str) -> SyncState:
        """The pair's sync machine state."""
        return self._pairs[trading_pair].machine.state

    def sync_counters(self, trading_pair: str) -> SyncCounters:
        """The pair's sync machine counters (live object)."""
        return self._pairs[trading_pair].machine.counters

    def last_problem(self, trading_pair: str) -> SyncProblem | None:
        """The last gap, crossed book, too-old or malformed snapshot seen for the pair."""
        return self._pairs[trading_pair].machine.last_problem

    async def wait_until_synced(self, trading_pair: str) -> None:
        """Return once ``trading_pair`` is synced (at once if it already is).

        Raises ``KeyError`` for a pair that is not tracked. Wrap in ``asyncio.timeout`` to
        bound the wait.
        """
        await self._pairs[trading_pair].synced.wait()

    def update_count(self, trading_pair: str) -> int:
        """How many changes the pair's book, sync state or last trade has seen so far."""
        return self._pairs[trading_pair].updates

    async def wait_for_update(self, trading_pair: str, after: int) -> int:
        """Return the pair's ``update_count`` once it exceeds ``after`` (at once if it
        already does). Read ``update_count`` before looking at the book, then wait with
        it: no change in between can be missed."""
        pair = self._pairs[trading_pair]
        while pair.updates <= after:
            if pair.changed is None:
                pair.changed = asyncio.get_running_loop().create_future()
            await asyncio.shield(pair.changed)  # one cancelled waiter must not cancel the rest
        return pair.updates

    async def wait_until_ready(self) -> None:
        """Return once every tracked pair is synced at the same time."""
        while not self.is_ready:
            for pair in list(self._pairs.values()):
                await pair.synced.wait()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the router and the per-pair snapshot tasks (idempotent)."""
        if self._router is not None:
            return
        self._router = asyncio.create_task(self._route_forever(), name="order-book-router")
        for trading_pair, pair in self._pairs.items():
            self._start_pair(trading_pair, pair)

    async def stop(self) -> None:
        """Cancel every task and wait for them to finish."""
        tasks = [pair.task for pair in self._pairs.values() if pair.task is not None]
        if self._router is not None:
            tasks.append(self._router)
        self._router = None
        for pair in self._pairs.values():
            pair.task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> OrderBookTracker:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def add_trading_pair(self, trading_pair: str) -> None:
        """Track ``trading_pair`` from now on (no-op if already tracked)."""
        if trading_pair in self._pairs:
            return
        pair = self._add_pair(trading_pair)
        if self._router is not None:
            self._start_pair(trading_pair, pair)
        try:
            await self.data_source.subscribe_to_trading_pair(trading_pair)
        except BaseException:
            await self._drop_pair(trading_pair)
            raise

    async def remove_trading_pair(self, trading_pair: str) -> None:
        """Stop tracking ``trading_pair`` and unsubscribe it (no-op if not tracked)."""
        if trading_pair not in self._pairs:
            return
        await self._drop_pair(trading_pair)
        await self.data_source.unsubscribe_from_trading_pair(trading_pair)

    def _add_pair(self, trading_pair: str) -> _Pair:
        machine = OrderBookSync(trading_pair, max_buffer=self._max_buffer)
        pair = self._pairs[trading_pair] = _Pair(machine)
        self._books[trading_pair] = machine.book
        return pair

    def _start_pair(self, trading_pair: str, pair: _Pair) -> None:
        pair.task = asyncio.create_task(
            self._keep_synced(trading_pair, pair), name=f"order-book-snapshots-{trading_pair}"
        )

    async def _drop_pair(self, trading_pair: str) -> None:
        pair = self._pairs.pop(trading_pair)
        del self._books[trading_pair]
        if pair.task is not None:
            pair.task.cancel()
            # ``gather`` returns the task's CancelledError instead of raising it, yet still
            # raises if *this* coroutine is being cancelled.
            await asyncio.gather(pair.task, return_exceptions=True)

    # -- message routing -----------------------------------------------------------------

    async def _route_forever(self) -> None:
        failures = 0
        while True:
            stream = self.data_source.listen_for_subscriptions()
            try:
                async with contextlib.aclosing(stream):
                    async for event in stream:
                        if isinstance(event, StreamConnected):
                            failures = 0
                        self._route(event)
                reason = "message stream ended"
            except Exception as exc:  # the stream's own failure: restart it, keep going
                logger.warning("order book stream failed: %r", exc)
                reason = f"message stream failed: {exc!r}"
            self.counters.stream_restarts += 1
            self._route(StreamDisconnected(None, reason))
            failures += 1
            await self._wait(self._backoff.delay(failures))

    def _route(self, event: DataSourceEvent) -> None:
        """Hand one event to the machine(s) it concerns, then publish their state."""
        self.counters.messages_routed += 1
        if isinstance(event, OrderBookDiffMessage):
            pair = self._pairs.get(event.trading_pair)
            if pair is None:
                self.counters.messages_for_unknown_pairs += 1
                return
            pair.machine.on_diff(event)
            self._publish(pair)
        elif isinstance(event, OrderBookTradeMessage):
            pair = self._pairs.get(event.trading_pair)
            if pair is None:
                self.counters.messages_for_unknown_pairs += 1
                return
            pair.machine.book.apply_trade(event)
            pair.bump()
        elif isinstance(event, StreamConnected | StreamDisconnected):
            for pair in self._pairs_in(event.trading_pairs):
                pair.connection += 1
                if isinstance(event, StreamConnected):
                    pair.machine.on_stream_connected()
                else:
                    pair.machine.on_stream_disconnected()
                self._publish(pair)
        else:
            raise TypeError(f"unexpected data source event {event!r}")

    def _pairs_in(self, trading_pairs: frozenset[str] | None) -> list[_Pair]:
        if trading_pairs is None:
            return list(self._pairs.values())
        # In the tracker's order, never the set's: that would follow the string hash seed, and
        # which pair asks for its snapshot first would change from run to run.
        return [pair for name, pair in self._pairs.items() if name in trading_pairs]

    def _publish(self, pair: _Pair) -> None:
        """Mirror the machine's state into the events the async side waits on."""
        pair.bump()
        machine = pair.machine
        if machine.is_synced:
            if not pair.synced.is_set():
                pair.synced.set()
                pair.synced_since = self._clock()
            return
        pair.synced.clear()
        if machine.needs_snapshot:
            pair.snapshot_wanted.set()

    # -- snapshots -----------------------------------------------------------------------

    async def _keep_synced(self, trading_pair: str, pair: _Pair) -> None:
        """Fetch a snapshot whenever the machine needs one, with per-pair backoff."""
        machine = pair.machine
        pair.snapshot_wanted.set()  # the machine may already want one
        while True:
            await pair.snapshot_wanted.wait()
            pair.snapshot_wanted.clear()
            if not machine.needs_snapshot:
                continue
            if pair.synced_since is not None and self._clock() - pair.synced_since >= self._backoff.maximum:
                pair.attempt = 0  # it stayed synced a good while: resync at once
            pair.synced_since = None
            await self._wait(self._backoff.delay(pair.attempt))
            if not _needs_snapshot(machine):  # re-read: the stream may have dropped meanwhile
                continue
            pair.attempt += 1
            self.counters.snapshot_requests += 1
            connection = pair.connection
            try:
                request = self.data_source.get_snapshot(trading_pair)
                snapshot = await (
                    request
                    if self._snapshot_timeout is None
                    else with_deadline(request, self._snapshot_timeout, self._sleep)
                )
            except Exception as exc:  # includes TimeoutError: a hung request is a failure
                self.counters.snapshot_failures += 1
                logger.warning("snapshot for %s failed: %r", trading_pair, exc)
                pair.snapshot_wanted.set()
                continue
            if pair.connection != connection:
                # The stream dropped (and maybe came back) while the request was out: this
                # snapshot belongs to a connection that is gone.
                machine.counters.snapshots_discarded += 1
                pair.snapshot_wanted.set()
                continue
            # Only this task installs snapshots, so the machine is still waiting for one.
            machine.on_snapshot(snapshot)
            self._publish(pair)

    async def _wait(self, delay: float) -> None:
        """Sleep ``delay`` seconds with the injected sleep; no-op for zero."""
        if delay > 0:
            await self._sleep(delay)


def _needs_snapshot(machine: OrderBookSync) -> bool:
    # A function call, so type checkers do not carry a narrowing across an ``await``.
    return machine.needs_snapshot
