"""Binance Spot market-data payloads → exchange-neutral order-book messages.

Three factories, one per payload (``binance-spot-api.md`` §2.4, §5.3, §5.6):

* ``GET /api/v3/depth`` → ``OrderBookSnapshotMessage`` (``lastUpdateId`` is the update id);
* a ``depthUpdate`` stream event → ``OrderBookDiffMessage`` (``U`` first, ``u`` last id);
* a ``trade`` stream event → ``OrderBookTradeMessage`` (``m`` true means the *buyer* was
  the maker, so the taker sold).

The factories check the envelope (event type, field types, the symbol) and raise
``MalformedMessage``, or its subclass ``UnknownSymbol``, on anything unexpected; a
``KeyError`` or ``TypeError`` never escapes. Depth levels are handed over raw; the order book
validates them as it applies them (see ``connector.core.order_book_message``).

Binance symbols (``"BTCUSDT"``) are mapped to trading pairs (``"BTC-USDT"``) by a mapping
or a callable supplied by the caller, who owns the exchange-info metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from connector.core.data_types import TradeType
from connector.core.order_book_message import (
    MalformedMessage,
    OrderBookDiffMessage,
    OrderBookSnapshotMessage,
    OrderBookTradeMessage,
    parse_decimal,
)

from .binance_constants import DIFF_EVENT_TYPE, TRADE_EVENT_TYPE

__all__ = [
    "SymbolMap",
    "UnknownSymbol",
    "diff_message_from_exchange",
    "snapshot_message_from_exchange",
    "trade_message_from_exchange",
]

#: Exchange symbol → trading pair: a mapping, or a callable that raises ``KeyError`` (or
#: ``UnknownSymbol``) for a symbol it does not know.
SymbolMap: TypeAlias = Mapping[str, str] | Callable[[str], str]


class UnknownSymbol(MalformedMessage):
    """The payload's symbol is not one the caller's symbol map knows."""


def _field(msg: Mapping[str, Any], key: str) -> Any:
    try:
        return msg[key]
    except KeyError:
        raise MalformedMessage(f"missing field {key!r} in {msg!r:.200}")
    except TypeError:
        raise MalformedMessage(f"payload is not an object: {msg!r:.200}")


def _int_field(msg: Mapping[str, Any], key: str) -> int:
    value = _field(msg, key)
    if type(value) is not int:  # bool is an int subclass; reject it too
        raise MalformedMessage(f"field {key!r} must be an integer, got {value!r}")
    return value


def _list_field(msg: Mapping[str, Any], key: str) -> list[list[str]]:
    value = _field(msg, key)
    if type(value) is not list:
        raise MalformedMessage(f"field {key!r} must be a list of levels, got {value!r:.200}")
    return value


def _check_event(msg: Any, event: str) -> None:
    if not isinstance(msg, Mapping):
        raise MalformedMessage(f"payload is not an object: {msg!r:.200}")
    if msg.get("e") != event:
        raise MalformedMessage(f"expected event {event!r}, got {msg.get('e')!r}")


def _trading_pair(msg: Mapping[str, Any], symbols: SymbolMap) -> str:
    symbol = _field(msg, "s")
    if type(symbol) is not str:
        raise MalformedMessage(f"field 's' must be a string, got {symbol!r}")
    try:
        pair = symbols[symbol] if isinstance(symbols, Mapping) else symbols(symbol)
    except KeyError:
        raise UnknownSymbol(f"unknown symbol {symbol!r}")
    return pair


def snapshot_message_from_exchange(
    msg: Mapping[str, Any], timestamp: int, trading_pair: str
) -> OrderBookSnapshotMessage:
    """Build a snapshot from a ``GET /api/v3/depth`` body.

    ``timestamp`` is the local receive time in milliseconds: the REST body carries no time.
    The body carries no symbol either, so the caller names the ``trading_pair``.
    """
    if not isinstance(msg, Mapping):
        raise MalformedMessage(f"payload is not an object: {msg!r:.200}")
    return OrderBookSnapshotMessage(
        trading_pair=trading_pair,
        update_id=_int_field(msg, "lastUpdateId"),
        bids=_list_field(msg, "bids"),
        asks=_list_field(msg, "asks"),
        timestamp=timestamp,
    )


def diff_message_from_exchange(
    msg: Mapping[str, Any], symbol_to_trading_pair: SymbolMap
) -> OrderBookDiffMessage:
    """Build a diff from a ``depthUpdate`` event (``<symbol>@depth[@100ms]`` stream).

    This runs for every depth event, so the envelope checks are inlined (no helper calls
    on the success path); the error path re-runs the helpers to say what is wrong.
    """
    try:
        if msg["e"] == DIFF_EVENT_TYPE:
            symbol = msg["s"]
            first, last, bids, asks, ts = msg["U"], msg["u"], msg["b"], msg["a"], msg["E"]
            if (
                type(first) is int
                and type(last) is int
                and type(ts) is int
                and type(bids) is list
                and type(asks) is list
                and type(symbol) is str
            ):
                if isinstance(symbol_to_trading_pair, dict):
                    pair = symbol_to_trading_pair[symbol]
                else:
                    pair = _trading_pair(msg, symbol_to_trading_pair)
                return OrderBookDiffMessage(pair, first, last, bids, asks, ts)
    except (KeyError, TypeError):
        pass
    # Something is wrong: find out what, with a precise message.
    _check_event(msg, DIFF_EVENT_TYPE)
    pair = _trading_pair(msg, symbol_to_trading_pair)
    _int_field(msg, "U"), _int_field(msg, "u"), _int_field(msg, "E")
    _list_field(msg, "b"), _list_field(msg, "a")
    raise MalformedMessage(f"malformed depthUpdate: {msg!r:.200}")  # pragma: no cover


def trade_message_from_exchange(
    msg: Mapping[str, Any], symbol_to_trading_pair: SymbolMap
) -> OrderBookTradeMessage:
    """Build a trade from a ``trade`` event (``<symbol>@trade`` stream).

    ``m`` ("is the buyer the market maker?") true means the taker sold: ``TradeType.SELL``.
    The timestamp is the trade time ``T``, not the event time ``E``.
    """
    _check_event(msg, TRADE_EVENT_TYPE)
    maker_is_buyer = _field(msg, "m")
    if type(maker_is_buyer) is not bool:
        raise MalformedMessage(f"field 'm' must be a boolean, got {maker_is_buyer!r}")
    return OrderBookTradeMessage(
        trading_pair=_trading_pair(msg, symbol_to_trading_pair),
        trade_id=_int_field(msg, "t"),
        price=parse_decimal(_field(msg, "p")),
        amount=parse_decimal(_field(msg, "q")),
        trade_type=TradeType.SELL if maker_is_buyer else TradeType.BUY,
        timestamp=_int_field(msg, "T"),
    )
