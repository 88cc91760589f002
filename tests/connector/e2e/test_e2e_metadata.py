"""Metadata, symbols, trading rules and readiness (template tests 1, 3-8, 12)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from connector.binance import (
    BuyOrderCreated,
    NotReady,
    OrderCancelled,
    OrderState,
    OrderType,
    ReconciliationCompleted,
)
from connector.core.errors import ConfigurationError, InvalidOrder, InvalidOrderReason
from mock_exchange.engine import SymbolStatus
from tests.connector.e2e.support import (
    BTC,
    ETH,
    ETHBTC,
    SAFETY,
    Harness,
    harness_for,
    make_config,
    until,
)

D = Decimal

LTC_HALTED = {"symbol": "LTCUSDT", "baseAsset": "LTC", "quoteAsset": "USDT", "status": "HALT"}
XRP_MARGIN_ONLY = {
    "symbol": "XRPUSDT",
    "baseAsset": "XRP",
    "quoteAsset": "USDT",
    "permissionSets": [["MARGIN"]],
}


@pytest.fixture
async def extra_harness() -> AsyncIterator[Harness]:
    async for h in harness_for(make_config(extra_symbols=[LTC_HALTED, XRP_MARGIN_ONLY])):
        yield h


async def test_supported_order_types(harness: Harness) -> None:
    """Template 1."""
    exchange = harness.exchange()
    assert exchange.supported_order_types() == [OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.MARKET]


async def test_all_trading_pairs(harness: Harness) -> None:
    """Template 3: every TRADING spot symbol, as trading pairs."""
    exchange = harness.exchange()
    await exchange.start()
    assert await exchange.all_trading_pairs() == sorted([BTC, ETH, ETHBTC])


async def test_invalid_trading_pairs_are_not_listed(extra_harness: Harness) -> None:
    """Template 4: a halted symbol and a margin-only symbol are left out."""
    exchange = extra_harness.exchange()
    await exchange.start()
    pairs = await exchange.all_trading_pairs()
    assert "LTC-USDT" not in pairs and "XRP-USDT" not in pairs
    assert BTC in pairs


async def test_a_symbol_that_stops_trading_still_cancels_reports_and_streams(harness: Harness) -> None:
    """A symbol leaving TRADING (CANCEL_ONLY, BREAK...) gets no new orders, but its open
    orders can still be cancelled, its executions still arrive, and its book still syncs."""
    exchange, log = await harness.started()
    resting = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    other = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("58900"))
    await log.wait_for(BuyOrderCreated, resting)
    await log.wait_for(BuyOrderCreated, other)
    btc = harness.server.service.exchange.engine("BTCUSDT").cfg
    btc.status = SymbolStatus.CANCEL_ONLY
    await exchange.update_trading_rules()
    assert BTC not in exchange.trading_rules and BTC not in await exchange.all_trading_pairs()
    result = await exchange.cancel(BTC, resting)
    assert result.success and result.state is OrderState.CANCELED
    # Cancelled by the exchange or another session: the execution report is understood.
    harness.cancel_on_exchange(other)
    await log.wait_for(OrderCancelled, other)
    btc.status = SymbolStatus.BREAK
    await exchange.update_trading_rules()
    before = harness.market_connections()
    harness.close_market_streams()  # the new connection subscribes every pair's streams

    def resubscribed() -> bool:
        fresh = [sc for sc in harness.market_connections() if all(sc is not old for old in before)]
        return any(fresh) and any("btcusdt@depth@100ms" in sc.streams for sc in fresh)

    await until(resubscribed, what="a new market connection with BTCUSDT's depth stream")
    await until(
        lambda: exchange.is_order_book_synced(BTC) and exchange.is_order_book_synced(ETH),
        what="both books synced again",
    )


async def test_all_trading_pairs_does_not_raise(harness: Harness) -> None:
    """Template 5: exchangeInfo unavailable → an empty list, and the reason is reported."""
    harness.faults.fail("GET", "/api/v3/exchangeInfo", times=None)
    exchange = harness.exchange()
    await exchange.start()
    assert await exchange.all_trading_pairs() == []
    await until(
        lambda: "503" in exchange.not_ready_reasons.get("trading_rule_initialized", ""),
        what="the rules error in not_ready_reasons",
    )
    assert not exchange.ready


async def test_get_last_trade_prices(harness: Harness) -> None:
    """Template 6: last traded price over REST and from the trade stream."""
    exchange, _ = await harness.started()
    harness.mm_order("BTCUSDT", harness_side("BUY"), "0.1")  # takes the best ask
    assert await exchange.get_last_traded_prices([BTC]) == {BTC: D("60005")}
    await until(lambda: exchange.get_last_trade_price(BTC) == D("60005"), what="the trade on the stream")


async def test_update_trading_rules(harness: Harness) -> None:
    """Template 7: the rules are the exchange's filters."""
    exchange, _ = await harness.started()
    rule = exchange.trading_rules[BTC]
    assert rule.min_price_increment == D("0.01")
    assert rule.min_base_amount_increment == D("0.00001")
    assert (rule.min_order_size, rule.max_order_size) == (D("0.00001"), D("9000"))
    assert rule.max_market_order_size == D("100")
    assert rule.min_notional_size == D("5")
    assert rule.supports_quote_market_orders


