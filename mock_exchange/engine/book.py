"""The price-time priority book of one symbol (the "matching core").

Ordering invariant
    Each side is a ``BookSide``: a dict of price levels by price, plus the priority keys
    of those levels in a plain sorted list whose *last* item is the best level (bids are
    keyed by price, asks by negated price, so "best" is always "largest key"). Within a
    level, orders sit in an insertion-ordered mapping: the first is the oldest and trades
    first.

    Keeping the best level at the end of a list makes the operations a matching engine
    does all the time cheap: reading the best level is one index and one dict lookup,
    removing it is ``list.pop()``, and a new level near the top of the book is inserted
    near the end of the list (a short ``memmove``). Only levels far from the touch pay an
    O(levels) insertion or removal, which is still a C-speed ``memmove``.

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

from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Iterator

from .types import Order, Side


class Level:
    __slots__ = ("orders", "price", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.total = 0
        self.orders: OrderedDict[int, Order] = OrderedDict()

    def __repr__(self) -> str:
        return f"Level({self.price}, total={self.total}, n={len(self.orders)})"


class BookSide:
    """One side of the book. ``levels`` by price; ``keys`` sorted, best level last.

    ``sign`` is +1 for bids (a higher price is better) and -1 for asks; a level's
    priority key is ``sign * price``.
    """

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[int, Level] = {}
        self.keys: list[int] = []

    def __len__(self) -> int:
        return len(self.keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def best(self) -> Level | None:
        keys = self.keys
        return self.levels[keys[-1] * self.sign] if keys else None

    def new_level(self, price: int) -> Level:
        """Create the (absent) level at ``price`` and insert it in priority order."""
        level = self.levels[price] = Level(price)
        key = price * self.sign
        keys = self.keys
        if not keys or key > keys[-1]:
            keys.append(key)  # a new best level: the common case at the touch
        else:
            insort(keys, key)
        return level

    def drop_level(self, price: int) -> None:
        """Remove the level at ``price`` (it must exist)."""
        del self.levels[price]
        key = price * self.sign
        keys = self.keys
        if keys[-1] == key:
            keys.pop()  # the best level: what matching empties
        else:
            del keys[bisect_left(keys, key)]

    def __iter__(self) -> Iterator[Level]:
        """Levels best first. Do not add or remove levels while iterating."""
        levels, sign = self.levels, self.sign
        for key in reversed(self.keys):
            yield levels[key * sign]

    def top(self, limit: int) -> list[tuple[int, int]]:
        """The best ``limit`` levels as (price, total)."""
        if limit <= 0:
            return []
        levels, sign = self.levels, self.sign
        out = []
        for key in self.keys[: -limit - 1 : -1]:
            lv = levels[key * sign]
            out.append((lv.price, lv.total))
        return out


class Book:
    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids = BookSide(1)
        self.asks = BookSide(-1)

    def side(self, side: Side) -> BookSide:
        return self.bids if side is Side.BUY else self.asks

    def opposite(self, side: Side) -> BookSide:
        return self.asks if side is Side.BUY else self.bids

    def remove(self, order: Order, resting_qty: int) -> int:
        """Take ``order`` off the book; ``resting_qty`` is what it contributed to the total."""
        book = self.bids if order.side is Side.BUY else self.asks
        level = book.levels[order.price]
        orders = level.orders
        del orders[order.order_id]
        level.total -= resting_qty
        if not orders:
            book.drop_level(order.price)
            return 0
        return level.total

    def best_bid(self) -> Level | None:
        return self.bids.best()

    def best_ask(self) -> Level | None:
        return self.asks.best()

    def depth(self, limit: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Top ``limit`` levels per side as (price, quantity), best first."""
        return self.bids.top(limit), self.asks.top(limit)

    def _check(self) -> None:
        """Assert every structural invariant of the book."""
        for book, side in ((self.bids, Side.BUY), (self.asks, Side.SELL)):
            assert book.keys == sorted(book.keys), "priority keys out of order"
            assert len(set(book.keys)) == len(book.keys), "duplicate priority key"
            assert sorted(book.keys) == sorted(p * book.sign for p in book.levels), "keys != levels"
            for price, level in book.levels.items():
                assert price == level.price, (price, level)
                assert level.orders, f"empty level left on book: {level}"
                total = 0
                for oid, o in level.orders.items():
                    assert oid == o.order_id
                    assert o.side is side and o.price == level.price, o
                    assert o.is_open and o.is_working, o
                    assert o.available > 0, o
                    total += o.available
                assert total == level.total, (level, total)
        bb, ba = self.bids.best(), self.asks.best()
        if bb is not None and ba is not None:
            assert bb.price < ba.price, f"crossed book: bid {bb.price} >= ask {ba.price}"
