"""Engine throughput on a mixed workload, beside a minimal reference matcher.

Workload (seeded, generated up front, not timed): 70 % passive limit adds, 20 % cancels of
resting orders, 10 % limit orders that cross 1-3 price levels. Every matcher replays the
same operations. The reference matcher is the smallest thing that can do the job: a
SortedDict of price levels with a deque each, no accounts, no rules, no events. It runs
twice: with ``Decimal`` prices and quantities, the closer match to the issue's description
(it quotes about 340,000 ops/s on the project's machine; this variant measured 283,000 to
541,000 there on 2026-11-29), and with integers in the engine's units, which is about 1.5
to 2 times as fast. The engine
does everything it does in production: filters, balances and locks, commissions, STP
checks, update ids, execution reports, trades and depth events.

A third matcher, the floor, is the reference plus only the least work an engine meeting
the issue must do (filter checks, balance locks and moves with commission, order records,
one tuple per report, trade and depth change; see ``FloorMatcher``). It is checked to
leave the reference's book, and shows how much of the gap is the work itself rather
than how the engine does it.

Method: warm-up run, then 5 timed repeats on fresh state; the median and minimum are
printed. Target (issue #2): engine >= 0.5x the reference matcher; the ratio is printed
against both variants.

    python bench/bench_engine.py [--ops N]

The REST round trips are measured by bench_rest.py (``python3 dev.py bench`` runs both).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sortedcontainers import SortedDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mock_exchange.engine import (
    Exchange,
    NewOrder,
    OrderType,
    Side,
    TimeInForce,
    symbol_from_config,
)
from mock_exchange.engine.units import SCALE

TICK = SCALE // 100  # 0.01
STEP = SCALE // 100_000  # 0.00001
MID = 50_000 * SCALE

# One op: ("add", idx, is_buy, price, qty) | ("cancel", idx) | ("cross", idx, is_buy, price, qty)
Op = tuple
#: Prices and quantities: integers in the engine's units, or ``Decimal`` (see ``as_decimal``).
Amount = int | Decimal


class ReferenceMatcher:
    """Price levels in a SortedDict, a deque of [order_id, qty] per level. Nothing else."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()  # -price -> deque
        self.asks: SortedDict = SortedDict()
        self.where: dict[int, tuple[bool, Amount, list[Amount]]] = {}

    def add(self, oid: int, is_buy: bool, price: Amount, qty: Amount) -> None:
        book, key = (self.bids, -price) if is_buy else (self.asks, price)
        level = book.get(key)
        if level is None:
            level = book[key] = deque()
        entry: list[Amount] = [oid, qty]
        level.append(entry)
        self.where[oid] = (is_buy, price, entry)

    def cancel(self, oid: int) -> None:
        found = self.where.pop(oid, None)
        if found is None:
            return
        is_buy, price, entry = found
        book, key = (self.bids, -price) if is_buy else (self.asks, price)
        level = book[key]
        level.remove(entry)
        if not level:
            del book[key]

    def cross(self, oid: int, is_buy: bool, price: Amount, qty: Amount) -> None:
        book = self.asks if is_buy else self.bids
        while qty and book:
            key, level = book.peekitem(0)
            lvl_price = key if is_buy else -key
            if (is_buy and lvl_price > price) or (not is_buy and lvl_price < price):
                break
            while qty and level:
                entry = level[0]
                take = min(qty, entry[1])
                entry[1] -= take
                qty -= take
                if entry[1] == 0:
                    level.popleft()
                    del self.where[entry[0]]
            if not level:
                del book[key]
        if qty:
            self.add(oid, is_buy, price, qty)


