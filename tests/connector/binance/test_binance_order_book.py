"""Binance payload factories: snapshot (``GET /api/v3/depth``), ``depthUpdate`` and
``trade`` events → messages; symbol mapping; malformed input always raises
``MalformedMessage`` (never ``KeyError``/``TypeError``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.binance.binance_order_book import (
    UnknownSymbol,
    diff_message_from_exchange,
    snapshot_message_from_exchange,
    trade_message_from_exchange,
)
from connector.core.data_types import TradeType
from connector.core.order_book import OrderBook
from connector.core.order_book_message import MalformedMessage, OrderBookMessageType

D = Decimal
SYMBOLS = {"BNBBTC": "BNB-BTC", "BTCUSDT": "BTC-USDT"}

DEPTH = json.loads(
    '{"lastUpdateId": 1027024, "bids": [["4.00000000", "431.00000000"]],'
    ' "asks": [["4.00000200", "12.00000000"]]}'
)
DEPTH_UPDATE = json.loads(
    '{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,'
    '"b":[["0.0024","10"]],"a":[["0.0026","100"]]}'
)
TRADE = json.loads(
    '{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100",'
    '"T":1672515782135,"m":true,"M":true}'
)


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if value is ...:
            out.pop(key)
        else:
            out[key] = value
    return out


# -- happy paths (payloads from binance-spot-api.md) ----------------------------------------


def test_snapshot_from_depth() -> None:
    msg = snapshot_message_from_exchange(DEPTH, 1_700_000_000_000, "BNB-BTC")
    assert msg.message_type is OrderBookMessageType.SNAPSHOT
    assert (msg.trading_pair, msg.update_id, msg.timestamp) == (
        "BNB-BTC",
        1027024,
        1_700_000_000_000,
    )
    assert msg.bids is DEPTH["bids"]  # raw levels, converted by the book
    assert msg.decimal_bids() == [(D(4), D(431))]
    assert msg.decimal_asks() == [(D("4.000002"), D(12))]


def test_diff_from_depth_update() -> None:
    msg = diff_message_from_exchange(DEPTH_UPDATE, SYMBOLS)
    assert msg.message_type is OrderBookMessageType.DIFF
    assert (msg.trading_pair, msg.first_update_id, msg.update_id) == ("BNB-BTC", 157, 160)
    assert msg.timestamp == 1672515782136
    assert msg.bids is DEPTH_UPDATE["b"] and msg.asks is DEPTH_UPDATE["a"]
    assert msg.decimal_bids() == [(D("0.0024"), D(10))]
    assert msg.decimal_asks() == [(D("0.0026"), D(100))]


def test_the_symbol_map_may_be_a_callable() -> None:
    msg = diff_message_from_exchange(DEPTH_UPDATE, lambda symbol: f"{symbol[:3]}-{symbol[3:]}")
    assert msg.trading_pair == "BNB-BTC"


def test_trade_maker_buyer_means_the_taker_sold() -> None:
    sell = trade_message_from_exchange(TRADE, SYMBOLS)
    assert sell.message_type is OrderBookMessageType.TRADE
    assert sell.trade_type is TradeType.SELL
    assert (sell.trade_id, sell.price, sell.amount) == (12345, D("0.001"), D(100))
    assert sell.timestamp == 1672515782135  # trade time T, not event time E
    buy = trade_message_from_exchange(with_(TRADE, m=False), SYMBOLS)
    assert buy.trade_type is TradeType.BUY


def test_a_diff_feeds_a_book() -> None:
    book = OrderBook("BNB-BTC")
    book.apply_snapshot(snapshot_message_from_exchange(DEPTH, 0, "BNB-BTC"))
    book.apply_diff(diff_message_from_exchange(with_(DEPTH_UPDATE, b=[["4.00000000", "0"]]), SYMBOLS))
    assert book.best_bid is None and book.best_ask == D("0.0026")


# -- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "depthUpdate",
        with_(DEPTH_UPDATE, e="trade"),
        with_(DEPTH_UPDATE, e=...),
        with_(DEPTH_UPDATE, s=...),
        with_(DEPTH_UPDATE, s=5),
        with_(DEPTH_UPDATE, s=["BNBBTC"]),
        with_(DEPTH_UPDATE, U=...),
        with_(DEPTH_UPDATE, U="157"),
        with_(DEPTH_UPDATE, U=True),
        with_(DEPTH_UPDATE, u=160.0),
        with_(DEPTH_UPDATE, U=-1),
        with_(DEPTH_UPDATE, U=161),  # U > u
        with_(DEPTH_UPDATE, E=None),
        with_(DEPTH_UPDATE, b=...),
        with_(DEPTH_UPDATE, b={"0.0024": "10"}),
        with_(DEPTH_UPDATE, a="[]"),
    ],
)
def test_malformed_depth_updates(payload: Any) -> None:
    with pytest.raises(MalformedMessage):
        diff_message_from_exchange(payload, SYMBOLS)


def test_unknown_symbols() -> None:
    with pytest.raises(UnknownSymbol):
        diff_message_from_exchange(with_(DEPTH_UPDATE, s="XYZABC"), SYMBOLS)

    def lookup(symbol: str) -> str:
        raise KeyError(symbol)

    with pytest.raises(UnknownSymbol):
        trade_message_from_exchange(TRADE, lookup)
    assert issubclass(UnknownSymbol, MalformedMessage)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        with_(TRADE, e="depthUpdate"),
        with_(TRADE, t=...),
        with_(TRADE, t="12345"),
        with_(TRADE, p=...),
        with_(TRADE, p=0.001),
        with_(TRADE, p="1e-3"),
        with_(TRADE, p="NaN"),
        with_(TRADE, q="-1"),
        with_(TRADE, q="0.0000000001"),  # more than 8 decimals: refused, not rounded
        with_(TRADE, m="true"),
        with_(TRADE, m=...),
        with_(TRADE, T=...),
    ],
)
def test_malformed_trades(payload: Any) -> None:
    with pytest.raises(MalformedMessage):
        trade_message_from_exchange(payload, SYMBOLS)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        with_(DEPTH, lastUpdateId=...),
        with_(DEPTH, lastUpdateId="1"),
        with_(DEPTH, bids=...),
        with_(DEPTH, asks=None),
    ],
)
def test_malformed_snapshots(payload: Any) -> None:
    with pytest.raises(MalformedMessage):
        snapshot_message_from_exchange(payload, 0, "BNB-BTC")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=8,
)
field_values = st.one_of(json_values, st.sampled_from(["depthUpdate", "trade", "BNBBTC", 1, 160]))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(["e", "E", "s", "U", "u", "b", "a", "t", "p", "q", "T", "m"]), field_values
    )
)
def test_fuzzed_payloads_only_ever_raise_malformed_message(payload: dict[str, Any]) -> None:
    for factory in (diff_message_from_exchange, trade_message_from_exchange):
        try:
            factory(payload, SYMBOLS)
        except MalformedMessage:
            pass
