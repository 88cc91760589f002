"""The venue: symbols (one ``MatchingEngine`` each), accounts, API keys and queries.

``Exchange`` is the engine's public face. It is synchronous and deterministic: time comes
from the injected ``clock`` (epoch microseconds, never allowed to go backwards here), and
the only randomness, generated client order ids, comes from a seeded RNG. Commands return
their events; nothing is pushed anywhere. The protocol layer routes those events to
streams.

A refused command raises an ``EngineError`` and leaves no trace.
"""

from __future__ import annotations

import itertools
import random
from binascii import b2a_base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from . import errors as E
from .accounts import FEE_ACCOUNT_ID, Account, ApiKey, KeyType, Ledger
from .errors import BadRequest, CancelRejected, EngineError, OrderNotFound
from .filters import SymbolConfig
from .matching import MatchingEngine
from .types import (
    BalanceUpdate,
    CancelRestriction,
    CancelResult,
    Event,
    NewOrder,
    Order,
    PlaceResult,
    Trade,
)

# base64 output with its two symbols mapped onto letters: alphanumeric like Binance's ids.
_B64_TO_ALNUM = bytes.maketrans(b"+/", b"kQ")
DAY_US = 86_400_000_000
_Row = TypeVar("_Row")
#: Generated client ids drawn per batch (even: two ids per 33 random bytes).
_CLIENT_ID_BATCH = 256


def _window(
    rows: list[_Row], time_of: Callable[[_Row], int], start_time: int | None, end_time: int | None, limit: int
) -> list[_Row]:
    """The rows (in time order) inside a query's time window, as Binance pages it: "With
    startTime, returns oldest items from startTime up to the limit. With endTime, returns
    most recent items up to endTime and the limit. With both, behaves like startTime but
    does not exceed endTime" (rest-api.md). A one-sided window spans the 24 hours the
    account endpoints allow between the two."""
    lo = start_time if start_time is not None else (end_time or 0) - DAY_US
    hi = end_time if end_time is not None else lo + DAY_US
    inside = [r for r in rows if lo <= time_of(r) <= hi]
    return inside[-limit:] if start_time is None else inside[:limit]