class FloorMatcher:
    """The reference matcher plus the least that an engine meeting issue #2 must do.

    Per command: the tick, step and minimum-notional checks; a balance check and lock;
    an order record that outlives the book; one report per order change, one trade record
    per fill and one depth change per level touched (as tuples). Per fill: both sides'
    funds move and both pay commission. Nothing else: no client ids or order lookups by
    account, no STP, no clock or update-id ranges, no market data beyond the trade list,
    no fee account, no typed events. It bounds from above what a full engine written in
    this style could reach on this workload.
    """

    def __init__(self, accounts: int = 4, fee_rate: int = SCALE // 1000) -> None:
        self.bids: SortedDict = SortedDict()  # -price -> [deque of orders, total]
        self.asks: SortedDict = SortedDict()
        self.where: dict[int, list[int]] = {}
        self.orders: list[list[int]] = []
        self.trades: list[tuple[int, ...]] = []
        # per account: [base free, base locked, quote free, quote locked]
        self.balances = [[10**9 * SCALE, 0, 10**13 * SCALE, 0] for _ in range(accounts)]
        self.fee_rate = fee_rate
        self.update_id = self.trade_id = 0

    def _accept(self, oid: int, is_buy: bool, price: int, qty: int) -> tuple[list[int], list[int]]:
        """Check and lock; the new order record ([id, account, buy, price, qty, executed,
        locked]) and its account's balances."""
        if price % TICK or qty % STEP or price * qty // SCALE < 5 * SCALE:
            raise ValueError("filter failure")
        bal = self.balances[oid % len(self.balances)]
        held = 2 if is_buy else 0
        lock = price * qty // SCALE if is_buy else qty
        if bal[held] < lock:
            raise ValueError("insufficient balance")
        bal[held] -= lock
        bal[held + 1] += lock
        order = [oid, oid % len(self.balances), is_buy, price, qty, 0, lock]
        self.orders.append(order)
        return order, bal

    def _rest(self, order: list[int], qty: int, events: list[tuple]) -> None:
        book, key = (self.bids, -order[3]) if order[2] else (self.asks, order[3])
        level = book.get(key)
        if level is None:
            level = book[key] = [deque(), 0]
        level[0].append(order)
        level[1] += qty
        self.where[order[0]] = order
        self.update_id += 1
        events.append(("depth", self.update_id, order[3], level[1]))

    def add(self, oid: int, is_buy: bool, price: int, qty: int) -> list[tuple]:
        order, bal = self._accept(oid, is_buy, price, qty)
        events: list[tuple] = [("new", oid)]
        self._rest(order, qty, events)
        events.append(("balances", order[1], *bal))
        return events

    def cancel(self, oid: int) -> list[tuple]:
        order = self.where.pop(oid)
        book, key = (self.bids, -order[3]) if order[2] else (self.asks, order[3])
        level = book[key]
        level[0].remove(order)
        level[1] -= order[4] - order[5]
        if not level[0]:
            del book[key]
        bal = self.balances[order[1]]
        held = 2 if order[2] else 0
        bal[held] += order[6]
        bal[held + 1] -= order[6]
        order[6] = 0
        self.update_id += 1
        return [
            ("canceled", oid, order[5]),
            ("depth", self.update_id, order[3], level[1]),
            ("balances", order[1], *bal),
        ]

    def cross(self, oid: int, is_buy: bool, price: int, qty: int) -> list[tuple]:
        taker, bal = self._accept(oid, is_buy, price, qty)
        events: list[tuple] = [("new", oid)]
        book = self.asks if is_buy else self.bids
        balances, rate = self.balances, self.fee_rate
        left = qty
        while left and book:
            key, level = book.peekitem(0)
            at = key if is_buy else -key
            if (is_buy and at > price) or (not is_buy and at < price):
                break
            queue = level[0]
            while left and queue:
                maker = queue[0]
                take = min(left, maker[4] - maker[5])
                quote = at * take // SCALE
                maker[5] += take
                taker[5] += take
                left -= take
                level[1] -= take
                mbal = balances[maker[1]]
                base_fee, quote_fee = take * rate // SCALE, quote * rate // SCALE
                if is_buy:
                    bal[3] -= quote
                    taker[6] -= quote
                    bal[0] += take - base_fee
                    mbal[1] -= take
                    maker[6] -= take
                    mbal[2] += quote - quote_fee
                else:
                    bal[1] -= take
                    taker[6] -= take
                    bal[2] += quote - quote_fee
                    mbal[3] -= quote
                    maker[6] -= quote
                    mbal[0] += take - base_fee
                self.trade_id += 1
                trade = (self.trade_id, at, take, quote, taker[0], maker[0])
                self.trades.append(trade)
                if maker[4] == maker[5]:
                    queue.popleft()
                    del self.where[maker[0]]
                events.append(trade)
                events.append(("trade", maker[0], maker[5], take, at))
                events.append(("trade", taker[0], taker[5], take, at))
                events.append(("balances", maker[1], *mbal))
            self.update_id += 1
            events.append(("depth", self.update_id, at, level[1]))
            if not queue:
                del book[key]
        if left:
            self._rest(taker, left, events)
        events.append(("balances", taker[1], *bal))
        return events


def make_workload(n: int, seed: int = 42, warm_levels: int = 400) -> tuple[list[Op], list[Op]]:
    """(setup ops, timed ops). Generated against the reference matcher's state."""
    rng = random.Random(seed)
    ref = ReferenceMatcher()
    resting: list[int] = []
    next_idx = 0

    def passive(is_buy: bool) -> Op:
        nonlocal next_idx
        best_ask = ref.asks.peekitem(0)[0] if ref.asks else MID + TICK
        best_bid = -ref.bids.peekitem(0)[0] if ref.bids else MID - TICK
        if is_buy:
            price = min(best_ask - TICK, best_bid + TICK * rng.randint(-40, 1))
        else:
            price = max(best_bid + TICK, best_ask - TICK * rng.randint(-40, 1))
        qty = STEP * rng.randint(10, 2000) * 10
        op = ("add", next_idx, is_buy, price, qty)
        ref.add(next_idx, is_buy, price, qty)
        resting.append(next_idx)
        next_idx += 1
        return op

    setup = [passive(i % 2 == 0) for i in range(warm_levels)]
    ops: list[Op] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.7 or not resting:
            ops.append(passive(rng.random() < 0.5))
        elif r < 0.9:
            # cancel a random resting order (swap-remove keeps this O(1))
            while resting:
                i = rng.randrange(len(resting))
                idx = resting[i]
                resting[i] = resting[-1]
                resting.pop()
                if idx in ref.where:
                    ops.append(("cancel", idx))
                    ref.cancel(idx)
                    break
        else:
            is_buy = rng.random() < 0.5
            book = ref.asks if is_buy else ref.bids
            if not book:
                ops.append(passive(is_buy))
                continue
            levels = min(rng.randint(1, 3), len(book))
            keys = list(book.islice(0, levels))
            qty = sum(e[1] for k in keys for e in book[k])
            price = keys[-1] if is_buy else -keys[-1]
            op = ("cross", next_idx, is_buy, price, qty)
            ref.cross(next_idx, is_buy, price, qty)
            next_idx += 1
            ops.append(op)
    return setup, ops


def run_matcher(
    factory: Callable[[], ReferenceMatcher | FloorMatcher], setup: list[Op], ops: list[Op]
) -> Callable[[], float]:
    """A timed replay of ``ops`` on a fresh matcher that has rested ``setup``."""

    def go() -> float:
        matcher = factory()
        for op in setup:
            matcher.add(op[1], op[2], op[3], op[4])
        add, cancel, cross = matcher.add, matcher.cancel, matcher.cross
        t0 = time.perf_counter()
        for op in ops:
            kind = op[0]
            if kind == "add":
                add(op[1], op[2], op[3], op[4])
            elif kind == "cancel":
                cancel(op[1])
            else:
                cross(op[1], op[2], op[3], op[4])
        return time.perf_counter() - t0

    return go


BTCUSDT = {
    "symbol": "BTCUSDT",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
        {
            "filterType": "NOTIONAL",
            "minNotional": "5",
            "applyMinToMarket": True,
            "maxNotional": "9000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": "5",
            "bidMultiplierDown": "0.2",
            "askMultiplierUp": "5",
            "askMultiplierDown": "0.2",
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 1_000_000},
    ],
}