async def test_update_trading_rules_ignores_rule_with_error(harness: Harness) -> None:
    """Template 8: a symbol whose filters cannot be parsed is skipped, the rest load, and a
    configured pair that has no rule is reported as not ready."""

    def corrupt_eth(body: Any) -> Any:
        for entry in body["symbols"]:
            if entry["symbol"] == "ETHUSDT":
                for f in entry["filters"]:
                    if f["filterType"] == "LOT_SIZE":
                        f["stepSize"] = "not-a-number"
        return body

    harness.faults.rewrite("GET", "/api/v3/exchangeInfo", corrupt_eth)
    exchange = harness.exchange()
    await exchange.start()
    await asyncio.wait_for(exchange.wait_until_order_book_synced(BTC), SAFETY)
    assert BTC in exchange.trading_rules and ETH not in exchange.trading_rules
    assert "ETH-USDT: not a valid trading pair" in exchange.not_ready_reasons["order_books_initialized"]


async def test_initial_status_dict(harness: Harness) -> None:
    """Template 12: before start nothing is ready, and each part says why."""
    exchange = harness.exchange()
    assert exchange.status_dict == {
        "symbols_mapping_initialized": False,
        "trading_rule_initialized": False,
        "order_books_initialized": False,
        "server_time_synchronized": False,
        "account_balance": False,
        "user_stream_initialized": False,
    }
    assert not exchange.ready
    reasons = exchange.not_ready_reasons
    assert set(reasons) == set(exchange.status_dict)
    assert all("not started" in reason for reason in reasons.values())


async def test_ready_after_start(harness: Harness) -> None:
    exchange, log = await harness.started()
    assert exchange.ready and all(exchange.status_dict.values())
    assert exchange.not_ready_reasons == {}
    assert exchange.get_balance("BTC") == D("1") and exchange.get_available_balance("USDT") == D("100000")
    await log.wait_for(ReconciliationCompleted)


async def test_market_data_only_connector(harness: Harness) -> None:
    """Without keys: books and rules only; trading is refused locally."""
    exchange, _ = await harness.started(api_key="", api_secret="", trading_required=False)
    assert set(exchange.status_dict) == {
        "symbols_mapping_initialized",
        "trading_rule_initialized",
        "order_books_initialized",
    }
    assert exchange.get_best_bid(BTC) == D("59995")
    with pytest.raises(NotReady):
        exchange.buy(BTC, D("0.001"), OrderType.MARKET)


async def test_trading_requires_keys(harness: Harness) -> None:
    with pytest.raises(ValueError, match="api_key"):
        harness.exchange(api_key="", api_secret="")


def harness_side(side: str) -> Any:
    from mock_exchange.engine import Side

    return Side(side)


async def test_a_connector_can_be_started_again(harness: Harness) -> None:
    exchange, _ = await harness.started()
    await exchange.stop()
    assert not exchange.ready and not exchange.is_order_book_synced(BTC)  # stale after a stop
    assert exchange.get_best_bid(BTC) is None
    assert all("not started" in r for r in exchange.not_ready_reasons.values())
    await exchange.start()
    await asyncio.wait_for(exchange.wait_until_ready(), SAFETY)
    assert exchange.get_best_ask(BTC) == D("60005")


# -- misuse of the public API (found by an audit): typed errors at once, never a hang ----------


@pytest.mark.parametrize(
    "overrides",
    [
        {"trading_pairs": "BTC-USDT"},  # a string: it was split into ('B', 'T', 'C', ...)
        {"trading_pairs": ["BTCUSDT"]},  # accepted, then never ready
        {"trading_pairs": ["BTC-USDT", ""]},
        {"trading_pairs": ["BTC-USDT-X"]},
        {"request_timeout_s": -1},  # every request failed "no answer within -1 s"
        {"order_request_timeout_s": 0},
        {"heartbeat_s": float("nan")},
        {"api_key": 123},  # the loops crashed over and over on a TypeError
    ],
)
def test_a_misconfigured_connector_is_refused_at_construction(harness: Harness, overrides: Any) -> None:
    with pytest.raises(ConfigurationError):
        harness.exchange(**overrides)


async def test_book_and_price_queries_before_start_say_not_ready(harness: Harness) -> None:
    exchange = harness.exchange()
    with pytest.raises(NotReady):
        exchange.get_order_book(BTC)  # a bare KeyError for a configured pair
    with pytest.raises(NotReady):
        await exchange.get_last_traded_prices([BTC])
    await exchange.start()
    await exchange.wait_until_ready()
    with pytest.raises(KeyError, match="FOO-BAR is not a trading pair of the exchange"):
        await exchange.get_last_traded_prices(["FOO-BAR"])
    with pytest.raises(KeyError):
        exchange.get_order_book("FOO-BAR")  # untracked: documented KeyError


async def test_wrongly_typed_arguments_are_named(harness: Harness) -> None:
    exchange, _ = await harness.started()
    with pytest.raises(TypeError, match="client_order_id must be a str"):
        exchange.buy(BTC, Decimal("0.01"), OrderType.LIMIT, Decimal("59000"), client_order_id=123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timeout_s must be a number"):
        await exchange.cancel_all(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        await exchange.cancel_all(float("nan"))
    assert exchange.in_flight_orders == {}


async def test_a_tiny_quote_amount_is_below_the_minimum_not_non_positive(harness: Harness) -> None:
    exchange, _ = await harness.started()
    with pytest.raises(InvalidOrder) as tiny:
        exchange.buy(BTC, order_type=OrderType.MARKET, quote_amount=Decimal("1e-30"))
    assert tiny.value.reason is InvalidOrderReason.BELOW_MIN_NOTIONAL, tiny.value  # "is not positive"
    with pytest.raises(InvalidOrder) as negative:
        exchange.buy(BTC, order_type=OrderType.MARKET, quote_amount=Decimal("-1"))
    assert negative.value.reason is InvalidOrderReason.INVALID_AMOUNT
