"""The mock's configuration: a typo is refused with its path, never silently ignored."""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import pytest
import yaml

from mock_exchange.binance.formatting import symbol_info
from mock_exchange.config import build_exchange, parse_config
from mock_exchange.engine import ConfigError, Exchange


@functools.cache
def _default() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("mock_exchange").joinpath("default_config.yaml").read_text()
    )
    return raw


def default() -> dict[str, Any]:
    return copy.deepcopy(_default())


def test_the_default_configuration_parses_and_builds() -> None:
    cfg = parse_config(default())
    assert [b.symbol for b in cfg.books] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]
    build_exchange(cfg, Exchange(lambda: 0))


@pytest.mark.parametrize("typo", ["level", "symbl", "price"])
def test_a_book_entry_refuses_unknown_keys_as_accounts_do(typo: str) -> None:
    raw = default()
    raw["books"][1][typo] = 3
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert str(e.value) == f"books[1].{typo}: unknown setting"
    raw = default()
    raw["accounts"][0]["balance"] = {}
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert str(e.value) == "accounts[0].balance: unknown setting"


def test_a_book_entry_with_every_key_is_accepted() -> None:
    raw = default()
    raw["books"] = [
        {
            "symbol": "BTCUSDT",
            "account": "market-maker",
            "mid": "100",
            "levels": 2,
            "spacing": "1",
            "quantity": "1",
        }
    ]
    [book] = parse_config(raw).books
    assert (book.levels, book.mid) == (2, 100 * 10**8)


def test_a_book_that_cannot_be_seeded_names_it_in_decimals() -> None:
    raw = default()
    raw["books"] = [
        {
            "symbol": "BTCUSDT",
            "account": "market-maker",
            "mid": "60000",
            "levels": 1,
            "spacing": "0.001",
            "quantity": "0.5",
        }
    ]
    with pytest.raises(ConfigError) as e:
        build_exchange(parse_config(raw), Exchange(lambda: 0))
    assert str(e.value) == (
        "books: cannot seed BTCUSDT BUY 0.5 @ 59999.999: -1013: Filter failure: PRICE_FILTER"
    )


def test_an_enforced_percent_price_filter_is_published_as_configured() -> None:
    raw = default()
    percent = {
        "filterType": "PERCENT_PRICE",
        "multiplierUp": "1.3000",
        "multiplierDown": "0.7000",
        "avgPriceMins": 5,
    }
    raw["symbols"][0]["filters"].append(percent)
    cfg = parse_config(raw)
    assert symbol_info(cfg.symbols[0])["filters"][-1] == percent
