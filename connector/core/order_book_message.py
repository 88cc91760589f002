"""Exchange-neutral order-book messages: snapshot, diff and trade.

Exchange adapters (``connector.binance.binance_order_book``) turn wire payloads into these
types; the sync state machine and the ``OrderBook`` consume them. The types are frozen,
slotted dataclasses: once built, a message is never mutated (the tracker may buffer a diff
and replay it later, so sharing must be safe).

Levels stay raw. A diff carries its ``bids``/``asks`` exactly as ``json.loads`` returned
them: sequences of ``[price_str, qty_str]``. Converting them is the ``OrderBook``'s job,
inside its own hot loop, so each string is parsed exactly once and never into a float.
Callers must treat the level lists as read-only. ``decimal_bids()``/``decimal_asks()`` give
validated ``Decimal`` pairs for code that wants them (tests, logging, slow paths).

Numbers are exact. Binance carries every price and quantity with at most eight decimal
places, so the book works in integer units of 10**-8 (``SCALE``). ``parse_units`` accepts
only plain non-negative decimal strings and refuses, with ``TooMuchPrecision``, any value
with a significant digit past the eighth decimal place: nothing is ever rounded silently.
Timestamps are integer milliseconds (Binance's own unit), so no message holds a float.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, Rounded
from typing import ClassVar, TypeAlias

from connector.core.data_types import TradeType, check_decimal

__all__ = [
    "DECIMALS",
    "EXACT_CONTEXT",
    "SCALE",
    "MalformedMessage",
    "OrderBookDiffMessage",
    "OrderBookMessage",
    "OrderBookMessageType",
    "OrderBookSnapshotMessage",
    "OrderBookTradeMessage",
    "RawLevel",
    "RawLevels",
    "TooMuchPrecision",
    "decimal_levels",
    "parse_decimal",
    "parse_units",
    "units_to_decimal",
]

DECIMALS: int = 8
SCALE: int = 10**DECIMALS

#: One ``[price, quantity]`` pair as the exchange sent it (strings, unvalidated).
RawLevel: TypeAlias = Sequence[str]
#: A side of a snapshot or diff as the exchange sent it.
RawLevels: TypeAlias = Sequence[RawLevel]

# A plain non-negative decimal: no sign, exponent, whitespace, underscore or non-ASCII digit
# (``int()`` and ``Decimal()`` accept all of those; the wire format never contains them).
_DECIMAL_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?", re.ASCII)

#: Arithmetic that must be exact runs in this context: it traps instead of rounding.
EXACT_CONTEXT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, Rounded])


class MalformedMessage(ValueError):
    """A payload or value does not have the shape or format the exchange documents.

    Raised by the message factories and by ``OrderBook`` when it parses levels. It is the
    only error a malformed input produces: no ``KeyError``/``TypeError`` escapes.
    """


class TooMuchPrecision(MalformedMessage):
    """A value has a significant digit past the eighth decimal place; it is never rounded."""


class OrderBookMessageType(enum.Enum):
    """What a message does to a book: replace it, patch it, or report a trade."""

    SNAPSHOT = "snapshot"
    DIFF = "diff"
    TRADE = "trade"


def parse_units(text: str) -> int:
    """Parse a plain decimal string such as ``"0.00100000"`` into integer 10**-8 units.

    This is the strict, general path; ``OrderBook`` inlines a faster check for the
    canonical eight-decimal form and falls back to this function for anything else.

    >>> parse_units("1.5")
    150000000
    >>> parse_units("0.000000010")
    1
    """
    if type(text) is not str:
        raise MalformedMessage(f"expected a decimal string, got {text!r}")
    m = _DECIMAL_RE.fullmatch(text)
    if m is None:
        raise MalformedMessage(f"not a plain decimal: {text!r}")
    whole: str = m.group(1)
    frac: str | None = m.group(2)
    if frac is None:
        return int(whole) * SCALE
    if len(frac) > DECIMALS:
        if frac[DECIMALS:].strip("0"):
            raise TooMuchPrecision(f"more than {DECIMALS} decimals: {text!r}")
        frac = frac[:DECIMALS]
    return int(whole) * SCALE + int(frac.ljust(DECIMALS, "0"))


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal string into a ``Decimal`` (same rules as ``parse_units``).

    >>> parse_decimal("0.00100000")
    Decimal('0.00100000')
    """
    return units_to_decimal(parse_units(text))


