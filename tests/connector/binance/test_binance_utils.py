"""exchangeInfo → trading rules and symbol map; the validity filter; client order ids;
endpoint presets."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import pytest

from connector.binance.binance_constants import CLIENT_ORDER_ID_RE, BinanceEndpoints
from connector.binance.binance_utils import (
    ClientOrderIdFactory,
    SymbolMapper,
    is_exchange_information_valid,
    parse_exchange_info,
    trading_rule_from_symbol,
    validate_client_order_id,
)
from connector.core.data_types import OrderType, TradeType

D = Decimal


def symbol(name: str = "ETHBTC", base: str = "ETH", quote: str = "BTC", **changes: Any) -> dict[str, Any]:
    """A symbol entry shaped like Binance's documented example."""
    entry: dict[str, Any] = {
        "symbol": name,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "quoteOrderQtyMarketAllowed": True,
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"], ["TRD_GRP_004"]],
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.00000100",
                "maxPrice": "100000.00000000",
                "tickSize": "0.00000100",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00100000",
                "maxQty": "100000.00000000",
                "stepSize": "0.00100000",
            },
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": "1000.00000000",
                "stepSize": "0.00000000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "0.00010000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
    }
    entry.update(changes)
    return entry


def info(*symbols: dict[str, Any]) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": 1565246363776,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": list(symbols),
    }


def test_trading_rule_from_documented_filters() -> None:
    rule = trading_rule_from_symbol(symbol())
    assert rule.trading_pair == "ETH-BTC"
    assert rule.min_price_increment == D("0.000001")
    assert (rule.min_price, rule.max_price) == (D("0.000001"), D("100000"))
    assert (rule.min_order_size, rule.max_order_size) == (D("0.001"), D("100000"))
    assert rule.min_base_amount_increment == D("0.001")
    assert (rule.min_market_order_size, rule.max_market_order_size) == (D(0), D("1000"))
    assert rule.market_amount_increment == D(0)
    assert rule.min_notional_size == D("0.0001") and rule.apply_min_notional_to_market
    assert rule.max_notional_size == D("9000000") and not rule.apply_max_notional_to_market
    assert rule.supports_limit_orders and rule.supports_limit_maker_orders and rule.supports_market_orders
    assert rule.supports_quote_market_orders
    assert rule.min_quote_amount_increment == D("0.00000001")


def test_zero_bounds_mean_unbounded() -> None:
    entry = symbol()
    entry["filters"][0] = {"filterType": "PRICE_FILTER", "minPrice": "0", "maxPrice": "0", "tickSize": "0"}
    rule = trading_rule_from_symbol(entry)
    assert (rule.min_price, rule.max_price, rule.min_price_increment) == (D(0), None, D(0))


def test_legacy_min_notional_filter() -> None:
    entry = symbol()
    entry["filters"][4] = {"filterType": "MIN_NOTIONAL", "minNotional": "10.0", "applyToMarket": False}
    rule = trading_rule_from_symbol(entry)
    assert rule.min_notional_size == D(10) and not rule.apply_min_notional_to_market
    assert rule.max_notional_size is None


def test_order_types_and_quote_orders_follow_the_symbol() -> None:
    rule = trading_rule_from_symbol(symbol(orderTypes=["LIMIT"], quoteOrderQtyMarketAllowed=False))
    assert rule.supports(OrderType.LIMIT)
    assert not rule.supports(OrderType.MARKET) and not rule.supports(OrderType.LIMIT_MAKER)
    assert not rule.supports_quote_market_orders


@pytest.mark.parametrize(
    ("changes", "valid"),
    [
        ({}, True),
        ({"status": "HALT"}, False),
        ({"status": "BREAK"}, False),
        ({"status": "CANCEL_ONLY"}, False),
        ({"permissionSets": [["MARGIN"]]}, False),
        ({"permissionSets": [["MARGIN"], ["SPOT"]]}, True),
        ({"permissionSets": [], "permissions": ["SPOT"]}, True),  # pre-2024 payload
        ({"permissionSets": [], "permissions": []}, False),
    ],
)
def test_validity_filter(changes: dict[str, Any], valid: bool) -> None:
    assert is_exchange_information_valid(symbol(**changes)) is valid


def test_parse_exchange_info_keeps_valid_symbols_only() -> None:
    parsed = parse_exchange_info(
        info(symbol(), symbol("BTCUSDT", "BTC", "USDT"), symbol("LTCBTC", "LTC", "BTC", status="BREAK"))
    )
    assert sorted(parsed.rules) == ["BTC-USDT", "ETH-BTC"]
    assert parsed.symbols["BTC-USDT"].symbol == "BTCUSDT"
    assert parsed.server_time_ms == 1565246363776
    assert parsed.errors == {}


