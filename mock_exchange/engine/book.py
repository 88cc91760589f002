"""The price-time priority book of one symbol (the "matching core").

Ordering invariant
    Each side is a ``SortedDict`` of price levels whose first item is the best price
    (asks keyed by price, bids keyed by negated price). Within a level, orders sit in an
    insertion-ordered mapping: the first is the oldest and trades first.

Level totals
    ``Level.total`` is the sum of ``available`` over the level's orders. The engine keeps
    it right as orders fill, are prevented, cancelled or expire; ``_check`` verifies it.

Modify semantics
    There is no in-place modify: cancel-replace is a cancel plus a new order, which loses
    queue priority, as on Binance.

Known limitation
    Iceberg and pegged orders are not modelled.
"""

from __future__ import annotations

from collections import OrderedDict

from sortedcontainers import SortedDict

from .types import Order, Side


class Level:
    __slots__ = ("orders", "price", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.total = 0
        self.orders: OrderedDict[int, Order] = OrderedDict()

    def __repr__(self) -> str:
        return f"Level({self.price}, total={self.total}, n={len(self.orders)})"


class Book:
    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: SortedDict[int, Level] = SortedDict()  # key: -price
        self.asks: SortedDict[int, Level] = SortedDict()  # key: price

    def side(self, side: Side) -> SortedDict[int, Level]:
        return self.bids if side is Side.BUY else self.asks

    def opposite(self, side: Side) -> SortedDict[int, Level]:
        return self.asks if side is Side.BUY else self.bids

    def add(self, order: Order) -> int:
        """Rest ``order`` at the back of its level; returns the level's new total."""
        if order.side is Side.BUY:
            book, key = self.bids, -order.price
        else:
            book, key = self.asks, order.price
        level: Level | None = book.get(key)
        if level is None:
            level = book[key] = Level(order.price)
        level.orders[order.order_id] = order
        level.total += order.available
        return level.total

    def remove(self, order: Order, resting_qty: int) -> int:
        """Take ``order`` off the book; ``resting_qty`` is what it contributed to the total."""
        if order.side is Side.BUY:
            book, key = self.bids, -order.price
        else:
            book, key = self.asks, order.price
        level: Level = book[key]
        del level.orders[order.order_id]
        level.total -= resting_qty
        if not level.orders:
            del book[key]
            return 0
        return level.total

    def best_bid(self) -> Level | None:
        return self.bids.peekitem(0)[1] if self.bids else None

    def best_ask(self) -> Level | None:
        return self.asks.peekitem(0)[1] if self.asks else None

    def depth(self, limit: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Top ``limit`` levels per side as (price, quantity), best first."""
        bids = [(lv.price, lv.total) for lv in self.bids.values()[:limit]]
        asks = [(lv.price, lv.total) for lv in self.asks.values()[:limit]]
        return bids, asks

    def level_qty(self, side: Side, price: int) -> int:
        level: Level | None = self.bids.get(-price) if side is Side.BUY else self.asks.get(price)
        return level.total if level else 0

    def _check(self) -> None:
        """Assert every structural invariant of the book."""
        for book, sign, side in ((self.bids, -1, Side.BUY), (self.asks, 1, Side.SELL)):
            for key, level in book.items():
                assert key == sign * level.price, (key, level)
                assert level.orders, f"empty level left on book: {level}"
                total = 0
                for oid, o in level.orders.items():
                    assert oid == o.order_id
                    assert o.side is side and o.price == level.price, o
                    assert o.is_open and o.is_working, o
                    assert o.available > 0, o
                    total += o.available
                assert total == level.total, (level, total)
        if self.bids and self.asks:
            bb = self.bids.peekitem(0)[1].price
            ba = self.asks.peekitem(0)[1].price
            assert bb < ba, f"crossed book: bid {bb} >= ask {ba}"