def run_engine(setup: list[Op], ops: list[Op]) -> Callable[[], float]:
    def to_cmd(acct: int, op: Op) -> NewOrder:
        tif = TimeInForce.GTC
        return NewOrder(
            acct,
            "BTCUSDT",
            Side.BUY if op[2] else Side.SELL,
            OrderType.LIMIT,
            quantity=op[4],
            price=op[3],
            time_in_force=tif,
        )

    def go() -> float:
        clock = [1_700_000_000_000_000]
        ex = Exchange(lambda: clock[0], seed=1)
        ex.add_symbol(symbol_from_config(BTCUSDT))
        accts = [
            ex.add_account(
                f"a{i}",
                maker_rate=100_000,
                taker_rate=100_000,
                balances={"BTC": 10**9 * SCALE, "USDT": 10**13 * SCALE},
            ).account_id
            for i in range(4)
        ]
        ids: dict[int, int] = {}
        for op in setup:
            ids[op[1]] = ex.place_order(to_cmd(accts[op[1] % 4], op)).order.order_id
        prepared = []
        for op in ops:
            if op[0] == "cancel":
                prepared.append((False, op[1], None))
            else:
                prepared.append((True, op[1], to_cmd(accts[op[1] % 4], op)))
        place, cancel = ex.place_order, ex.cancel_order
        t0 = time.perf_counter()
        for is_place, idx, cmd in prepared:
            if is_place:
                ids[idx] = place(cmd).order.order_id
            else:
                cancel(accts[idx % 4], "BTCUSDT", ids[idx])
        return time.perf_counter() - t0

    return go


