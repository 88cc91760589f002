"""Plain values shared by the connector core: order enums, fees and the Decimal guard.

Money is ``Decimal`` everywhere. A ``float`` that slips in (``Decimal(0.1)`` is
``0.1000000000000000055511151231257827...``) silently breaks exact fill sums and fee totals,
so the constructors here refuse floats outright instead of converting them; callers parse
wire strings with ``Decimal(text)``. ``NaN`` and infinities are refused too: comparisons with
``Decimal('NaN')`` raise ``InvalidOperation`` far from where the bad value entered (the study's
"MARKET order with an empty book" bug).

Enum values are plain strings so they serialise to JSON as themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


def check_decimal(value: object, name: str, *, allow_negative: bool = False) -> Decimal:
    """Return ``value`` if it is a finite ``Decimal`` (and non-negative unless allowed).

    Raises ``TypeError`` for anything that is not a ``Decimal`` (``float`` in particular, and
    ``bool``/``int`` too, so that a unit mistake cannot hide) and ``ValueError`` for NaN,
    infinities and unexpected negatives.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"{name} must be finite, got {value}")
    if not allow_negative and value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


class OrderType(StrEnum):
    """The order types this connector places. Spelled as Binance spells them."""

    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"
    MARKET = "MARKET"

    @property
    def is_limit_type(self) -> bool:
        """True for the types that carry a limit price."""
        return self is not OrderType.MARKET


class TradeType(StrEnum):
    """The side of an order."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> TradeType:
        return TradeType.SELL if self is TradeType.BUY else TradeType.BUY


class OrderState(StrEnum):
    """Where an order is in its life, as far as this client knows.

    The allowed moves between these states are one table in ``in_flight_order``.
    ``FILLED``, ``CANCELED``, ``EXPIRED`` and ``FAILED`` are terminal: once reached they never
    change. ``EXPIRED`` is its own outcome (an IOC or MARKET remainder, a FOK that could not
    fill, an exchange-side expiry), never folded into ``FAILED``.
    """

    PENDING_CREATE = "PENDING_CREATE"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES: frozenset[OrderState] = frozenset(
    {OrderState.FILLED, OrderState.CANCELED, OrderState.EXPIRED, OrderState.FAILED}
)
OPEN_STATES: frozenset[OrderState] = frozenset(OrderState) - TERMINAL_STATES


@dataclass(frozen=True, slots=True)
class TokenAmount:
    """An amount of one asset, e.g. a fee of ``0.001 BNB``."""

    token: str
    amount: Decimal

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("token must not be empty")
        check_decimal(self.amount, f"amount of {self.token}")


def _normalise(fees: Iterable[TokenAmount]) -> tuple[TokenAmount, ...]:
    totals: dict[str, Decimal] = {}
    for fee in fees:
        if not isinstance(fee, TokenAmount):
            raise TypeError(f"flat_fees must hold TokenAmount values, got {fee!r}")
        totals[fee.token] = totals.get(fee.token, ZERO) + fee.amount
    return tuple(TokenAmount(t, a) for t, a in sorted(totals.items()) if a != 0)


@dataclass(frozen=True, slots=True)
class TradeFee:
    """The commission actually charged (or estimated) for a trade, as flat amounts per asset.

    Binance reports commission as an absolute amount in one asset (``n``/``N`` on the user
    stream, ``commission``/``commissionAsset`` in ``myTrades`` and order ``fills``), and a
    single order can pay in several assets (the received asset, or BNB when the discount is
    on). A percentage-based fee only matters for estimates, which ``trading_rule.estimate_fee``
    turns into flat amounts up front, so a fee is just a list of ``(asset, amount)``.

    The list is kept canonical (merged per asset, sorted, zero amounts dropped) so that two
    fees with the same content compare equal however they were assembled.
    """

    flat_fees: tuple[TokenAmount, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "flat_fees", _normalise(self.flat_fees))

    @classmethod
    def of(cls, token: str, amount: Decimal) -> TradeFee:
        """A fee in a single asset."""
        return cls((TokenAmount(token, amount),))

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Decimal]]) -> TradeFee:
        return cls(tuple(TokenAmount(t, a) for t, a in pairs))

    @property
    def is_zero(self) -> bool:
        return not self.flat_fees

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(f.token for f in self.flat_fees)

    def amount_of(self, token: str) -> Decimal:
        """The total charged in ``token`` (zero if none)."""
        for fee in self.flat_fees:
            if fee.token == token:
                return fee.amount
        return ZERO

    def as_pairs(self) -> list[tuple[str, Decimal]]:
        return [(f.token, f.amount) for f in self.flat_fees]

    def __add__(self, other: object) -> TradeFee:
        if not isinstance(other, TradeFee):
            return NotImplemented
        return TradeFee(self.flat_fees + other.flat_fees)

    def to_json(self) -> dict[str, str]:
        """``{asset: "amount"}``: strings, so no precision is lost on the way to disk."""
        return {f.token: str(f.amount) for f in self.flat_fees}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> TradeFee:
        for amount in data.values():
            if not isinstance(amount, str):  # a float would bring its binary error into money
                raise TypeError(f"a saved fee amount must be a string, got {amount!r}")
        return cls.from_pairs((token, Decimal(amount)) for token, amount in data.items())


ZERO_FEE = TradeFee()
