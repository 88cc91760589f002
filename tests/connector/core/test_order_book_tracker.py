"""OrderBookTracker against an in-memory data source (asyncio queues): start-up sync,
replay of buffered diffs, resync on gap / reconnect / stream failure, per-pair backoff,
runtime (un)subscription, clean shutdown.

Synchronisation is on state only: ``await source.drained()`` returns once the tracker has
routed every queued message, ``await source.next_request()`` once it asks for a snapshot,
and ``wait_until_synced``; every wait is bounded by ``asyncio.timeout`` as a safety net
only. No test sleeps, and the tracker's own backoff sleeps are recorded, not slept."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator
from decimal import Decimal

import pytest

from connector.core.data_types import TradeType
from connector.core.order_book_message import (
    OrderBookDiffMessage,
    OrderBookSnapshotMessage,
    OrderBookTradeMessage,
)
from connector.core.order_book_sync import GapDetected, SnapshotTooOld, SyncState
from connector.core.order_book_tracker import Backoff, OrderBookTracker
from connector.core.order_book_tracker_data_source import (
    DataSourceEvent,
    OrderBookTrackerDataSource,
    StreamConnected,
    StreamDisconnected,
)

D = Decimal
BTC, ETH = "BTC-USDT", "ETH-USDT"
SAFETY = 5.0  # seconds; a safety net against hangs, never a synchronisation device

_END = object()  # queue item: the stream ends normally


class FakeDataSource(OrderBookTrackerDataSource):
    """Messages come from a queue; each snapshot request waits for the test to answer."""

    def __init__(self, trading_pairs: list[str]) -> None:
        super().__init__(trading_pairs)
        self.events: asyncio.Queue[object] = asyncio.Queue()
        self.requests: dict[str, asyncio.Queue[asyncio.Future[OrderBookSnapshotMessage]]] = defaultdict(
            asyncio.Queue
        )
        self.subscribed: list[str] = []
        self.unsubscribed: list[str] = []
        self.listens = 0

    async def get_snapshot(self, trading_pair: str) -> OrderBookSnapshotMessage:
        future: asyncio.Future[OrderBookSnapshotMessage] = asyncio.get_running_loop().create_future()
        await self.requests[trading_pair].put(future)
        return await future

    async def listen_for_subscriptions(self) -> AsyncGenerator[DataSourceEvent, None]:
        self.listens += 1
        while True:
            item = await self.events.get()
            try:
                if item is _END:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item  # type: ignore[misc]
            finally:
                # Runs when the consumer asks for the next item, i.e. after it has routed
                # this one: ``events.join()`` therefore means "everything was handled".
                self.events.task_done()

    async def subscribe_to_trading_pair(self, trading_pair: str) -> None:
        self._trading_pairs.append(trading_pair)
        self.subscribed.append(trading_pair)

    async def unsubscribe_from_trading_pair(self, trading_pair: str) -> None:
        self._trading_pairs.remove(trading_pair)
        self.unsubscribed.append(trading_pair)

    # -- test helpers --------------------------------------------------------------------

    def push(self, *items: object) -> None:
        for item in items:
            self.events.put_nowait(item)

    async def drained(self) -> None:
        async with asyncio.timeout(SAFETY):
            await self.events.join()

    async def next_request(self, pair: str) -> asyncio.Future[OrderBookSnapshotMessage]:
        async with asyncio.timeout(SAFETY):
            return await self.requests[pair].get()

    def no_pending_request(self) -> bool:
        return all(queue.empty() for queue in self.requests.values())


#: The tracker sleeps for backoff delays (below this) and, through ``with_deadline``, for
#: the snapshot timeout (this and above, as configured in these tests).
TIMEOUT_FLOOR = 5.0


class RecordingSleep:
    """Stands in for ``asyncio.sleep``: records backoff delays and returns at once.

    A sleep of ``TIMEOUT_FLOOR`` or more is a request timeout: by default it never ends
    (the fake data source answers when the test says so); with ``timeouts_fire`` it ends
    at once, i.e. every request times out."""

    def __init__(self, timeouts_fire: bool = False) -> None:
        self.delays: list[float] = []
        self.timeouts: list[float] = []
        self.timeouts_fire = timeouts_fire

    async def __call__(self, delay: float) -> None:
        if delay < TIMEOUT_FLOOR:
            self.delays.append(delay)
            return
        self.timeouts.append(delay)
        if not self.timeouts_fire:
            await asyncio.Event().wait()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def diff(pair: str, first: int, last: int, bids: list[list[str]] | None = None) -> OrderBookDiffMessage:
    return OrderBookDiffMessage(pair, first, last, bids or [], [], 0)


def snapshot(pair: str, last_update_id: int, bid: str = "100.00000000") -> OrderBookSnapshotMessage:
    return OrderBookSnapshotMessage(
        pair, last_update_id, [[bid, "1.00000000"]], [["200.00000000", "1.00000000"]], 0
    )


async def synced(tracker: OrderBookTracker, pair: str) -> None:
    async with asyncio.timeout(SAFETY):
        await tracker.wait_until_synced(pair)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def setup(
    sleep: RecordingSleep, clock: FakeClock
) -> AsyncIterator[tuple[FakeDataSource, OrderBookTracker]]:
    source = FakeDataSource([BTC, ETH])
    tracker = OrderBookTracker(source, backoff=Backoff(0.5, 2.0, 30.0), sleep=sleep, clock=clock)
    async with tracker:
        yield source, tracker


async def sync_pair(source: FakeDataSource, tracker: OrderBookTracker, pair: str, lid: int) -> None:
    (await source.next_request(pair)).set_result(snapshot(pair, lid))
    await synced(tracker, pair)


# -- start-up --------------------------------------------------------------------------------


async def test_no_snapshot_before_the_stream_is_up(
    setup: tuple[FakeDataSource, OrderBookTracker],
) -> None:
    source, tracker = setup
    source.push(diff(BTC, 1, 1))
    await source.drained()
    assert tracker.sync_state(BTC) is SyncState.BUFFERING
    assert tracker.counters.snapshot_requests == 0 and source.no_pending_request()
    assert not tracker.is_ready


async def test_start_up_syncs_every_pair(setup: tuple[FakeDataSource, OrderBookTracker]) -> None:
    source, tracker = setup
    source.push(StreamConnected())
    await sync_pair(source, tracker, BTC, 100)
    assert tracker.is_synced(BTC) and not tracker.is_synced(ETH) and not tracker.is_ready
    await sync_pair(source, tracker, ETH, 50)
    async with asyncio.timeout(SAFETY):
        await tracker.wait_until_ready()
    assert tracker.is_ready
    assert tracker.order_books[BTC].best_bid == D(100)
    assert tracker.counters.snapshot_requests == 2
    assert set(tracker.order_books) == {BTC, ETH} and tracker.trading_pairs == (BTC, ETH)


async def test_buffered_diffs_are_replayed_and_stale_ones_dropped(
    setup: tuple[FakeDataSource, OrderBookTracker],
) -> None:
    source, tracker = setup
    source.push(
        StreamConnected(),
        diff(BTC, 95, 100, [["100.00000000", "9.00000000"]]),  # stale for a snapshot at 100
        diff(BTC, 101, 102, [["99.00000000", "2.00000000"]]),
    )
    await source.drained()
    await sync_pair(source, tracker, BTC, 100)
    book = tracker.order_books[BTC]
    assert book.snapshot()[0] == [(D(100), D(1)), (D(99), D(2))]
    counters = tracker.sync_counters(BTC)
    assert (counters.diffs_dropped_stale, counters.diffs_applied) == (1, 1)
    source.push(diff(BTC, 103, 103, [["99.00000000", "0.00000000"]]))
    await source.drained()
    assert book.snapshot()[0] == [(D(100), D(1))] and tracker.is_synced(BTC)


async def test_trades_set_the_last_trade_price(
    setup: tuple[FakeDataSource, OrderBookTracker],
) -> None:
    source, tracker = setup
    source.push(OrderBookTradeMessage(ETH, 7, D("3000.5"), D("0.1"), TradeType.SELL, 0))
    await source.drained()
    assert tracker.order_books[ETH].last_trade_price == D("3000.5")


async def test_messages_for_unknown_pairs_are_counted_and_ignored(
    setup: tuple[FakeDataSource, OrderBookTracker],
) -> None:
    source, tracker = setup
    source.push(diff("DOGE-USDT", 1, 1), StreamConnected(frozenset({"DOGE-USDT"})))
    await source.drained()
    assert tracker.counters.messages_for_unknown_pairs == 1


# -- resync ----------------------------------------------------------------------------------


async def test_a_gap_resyncs_only_that_pair(setup: tuple[FakeDataSource, OrderBookTracker]) -> None:
    source, tracker = setup
    source.push(StreamConnected())
    await sync_pair(source, tracker, BTC, 100)
    await sync_pair(source, tracker, ETH, 100)
    source.push(diff(BTC, 101, 101), diff(BTC, 105, 105), diff(ETH, 101, 101))
    await source.drained()
    assert not tracker.is_synced(BTC) and tracker.is_synced(ETH)
    assert tracker.last_problem(BTC) == GapDetected(expected=102, got=105)
    assert tracker.order_books[BTC].snapshot() == ([], [])
    source.push(diff(BTC, 106, 110, [["101.00000000", "3.00000000"]]))
    await source.drained()
    await sync_pair(source, tracker, BTC, 107)  # straddles the buffered 106..110
    assert tracker.order_books[BTC].best_bid == D(101)
    assert tracker.sync_counters(BTC).resyncs == 1 and tracker.sync_counters(ETH).resyncs == 0


async def test_a_reconnect_resyncs_and_no_snapshot_is_fetched_while_down(
    setup: tuple[FakeDataSource, OrderBookTracker],
) -> None:
    source, tracker = setup
    source.push(StreamConnected())
    await sync_pair(source, tracker, BTC, 100)
    await sync_pair(source, tracker, ETH, 100)
    source.push(StreamDisconnected(None, "socket closed"))
    await source.drained()
    assert not tracker.is_synced(BTC) and not tracker.is_synced(ETH)
    assert tracker.sync_state(BTC) is SyncState.RESYNC
    requests_before = tracker.counters.snapshot_requests
    source.push(StreamConnected())
    await sync_pair(source, tracker, BTC, 300)
    await sync_pair(source, tracker, ETH, 300)
    assert tracker.counters.snapshot_requests == requests_before + 2
    assert tracker.is_ready


async def test_a_snapshot_in_flight_during_a_drop_is_discarded(
    setup: tuple[FakeDataSource, OrderBookTracker],
) -> None:
    source, tracker = setup
    source.push(StreamConnected(frozenset({BTC})))
    request = await source.next_request(BTC)
    source.push(StreamDisconnected(frozenset({BTC})))
    await source.drained()
    request.set_result(snapshot(BTC, 100))
    source.push(StreamConnected(frozenset({BTC})))
    await sync_pair(source, tracker, BTC, 200)
    assert tracker.sync_counters(BTC).snapshots_discarded == 1
    assert tracker.order_books[BTC].last_update_id == 200


async def test_a_failing_stream_is_restarted_and_every_book_resyncs(
    setup: tuple[FakeDataSource, OrderBookTracker], sleep: RecordingSleep
) -> None:
    source, tracker = setup
    source.push(StreamConnected())
    await sync_pair(source, tracker, BTC, 100)
    await sync_pair(source, tracker, ETH, 100)
    source.push(ConnectionError("boom"))
    await source.drained()
    assert not tracker.is_synced(BTC) and not tracker.is_synced(ETH)
    source.push(_END)  # the restarted stream then ends normally: restarted again
    await source.drained()
    assert tracker.counters.stream_restarts == 2
    assert sleep.delays == [0.5, 1.0]  # backoff between restarts, never a tight loop
    source.push(StreamConnected())
    await sync_pair(source, tracker, BTC, 200)
    await sync_pair(source, tracker, ETH, 200)
    assert source.listens == 3


# -- snapshot failures and backoff -----------------------------------------------------------


async def test_snapshot_failures_back_off_for_that_pair_only(
    setup: tuple[FakeDataSource, OrderBookTracker], sleep: RecordingSleep
) -> None:
    source, tracker = setup
    source.push(StreamConnected(frozenset({BTC})))
    for _ in range(3):
        (await source.next_request(BTC)).set_exception(OSError("HTTP 503"))
    source.push(StreamConnected(frozenset({ETH})))
    # ETH is not held back by BTC's failures.
    await sync_pair(source, tracker, ETH, 10)
    (await source.next_request(BTC)).set_result(snapshot(BTC, 100))
    await synced(tracker, BTC)
    assert sleep.delays == [0.5, 1.0, 2.0]
    assert tracker.counters.snapshot_failures == 3


async def test_a_hung_snapshot_request_times_out_and_is_retried() -> None:
    sleep = RecordingSleep(timeouts_fire=True)
    source = FakeDataSource([BTC])
    tracker = OrderBookTracker(source, sleep=sleep, snapshot_timeout=TIMEOUT_FLOOR)
    async with tracker:
        source.push(StreamConnected())
        first = await source.next_request(BTC)  # never answered: times out
        await source.next_request(BTC)  # so it was retried, after a backoff
        assert first.cancelled() and tracker.counters.snapshot_failures >= 1
        assert sleep.delays[:1] == [0.5] and sleep.timeouts[:1] == [TIMEOUT_FLOOR]


async def test_a_too_old_snapshot_is_refetched_after_a_backoff(
    setup: tuple[FakeDataSource, OrderBookTracker], sleep: RecordingSleep
) -> None:
    source, tracker = setup
    source.push(StreamConnected(frozenset({BTC})), diff(BTC, 200, 201))
    await source.drained()
    (await source.next_request(BTC)).set_result(snapshot(BTC, 150))
    await sync_pair(source, tracker, BTC, 201)
    assert isinstance(tracker.last_problem(BTC), SnapshotTooOld)
    assert sleep.delays == [0.5]


async def test_backoff_resets_only_after_staying_synced_a_while(
    setup: tuple[FakeDataSource, OrderBookTracker], sleep: RecordingSleep, clock: FakeClock
) -> None:
    source, tracker = setup
    source.push(StreamConnected(frozenset({BTC})))
    await sync_pair(source, tracker, BTC, 100)  # attempt 0: no wait
    clock.now = 1.0
    source.push(diff(BTC, 105, 105))  # gap one second later: wait before refetching
    await sync_pair(source, tracker, BTC, 200)
    assert sleep.delays == [0.5]
    clock.now = 100.0
    source.push(diff(BTC, 205, 205))  # gap after a long stable period: refetch at once
    await sync_pair(source, tracker, BTC, 300)
    assert sleep.delays == [0.5]


# -- runtime pairs and lifecycle -------------------------------------------------------------


async def test_pairs_can_be_added_and_removed_at_runtime(
    setup: tuple[FakeDataSource, OrderBookTracker],
) -> None:
    source, tracker = setup
    await tracker.add_trading_pair("SOL-USDT")
    assert source.subscribed == ["SOL-USDT"] and "SOL-USDT" in tracker.order_books
    source.push(StreamConnected(frozenset({"SOL-USDT"})))
    await sync_pair(source, tracker, "SOL-USDT", 5)
    await tracker.add_trading_pair("SOL-USDT")  # already tracked: no-op
    assert source.subscribed == ["SOL-USDT"]
    await tracker.remove_trading_pair("SOL-USDT")
    assert source.unsubscribed == ["SOL-USDT"] and "SOL-USDT" not in tracker.order_books
    source.push(diff("SOL-USDT", 6, 6))
    await source.drained()
    assert tracker.counters.messages_for_unknown_pairs == 1


async def test_stop_cancels_and_awaits_every_task(sleep: RecordingSleep) -> None:
    source = FakeDataSource([BTC, ETH])
    tracker = OrderBookTracker(source, sleep=sleep)
    before = asyncio.all_tasks()
    await tracker.start()
    await tracker.start()  # idempotent
    source.push(StreamConnected())
    await source.next_request(BTC)  # a snapshot request left hanging
    started = asyncio.all_tasks() - before
    # router + one snapshot task per pair, and per pair the hanging request and its timer
    assert len(started) == 7
    await tracker.stop()
    assert all(task.done() for task in started)
    assert asyncio.all_tasks() == before


def test_backoff_schedule() -> None:
    backoff = Backoff(initial=0.5, factor=2.0, maximum=3.0)
    assert [backoff.delay(n) for n in range(6)] == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_data_source_deduplicates_its_pairs() -> None:
    assert FakeDataSource([BTC, ETH, BTC]).trading_pairs == (BTC, ETH)


async def test_wait_for_update_wakes_on_the_next_change_and_misses_none(
    setup: tuple[FakeDataSource, OrderBookTracker],
) -> None:
    source, tracker = setup
    source.push(StreamConnected())
    await sync_pair(source, tracker, BTC, 100)
    seen = tracker.update_count(BTC)
    assert await tracker.wait_for_update(BTC, seen - 1) == seen  # already past: at once
    waiters = [asyncio.ensure_future(tracker.wait_for_update(BTC, seen)) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    waiters[0].cancel()  # a cancelled waiter does not take the others down
    source.push(diff(BTC, 101, 101))
    await source.drained()
    assert await asyncio.wait_for(waiters[1], SAFETY) > seen
    assert waiters[0].cancelled()
