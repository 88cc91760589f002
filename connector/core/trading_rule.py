"""``TradingRule``: a symbol's order rules, and pure functions to quantise and check orders.

Orders are checked *before* anything is sent, with a typed ``InvalidOrder`` naming the broken
rule (Hummingbot started tracking first and turned validation errors into FAILED events,
and a NaN reference price escaped its ``try`` entirely; study 2.1).

Binance's checks are "multiple of the step, counted from 0" (``price % tickSize == 0``,
``quantity % stepSize == 0``), and a bound of 0 disables it. Here an increment of 0 means "no
constraint" and a maximum of ``None`` means "unbounded"; the Binance layer turns
``exchangeInfo`` filters into a ``TradingRule`` (not this module's job).

The intended pipeline is ``quantize_*`` then ``validate_order``: quantising never makes an
order invalid in a way validation would not report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal, localcontext

from .data_types import ZERO, OrderType, TokenAmount, TradeFee, TradeType, check_decimal
from .errors import InvalidOrder, InvalidOrderReason


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingRule:
    """What one trading pair accepts. Amounts are base units, notionals quote units.

    ``min_market_order_size``/``max_market_order_size``/``market_amount_increment`` are
    Binance's ``MARKET_LOT_SIZE``: MARKET orders must satisfy them *as well as* the
    ``LOT_SIZE`` values (``min_order_size``/``max_order_size``/``min_base_amount_increment``).
    """

    trading_pair: str
    min_order_size: Decimal = ZERO
    max_order_size: Decimal | None = None
    min_price_increment: Decimal = ZERO
    min_base_amount_increment: Decimal = ZERO
    min_quote_amount_increment: Decimal = ZERO
    min_notional_size: Decimal = ZERO
    max_notional_size: Decimal | None = None
    apply_min_notional_to_market: bool = True
    apply_max_notional_to_market: bool = False
    min_market_order_size: Decimal = ZERO
    max_market_order_size: Decimal | None = None
    market_amount_increment: Decimal = ZERO
    min_price: Decimal = ZERO
    max_price: Decimal | None = None
    supports_limit_orders: bool = True
    supports_limit_maker_orders: bool = True
    supports_market_orders: bool = True
    supports_quote_market_orders: bool = False
    #: Binance's MAX_NUM_ORDERS: open orders the account may have on the pair (None: no limit).
    max_num_orders: int | None = None

    def __post_init__(self) -> None:
        if not self.trading_pair:
            raise ValueError("trading_pair must not be empty")
        for name in _DECIMAL_FIELDS:
            value = getattr(self, name)
            if value is None or isinstance(value, bool | str):
                continue
            check_decimal(value, f"{self.trading_pair} {name}")  # refuses floats too
        limit = self.max_num_orders
        if (
            limit is not None
            and not isinstance(limit, bool | str)
            and (not isinstance(limit, int) or limit < 1)
        ):
            raise ValueError(f"{self.trading_pair} max_num_orders must be a positive int, got {limit!r}")

    def supports(self, order_type: OrderType) -> bool:
        if order_type is OrderType.LIMIT:
            return self.supports_limit_orders
        if order_type is OrderType.LIMIT_MAKER:
            return self.supports_limit_maker_orders
        return self.supports_market_orders

    def amount_increment(self, order_type: OrderType) -> Decimal:
        """The step an amount must be a multiple of (both LOT_SIZE and, for MARKET,
        MARKET_LOT_SIZE: their least common multiple)."""
        step = self.min_base_amount_increment
        if order_type is OrderType.MARKET:
            step = _lcm(step, self.market_amount_increment)
        return step


#: The amount and price fields (``Decimal``, some optional), checked on construction.
_DECIMAL_FIELDS = tuple(f.name for f in fields(TradingRule) if "Decimal" in str(f.type))


def _lcm(a: Decimal, b: Decimal) -> Decimal:
    if a == 0:
        return b
    if b == 0 or a == b:
        return a
    exponent = min(int(a.as_tuple().exponent), int(b.as_tuple().exponent), 0)
    scale = Decimal(10) ** -exponent
    ia, ib = int(a * scale), int(b * scale)
    return Decimal(math.lcm(ia, ib)) / scale


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    if step == 0:
        return True
    with localcontext() as ctx:
        # ``%`` needs the whole integer quotient: 1E+24 % 0.00001 is past the default
        # 28 digits and would raise DivisionImpossible instead of answering.
        ctx.prec = max(ctx.prec, value.adjusted() - step.adjusted() + 2)
        return value % step == 0


def _require_finite(value: object, reason: InvalidOrderReason, what: str, pair: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise InvalidOrder(reason, f"{what} is {value}", trading_pair=pair, value=value)
    return value


def quantize_price(rule: TradingRule, price: Decimal, side: TradeType) -> Decimal:
    """Round ``price`` to a multiple of the tick size, never to a worse price for the caller:
    down for a BUY, up for a SELL. (Truncating a SELL would sell cheaper than asked.)"""
    _require_finite(price, InvalidOrderReason.INVALID_PRICE, "price", rule.trading_pair)
    tick = rule.min_price_increment
    if tick == 0:
        return price
    rounding = ROUND_FLOOR if side is TradeType.BUY else ROUND_CEILING
    return (price / tick).to_integral_value(rounding=rounding) * tick


def quantize_amount(rule: TradingRule, amount: Decimal, order_type: OrderType = OrderType.LIMIT) -> Decimal:
    """Truncate ``amount`` toward zero to a multiple of the step (counted from 0, as Binance
    checks it). Never rounds up: that could exceed the caller's balance or intent."""
    _require_finite(amount, InvalidOrderReason.INVALID_AMOUNT, "amount", rule.trading_pair)
    step = rule.amount_increment(order_type)
    if step == 0:
        return amount
    return (amount / step).to_integral_value(rounding=ROUND_DOWN) * step


