"""The market-data source against the mock's ``/ws`` and REST depth: one SUBSCRIBE for all
pairs, connection notices, runtime (un)subscription, snapshots and reconnect backoff."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from connector.binance import BinanceExchange
from connector.binance.binance_api_order_book_data_source import BinanceAPIOrderBookDataSource
from connector.core.errors import ConfigurationError
from connector.core.order_book_message import OrderBookDiffMessage, OrderBookTradeMessage
from connector.core.order_book_tracker import Backoff
from connector.core.order_book_tracker_data_source import DataSourceEvent, StreamConnected, StreamDisconnected
from mock_exchange.engine import Side
from tests.connector.binance.conftest import Wiring
from tests.connector.binance.test_binance_api_user_stream_data_source import RecordingSleep, Stop
from tests.connector.e2e.support import BTC, ETH, SAFETY, Harness, until

BACKOFF = Backoff(initial=0.5, factor=2.0, maximum=4.0)


def source(
    harness: Harness, wiring: Wiring, pairs: list[str], **overrides: Any
) -> BinanceAPIOrderBookDataSource:
    kwargs: dict[str, Any] = {
        "rest": wiring.rest,
        "session": wiring.session,
        "stream_url": harness.server.stream_url,
        "symbols": wiring.symbols,
        "backoff": BACKOFF,
        "stall_check_s": None,
    }
    kwargs.update(overrides)
    return BinanceAPIOrderBookDataSource(pairs, **kwargs)


async def next_of(stream: AsyncGenerator[DataSourceEvent, None], kind: type) -> Any:
    async def find() -> Any:
        async for event in stream:
            if isinstance(event, kind):
                return event
        raise AssertionError("stream ended")

    return await asyncio.wait_for(find(), SAFETY)


async def test_one_subscription_for_every_pair(harness: Harness, wiring: Wiring) -> None:
    ds = source(harness, wiring, [BTC, ETH])
    changes: list[tuple[bool, str]] = []
    ds._on_connection_change = lambda up, why: changes.append((up, why))
    async with contextlib.aclosing(ds.listen_for_subscriptions()) as stream:
        connected = await next_of(stream, StreamConnected)
        assert connected.trading_pairs == frozenset({BTC, ETH})
        (conn,) = harness.market_connections()
        assert set(conn.streams) == {
            "btcusdt@depth@100ms",
            "btcusdt@trade",
            "ethusdt@depth@100ms",
            "ethusdt@trade",
        }
        harness.mm_order("BTCUSDT", Side.BUY, "0.1")
        trade = await next_of(stream, OrderBookTradeMessage)
        assert trade.trading_pair == BTC and trade.trade_id > 0
        diff = await next_of(stream, OrderBookDiffMessage)
        assert diff.trading_pair == BTC and diff.first_update_id <= diff.update_id
    assert changes == [(True, "subscribed")]


async def test_snapshot_shares_the_diff_id_space(harness: Harness, wiring: Wiring) -> None:
    ds = source(harness, wiring, [BTC])
    async with contextlib.aclosing(ds.listen_for_subscriptions()) as stream:
        await next_of(stream, StreamConnected)
        snapshot = await ds.get_snapshot(BTC)
        assert snapshot.trading_pair == BTC and len(snapshot.bids) == len(snapshot.asks) == 20
        harness.mm_order("BTCUSDT", Side.BUY, "0.1", "59999")
        diff = await next_of(stream, OrderBookDiffMessage)
        assert diff.first_update_id == snapshot.update_id + 1


async def test_runtime_subscription_changes(harness: Harness, wiring: Wiring) -> None:
    ds = source(harness, wiring, [BTC])
    async with contextlib.aclosing(ds.listen_for_subscriptions()) as stream:
        await next_of(stream, StreamConnected)
        await ds.subscribe_to_trading_pair(ETH)
        added = await next_of(stream, StreamConnected)
        assert added.trading_pairs == frozenset({ETH}) and ds.trading_pairs == (BTC, ETH)
        await ds.unsubscribe_from_trading_pair(BTC)
        (conn,) = harness.market_connections()
        await ds.subscribe_to_trading_pair(ETH)  # no-op, and a round trip for the UNSUBSCRIBE
        harness.mm_order("ETHUSDT", Side.BUY, "0.1")
        await next_of(stream, OrderBookTradeMessage)
        assert set(conn.streams) == {"ethusdt@depth@100ms", "ethusdt@trade"}


async def test_disconnect_is_announced_then_reconnected(harness: Harness, wiring: Wiring) -> None:
    sleep = RecordingSleep(limit=10)
    ds = source(harness, wiring, [BTC], sleep=sleep)
    async with contextlib.aclosing(ds.listen_for_subscriptions()) as stream:
        await next_of(stream, StreamConnected)
        harness.close_market_streams()
        down = await next_of(stream, StreamDisconnected)
        assert down.trading_pairs is None and "closed" in down.reason
        await next_of(stream, StreamConnected)
    assert sleep.delays == [0.5] and ds.connections == 2


async def test_connect_failures_back_off_exponentially(harness: Harness, wiring: Wiring) -> None:
    sleep = RecordingSleep(limit=5)
    ds = source(harness, wiring, [BTC], stream_url=harness.server.rest_url + "/nope", sleep=sleep)
    with pytest.raises(Stop):
        async with contextlib.aclosing(ds.listen_for_subscriptions()) as stream:
            await anext(stream)
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0, 4.0]


async def test_refused_subscription_reconnects_with_backoff(harness: Harness, wiring: Wiring) -> None:
    """The whole SUBSCRIBE is refused (one bad stream name): no ``StreamConnected``. A
    socket subscribed to nothing looks healthy but would never deliver a diff, so the
    connection is ended (the reason kept for ``not_ready_reasons``) and retried with the
    reconnect backoff, never left hanging."""
    wiring.symbols.symbol_by_pair["BAD-PAIR"] = "BAD PAIR"  # not a valid stream name
    sleep = RecordingSleep(limit=3)
    ds = source(harness, wiring, [BTC, "BAD-PAIR"], sleep=sleep)
    seen: list[DataSourceEvent] = []
    with pytest.raises(Stop):
        async with contextlib.aclosing(ds.listen_for_subscriptions()) as stream:
            async for event in stream:
                seen.append(event)
    downs = [e for e in seen if isinstance(e, StreamDisconnected)]
    assert len(downs) == 3 and all("subscription refused" in e.reason for e in downs)
    assert "subscription refused" in (ds.last_error or "")
    assert not [e for e in seen if isinstance(e, StreamConnected)]
    assert sleep.delays == [0.5, 1.0, 2.0] and ds.connections == 3


async def test_a_stalled_stream_is_detected_and_replaced(harness: Harness, wiring: Wiring) -> None:
    """The socket stays open (pings answered) but no data comes while the book moves: the
    watchdog's probes show the exchange moving on without us, and it reconnects."""
    ds = source(harness, wiring, [BTC], stall_check_s=0.05)
    async with contextlib.aclosing(ds.listen_for_subscriptions()) as stream:
        await next_of(stream, StreamConnected)
        await ds.get_snapshot(BTC)  # what the tracker would do: the id we know
        harness.server.control.stall(600, surface="stream")
        harness.mm_order("BTCUSDT", Side.BUY, "0.1", "59999")
        down = await next_of(stream, StreamDisconnected)
        assert down.reason.startswith("stalled") and ds.stalls_detected == 1
        await next_of(stream, StreamConnected)
    assert ds.connections == 2


