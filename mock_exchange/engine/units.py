"""Fixed-point amounts: every price, quantity and balance is an ``int`` of 10**-8 units.

Binance Spot carries every asset and every symbol at eight decimal places
(``baseAssetPrecision`` / ``quoteAssetPrecision`` are 8 on every listed symbol), and its
matching engine works in fixed point. Doing the same here makes the engine exact without
``Decimal`` on the hot path: ``1.5`` BTC is ``150_000_000`` units.

Products of two amounts (price x quantity) are computed as ``a * b // SCALE``, which
truncates toward zero. For the prices and steps real symbols use, the product has at most
eight decimals and the division is exact; for exotic configurations truncation is the
documented behaviour, and it is conservative for locked funds (see ``accounts``).
"""

from __future__ import annotations

import re
from decimal import Decimal

DECIMALS = 8
SCALE: int = 10**DECIMALS

# What Binance accepts for decimal parameters (``-1100`` quotes this range in real replies).
DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")


class TooMuchPrecision(ValueError):
    """The value has non-zero digits beyond eight decimal places."""


def parse_units(text: str) -> int:
    """Parse a non-negative decimal string such as ``"0.00100000"`` into units.

    Raises ``ValueError`` if ``text`` is not a plain decimal and ``TooMuchPrecision`` if it
    has significant digits past the eighth decimal place. Trailing zeros are fine.

    >>> parse_units("1.5")
    150000000
    >>> parse_units("0.000000010")
    1
    """
    m = DECIMAL_RE.fullmatch(text)
    if m is None:
        raise ValueError(text)
    whole: str = m.group(1)
    frac: str | None = m.group(2)
    if frac is None:
        return int(whole) * SCALE
    digits = frac[1:]
    if len(digits) > DECIMALS:
        if digits[DECIMALS:].strip("0"):
            raise TooMuchPrecision(text)
        digits = digits[:DECIMALS]
    return int(whole) * SCALE + int(digits.ljust(DECIMALS, "0"))


def format_units(value: int, decimals: int = DECIMALS) -> str:
    """Format units as Binance does: fixed decimals, zero is ``"0.00000000"``.

    >>> format_units(150000000)
    '1.50000000'
    >>> format_units(0)
    '0.00000000'
    >>> format_units(-5)
    '-0.00000005'
    """
    # String slicing beats divmod + format on the stream hot path (about 2x).
    if value >= SCALE:
        s = str(value)
        text = s[:-DECIMALS] + "." + s[-DECIMALS:]
    elif value >= 0:
        text = "0." + str(value).zfill(DECIMALS)
    else:
        return "-" + format_units(-value, decimals)
    if decimals == DECIMALS:
        return text
    if decimals == 0:
        return text[: -DECIMALS - 1]
    return text[: decimals - DECIMALS]


def to_units(value: Decimal | int | str) -> int:
    """Convert a ``Decimal`` (or int, or decimal string) into units, exactly."""
    d = value if isinstance(value, Decimal) else Decimal(value)
    scaled = d * SCALE
    if scaled != scaled.to_integral_value():
        raise TooMuchPrecision(str(value))
    return int(scaled)  # exact: checked integral above


def to_decimal(units: int) -> Decimal:
    """Convert units back to a ``Decimal`` with eight decimal places."""
    return Decimal(units).scaleb(-DECIMALS)


def mul(a: int, b: int) -> int:
    """Product of two amounts, truncated to units (e.g. price x quantity = quote amount)."""
    return a * b // SCALE
