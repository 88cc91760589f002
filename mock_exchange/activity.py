"""Synthetic market participants, so a developer running the server sees a live market.

A market maker re-quotes each configured book (``books`` in the configuration) around a
mid price that takes a seeded random walk, and a taker crosses the spread now and then
with small market orders. Both run on the service clock and trade through the engine like
anyone else, so every depth change, trade and ticker on the streams is real. Off in tests
unless a test turns it on; on by default in ``mock-exchange serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from .binance.service import ExchangeService
from .config import ActivityConfig, BookConfig
from .engine import EngineError, NewOrder, OrderType, Side, TimeInForce
from .engine.units import SCALE

TAKER = "activity-taker"
log = logging.getLogger(__name__)


class Activity:
    def __init__(self, service: ExchangeService, cfg: ActivityConfig, books: list[BookConfig]) -> None:
        self.service = service
        self.cfg = cfg
        self.books = books
        self.rng = random.Random(cfg.seed)
        self.mids = {b.symbol: b.mid for b in books}
        self._tasks: list[asyncio.Task[None]] = []
        ex = service.exchange
        try:
            self.taker_id = ex.account_by_name(TAKER).account_id
        except KeyError:
            balances: dict[str, int] = {}
            for eng in ex.engines.values():
                balances[eng.cfg.base_asset] = 1_000_000 * SCALE
                balances[eng.cfg.quote_asset] = 1_000_000_000 * SCALE
            self.taker_id = ex.add_account(TAKER, balances=balances).account_id

    def start(self) -> None:
        self._tasks = [asyncio.ensure_future(self._quote_loop()), asyncio.ensure_future(self._taker_loop())]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def _quote_loop(self) -> None:
        while True:
            await self.service.clock.sleep(self.cfg.quote_interval)
            for book in self.books:
                try:
                    self.requote(book)
                except Exception:  # never let the simulation take the server down
                    log.exception("activity: requote of %s failed", book.symbol)

    async def _taker_loop(self) -> None:
        while True:
            await self.service.clock.sleep(self.cfg.taker_interval * (0.5 + self.rng.random()))
            try:
                self.take()
            except Exception:
                log.exception("activity: taker order failed")

    def requote(self, book: BookConfig) -> None:
        """Move the mid one random step and replace the maker's quotes around it."""
        ex = self.service.exchange
        eng = ex.engine(book.symbol)
        tick = eng.cfg.price_filter.tick_size if eng.cfg.price_filter else 1
        step = max(tick, self.mids[book.symbol] * int(self.cfg.volatility_bps * 100) // 1_000_000)
        move = self.rng.choice((-1, 0, 1)) * step
        mid = max(self.mids[book.symbol] + move, book.spacing * (self.cfg.levels + 1))
        mid -= mid % tick
        self.mids[book.symbol] = mid
        account_id = ex.account_by_name(book.account).account_id
        for order in list(eng.open_by_account.get(account_id, {}).values()):
            with contextlib.suppress(EngineError):
                self.service.cancel_order(account_id, book.symbol, order.order_id)
        lot = eng.cfg.step_size
        for i in range(1, self.cfg.levels + 1):
            qty = book.quantity * self.rng.randint(50, 150) // 100
            qty -= qty % lot
            for side, price in ((Side.BUY, mid - i * book.spacing), (Side.SELL, mid + i * book.spacing)):
                if price <= 0 or qty <= 0:
                    continue
                with contextlib.suppress(EngineError):
                    self.service.place_order(
                        NewOrder(
                            account_id,
                            book.symbol,
                            side,
                            OrderType.LIMIT,
                            quantity=qty,
                            price=price,
                            time_in_force=TimeInForce.GTC,
                        )
                    )

    def take(self) -> None:
        """One small market order on a random symbol and side."""
        book = self.rng.choice(self.books)
        eng = self.service.exchange.engine(book.symbol)
        lot = eng.cfg.step_size
        qty = book.quantity * self.rng.randint(5, 60) // 100
        qty -= qty % lot
        if qty <= 0:
            return
        side = self.rng.choice((Side.BUY, Side.SELL))
        with contextlib.suppress(EngineError):
            self.service.place_order(
                NewOrder(self.taker_id, book.symbol, side, OrderType.MARKET, quantity=qty)
            )