def test_a_malformed_symbol_is_skipped_and_reported() -> None:
    """Template test 8: one bad rule never hides the others."""
    broken = symbol("BADBTC", "BAD", "BTC")
    broken["filters"][1] = {"filterType": "LOT_SIZE", "minQty": "abc", "maxQty": "1", "stepSize": "1"}
    missing = symbol("MISBTC", "MIS", "BTC")
    del missing["filters"][0]["tickSize"]
    parsed = parse_exchange_info(info(symbol(), broken, missing))
    assert list(parsed.rules) == ["ETH-BTC"]
    assert set(parsed.errors) == {"BADBTC", "MISBTC"}


def test_parse_exchange_info_refuses_a_payload_without_symbols() -> None:
    with pytest.raises(ValueError):
        parse_exchange_info({"code": -1000})


def test_symbol_mapper_updates_in_place() -> None:
    mapper = SymbolMapper()
    held = mapper.pair_by_symbol
    mapper.update(parse_exchange_info(info(symbol())).symbols.values())
    assert held == {"ETHBTC": "ETH-BTC"} and mapper.symbol("ETH-BTC") == "ETHBTC"
    assert mapper.trading_pair("ETHBTC") == "ETH-BTC"
    with pytest.raises(KeyError):
        mapper.symbol("NOPE-X")


def test_client_order_ids_are_valid_unique_and_prefixed() -> None:
    factory = ClientOrderIdFactory("x-BROKER01")
    ids = [factory.new_id(TradeType.BUY if i % 2 else TradeType.SELL, "BTC-USDT") for i in range(1000)]
    assert len(set(ids)) == len(ids)
    for client_id in ids:
        assert client_id.startswith("x-BROKER01")
        assert len(client_id) <= 36 and CLIENT_ORDER_ID_RE.match(client_id)
    assert re.match(r"^x-BROKER01[BS]BTCUSD[0-9a-f]+$", ids[0])


def test_long_asset_names_are_shortened_never_the_nonce() -> None:
    factory = ClientOrderIdFactory("x-" + "P" * 14)
    client_id = factory.new_id(TradeType.BUY, "LONGASSETNAME-ANOTHERLONGONE")
    assert len(client_id) <= 36 and validate_client_order_id(client_id)


@pytest.mark.parametrize(
    ("client_order_id", "valid"),
    [
        ("my-order_1", True),
        ("x" * 36, True),
        ("x" * 37, False),
        ("abc\n", False),
        ("a.b", False),
        ("", False),
    ],
)
def test_client_order_id_must_match_binance_whole(client_order_id: str, valid: bool) -> None:
    # "$" alone would accept a trailing newline; Binance refuses it with -1100.
    assert validate_client_order_id(client_order_id) is valid


@pytest.mark.parametrize("prefix", ["has space", "x" * 17, "é", "x\n"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        ClientOrderIdFactory(prefix)


def test_endpoint_presets() -> None:
    production = BinanceEndpoints.production()
    assert production.rest_url == "https://api.binance.com"
    assert production.stream_url == "wss://stream.binance.com:9443"
    assert production.ws_api_url == "wss://ws-api.binance.com:443/ws-api/v3"
    assert BinanceEndpoints.testnet().rest_url == "https://testnet.binance.vision"
    local = BinanceEndpoints.local("127.0.0.1", 8090)
    assert (local.rest_url, local.stream_url, local.ws_api_url) == (
        "http://127.0.0.1:8090",
        "ws://127.0.0.1:8090",
        "ws://127.0.0.1:8090/ws-api/v3",
    )
    assert BinanceEndpoints("http://h/", "ws://h/", "ws://h/x/").rest_url == "http://h"
    with pytest.raises(ValueError):
        BinanceEndpoints("api.binance.com", "ws://h", "ws://h")


def test_unchanged_input() -> None:
    entry = symbol()
    before = copy.deepcopy(entry)
    trading_rule_from_symbol(entry)
    assert entry == before


def test_client_order_id_nonces_come_from_the_injected_clock() -> None:
    """Microseconds on the connector's clock: a virtual clock gives the same ids every run,
    and ids stay strictly increasing when time stands still or steps back."""
    now = [1_780_000_000.1]
    factory = ClientOrderIdFactory("x-T", clock=lambda: now[0])
    first = factory.new_id(TradeType.BUY, "BTC-USDT")
    assert first == "x-TBBTCUSD" + format(1_780_000_000_100_000, "x")
    same_instant = factory.new_id(TradeType.SELL, "BTC-USDT")
    assert same_instant == "x-TSBTCUSD" + format(1_780_000_000_100_001, "x")
    now[0] = 1_779_999_999.0  # the clock stepped back
    assert factory.new_id(TradeType.BUY, "BTC-USDT").endswith(format(1_780_000_000_100_002, "x"))
    now[0] = 1_780_000_001.0
    assert factory.new_id(TradeType.BUY, "BTC-USDT").endswith(format(1_780_000_001_000_000, "x"))
    again = ClientOrderIdFactory("x-T", clock=lambda: 1_780_000_000.1)
    assert again.new_id(TradeType.BUY, "BTC-USDT") == first  # reproducible