async def test_a_quiet_market_is_not_a_stall(harness: Harness, wiring: Wiring) -> None:
    """No diffs because nothing happens: the probes find nothing newer, nothing reconnects."""
    ds = source(harness, wiring, [BTC], stall_check_s=0.02)
    async with contextlib.aclosing(ds.listen_for_subscriptions()) as stream:
        await next_of(stream, StreamConnected)
        await ds.get_snapshot(BTC)
        depth = "/api/v3/depth"
        await until(
            lambda: sum(1 for c in harness.faults.calls if c.path == depth and "limit=5" in c.query) >= 4,
            what="several probes",
        )
    assert ds.stalls_detected == 0 and ds.connections == 1


async def test_more_pairs_than_one_connection_carries_are_refused_up_front(
    harness: Harness, wiring: Wiring
) -> None:
    """Binance allows 1024 streams per connection, two per pair here: 513 pairs could never
    be subscribed, so that is a configuration error, not an endless refusal loop."""
    pairs = [f"P{i}-USDT" for i in range(513)]
    with pytest.raises(ConfigurationError, match="513 trading pairs need 1026 market streams"):
        source(harness, wiring, pairs)
    ds = source(harness, wiring, pairs[:512])
    with pytest.raises(ConfigurationError):
        await ds.subscribe_to_trading_pair(pairs[512])
    assert len(ds.trading_pairs) == 512
    with pytest.raises(ConfigurationError):
        BinanceExchange(trading_pairs=pairs, trading_required=False)