def validate_order(
    rule: TradingRule,
    order_type: OrderType,
    side: TradeType,
    amount: Decimal,
    price: Decimal | None,
    *,
    reference_price: Decimal | None = None,
) -> None:
    """Raise ``InvalidOrder`` if the exchange would refuse this order; return None if not.

    ``price`` is required for LIMIT and LIMIT_MAKER and ignored for MARKET. The exchange
    judges a MARKET order's notional by its own average price over the filter's
    ``avgPriceMins``; give that as ``reference_price`` to check it here. Without one the
    notional bounds are left to the exchange: an estimate (the best opposite price, the
    last trade) would refuse orders the exchange accepts whenever the book strays from the
    average. A reference that is NaN, infinite or not positive raises
    ``NO_REFERENCE_PRICE`` (never a ``decimal.InvalidOperation`` from a NaN comparison).
    ``side`` is accepted for symmetry with the exchange's own checks (percent-price filters
    are side-dependent); the rules modelled here are not.
    """
    pair = rule.trading_pair
    order_type = OrderType(order_type)
    TradeType(side)
    if not rule.supports(order_type):
        raise InvalidOrder(
            InvalidOrderReason.UNSUPPORTED_ORDER_TYPE,
            f"{order_type} orders are not supported",
            trading_pair=pair,
        )

    amount = _require_finite(amount, InvalidOrderReason.INVALID_AMOUNT, "amount", pair)
    if amount <= 0:
        raise InvalidOrder(
            InvalidOrderReason.INVALID_AMOUNT,
            f"amount must be positive, got {amount}",
            trading_pair=pair,
            value=amount,
        )
    _check_amount(rule, order_type, amount)

    notional_price: Decimal | None
    if order_type.is_limit_type:
        if price is None:
            raise InvalidOrder(
                InvalidOrderReason.INVALID_PRICE,
                f"{order_type} orders need a price",
                trading_pair=pair,
            )
        price = _require_finite(price, InvalidOrderReason.INVALID_PRICE, "price", pair)
        _check_price(rule, price)
        notional_price = price
    else:
        needs_reference = (rule.apply_min_notional_to_market and rule.min_notional_size > 0) or (
            rule.apply_max_notional_to_market and rule.max_notional_size is not None
        )
        if not needs_reference or reference_price is None:
            return
        if not reference_price.is_finite() or reference_price <= 0:
            raise InvalidOrder(
                InvalidOrderReason.NO_REFERENCE_PRICE,
                f"no usable reference price ({reference_price}) for the market order's notional",
                trading_pair=pair,
                value=reference_price,
            )
        notional_price = reference_price
    _check_notional(rule, order_type, amount * notional_price)


