"""A small trading world for engine tests: one symbol, a fake clock, funded accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from mock_exchange.engine import (
    Account,
    Event,
    Exchange,
    ExecutionReport,
    NewOrder,
    OrderType,
    PlaceResult,
    Side,
    STPMode,
    TimeInForce,
    symbol_from_config,
)
from mock_exchange.engine.units import parse_units

T0 = 1_700_000_000_000_000  # microseconds


def u(text: str) -> int:
    return parse_units(text)


BTCUSDT: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0", "maxQty": "100", "stepSize": "0"},
        {
            "filterType": "NOTIONAL",
            "minNotional": "5",
            "applyMinToMarket": True,
            "maxNotional": "9000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
    ],
}


@dataclass
class World:
    ex: Exchange
    clock: list[int]
    accounts: dict[str, Account] = field(default_factory=dict)
    symbol: str = "BTCUSDT"

    def acct(self, name: str) -> int:
        return self.accounts[name].account_id

    def limit(
        self,
        who: str,
        side: str,
        qty: str,
        price: str,
        tif: str = "GTC",
        cid: str | None = None,
        stp: str | None = None,
    ) -> PlaceResult:
        return self.ex.place_order(
            NewOrder(
                self.acct(who),
                self.symbol,
                Side(side),
                OrderType.LIMIT,
                quantity=u(qty),
                price=u(price),
                time_in_force=TimeInForce(tif),
                new_client_order_id=cid,
                self_trade_prevention_mode=STPMode(stp) if stp else None,
            )
        )

    def market(
        self, who: str, side: str, qty: str | None = None, quote: str | None = None, stp: str | None = None
    ) -> PlaceResult:
        return self.ex.place_order(
            NewOrder(
                self.acct(who),
                self.symbol,
                Side(side),
                OrderType.MARKET,
                quantity=u(qty) if qty else None,
                quote_order_qty=u(quote) if quote else None,
                self_trade_prevention_mode=STPMode(stp) if stp else None,
            )
        )

    def place(self, who: str, **kw: Any) -> PlaceResult:
        return self.ex.place_order(NewOrder(self.acct(who), self.symbol, **kw))

    def free(self, who: str, asset: str) -> int:
        return self.accounts[who].free(asset)

    def locked(self, who: str, asset: str) -> int:
        return self.accounts[who].locked(asset)

    def tick(self, us: int = 1_000) -> None:
        self.clock[0] += us


def reports(events: list[Event], order_id: int | None = None) -> list[ExecutionReport]:
    return [
        e
        for e in events
        if isinstance(e, ExecutionReport) and (order_id is None or e.order.order_id == order_id)
    ]


@pytest.fixture
def world() -> World:
    return make_world()


def make_world() -> World:
    """A fresh exchange with BTCUSDT and three funded accounts (the ``world`` fixture)."""
    clock = [T0]
    ex = Exchange(lambda: clock[0], seed=7)
    ex.add_symbol(symbol_from_config(BTCUSDT))
    w = World(ex, clock)
    for name in ("alice", "bob", "carol"):
        w.accounts[name] = ex.add_account(
            name,
            maker_rate=u("0.001"),
            taker_rate=u("0.002"),
            balances={"BTC": u("100"), "USDT": u("10000000")},
        )
    return w
