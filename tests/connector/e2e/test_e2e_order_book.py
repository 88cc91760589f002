"""Order book tracking against the mock's market streams: sync, prices, and the resyncs the
study's additions ask for ((a) gap, (b) reconnect, (c) stale diff, (d) crossed book).

Faulty diffs are injected as raw frames into the server side of the connector's market-stream
connection, so they travel the same socket and parser as real ones."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from connector.binance import BinanceExchange, StreamStatusChanged
from connector.core.order_book_sync import CrossedBook, GapDetected
from mock_exchange.engine import Side
from tests.connector.e2e.support import BTC, ETH, FAST, SAFETY, Harness, until

D = Decimal


def diff(
    first: int, last: int, bids: list[list[str]] | None = None, asks: list[list[str]] | None = None
) -> dict[str, Any]:
    return {
        "e": "depthUpdate",
        "E": 1,
        "s": "BTCUSDT",
        "U": first,
        "u": last,
        "b": bids or [],
        "a": asks or [],
    }


async def exchange_depth(exchange: BinanceExchange, symbol: str = "BTCUSDT") -> tuple[list[Any], list[Any]]:
    data = await exchange.rest.request("GET", "/api/v3/depth", {"symbol": symbol, "limit": 1000})
    return ([(D(p), D(q)) for p, q in data["bids"]], [(D(p), D(q)) for p, q in data["asks"]])


async def book_matches(exchange: BinanceExchange, pair: str = BTC, symbol: str = "BTCUSDT") -> None:
    """Wait until the local book equals the exchange's (compared after every change)."""

    async def check() -> None:
        tracker = exchange.order_book_tracker
        assert tracker is not None
        while True:
            await exchange.wait_until_order_book_synced(pair)
            seen = tracker.update_count(pair)
            if exchange.get_order_book(pair).snapshot() == await exchange_depth(exchange, symbol):
                return
            await tracker.wait_for_update(pair, seen)  # the next diff, snapshot or state change

    await asyncio.wait_for(check(), SAFETY)


async def test_books_sync_and_match_the_exchange(harness: Harness) -> None:
    exchange, _ = await harness.started()
    assert exchange.is_order_book_synced(BTC) and exchange.is_order_book_synced(ETH)
    await book_matches(exchange)
    bids, asks = exchange.get_order_book(BTC).snapshot()
    assert len(bids) == len(asks) == 20
    assert harness.faults.count("GET", "/api/v3/depth") >= 2
    assert any("limit=1000" in c.query for c in harness.faults.calls if c.path == "/api/v3/depth")


async def test_price_queries(harness: Harness) -> None:
    exchange, _ = await harness.started()
    assert (exchange.get_best_bid(BTC), exchange.get_best_ask(BTC)) == (D("59995"), D("60005"))
    assert exchange.get_mid_price(BTC) == D("60000")
    assert exchange.get_price(BTC, is_buy=True) == D("60005") and exchange.get_price(BTC, is_buy=False) == D(
        "59995"
    )
    result = exchange.get_price_for_volume(BTC, True, D("0.3"))
    assert result is not None and result.result_price == D("60010") and result.result_volume == D("0.3")
    assert result.quote_volume == D("0.25") * 60005 + D("0.05") * 60010
    volume = exchange.get_volume_for_price(BTC, False, D("59990"))
    assert volume is not None and volume.result_volume == D("0.5")


async def test_book_follows_the_market(harness: Harness) -> None:
    exchange, _ = await harness.started()
    harness.mm_order("BTCUSDT", Side.BUY, "0.7", "59999")
    await until(lambda: exchange.get_best_bid(BTC) == D("59999"), what="the new bid")
    harness.mm_order("BTCUSDT", Side.SELL, "1.0")  # a market sell eats into the bids
    await book_matches(exchange)
    await until(lambda: exchange.get_last_trade_price(BTC) is not None, what="the trade")


async def test_gap_triggers_a_resync(harness: Harness) -> None:
    """Addition (a): a diff that skips update ids loses sync for that pair only; a new
    snapshot restores it; the other pair is untouched (per-book ``is_synced``)."""
    exchange, _ = await harness.started()
    tracker = exchange.order_book_tracker
    assert tracker is not None
    last = exchange.get_order_book(BTC).last_update_id
    assert last is not None
    snapshots = tracker.sync_counters(BTC).snapshots_applied
    harness.inject_market(diff(last + 5, last + 6, bids=[["59996.00000000", "1.00000000"]]))
    await until(lambda: tracker.sync_counters(BTC).gaps == 1, what="the gap")
    assert tracker.last_problem(BTC) == GapDetected(expected=last + 1, got=last + 5)
    await asyncio.wait_for(exchange.wait_until_order_book_synced(BTC), SAFETY)
    assert tracker.sync_counters(BTC).snapshots_applied == snapshots + 1
    assert tracker.sync_counters(ETH).resyncs == 0 and exchange.is_order_book_synced(ETH)
    await book_matches(exchange)  # the injected level is gone


