"""Synthetic activity moves the book and trades, deterministically for a seed."""

from __future__ import annotations

from typing import Any

from mock_exchange.clock import VirtualClock
from mock_exchange.server import MockExchangeServer


async def run_activity(config: Any, seconds: int) -> tuple[list[int], list[tuple[int, int]], Any]:
    config.activity.enabled = True
    config.activity.seed = 42
    clock = VirtualClock(start_us=1_780_000_000_000_000)
    async with MockExchangeServer(config, clock=clock) as server:
        eng = server.service.exchange.engine("BTCUSDT")
        start_top = eng.book.best_bid().price  # type: ignore[union-attr]
        for _ in range(seconds):
            await clock.advance(1)
        tops = [eng.book.best_bid().price, eng.book.best_ask().price]  # type: ignore[union-attr]
        trades = [
            (t.trade_id, t.price) for e in server.service.exchange.engines.values() for t in e.data.trades
        ]
        server.service.exchange._check()
        return [start_top, *tops], trades, server.service.exchange.total_supply()


async def test_activity_quotes_and_trades_reproducibly(config: Any) -> None:
    tops, trades, supply = await run_activity(config, 60)
    assert tops[1] < tops[2]  # a two-sided, uncrossed book
    assert len(trades) >= 10  # takers crossed the spread now and then
    again = await run_activity(config, 60)
    assert (tops, trades, supply) == again