def units_to_decimal(units: int) -> Decimal:
    """Convert integer 10**-8 units to a ``Decimal`` with eight decimal places, exactly.

    ``Decimal(int)`` is exact at any size and ``scaleb`` only moves the exponent; the
    unlimited-precision context makes sure no rounding can apply even to huge values.

    >>> units_to_decimal(150000000)
    Decimal('1.50000000')
    """
    return Decimal(units).scaleb(-DECIMALS, EXACT_CONTEXT)


def decimal_levels(levels: RawLevels) -> list[tuple[Decimal, Decimal]]:
    """Validate raw ``[price, qty]`` levels and return them as ``Decimal`` pairs."""
    out: list[tuple[Decimal, Decimal]] = []
    for level in levels:
        if isinstance(level, str) or not isinstance(level, Sequence) or len(level) != 2:
            raise MalformedMessage(f"a level must be [price, quantity], got {level!r}")
        out.append((parse_decimal(level[0]), parse_decimal(level[1])))
    return out


def _check_update_id(name: str, value: object) -> None:
    # ``bool`` is an ``int`` subclass; an update id of ``True`` is a bug upstream.
    if type(value) is not int or value < 0:
        raise MalformedMessage(f"{name} must be a non-negative int, got {value!r}")


@dataclass(frozen=True, slots=True)
class OrderBookSnapshotMessage:
    """A full book as of ``update_id`` (Binance ``lastUpdateId``): replaces everything."""

    message_type: ClassVar[OrderBookMessageType] = OrderBookMessageType.SNAPSHOT

    trading_pair: str
    update_id: int
    bids: RawLevels
    asks: RawLevels
    timestamp: int  # milliseconds; local receive time (a REST snapshot carries none)

    def __post_init__(self) -> None:
        _check_update_id("update_id", self.update_id)

    def decimal_bids(self) -> list[tuple[Decimal, Decimal]]:
        """Bids as validated ``Decimal`` ``(price, quantity)`` pairs, in message order."""
        return decimal_levels(self.bids)

    def decimal_asks(self) -> list[tuple[Decimal, Decimal]]:
        """Asks as validated ``Decimal`` ``(price, quantity)`` pairs, in message order."""
        return decimal_levels(self.asks)


@dataclass(frozen=True, slots=True)
class OrderBookDiffMessage:
    """Absolute new quantities for the levels changed by updates ``first_update_id..update_id``.

    A quantity of zero removes the level. ``first_update_id`` is Binance ``U`` and
    ``update_id`` is ``u``; the sync machine needs both to prove continuity.
    """

    message_type: ClassVar[OrderBookMessageType] = OrderBookMessageType.DIFF

    trading_pair: str
    first_update_id: int
    update_id: int
    bids: RawLevels
    asks: RawLevels
    timestamp: int  # milliseconds; exchange event time (Binance ``E``)

    def __post_init__(self) -> None:
        first, last = self.first_update_id, self.update_id
        # One expression on the success path: this runs for every depth event.
        if type(first) is not int or type(last) is not int or not 0 <= first <= last:
            _check_update_id("first_update_id", first)
            _check_update_id("update_id", last)
            raise MalformedMessage(f"first_update_id {first} > update_id {last}")

    def decimal_bids(self) -> list[tuple[Decimal, Decimal]]:
        """Bids as validated ``Decimal`` ``(price, quantity)`` pairs, in message order."""
        return decimal_levels(self.bids)

    def decimal_asks(self) -> list[tuple[Decimal, Decimal]]:
        """Asks as validated ``Decimal`` ``(price, quantity)`` pairs, in message order."""
        return decimal_levels(self.asks)


@dataclass(frozen=True, slots=True)
class OrderBookTradeMessage:
    """A public trade. It moves ``last_trade_price`` only; depth comes from diffs."""

    message_type: ClassVar[OrderBookMessageType] = OrderBookMessageType.TRADE

    trading_pair: str
    trade_id: int
    price: Decimal
    amount: Decimal
    trade_type: TradeType  # the taker's side (``data_types.TradeType``)
    timestamp: int  # milliseconds; trade time (Binance ``T``)

    def __post_init__(self) -> None:
        _check_update_id("trade_id", self.trade_id)
        check_decimal(self.price, "price")
        check_decimal(self.amount, "amount")
        if not isinstance(self.trade_type, TradeType):
            raise TypeError(f"trade_type must be a TradeType, got {self.trade_type!r}")


#: Any of the three message kinds.
OrderBookMessage: TypeAlias = OrderBookSnapshotMessage | OrderBookDiffMessage | OrderBookTradeMessage
