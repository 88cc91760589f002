"""The local order book: exact levels, fast diffs, Decimal at the edges.

Representation
--------------
Each side is a plain ``dict`` mapping price to quantity. Prices are ``int`` units of 10**-8
(``order_book_message.SCALE``): they are the keys, they order the book and they are compared
after every diff. Quantities are only stored and replaced on the hot path, so they are kept
in the canonical text form they usually arrive in (``"12.34567890"``: ASCII digits, no
leading zero, a dot, exactly eight decimals), validated but not converted; they become units
or ``Decimal`` when read (depth queries, ``snapshot``). Any other spelling of a quantity is
parsed and stored in canonical form, so each stored string has one value and one spelling.
Binance prices and quantities never have more than eight decimals, so this is exact; a value
with more precision is refused (``TooMuchPrecision``), never rounded. Public accessors
return ``Decimal``.

The best price of each side is tracked with a binary heap and lazy deletion: a new level
pushes its price (negated for bids, so both heaps are min-heaps); a removed level is only
dropped from the dict, and its stale heap entry is popped when it reaches the top. When
heaps and the price cache (below) outgrow a budget derived from the level count, stale
entries are dropped (``_maintain``). So a level update that neither creates nor deletes a
level costs one dict store, and best bid/ask reads are O(1) amortised. Depth queries walk a
copy of the heap (``get_price_for_volume``) or sort (``snapshot``).

Parsing is the expensive part of a diff, so it is kept off the common path: price strings
recur constantly on a depth stream and are looked up in a per-book cache (string → units);
a quantity in the canonical form is checked with a few C-implemented ``str``/``bytes``
operations and stored as it is (an ``int()`` would cost more than the checks). Anything
else takes the strict ``parse_units`` path; both paths accept exactly the same strings.

Why not a sorted container: inserts and deletes (~40% of level updates on a busy stream)
would each pay a ``SortedDict`` rebalance, where a heap push is one C call and a delete is
free; ``bench/bench_order_book.py`` runs the ``Decimal`` + ``SortedDict`` design on the same
workload for comparison (about 3x slower there).

Invariants (asserted by ``_check``)
-----------------------------------
* every price is an ``int``; every quantity is the canonical text of a positive value
  (zero removes a level);
* every live price is in its side's heap (negated for bids); heaps satisfy the heap order;
  heap entries not in the dict are stale and harmless;
* every cached price string parses to its cached units;
* heaps plus cache stay within the maintenance budget.

A crossed book is representable (the sync machine must be able to see one in order to
report it); ``is_crossed()`` tells.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from connector.core.order_book_message import (
    DECIMALS,
    EXACT_CONTEXT,
    SCALE,
    MalformedMessage,
    OrderBookDiffMessage,
    OrderBookSnapshotMessage,
    OrderBookTradeMessage,
    RawLevels,
    parse_units,
    units_to_decimal,
)

__all__ = ["OrderBook", "OrderBookQueryResult"]

# Rebuild a heap once it holds this many entries more than twice its side's levels.
_HEAP_SLACK = 64
# Trim the price-string cache once it holds this many more entries than twice the levels.
_CACHE_SLACK = 4096
# The canonical wire form of a deletion; compared before any parsing.
_ZERO_8 = "0." + "0" * DECIMALS


@dataclass(frozen=True, slots=True)
class OrderBookQueryResult:
    """The answer to a depth query (``get_price_for_volume``/``get_volume_for_price``).

    ``result_price`` is the worst price reached (the last level touched) and
    ``result_volume`` the base volume obtained, which is less than ``query_volume`` when
    the book is too thin. ``vwap`` is ``quote_volume / result_volume``; both it and
    ``result_price`` are ``None`` when nothing could be matched.
    """

    query_price: Decimal | None
    query_volume: Decimal | None
    result_price: Decimal | None
    result_volume: Decimal
    quote_volume: Decimal
    vwap: Decimal | None


def _parse_price(text: str) -> int:
    """``parse_units`` with a fast path for the canonical wire form (price-cache misses)."""
    digits = text.replace(".", "", 1)
    if text[-9:-8] == "." != text[:1] and digits.isdigit() and digits.isascii():
        return int(digits)
    return parse_units(text)


def _units_to_text(units: int) -> str:
    """The canonical text of a positive quantity: ``1234567890`` → ``"12.34567890"``."""
    whole, frac = divmod(units, SCALE)
    return f"{whole}.{frac:0{DECIMALS}d}"


def _text_to_units(text: str) -> int:
    """Units of a stored (canonical) quantity: ``"12.34567890"`` → ``1234567890``."""
    return int(text.replace(".", "", 1))


def _apply_side(
    book: dict[int, str],
    heap: list[int],
    levels: RawLevels,
    sign: int,
    cache: dict[str, int],
    _push: Callable[[list[int], int], None] = heapq.heappush,
    _parse: Callable[[str], int] = parse_units,
    _zero: str = _ZERO_8,
) -> None:
    """Set each level of one side to its new absolute quantity (zero removes it).

    This is the hot loop (the keyword defaults are there to make them fast locals).

    * Prices go through ``cache`` (price string → units): the same price strings recur
      constantly in a depth stream, so a dict lookup replaces parsing; a miss is parsed by
      the strict ``parse_units``.
    * A quantity in the canonical form is validated and stored as the string it is:
      ``q[-9] == "."`` puts a dot eight places from the end; ``bytes.isdigit`` on the text
      without its first dot proves everything else is an ASCII digit (so that dot is the
      only one); ``q >= "1"`` means the first digit is 1-9, else ``q[1] == "."`` means the
      text is ``0.xxxxxxxx`` (non-zero: the zero spelling was handled just before). Any
      other string goes through the strict ``parse_units`` and is stored in canonical form.
      A quantity shorter than nine characters raises ``IndexError`` and a non-string
      ``AttributeError`` or ``TypeError``; the caller then redoes the sides with
      ``_apply_side_strict`` (re-applying absolute quantities is idempotent).

    Known limit: a level is only required to unpack into two strings, so a JSON object
    whose two keys are both valid numbers would be read as ``[key1, key2]``. Checking the
    type of every level would cost ~4% of throughput for an input no exchange sends.
    """
    pop = book.pop
    get = cache.get
    for p, q in levels:
        price = get(p)
        if price is None:
            price = cache[p] = _parse_price(p)
        if q == _zero:
            pop(price, None)
        elif q[-9] == "." and q.encode().replace(b".", b"", 1).isdigit() and (q >= "1" or q[1] == "."):
            if price not in book:
                _push(heap, sign * price)
            book[price] = q
        else:
            qty = _parse(q)  # not canonical: the strict parse (raises ``MalformedMessage``)
            if qty:
                if price not in book:
                    _push(heap, sign * price)
                book[price] = _units_to_text(qty)
            else:
                pop(price, None)


def _rebuild_heap(book: dict[int, str], heap: list[int], sign: int) -> None:
    """Rebuild ``heap`` in place from the live levels, dropping stale and duplicate entries."""
    heap[:] = [sign * price for price in book]
    heapq.heapify(heap)


def _apply_side_strict(book: dict[int, str], heap: list[int], levels: RawLevels, sign: int) -> None:
    """The slow, fully checked twin of ``_apply_side``: same result, explicit errors."""
    if isinstance(levels, str) or not isinstance(levels, Sequence):
        raise MalformedMessage(f"levels must be a list, got {levels!r:.200}")
    for level in levels:
        if isinstance(level, str) or not isinstance(level, Sequence) or len(level) != 2:
            raise MalformedMessage(f"a level must be [price, quantity], got {level!r:.200}")
        price = parse_units(level[0])
        qty = parse_units(level[1])
        if qty:
            if price not in book:
                heapq.heappush(heap, sign * price)
            book[price] = _units_to_text(qty)
        else:
            book.pop(price, None)


class OrderBook:
    """One trading pair's book, built from snapshots and absolute-quantity diffs.

    The book itself does no sequencing: it applies what it is given. Deciding *whether* a
    diff may be applied (update-id continuity, stale diffs) is the job of
    ``connector.core.order_book_sync.OrderBookSync``.
    """

    __slots__ = (
        "_ask_heap",
        "_asks",
        "_best_ask_cache",
        "_best_bid_cache",
        "_bid_heap",
        "_bids",
        "_budget",
        "_last_trade",
        "_last_update_id",
        "_price_cache",
        "trading_pair",
    )

    def __init__(self, trading_pair: str = "") -> None:
        self.trading_pair = trading_pair
        self._bids: dict[int, str] = {}  # price units -> canonical quantity text
        self._asks: dict[int, str] = {}
        self._bid_heap: list[int] = []  # negated prices
        self._ask_heap: list[int] = []
        # Price string as received -> units. Independent of the book's content, so it
        # survives snapshots; trimmed to the live levels when it outgrows them.
        self._price_cache: dict[str, int] = {}
        # Heaps + cache may hold this many entries before ``_maintain`` runs.
        self._budget = 2 * _HEAP_SLACK + _CACHE_SLACK
        # Last (units, Decimal) handed out per side: the best price changes far less often
        # than it is read, and building a Decimal costs more than a dict lookup.
        self._best_bid_cache: tuple[int, Decimal] = (-1, Decimal(-1))
        self._best_ask_cache: tuple[int, Decimal] = (-1, Decimal(-1))
        self._last_update_id: int | None = None
        self._last_trade: OrderBookTradeMessage | None = None

    # -- updates -------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget every level (the last trade is kept: it is not depth)."""
        self._bids.clear()
        self._asks.clear()
        self._bid_heap.clear()
        self._ask_heap.clear()
        self._last_update_id = None

    def apply_snapshot(self, snapshot: OrderBookSnapshotMessage) -> None:
        """Replace the whole book with ``snapshot``.

        Raises ``MalformedMessage`` on a bad level; the book is then left empty.
        """
        self.clear()
        try:
            self._apply(snapshot.bids, snapshot.asks)
        except MalformedMessage:
            self.clear()
            raise
        self._last_update_id = snapshot.update_id

    def apply_diff(self, diff: OrderBookDiffMessage) -> None:
        """Set each level in ``diff`` to its absolute quantity; zero removes the level.

        Removing a level the book does not have is normal (Binance documents it). Raises
        ``MalformedMessage`` on a bad level, in which case the book may be partly updated
        and must be discarded (the sync machine does so).
        """
        self._apply(diff.bids, diff.asks)
        self._last_update_id = diff.update_id

    def apply_trade(self, trade: OrderBookTradeMessage) -> None:
        """Record a public trade; trades older than the last one seen are ignored."""
        last = self._last_trade
        if last is None or trade.trade_id > last.trade_id:
            self._last_trade = trade

    def _apply(self, bids: RawLevels, asks: RawLevels) -> None:
        cache = self._price_cache
        try:
            _apply_side(self._bids, self._bid_heap, bids, -1, cache)
            _apply_side(self._asks, self._ask_heap, asks, 1, cache)
        except MalformedMessage:
            raise  # a verdict: ``parse_units`` already looked at the string
        except (AttributeError, IndexError, TypeError, ValueError):
            # Not the canonical wire form, or not well-formed at all: redo both sides with
            # full checks, which apply them or raise ``MalformedMessage``. Absolute
            # quantities make the redo idempotent.
            _apply_side_strict(self._bids, self._bid_heap, bids, -1)
            _apply_side_strict(self._asks, self._ask_heap, asks, 1)
        if len(self._bid_heap) + len(self._ask_heap) + len(cache) > self._budget:
            self._maintain()

    def _maintain(self) -> None:
        """Drop stale heap entries and unused cached price strings (amortised O(1)).

        Runs when heaps and cache together outgrow a budget set from the level count, so
        the per-diff cost is one comparison.
        """
        bids, asks = self._bids, self._asks
        if len(self._bid_heap) > 2 * len(bids) + _HEAP_SLACK:
            _rebuild_heap(bids, self._bid_heap, -1)
        if len(self._ask_heap) > 2 * len(asks) + _HEAP_SLACK:
            _rebuild_heap(asks, self._ask_heap, 1)
        levels = len(bids) + len(asks)
        if len(self._price_cache) > 2 * levels + _CACHE_SLACK:
            self._price_cache = {
                text: units for text, units in self._price_cache.items() if units in bids or units in asks
            }
        self._budget = 4 * levels + 2 * _HEAP_SLACK + _CACHE_SLACK

    # -- best prices (hot: read after every diff) -----------------------------------------

    def best_bid_units(self) -> int | None:
        """Best bid in 10**-8 units, or ``None`` if there are no bids."""
        heap = self._bid_heap
        book = self._bids
        while heap:
            top = -heap[0]
            if top in book:
                return top
            heapq.heappop(heap)
        return None

    def best_ask_units(self) -> int | None:
        """Best ask in 10**-8 units, or ``None`` if there are no asks."""
        heap = self._ask_heap
        book = self._asks
        while heap:
            top = heap[0]
            if top in book:
                return top
            heapq.heappop(heap)
        return None

    @property
    def best_bid(self) -> Decimal | None:
        """The highest bid price, or ``None`` if there are no bids."""
        cached = self._best_bid_cache
        heap = self._bid_heap
        if heap and -heap[0] == cached[0] and cached[0] in self._bids:
            return cached[1]  # the common case: unchanged since the last read
        units = self.best_bid_units()
        if units is None:
            return None
        cached = self._best_bid_cache = (units, units_to_decimal(units))
        return cached[1]

    @property
    def best_ask(self) -> Decimal | None:
        """The lowest ask price, or ``None`` if there are no asks."""
        cached = self._best_ask_cache
        heap = self._ask_heap
        if heap and heap[0] == cached[0] and cached[0] in self._asks:
            return cached[1]  # the common case: unchanged since the last read
        units = self.best_ask_units()
        if units is None:
            return None
        cached = self._best_ask_cache = (units, units_to_decimal(units))
        return cached[1]

    @property
    def mid_price(self) -> Decimal | None:
        """``(best_bid + best_ask) / 2``, exact; ``None`` unless both sides have levels."""
        bid = self.best_bid_units()
        ask = self.best_ask_units()
        if bid is None or ask is None:
            return None
        # Halving an eight-decimal value needs at most nine decimals: exact.
        with localcontext(EXACT_CONTEXT):
            return Decimal(bid + ask).scaleb(-DECIMALS) / 2

    def is_crossed(self) -> bool:
        """True if the best bid is at or above the best ask: impossible on a real exchange."""
        bid_heap, ask_heap = self._bid_heap, self._ask_heap
        # Fast path (the sync machine asks after every diff): stale entries can only lie
        # beyond a side's best price, so the bid heap's top is >= the best bid and the ask
        # heap's top is <= the best ask. Tops that do not cross prove the book does not.
        if not bid_heap or not ask_heap or -bid_heap[0] < ask_heap[0]:
            return False
        bid = self.best_bid_units()
        return bid is not None and (ask := self.best_ask_units()) is not None and bid >= ask

    # -- other state ---------------------------------------------------------------------

    @property
    def last_update_id(self) -> int | None:
        """The update id of the last snapshot or diff applied, ``None`` when empty."""
        return self._last_update_id

    @property
    def last_trade_price(self) -> Decimal | None:
        """Price of the most recent public trade (by trade id), ``None`` before any."""
        return None if self._last_trade is None else self._last_trade.price

    @property
    def last_trade(self) -> OrderBookTradeMessage | None:
        """The most recent public trade (by trade id), ``None`` before any."""
        return self._last_trade

    @property
    def bid_count(self) -> int:
        """Number of bid levels."""
        return len(self._bids)

    @property
    def ask_count(self) -> int:
        """Number of ask levels."""
        return len(self._asks)

    # -- depth queries (rarer: computed on demand) ---------------------------------------

    def _walk(self, is_bids: bool) -> Iterator[tuple[int, int]]:
        """Yield ``(price, qty)`` units from the best level outwards.

        Pops from a copy of the side's heap, so a query that stops after k levels costs
        O(n) for the copy (a C memcpy) plus O(k log n), instead of sorting the side.
        Stale entries and duplicates (a level deleted and re-added) are skipped.
        """
        book = self._bids if is_bids else self._asks
        sign = -1 if is_bids else 1
        heap = list(self._bid_heap if is_bids else self._ask_heap)
        previous = None
        while heap:
            key = heapq.heappop(heap)
            if key == previous:
                continue
            previous = key
            price = sign * key
            qty = book.get(price)
            if qty is not None:
                yield price, _text_to_units(qty)

    def snapshot(
        self, depth: int | None = None
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """``(bids, asks)`` as ``(price, quantity)`` Decimals, bids descending, asks ascending.

        ``depth`` limits each side to its best ``depth`` levels.
        """
        sides: list[list[tuple[Decimal, Decimal]]] = []
        for book, is_bids in ((self._bids, True), (self._asks, False)):
            prices = sorted(book, reverse=is_bids)
            if depth is not None:
                prices = prices[: max(depth, 0)]
            # ``Decimal`` of a canonical quantity text is exact and has the same digits and
            # exponent as ``units_to_decimal`` of its units.
            sides.append([(units_to_decimal(p), Decimal(book[p])) for p in prices])
        return sides[0], sides[1]

    def get_price_for_volume(self, is_buy: bool, volume: Decimal) -> OrderBookQueryResult:
        """Walk the book as a market order of ``volume`` base units would.

        A buy consumes asks from the lowest price up; a sell consumes bids from the highest
        down. Returns the worst price reached (``result_price``), the volume obtained (less
        than ``volume`` if the book is too thin), the quote amount and the VWAP. Exact
        arithmetic: only the final VWAP division rounds (to the Decimal context precision).
        """
        if not isinstance(volume, Decimal) or not volume.is_finite() or volume <= 0:
            raise ValueError(f"volume must be a positive finite Decimal, got {volume!r}")
        with localcontext(EXACT_CONTEXT):  # traps rather than rounds
            wanted = volume.scaleb(DECIMALS)  # in units, possibly fractional
            got = 0  # units
            quote = 0  # units**2
            worst: int | None = None
            partial = Decimal(0)  # units taken from the last, partially consumed level
            for price, qty in self._walk(is_bids=not is_buy):
                worst = price
                if got + qty >= wanted:
                    partial = wanted - got
                    break
                got += qty
                quote += price * qty
            total = partial + got
            total_quote = partial * (worst or 0) + quote
            result_volume = total.scaleb(-DECIMALS)
            quote_volume = total_quote.scaleb(-2 * DECIMALS)
        return _result(None, volume, worst, result_volume, quote_volume)

    def get_volume_for_price(self, is_buy: bool, price: Decimal) -> OrderBookQueryResult:
        """Total volume available at ``price`` or better.

        A buy sums asks priced at or below ``price``; a sell sums bids at or above it.
        ``result_price`` is the worst price included.
        """
        if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
            raise ValueError(f"price must be a finite Decimal >= 0, got {price!r}")
        with localcontext(EXACT_CONTEXT):
            limit = price.scaleb(DECIMALS)
            got = 0
            quote = 0
            worst: int | None = None
            for level_price, qty in self._walk(is_bids=not is_buy):
                if (level_price > limit) if is_buy else (level_price < limit):
                    break
                worst = level_price
                got += qty
                quote += level_price * qty
            quote_volume = Decimal(quote).scaleb(-2 * DECIMALS)
        return _result(price, None, worst, units_to_decimal(got), quote_volume)

    # -- invariants ----------------------------------------------------------------------

    def _check(self) -> None:
        """Assert every structural invariant (for tests; O(n))."""
        sides = ((self._bids, self._bid_heap, -1), (self._asks, self._ask_heap, 1))
        for book, heap, sign in sides:
            for price, qty in book.items():
                assert type(price) is int and price >= 0, price
                assert type(qty) is str and parse_units(qty) > 0, (price, qty)
                assert _units_to_text(parse_units(qty)) == qty, ("not canonical", price, qty)
            for i in range(1, len(heap)):
                assert heap[(i - 1) // 2] <= heap[i], "heap order violated"
            entries = set(heap)
            assert all(sign * price in entries for price in book), "live price missing from heap"
        for text, units in self._price_cache.items():
            assert parse_units(text) == units, (text, units)
        total = len(self._bid_heap) + len(self._ask_heap) + len(self._price_cache)
        assert total <= self._budget, "heaps/cache not maintained"
        for units, value in (self._best_bid_cache, self._best_ask_cache):
            assert units == -1 or units_to_decimal(units) == value, (units, value)


def _result(
    query_price: Decimal | None,
    query_volume: Decimal | None,
    worst: int | None,
    result_volume: Decimal,
    quote_volume: Decimal,
) -> OrderBookQueryResult:
    vwap = quote_volume / result_volume if result_volume else None
    return OrderBookQueryResult(
        query_price=query_price,
        query_volume=query_volume,
        result_price=None if worst is None else units_to_decimal(worst),
        result_volume=result_volume,
        quote_volume=quote_volume,
        vwap=vwap,
    )
