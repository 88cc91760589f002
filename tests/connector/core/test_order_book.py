"""OrderBook (sans-I/O): snapshots, absolute diffs, exact parsing, best prices, depth
queries, invariants (``_check`` after every step), and a model-based property test."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.core.data_types import TradeType
from connector.core.order_book import OrderBook
from connector.core.order_book_message import (
    MalformedMessage,
    OrderBookDiffMessage,
    OrderBookSnapshotMessage,
    OrderBookTradeMessage,
    TooMuchPrecision,
    parse_units,
    units_to_decimal,
)

D = Decimal
PAIR = "BTC-USDT"


def snap(bids: list[list[str]], asks: list[list[str]], update_id: int = 10) -> OrderBookSnapshotMessage:
    return OrderBookSnapshotMessage(PAIR, update_id, bids, asks, 0)


def diff(bids: Any, asks: Any, first: int = 11, last: int | None = None) -> OrderBookDiffMessage:
    return OrderBookDiffMessage(PAIR, first, first if last is None else last, bids, asks, 0)


def book_with(bids: list[list[str]], asks: list[list[str]]) -> OrderBook:
    book = OrderBook(PAIR)
    book.apply_snapshot(snap(bids, asks))
    book._check()
    return book


def levels(pairs: list[tuple[str, str]]) -> list[tuple[Decimal, Decimal]]:
    return [(D(p), D(q)) for p, q in pairs]


# -- empty book and snapshots ----------------------------------------------------------------


def test_empty_book_has_no_prices() -> None:
    book = OrderBook(PAIR)
    assert book.best_bid is None and book.best_ask is None and book.mid_price is None
    assert not book.is_crossed()
    assert book.snapshot() == ([], [])
    assert book.last_update_id is None and book.last_trade_price is None
    book._check()


def test_snapshot_is_sorted_and_exact() -> None:
    book = book_with(
        [["99.00000000", "1.00000000"], ["100.00000000", "2.50000000"], ["98.5", "3"]],
        [["102.00000000", "1.00000000"], ["101.00000000", "0.00000001"]],
    )
    bids, asks = book.snapshot()
    assert bids == levels([("100", "2.5"), ("99", "1"), ("98.5", "3")])
    assert asks == levels([("101", "0.00000001"), ("102", "1")])
    assert book.best_bid == D("100") and book.best_ask == D("101")
    assert isinstance(book.best_bid, Decimal)
    assert book.last_update_id == 10
    assert (book.bid_count, book.ask_count) == (3, 2)


def test_snapshot_replaces_everything() -> None:
    book = book_with([["100.00000000", "1.00000000"]], [["101.00000000", "1.00000000"]])
    book.apply_snapshot(snap([["90.00000000", "1.00000000"]], [], update_id=20))
    book._check()
    assert book.snapshot() == (levels([("90", "1")]), [])
    assert book.best_ask is None and book.last_update_id == 20


def test_snapshot_depth_limits_each_side() -> None:
    book = book_with(
        [[f"{p}.00000000", "1.00000000"] for p in range(90, 100)],
        [[f"{p}.00000000", "1.00000000"] for p in range(101, 111)],
    )
    bids, asks = book.snapshot(depth=2)
    assert [p for p, _ in bids] == [D(99), D(98)]
    assert [p for p, _ in asks] == [D(101), D(102)]


def test_a_zero_level_in_a_snapshot_is_not_a_level() -> None:
    book = book_with([["100.00000000", "0.00000000"]], [])
    assert book.best_bid is None


# -- diffs -----------------------------------------------------------------------------------


def test_diff_sets_absolute_quantities_and_zero_removes() -> None:
    book = book_with(
        [["100.00000000", "1.00000000"], ["99.00000000", "1.00000000"]],
        [["101.00000000", "1.00000000"]],
    )
    book.apply_diff(
        diff(
            [["100.00000000", "0.00000000"], ["99.00000000", "7.00000000"]],
            [["101.00000000", "4.00000000"], ["103.00000000", "1.00000000"]],
            first=11,
            last=13,
        )
    )
    book._check()
    assert book.snapshot() == (levels([("99", "7")]), levels([("101", "4"), ("103", "1")]))
    assert book.best_bid == D(99)
    assert book.last_update_id == 13


def test_removing_an_unknown_level_is_normal() -> None:
    book = book_with([["100.00000000", "1.00000000"]], [])
    book.apply_diff(diff([["42.00000000", "0.00000000"]], [["43", "0"]]))
    book._check()
    assert book.snapshot() == (levels([("100", "1")]), [])


def test_new_best_levels_and_deleting_the_best_moves_to_the_next() -> None:
    book = book_with([["100.00000000", "1.00000000"]], [["105.00000000", "1.00000000"]])
    book.apply_diff(diff([["101.00000000", "1.00000000"]], [["104.00000000", "2.00000000"]]))
    assert (book.best_bid, book.best_ask) == (D(101), D(104))
    book.apply_diff(diff([["101.00000000", "0.00000000"]], [["104.00000000", "0.00000000"]]))
    assert (book.best_bid, book.best_ask) == (D(100), D(105))
    book.apply_diff(diff([["100.00000000", "0.00000000"]], []))
    assert book.best_bid is None
    book._check()


def test_a_level_deleted_and_re_added_is_seen_once() -> None:
    book = book_with([["100.00000000", "1.00000000"]], [])
    for qty in ("0.00000000", "2.00000000", "0.00000000", "3.00000000"):
        book.apply_diff(diff([["100.00000000", qty]], []))
        book._check()
    assert book.snapshot() == (levels([("100", "3")]), [])
    result = book.get_volume_for_price(is_buy=False, price=D(0))
    assert result.result_volume == D(3)


def test_the_last_occurrence_of_a_price_in_one_diff_wins() -> None:
    book = book_with([], [])
    book.apply_diff(diff([["100.00000000", "1.00000000"], ["100.00000000", "0.00000000"]], []))
    assert book.best_bid is None
    book.apply_diff(diff([["100.00000000", "0.00000000"], ["100.00000000", "5.00000000"]], []))
    assert book.snapshot()[0] == levels([("100", "5")])


@pytest.mark.parametrize(
    ("spelling", "qty"),
    [
        ("100.5", "2"),
        ("100.50", "2.0"),
        ("100.500000000000", "2.000000000"),  # trailing zeros past 8 decimals are exact
        ("0100.50000000", "02.00000000"),
    ],
)
def test_every_spelling_of_a_price_hits_the_same_level(spelling: str, qty: str) -> None:
    book = book_with([["100.50000000", "1.00000000"]], [])
    book.apply_diff(diff([[spelling, qty]], []))
    book._check()
    assert book.snapshot()[0] == levels([("100.5", "2")])
    book.apply_diff(diff([[spelling, "0"]], []))
    assert book.best_bid is None
    book._check()


def test_short_quantities_take_the_strict_path() -> None:
    book = book_with([], [])
    book.apply_diff(diff([["1.00000000", "5"], ["2.00000000", "0.5"]], [["3", "1.25"]]))
    book._check()
    assert book.snapshot() == (levels([("2", "0.5"), ("1", "5")]), levels([("3", "1.25")]))


# -- malformed input: always MalformedMessage, never rounded -------------------------------


BAD_NUMBERS = [
    "",
    "abc",
    "-1.00000000",
    "+1.00000000",
    " 1.00000000",
    "1.00000000 ",
    "1_0.00000000",
    "1.0000_000",
    "1.000.00000",
    "1.2.00000000",
    ".00000000",
    ".5",
    "5.",
    "1e5",
    "NaN",
    "Infinity",
    "\u0661.00000000",  # ARABIC-INDIC DIGIT ONE: int() would read it
    "1.\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660",
    "\u00b2.00000000",  # SUPERSCRIPT TWO: isdigit() but not a decimal digit
]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
@pytest.mark.parametrize("position", ["price", "qty"])
def test_malformed_numbers_are_refused(bad: str, position: str) -> None:
    level = [bad, "1.00000000"] if position == "price" else ["1.00000000", bad]
    with pytest.raises(MalformedMessage):
        OrderBook(PAIR).apply_diff(diff([level], []))
    with pytest.raises(MalformedMessage):
        OrderBook(PAIR).apply_snapshot(snap([], [level]))


@pytest.mark.parametrize(
    "bad_levels",
    [
        [["1.00000000"]],
        [["1.00000000", "1.00000000", "1.00000000"]],
        ["1.00000000"],
        [None],
        [[1, "1.00000000"]],
        [["1.00000000", 1.5]],
        [{"p": "1.00000000", "q": "1.00000000"}],
        "1.00000000",
        None,
        42,
    ],
)
def test_malformed_levels_are_refused(bad_levels: Any) -> None:
    with pytest.raises(MalformedMessage):
        OrderBook(PAIR).apply_diff(diff(bad_levels, []))
    with pytest.raises(MalformedMessage):
        OrderBook(PAIR).apply_diff(diff([], bad_levels))


@pytest.mark.parametrize("position", ["price", "qty"])
def test_more_than_eight_decimals_is_refused_not_rounded(position: str) -> None:
    level = ["1.000000001", "1.00000000"] if position == "price" else ["1.00000000", "1.000000001"]
    with pytest.raises(TooMuchPrecision):
        OrderBook(PAIR).apply_diff(diff([level], []))


def test_a_malformed_snapshot_leaves_the_book_empty() -> None:
    book = book_with([["100.00000000", "1.00000000"]], [])
    with pytest.raises(MalformedMessage):
        book.apply_snapshot(snap([["99.00000000", "1.00000000"], ["x", "1"]], []))
    assert book.snapshot() == ([], [])
    assert book.last_update_id is None
    book._check()


def test_parse_units_and_back() -> None:
    assert parse_units("1.5") == 150_000_000
    assert parse_units("0.00000001") == 1
    assert parse_units("7") == 700_000_000
    assert units_to_decimal(150_000_000) == D("1.5")
    assert str(units_to_decimal(123)) == "0.00000123"
    huge = 10**40 + 1
    assert str(units_to_decimal(huge)) == "100000000000000000000000000000000.00000001"


# -- crossed, mid, trades --------------------------------------------------------------------


def test_crossed_and_locked_books_are_reported_not_repaired() -> None:
    book = book_with([["100.00000000", "1.00000000"]], [["101.00000000", "1.00000000"]])
    assert not book.is_crossed()
    book.apply_diff(diff([["101.00000000", "1.00000000"]], []))
    assert book.is_crossed()  # locked (bid == ask) counts
    book.apply_diff(diff([["102.00000000", "1.00000000"]], []))
    assert book.is_crossed()
    assert book.bid_count == 3 and book.ask_count == 1  # nothing truncated
    book._check()


def test_mid_price_is_exact() -> None:
    book = book_with([["100.00000001", "1.00000000"]], [["100.00000002", "1.00000000"]])
    assert book.mid_price == D("100.000000015")


def test_last_trade_price_follows_the_newest_trade_id() -> None:
    book = OrderBook(PAIR)

    def trade(trade_id: int, price: str) -> OrderBookTradeMessage:
        return OrderBookTradeMessage(PAIR, trade_id, D(price), D("1"), TradeType.BUY, 0)

    book.apply_trade(trade(5, "100.1"))
    assert book.last_trade_price == D("100.1")
    book.apply_trade(trade(4, "99"))  # older: ignored
    assert book.last_trade_price == D("100.1")
    book.apply_trade(trade(6, "101"))
    assert book.last_trade_price == D("101") and book.last_trade is not None
    book.apply_snapshot(snap([], []))  # a snapshot is depth, not trades
    assert book.last_trade_price == D("101")


# -- depth queries ---------------------------------------------------------------------------


@pytest.fixture
def depth_book() -> OrderBook:
    return book_with(
        [
            ["99.00000000", "1.00000000"],
            ["98.00000000", "2.00000000"],
            ["97.00000000", "3.00000000"],
        ],
        [
            ["101.00000000", "1.00000000"],
            ["102.00000000", "2.00000000"],
            ["103.00000000", "3.00000000"],
        ],
    )


def test_price_for_volume_buy_walks_the_asks(depth_book: OrderBook) -> None:
    result = depth_book.get_price_for_volume(is_buy=True, volume=D("2.5"))
    assert result.result_price == D(102)  # worst price reached
    assert result.result_volume == D("2.5")
    assert result.quote_volume == D(101) + D(102) * D("1.5")
    assert result.vwap == (D(101) + D(102) * D("1.5")) / D("2.5")
    assert result.query_volume == D("2.5") and result.query_price is None


def test_price_for_volume_sell_walks_the_bids(depth_book: OrderBook) -> None:
    result = depth_book.get_price_for_volume(is_buy=False, volume=D(3))
    assert result.result_price == D(98)
    assert result.result_volume == D(3)
    assert result.vwap == (D(99) + D(98) * 2) / 3


def test_price_for_volume_exactly_at_a_level_boundary(depth_book: OrderBook) -> None:
    result = depth_book.get_price_for_volume(is_buy=True, volume=D(1))
    assert (result.result_price, result.result_volume, result.vwap) == (D(101), D(1), D(101))


def test_price_for_volume_beyond_the_book_returns_what_there_is(depth_book: OrderBook) -> None:
    result = depth_book.get_price_for_volume(is_buy=True, volume=D(100))
    assert result.result_volume == D(6)
    assert result.result_price == D(103)
    assert result.quote_volume == D(101 + 204 + 309)


def test_price_for_volume_on_an_empty_side() -> None:
    result = OrderBook(PAIR).get_price_for_volume(is_buy=True, volume=D(1))
    assert result.result_volume == 0 and result.result_price is None and result.vwap is None


def test_price_for_volume_with_more_decimals_than_the_book_stays_exact(
    depth_book: OrderBook,
) -> None:
    volume = D("1.0000000000001")
    result = depth_book.get_price_for_volume(is_buy=True, volume=volume)
    assert result.result_volume == volume
    assert result.quote_volume == D(101) + D(102) * D("0.0000000000001")


@pytest.mark.parametrize("volume", [D(0), D(-1), D("NaN"), D("Infinity")])
def test_price_for_volume_rejects_bad_volumes(depth_book: OrderBook, volume: Decimal) -> None:
    with pytest.raises(ValueError):
        depth_book.get_price_for_volume(is_buy=True, volume=volume)


def test_volume_for_price(depth_book: OrderBook) -> None:
    buy = depth_book.get_volume_for_price(is_buy=True, price=D(102))
    assert (buy.result_volume, buy.result_price) == (D(3), D(102))  # limit is inclusive
    assert buy.vwap == (D(101) + D(204)) / 3
    sell = depth_book.get_volume_for_price(is_buy=False, price=D("97.5"))
    assert (sell.result_volume, sell.result_price) == (D(3), D(98))
    none = depth_book.get_volume_for_price(is_buy=True, price=D(100))
    assert (none.result_volume, none.result_price, none.vwap) == (D(0), None, None)
    assert none.query_price == D(100) and none.query_volume is None


def test_queries_skip_stale_heap_entries() -> None:
    book = book_with([["99.00000000", "1.00000000"]], [["101.00000000", "1.00000000"]])
    for qty in ("0", "1", "0", "2"):  # leaves stale and duplicate heap entries
        book.apply_diff(diff([], [["100.50000000", qty]]))
    book.apply_diff(diff([], [["101.00000000", "0"]]))
    result = book.get_price_for_volume(is_buy=True, volume=D(5))
    assert (result.result_volume, result.result_price) == (D(2), D("100.5"))


# -- maintenance -----------------------------------------------------------------------------


def test_heaps_and_price_cache_stay_bounded_under_churn() -> None:
    book = book_with([["1.00000000", "1.00000000"]], [["100000.00000000", "1.00000000"]])
    for i in range(20_000):
        price = f"{2 + i % 9_000}.{i % 7:08d}"
        book.apply_diff(diff([[price, "1.00000000"]], []))
        book.apply_diff(diff([[price, "0.00000000"]], []))
        if i % 997 == 0:
            book._check()
    book._check()
    assert book.snapshot() == (levels([("1", "1")]), levels([("100000", "1")]))
    assert len(book._bid_heap) + len(book._ask_heap) + len(book._price_cache) < 10_000


# -- property: the book equals a reference model after any sequence ------------------------

price_text = st.integers(min_value=1, max_value=60).map(lambda t: f"{t}.{t % 3 * 25:08d}")
qty_text = st.one_of(
    st.just("0.00000000"),
    st.just("0"),
    st.integers(min_value=0, max_value=10**9).map(lambda u: f"{u // 10**8}.{u % 10**8:08d}"),
    st.integers(min_value=0, max_value=99).map(str),
)
side = st.lists(st.tuples(price_text, qty_text).map(list), max_size=8)
step = st.one_of(
    st.tuples(st.just("diff"), side, side),
    st.tuples(st.just("snapshot"), side, side),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(step, max_size=40))
def test_book_matches_a_decimal_model(steps: list[tuple[str, list[Any], list[Any]]]) -> None:
    book = OrderBook(PAIR)
    model: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
    for kind, bids, asks in steps:
        if kind == "snapshot":
            model = {"bids": {}, "asks": {}}
            book.apply_snapshot(snap(bids, asks))
        else:
            book.apply_diff(diff(bids, asks))
        for name, levels_ in (("bids", bids), ("asks", asks)):
            for p, q in levels_:
                if D(q):
                    model[name][D(p)] = D(q)
                else:
                    model[name].pop(D(p), None)
        book._check()
        expected_bids = sorted(model["bids"].items(), reverse=True)
        expected_asks = sorted(model["asks"].items())
        assert book.snapshot() == (expected_bids, expected_asks)
        assert book.best_bid == (expected_bids[0][0] if expected_bids else None)
        assert book.best_ask == (expected_asks[0][0] if expected_asks else None)