def check_floor(setup: list[Op], ops: list[Op]) -> None:
    """The floor matcher must leave the reference's book: same orders, same quantities."""
    ref, floor = ReferenceMatcher(), FloorMatcher()
    run_matcher(lambda: ref, setup, ops)()
    run_matcher(lambda: floor, setup, ops)()
    want = {oid: entry[1] for oid, (_, _, entry) in ref.where.items()}
    got = {oid: order[4] - order[5] for oid, order in floor.where.items()}
    if got != want:
        raise SystemExit("floor matcher disagrees with the reference matcher's book")


def measure(fn: Callable[[], float], repeats: int = 5) -> tuple[float, float]:
    fn()  # warm-up
    times = [fn() for _ in range(repeats)]
    return statistics.median(times), min(times)


def as_decimal(ops: list[Op]) -> list[Op]:
    """The same operations with prices and quantities as ``Decimal`` (0.01, not 1_000_000)."""
    unit = Decimal(SCALE)
    return [op if op[0] == "cancel" else (*op[:3], op[3] / unit, op[4] / unit) for op in ops]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=100_000)
    args = parser.parse_args()
    setup, ops = make_workload(args.ops)
    kinds = {k: sum(1 for o in ops if o[0] == k) for k in ("add", "cancel", "cross")}
    print(f"workload: {len(ops)} ops {kinds}, {len(setup)} setup orders")
    dec_med, dec_min = measure(run_matcher(ReferenceMatcher, as_decimal(setup), as_decimal(ops)))
    ref_med, ref_min = measure(run_matcher(ReferenceMatcher, setup, ops))
    check_floor(setup, ops)
    floor_med, floor_min = measure(run_matcher(FloorMatcher, setup, ops))
    eng_med, eng_min = measure(run_engine(setup, ops))
    n = len(ops)
    print(f"reference, Decimal: {n / dec_med:>12,.0f} ops/s median  {n / dec_min:>12,.0f} best")
    print(f"reference, integer: {n / ref_med:>12,.0f} ops/s median  {n / ref_min:>12,.0f} best")
    print(f"floor matcher     : {n / floor_med:>12,.0f} ops/s median  {n / floor_min:>12,.0f} best")
    print(f"engine            : {n / eng_med:>12,.0f} ops/s median  {n / eng_min:>12,.0f} best")
    for name, med in (("Decimal", dec_med), ("integer", ref_med)):
        ratio = med / eng_med
        verdict = "met" if ratio >= 0.5 else "NOT met"
        print(f"engine / reference, {name}: {ratio:.2f}x (target >= 0.50x: {verdict})")
    for name, med in (("Decimal", dec_med), ("integer", ref_med)):
        print(f"floor / reference, {name}: {med / floor_med:.2f}x")
    print(f"engine / floor: {floor_med / eng_med:.2f}x")


if __name__ == "__main__":
    main()