def _check_amount(rule: TradingRule, order_type: OrderType, amount: Decimal) -> None:
    pair = rule.trading_pair
    step = rule.amount_increment(order_type)
    if not _is_multiple(amount, step):
        raise InvalidOrder(
            InvalidOrderReason.INSUFFICIENT_PRECISION,
            f"amount {amount} is not a multiple of {step}",
            trading_pair=pair,
            value=amount,
            limit=step,
        )
    bounds = [(rule.min_order_size, rule.max_order_size)]
    if order_type is OrderType.MARKET:
        bounds.append((rule.min_market_order_size, rule.max_market_order_size))
    for low, high in bounds:
        if amount < low:
            raise InvalidOrder(
                InvalidOrderReason.BELOW_MIN_SIZE,
                f"amount {amount} is below the minimum {low}",
                trading_pair=pair,
                value=amount,
                limit=low,
            )
        if high is not None and amount > high:
            raise InvalidOrder(
                InvalidOrderReason.ABOVE_MAX_SIZE,
                f"amount {amount} is above the maximum {high}",
                trading_pair=pair,
                value=amount,
                limit=high,
            )


def _check_price(rule: TradingRule, price: Decimal) -> None:
    pair = rule.trading_pair
    if price <= 0:
        raise InvalidOrder(
            InvalidOrderReason.INVALID_PRICE,
            f"price must be positive, got {price}",
            trading_pair=pair,
            value=price,
        )
    if price < rule.min_price:
        raise InvalidOrder(
            InvalidOrderReason.BELOW_MIN_PRICE,
            f"price {price} is below the minimum {rule.min_price}",
            trading_pair=pair,
            value=price,
            limit=rule.min_price,
        )
    if rule.max_price is not None and price > rule.max_price:
        raise InvalidOrder(
            InvalidOrderReason.ABOVE_MAX_PRICE,
            f"price {price} is above the maximum {rule.max_price}",
            trading_pair=pair,
            value=price,
            limit=rule.max_price,
        )
    if not _is_multiple(price, rule.min_price_increment):
        raise InvalidOrder(
            InvalidOrderReason.INSUFFICIENT_PRECISION,
            f"price {price} is not a multiple of {rule.min_price_increment}",
            trading_pair=pair,
            value=price,
            limit=rule.min_price_increment,
        )


def _check_notional(rule: TradingRule, order_type: OrderType, notional: Decimal) -> None:
    pair = rule.trading_pair
    is_market = order_type is OrderType.MARKET
    if (not is_market or rule.apply_min_notional_to_market) and notional < rule.min_notional_size:
        raise InvalidOrder(
            InvalidOrderReason.BELOW_MIN_NOTIONAL,
            f"notional {notional} is below the minimum {rule.min_notional_size}",
            trading_pair=pair,
            value=notional,
            limit=rule.min_notional_size,
        )
    high = rule.max_notional_size
    applies = not is_market or rule.apply_max_notional_to_market
    if high is not None and applies and notional > high:
        raise InvalidOrder(
            InvalidOrderReason.ABOVE_MAX_NOTIONAL,
            f"notional {notional} is above the maximum {high}",
            trading_pair=pair,
            value=notional,
            limit=high,
        )


def rule_for(rules: Mapping[str, TradingRule], trading_pair: str) -> TradingRule:
    """Look up a pair's rule, or raise ``InvalidOrder(UNKNOWN_TRADING_PAIR)`` (Hummingbot
    raised a bare ``KeyError`` after handing the caller an order id)."""
    try:
        return rules[trading_pair]
    except KeyError:
        raise InvalidOrder(
            InvalidOrderReason.UNKNOWN_TRADING_PAIR,
            f"no trading rule for {trading_pair!r}",
            trading_pair=trading_pair,
        ) from None


def estimate_fee(
    maker_rate: Decimal,
    taker_rate: Decimal,
    *,
    trade_type: TradeType,
    is_maker: bool,
    amount: Decimal,
    price: Decimal,
    base_asset: str,
    quote_asset: str,
) -> TradeFee:
    """Estimate the commission of a fill of ``amount`` at ``price``.

    Binance charges commission in the asset received: the base asset on a BUY
    (``amount * rate``), the quote asset on a SELL (``amount * price * rate``). A BNB-discount
    account pays in BNB instead; that needs a BNB price and is not estimated here.
    """
    rate = check_decimal(maker_rate if is_maker else taker_rate, "fee rate")
    check_decimal(amount, "amount")
    check_decimal(price, "price")
    if trade_type is TradeType.BUY:
        return TradeFee((TokenAmount(base_asset, amount * rate),))
    return TradeFee((TokenAmount(quote_asset, amount * price * rate),))
