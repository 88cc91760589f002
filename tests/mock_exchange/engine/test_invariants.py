"""Property-based invariants of the engine, checked after every command.

- total supply of every asset is conserved (commissions go to the fee account);
- the book is never crossed after matching, and level totals match their orders;
- executed never exceeds ordered;
- locked equals what open orders need, and no balance is ever negative;
- update ids are one contiguous sequence per symbol;
- a refused command changes nothing.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_exchange.engine import (
    CancelRestriction,
    DepthUpdate,
    EngineError,
    Exchange,
    NewOrder,
    OrderType,
    Side,
    STPMode,
    TimeInForce,
    symbol_from_config,
)
from tests.mock_exchange.engine.world import BTCUSDT, T0, u

TYPES = [
    OrderType.LIMIT,
    OrderType.LIMIT,
    OrderType.LIMIT,
    OrderType.MARKET,
    OrderType.LIMIT_MAKER,
    OrderType.STOP_LOSS_LIMIT,
    OrderType.TAKE_PROFIT,
    OrderType.STOP_LOSS,
    OrderType.TAKE_PROFIT_LIMIT,
]


def build(seed: int) -> tuple[Exchange, list[int], list[int]]:
    clock = [T0]
    ex = Exchange(lambda: clock[0], seed=seed)
    cfg = dict(BTCUSDT)
    cfg["filters"] = [f for f in BTCUSDT["filters"] if f["filterType"] != "NOTIONAL"]
    ex.add_symbol(symbol_from_config(cfg))
    accounts = []
    for i in range(3):
        acct = ex.add_account(
            f"a{i}",
            maker_rate=u("0.001"),
            taker_rate=u("0.00075"),
            balances={"BTC": u("50"), "USDT": u("2500000")},
        )
        accounts.append(acct.account_id)
    return ex, accounts, clock


def random_command(rng: random.Random, ex: Exchange, accounts: list[int]) -> Any:
    acct = rng.choice(accounts)
    if rng.random() < 0.25:
        eng = ex.engine("BTCUSDT")
        mine = list(eng.open_by_account.get(acct, {}).values())
        if mine and rng.random() < 0.9:
            target = rng.choice(mine)
            restriction = rng.choice(
                [None, None, CancelRestriction.ONLY_NEW, CancelRestriction.ONLY_PARTIALLY_FILLED]
            )
            return ("cancel", acct, target.order_id, restriction)
        return ("cancel", acct, rng.randint(1, 500), None)
    otype = rng.choice(TYPES)
    side = rng.choice([Side.BUY, Side.SELL])
    price = u(str(rng.randint(49_900, 50_100)))
    qty = u("0.001") * rng.randint(1, 3000)
    kw: dict[str, Any] = {}
    if otype is OrderType.MARKET:
        if rng.random() < 0.3:
            kw["quote_order_qty"] = u(str(rng.randint(10, 20000)))
        else:
            kw["quantity"] = qty
    else:
        kw["quantity"] = qty
    if otype in (
        OrderType.LIMIT,
        OrderType.LIMIT_MAKER,
        OrderType.STOP_LOSS_LIMIT,
        OrderType.TAKE_PROFIT_LIMIT,
    ):
        kw["price"] = price
    if otype in (OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT):
        kw["time_in_force"] = rng.choice([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])
    if otype in (
        OrderType.STOP_LOSS,
        OrderType.STOP_LOSS_LIMIT,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_LIMIT,
    ):
        kw["stop_price"] = u(str(rng.randint(49_900, 50_100)))
    kw["self_trade_prevention_mode"] = rng.choice(list(STPMode))
    return ("place", NewOrder(acct, "BTCUSDT", side, otype, **kw))


def apply(ex: Exchange, cmd: Any) -> list[Any]:
    if cmd[0] == "cancel":
        _, acct, order_id, restriction = cmd
        return ex.cancel_order(acct, "BTCUSDT", order_id=order_id, restriction=restriction).events
    return ex.place_order(cmd[1]).events


def snapshot_state(ex: Exchange) -> Any:
    eng = ex.engine("BTCUSDT")
    return (
        {a.account_id: {k: list(v) for k, v in a.balances.items()} for a in ex.ledger.accounts.values()},
        eng.update_id,
        eng.next_order_id,
        eng.next_trade_id,
        len(eng.orders),
        len(eng.stops),
    )


def run(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    ex, accounts, clock = build(seed)
    supply = ex.total_supply()
    last_update_id = 0
    for _ in range(steps):
        clock[0] += rng.randint(0, 2_000_000)
        cmd = random_command(rng, ex, accounts)
        before = snapshot_state(ex)
        try:
            events = apply(ex, cmd)
        except EngineError:
            assert snapshot_state(ex) == before, f"a refused command changed state: {cmd}"
            continue
        for e in events:
            if isinstance(e, DepthUpdate):
                assert e.first_update_id == last_update_id + 1
                assert e.last_update_id >= e.first_update_id
                last_update_id = e.last_update_id
        assert ex.engine("BTCUSDT").update_id == last_update_id
        ex._check()
        assert ex.total_supply() == supply


def test_seeded_random_stress() -> None:
    for seed in range(4):
        run(seed, 600)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=120))
def test_invariants_hold_for_any_command_sequence(seed: int, steps: int) -> None:
    run(seed, steps)