def _missing(not_found: type[EngineError]) -> EngineError:
    """The "no such order" error ``find_order`` raises, as ``not_found`` words it."""
    if not_found is OrderNotFound:
        return not_found(-2013, E.NO_SUCH_ORDER)
    return not_found(-2011, E.UNKNOWN_ORDER)


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    symbol: str
    last_update_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class Exchange:
    def __init__(self, clock: Callable[[], int], *, seed: int = 0) -> None:
        self._clock = clock
        self._last_now = 0
        self.ledger = Ledger()
        self.engines: dict[str, MatchingEngine] = {}
        self.keys: dict[str, ApiKey] = {}
        self._rng = random.Random(seed)
        #: Generated client order ids not handed out yet, next one last (see ``new_client_id``).
        self._client_id_pool: list[str] = []
        self._execution_ids = itertools.count(1)
        self._next_account_id = 1

    # ------------------------------------------------------------------ setup

    def now(self) -> int:
        """Exchange time in microseconds; monotonic even if the clock steps back."""
        t = self._clock()
        if t < self._last_now:
            t = self._last_now
        self._last_now = t
        return t

    def add_symbol(self, cfg: SymbolConfig) -> MatchingEngine:
        if cfg.symbol in self.engines:
            raise ValueError(f"symbol {cfg.symbol} defined twice")
        eng = MatchingEngine(cfg, self.ledger, self._execution_ids)
        self.engines[cfg.symbol] = eng
        return eng

    def add_account(
        self,
        name: str,
        *,
        maker_rate: int = 0,
        taker_rate: int = 0,
        balances: dict[str, int] | None = None,
    ) -> Account:
        account_id = self._next_account_id
        self._next_account_id += 1
        acct = Account(account_id, name, maker_rate=maker_rate, taker_rate=taker_rate)
        self.ledger.accounts[account_id] = acct
        for asset, amount in (balances or {}).items():
            acct.balances[asset] = [amount, 0]
        return acct

    def add_api_key(self, account_id: int, key: str, secret: str, key_type: KeyType = KeyType.HMAC) -> ApiKey:
        if key in self.keys:
            raise ValueError("API key already registered")
        if account_id not in self.ledger.accounts:
            raise ValueError(f"no account {account_id}")
        api_key = ApiKey(key, account_id, key_type, secret)
        self.keys[key] = api_key
        return api_key

    def account(self, account_id: int) -> Account:
        return self.ledger.accounts[account_id]

    def account_by_name(self, name: str) -> Account:
        for acct in self.ledger.accounts.values():
            if acct.name == name:
                return acct
        raise KeyError(name)

    def engine(self, symbol: str) -> MatchingEngine:
        eng = self.engines.get(symbol)
        if eng is None:
            raise BadRequest(-1121, "Invalid symbol.")
        return eng

    def new_client_id(self) -> str:
        """A Binance-style generated client order id: 22 alphanumerics, seeded.

        Ids are drawn in batches: one ``randbytes`` call, one base64 encoding (33 bytes
        make 44 characters, no padding), cut into 22-character ids. The sequence depends
        only on the seed.
        """
        pool = self._client_id_pool
        if not pool:
            raw = b2a_base64(self._rng.randbytes(33 * _CLIENT_ID_BATCH // 2), newline=False)
            text = raw.translate(_B64_TO_ALNUM).decode()
            pool.extend(text[i : i + 22] for i in range(len(text) - 22, -1, -22))
        return pool.pop()

    # ------------------------------------------------------------------ commands

    def place_order(self, cmd: NewOrder) -> PlaceResult:
        eng = self.engines.get(cmd.symbol)
        if eng is None:
            raise BadRequest(-1121, "Invalid symbol.")
        client_id = cmd.new_client_order_id or self.new_client_id()
        now = self._clock()  # ``self.now()``, written out
        if now < self._last_now:
            now = self._last_now
        self._last_now = now
        try:
            placed = eng.place(cmd, client_id, now)
        except EngineError:
            self.ledger.discard_touches()
            if not cmd.new_client_order_id:
                self._client_id_pool.append(client_id)  # unused: the next order gets it
            raise
        assert placed is not None
        order, fills, events, as_placed = placed
        return PlaceResult(order, fills, events, as_placed)

    def test_order(self, cmd: NewOrder) -> None:
        """Validate like ``order/test``: everything up to the matching engine, no state change."""
        eng = self.engine(cmd.symbol)
        eng.place(cmd, cmd.new_client_order_id or "test", self.now(), test_only=True)

    def find_order(
        self,
        account_id: int,
        symbol: str,
        order_id: int | None = None,
        orig_client_order_id: str | None = None,
        *,
        not_found: type[EngineError] = OrderNotFound,
    ) -> Order:
        """Look an account's order up by id and/or client id (``-2013`` if absent)."""
        eng = self.engine(symbol)
        if order_id is not None:
            order = eng.orders.get(order_id)
            if order is None or order.account_id != account_id:
                raise _missing(not_found)
            if orig_client_order_id is not None and order.client_order_id != orig_client_order_id:
                raise EngineError(-2039, E.CLIENT_ID_MISMATCH)
            return order
        if orig_client_order_id is None:
            raise BadRequest(
                -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            )
        order = eng.client_ids.get((account_id, orig_client_order_id))
        if order is None:
            raise _missing(not_found)
        return order

    def cancel_order(
        self,
        account_id: int,
        symbol: str,
        order_id: int | None = None,
        orig_client_order_id: str | None = None,
        *,
        new_client_order_id: str | None = None,
        restriction: CancelRestriction | None = None,
    ) -> CancelResult:
        order = self.find_order(account_id, symbol, order_id, orig_client_order_id, not_found=CancelRejected)
        cancel_id = new_client_order_id or self.new_client_id()
        now = self.now()
        try:
            events = self.engines[symbol].cancel(order, cancel_id, now, restriction)
        except EngineError:
            if not new_client_order_id:
                self._client_id_pool.append(cancel_id)  # unused: a refusal leaves no trace
            raise
        return CancelResult(order, cancel_id, now, events)

    def cancel_open_orders(self, account_id: int, symbol: str) -> list[CancelResult]:
        eng = self.engine(symbol)
        open_orders = list(eng.open_by_account.get(account_id, {}).values())
        if not open_orders:
            raise CancelRejected(-2011, E.UNKNOWN_ORDER)
        out = []
        cancel_id = self.new_client_id()  # one request, one id: every cancel reports it (docs sample)
        for order in sorted(open_orders, key=lambda o: o.order_id):
            now = self.now()
            out.append(CancelResult(order, cancel_id, now, eng.cancel(order, cancel_id, now)))
        return out

    def deposit(self, account_id: int, asset: str, amount: int) -> list[Event]:
        """Credit ``amount`` units: ``balanceUpdate`` then ``outboundAccountPosition``."""
        if amount <= 0:
            raise ValueError("deposit amount must be positive")
        now = self.now()
        self.ledger.credit(account_id, asset, amount)
        return [BalanceUpdate(account_id, asset, amount, now), *self.ledger.take_positions(now)]

    def withdraw(self, account_id: int, asset: str, amount: int) -> list[Event]:
        if amount <= 0:
            raise ValueError("withdrawal amount must be positive")
        now = self.now()
        try:
            self.ledger.debit_free(account_id, asset, amount)
        except EngineError:
            self.ledger.discard_touches()
            raise
        return [BalanceUpdate(account_id, asset, -amount, now), *self.ledger.take_positions(now)]

    # ------------------------------------------------------------------ queries

    def depth(self, symbol: str, limit: int) -> DepthSnapshot:
        eng = self.engine(symbol)
        last, bids, asks = eng.snapshot(limit)
        return DepthSnapshot(symbol, last, bids, asks)

    def open_orders(self, account_id: int, symbol: str | None = None) -> list[Order]:
        engines: Iterable[MatchingEngine] = self.engines.values() if symbol is None else [self.engine(symbol)]
        out: list[Order] = []
        for eng in engines:
            out.extend(sorted(eng.open_by_account.get(account_id, {}).values(), key=lambda o: o.order_id))
        return out

    def all_orders(
        self,
        account_id: int,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[Order]:
        """An account's orders on ``symbol``, ascending by order id. A time window wins over
        ``order_id`` ("If startTime and/or endTime are specified, orderId is ignored",
        web-socket-api.md); see ``_window`` for which end of it is returned."""
        orders = self.engine(symbol).orders_by_account.get(account_id, [])
        if start_time is not None or end_time is not None:
            return _window(orders, lambda o: o.time, start_time, end_time, limit)
        if order_id is not None:
            return [o for o in orders if o.order_id >= order_id][:limit]
        return orders[-limit:]

    def my_trades(
        self,
        account_id: int,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[tuple[Trade, bool]]:
        """An account's trades as ``(trade, is_buyer)``, ascending by trade id."""
        trades = self.engine(symbol).trades_by_account.get(account_id, [])
        if order_id is not None:
            trades = [(t, b) for t, b in trades if (t.buyer_order_id if b else t.seller_order_id) == order_id]
        if from_id is not None:
            return [(t, b) for t, b in trades if t.trade_id >= from_id][:limit]
        if start_time is not None or end_time is not None:
            return _window(trades, lambda tb: tb[0].time, start_time, end_time, limit)
        if order_id is not None:
            return trades[:limit]
        return trades[-limit:]

    # ------------------------------------------------------------------ invariants

    def total_supply(self) -> dict[str, int]:
        return self.ledger.totals()

    def _check(self) -> None:
        """Assert every invariant: books, indexes, locks, no negative balance."""
        locked_need: dict[tuple[int, str], int] = {}
        for eng in self.engines.values():
            eng._check()
            for open_orders in eng.open_by_account.values():
                for o in open_orders.values():
                    k = (o.account_id, o.lock_asset)
                    locked_need[k] = locked_need.get(k, 0) + o.locked
        for acct in self.ledger.accounts.values():
            for asset, (free, locked) in acct.balances.items():
                assert free >= 0 and locked >= 0, (acct.account_id, asset, free, locked)
                if acct.account_id != FEE_ACCOUNT_ID:
                    assert locked == locked_need.get((acct.account_id, asset), 0), (
                        f"account {acct.account_id} {asset}: locked {locked} != "
                        f"what open orders need {locked_need.get((acct.account_id, asset), 0)}"
                    )
