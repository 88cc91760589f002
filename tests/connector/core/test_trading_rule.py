"""TradingRule, quantisation, validation and fee estimates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.core.data_types import OrderType, TradeFee, TradeType
from connector.core.errors import InvalidOrder, InvalidOrderReason
from connector.core.trading_rule import (
    TradingRule,
    estimate_fee,
    quantize_amount,
    quantize_price,
    rule_for,
    validate_order,
)

D = Decimal
R = InvalidOrderReason

RULE = TradingRule(
    trading_pair="BTC-USDT",
    min_order_size=D("0.001"),
    max_order_size=D("100"),
    min_price_increment=D("0.01"),
    min_base_amount_increment=D("0.001"),
    min_notional_size=D("5"),
    max_notional_size=D("1000000"),
    min_market_order_size=D("0.002"),
    max_market_order_size=D("50"),
    market_amount_increment=D("0.002"),
    min_price=D("0.01"),
    max_price=D("1000000"),
)


def reason_of(
    order_type: OrderType,
    amount: str,
    price: str | None,
    *,
    rule: TradingRule = RULE,
    reference: str | None = None,
) -> InvalidOrderReason | None:
    try:
        validate_order(
            rule,
            order_type,
            TradeType.BUY,
            D(amount),
            None if price is None else D(price),
            reference_price=None if reference is None else D(reference),
        )
    except InvalidOrder as error:
        assert error.trading_pair == rule.trading_pair
        return error.reason
    return None


# -- quantisation ------------------------------------------------------------------------------


def test_amount_is_truncated_toward_zero_to_the_step() -> None:
    assert quantize_amount(RULE, D("1.23456")) == D("1.234")
    assert quantize_amount(RULE, D("0.0009")) == D("0")
    assert quantize_amount(RULE, D("2")) == D("2")


def test_market_amount_uses_both_steps() -> None:
    assert quantize_amount(RULE, D("1.2345"), OrderType.MARKET) == D("1.234")
    odd = TradingRule(
        trading_pair="X-Y",
        min_base_amount_increment=D("0.002"),
        market_amount_increment=D("0.003"),
    )
    assert odd.amount_increment(OrderType.MARKET) == D("0.006")
    assert quantize_amount(odd, D("0.0179"), OrderType.MARKET) == D("0.012")


def test_price_never_rounds_against_the_caller() -> None:
    assert quantize_price(RULE, D("100.129"), TradeType.BUY) == D("100.12")
    assert quantize_price(RULE, D("100.121"), TradeType.SELL) == D("100.13")
    assert quantize_price(RULE, D("100.12"), TradeType.SELL) == D("100.12")


def test_zero_increment_means_no_quantisation() -> None:
    free = TradingRule(trading_pair="X-Y")
    assert quantize_amount(free, D("1.23456789")) == D("1.23456789")
    assert quantize_price(free, D("1.23456789"), TradeType.BUY) == D("1.23456789")


def test_quantising_nan_is_a_typed_error() -> None:
    with pytest.raises(InvalidOrder) as raised:
        quantize_price(RULE, D("NaN"), TradeType.BUY)
    assert raised.value.reason is R.INVALID_PRICE
    with pytest.raises(InvalidOrder):
        quantize_amount(RULE, D("Infinity"))


@given(
    amount=st.decimals(min_value=0, max_value=10**6, places=8),
    step=st.sampled_from([D("1"), D("0.1"), D("0.001"), D("0.00000001"), D("0.5"), D("5")]),
)
def test_quantized_amount_is_the_largest_multiple_not_above(amount: Decimal, step: Decimal) -> None:
    rule = TradingRule(trading_pair="X-Y", min_base_amount_increment=step)
    q = quantize_amount(rule, amount)
    assert q <= amount < q + step
    assert q % step == 0


@given(
    price=st.decimals(min_value=D("0.01"), max_value=10**6, places=6),
    side=st.sampled_from(TradeType),
)
def test_quantized_price_is_on_tick_and_within_one_tick(price: Decimal, side: TradeType) -> None:
    q = quantize_price(RULE, price, side)
    assert q % RULE.min_price_increment == 0
    assert abs(q - price) < RULE.min_price_increment
    assert (q <= price) if side is TradeType.BUY else (q >= price)


# -- validation --------------------------------------------------------------------------------


def test_valid_orders_pass() -> None:
    assert reason_of(OrderType.LIMIT, "0.1", "100") is None
    assert reason_of(OrderType.LIMIT_MAKER, "0.1", "100") is None
    assert reason_of(OrderType.MARKET, "0.1", None, reference="100") is None


@pytest.mark.parametrize(
    ("order_type", "amount", "price", "reason"),
    [
        (OrderType.LIMIT, "0", "100", R.INVALID_AMOUNT),
        (OrderType.LIMIT, "-1", "100", R.INVALID_AMOUNT),
        (OrderType.LIMIT, "NaN", "100", R.INVALID_AMOUNT),
        (OrderType.LIMIT, "0.0015", "100", R.INSUFFICIENT_PRECISION),
        (OrderType.LIMIT, "101", "100", R.ABOVE_MAX_SIZE),
        # Past the default 28 digits of a Decimal quotient: once DivisionImpossible.
        (OrderType.LIMIT, "1E+24", "100", R.ABOVE_MAX_SIZE),
        (OrderType.LIMIT, "1.0000000000000000000000000001E+24", "100", R.INSUFFICIENT_PRECISION),
        (OrderType.LIMIT, "0.1", "1E+30", R.ABOVE_MAX_PRICE),
        (OrderType.LIMIT, "0.1", None, R.INVALID_PRICE),
        (OrderType.LIMIT, "0.1", "0", R.INVALID_PRICE),
        (OrderType.LIMIT, "0.1", "Infinity", R.INVALID_PRICE),
        (OrderType.LIMIT, "0.1", "100.005", R.INSUFFICIENT_PRECISION),
        (OrderType.LIMIT, "0.1", "1000000.01", R.ABOVE_MAX_PRICE),
        (OrderType.LIMIT, "0.01", "100", R.BELOW_MIN_NOTIONAL),
        (OrderType.LIMIT, "99", "999999", R.ABOVE_MAX_NOTIONAL),
        (OrderType.MARKET, "0.003", None, R.INSUFFICIENT_PRECISION),
        (OrderType.MARKET, "60", None, R.ABOVE_MAX_SIZE),
    ],
)
def test_each_rule_has_its_reason(
    order_type: OrderType, amount: str, price: str | None, reason: InvalidOrderReason
) -> None:
    assert reason_of(order_type, amount, price, reference="100") is reason


def test_below_min_size_and_min_price() -> None:
    rule = TradingRule(
        trading_pair="X-Y", min_order_size=D("1"), min_price=D("10"), min_market_order_size=D("2")
    )
    assert reason_of(OrderType.LIMIT, "0.5", "20", rule=rule) is R.BELOW_MIN_SIZE
    assert reason_of(OrderType.LIMIT, "1", "5", rule=rule) is R.BELOW_MIN_PRICE
    assert reason_of(OrderType.MARKET, "1.5", None, rule=rule) is R.BELOW_MIN_SIZE


def test_unsupported_order_types() -> None:
    rule = TradingRule(trading_pair="X-Y", supports_market_orders=False, supports_limit_maker_orders=False)
    assert reason_of(OrderType.MARKET, "1", None, rule=rule) is R.UNSUPPORTED_ORDER_TYPE
    assert reason_of(OrderType.LIMIT_MAKER, "1", "1", rule=rule) is R.UNSUPPORTED_ORDER_TYPE
    assert reason_of(OrderType.LIMIT, "1", "1", rule=rule) is None


@pytest.mark.parametrize("reference", ["NaN", "0", "-1", "Infinity"])
def test_market_order_with_an_unusable_reference_price(reference: str) -> None:
    # Hummingbot compared a NaN price from an empty book and raised outside its try block.
    assert reason_of(OrderType.MARKET, "0.1", None, reference=reference) is R.NO_REFERENCE_PRICE


def test_market_order_notional_is_left_to_the_exchange_without_its_average_price() -> None:
    # Tiny by any price: still not refused here, since only the exchange's average counts.
    assert reason_of(OrderType.MARKET, "0.002", None) is None
    assert reason_of(OrderType.MARKET, "0.002", None, reference="100") is R.BELOW_MIN_NOTIONAL


def test_market_notional_bounds_apply_only_when_configured() -> None:
    lenient = TradingRule(
        trading_pair="X-Y",
        min_notional_size=D("5"),
        max_notional_size=D("10"),
        apply_min_notional_to_market=False,
        apply_max_notional_to_market=False,
    )
    assert reason_of(OrderType.MARKET, "1000", None, rule=lenient) is None
    strict = TradingRule(trading_pair="X-Y", max_notional_size=D("10"), apply_max_notional_to_market=True)
    assert reason_of(OrderType.MARKET, "1", None, rule=strict, reference="11") is (R.ABOVE_MAX_NOTIONAL)
    assert reason_of(OrderType.MARKET, "0.01", None, rule=RULE, reference="100") is (R.BELOW_MIN_NOTIONAL)


def test_error_carries_the_value_and_the_limit() -> None:
    with pytest.raises(InvalidOrder) as raised:
        validate_order(RULE, OrderType.LIMIT, TradeType.SELL, D("101"), D("100"))
    assert raised.value.value == D("101") and raised.value.limit == D("100")
    assert "ABOVE_MAX_SIZE" in str(raised.value)


def test_rule_for_unknown_pair_is_a_typed_error() -> None:
    assert rule_for({"BTC-USDT": RULE}, "BTC-USDT") is RULE
    with pytest.raises(InvalidOrder) as raised:
        rule_for({"BTC-USDT": RULE}, "DOGE-USDT")
    assert raised.value.reason is R.UNKNOWN_TRADING_PAIR


def test_rule_refuses_floats_and_negatives() -> None:
    with pytest.raises(TypeError):
        TradingRule(trading_pair="X-Y", min_order_size=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TradingRule(trading_pair="X-Y", min_price_increment=D("-0.01"))
    with pytest.raises(TypeError):
        validate_order(RULE, OrderType.LIMIT, TradeType.BUY, 0.1, D("100"))  # type: ignore[arg-type]


# -- fees --------------------------------------------------------------------------------------


def test_fee_is_charged_in_the_received_asset() -> None:
    def fee(side: TradeType, is_maker: bool) -> TradeFee:
        return estimate_fee(
            D("0.001"),
            D("0.002"),
            trade_type=side,
            is_maker=is_maker,
            amount=D("2"),
            price=D("100"),
            base_asset="BTC",
            quote_asset="USDT",
        )

    assert fee(TradeType.BUY, True) == TradeFee.of("BTC", D("0.002"))
    assert fee(TradeType.SELL, False) == TradeFee.of("USDT", D("0.4"))