async def test_stale_diff_is_dropped(harness: Harness) -> None:
    """Addition (c): a diff older than the book (``u <= lastUpdateId``) is never applied."""
    exchange, _ = await harness.started()
    tracker = exchange.order_book_tracker
    assert tracker is not None
    last = exchange.get_order_book(BTC).last_update_id
    assert last is not None
    harness.inject_market(diff(last, last, bids=[["59000.00000000", "9.00000000"]]))
    await until(lambda: tracker.sync_counters(BTC).diffs_dropped_stale >= 1, what="the stale diff")
    assert exchange.is_order_book_synced(BTC) and tracker.sync_counters(BTC).resyncs == 0
    await book_matches(exchange)


async def test_crossed_book_is_reported_and_resynced(harness: Harness) -> None:
    """Addition (d): a diff that crosses the book is a corruption signal: reported
    (``CrossedBook``) and resynced, never truncated away."""
    exchange, _ = await harness.started()
    tracker = exchange.order_book_tracker
    assert tracker is not None
    last = exchange.get_order_book(BTC).last_update_id
    assert last is not None
    harness.inject_market(diff(last + 1, last + 1, bids=[["60010.00000000", "1.00000000"]]))
    await until(lambda: tracker.sync_counters(BTC).crossed_books == 1, what="the crossed book")
    problem = tracker.last_problem(BTC)
    assert isinstance(problem, CrossedBook) and problem.best_bid == D("60010")
    await book_matches(exchange)


async def test_reconnect_resyncs_the_books(harness: Harness) -> None:
    """Addition (b): the market stream drops; diffs published meanwhile are lost; after the
    reconnect every book is resynced from a new snapshot."""
    exchange, log = await harness.started(stream_backoff=FAST)
    tracker = exchange.order_book_tracker
    assert tracker is not None
    up_again = exchange.events.wait_for(
        StreamStatusChanged, predicate=lambda e: e.stream == "market_stream" and e.connected
    )
    harness.close_market_streams()
    harness.mm_order("BTCUSDT", Side.BUY, "0.3", "59998")  # while no connection listens
    await asyncio.wait_for(up_again, SAFETY)
    await book_matches(exchange)
    assert exchange.get_best_bid(BTC) == D("59998")
    assert tracker.sync_counters(BTC).resyncs >= 1 and tracker.sync_counters(ETH).resyncs >= 1
    downs = [e for e in log.of(StreamStatusChanged) if e.stream == "market_stream" and not e.connected]
    assert len(downs) == 1


async def test_server_shutdown_notice_reconnects(harness: Harness) -> None:
    exchange, _ = await harness.started(stream_backoff=FAST)
    source = exchange._ob_source
    assert source is not None
    connections = source.connections
    harness.inject_market({"e": "serverShutdown", "E": 1})
    await until(lambda: source.connections == connections + 1 and source.connected, what="the reconnect")
    await book_matches(exchange)


async def test_untracked_pairs_have_no_prices(harness: Harness) -> None:
    exchange, _ = await harness.started(trading_pairs=[BTC])
    assert exchange.get_best_bid(ETH) is None and exchange.get_price_for_volume(ETH, True, D(1)) is None


async def test_a_silent_stream_is_noticed_and_the_book_recovers(harness: Harness) -> None:
    """The market stream stays open (pings answered) but delivers nothing while the book
    changes. The watchdog sees the exchange move on without us, reconnects, and the book is
    the exchange's again; it is never presented as synced while stale for long."""
    exchange, log = await harness.started(market_stall_check_s=0.05, stream_backoff=FAST)
    harness.server.control.stall(600, surface="stream")
    harness.mm_order("BTCUSDT", Side.BUY, "0.1", "59999")
    down = await log.wait_for(
        StreamStatusChanged, predicate=lambda e: e.stream == "market_stream" and not e.connected
    )
    assert down.reason.startswith("stalled")
    await book_matches(exchange)
    assert exchange.get_best_bid(BTC) == D("59999")
