"""The matching engine of one symbol: validation, locking, matching, STP, stops, events.

Theory of operation
    A command (place or cancel) runs to completion synchronously. It first checks
    everything that can refuse it (shape, symbol state, filters, duplicates, immediate
    trigger/match rules, balance) without changing anything; only then does it create the
    order, lock funds and match. Refusals raise ``EngineError`` subclasses carrying
    Binance's code and message. Every change the command makes is reported as events, in
    the order it happened, in the returned result.

Ordering invariant
    Makers trade in price-time priority (see ``book``). A triggered stop order joins the
    back of its price level when it rests, like any new order.

Funds
    Placing an order locks what it may spend: ``price x qty`` of the quote asset for a
    priced BUY, ``qty`` of the base asset for a SELL, and for MARKET orders what a dry run
    over the current book says the order will spend (``quoteOrderQty`` itself for a quote
    BUY). A priced BUY that trades below its limit releases the difference at once; every
    order releases whatever is left when it leaves the book. Hence "locked equals what open
    orders need" holds after every command. Commission is taken from the asset received
    (base for the buyer, quote for the seller) and credited to the fee account.

Update ids
    Every change of a level's total consumes one id of the symbol's single update-id
    sequence. A command that changed the book ends with one ``DepthUpdate`` covering the
    contiguous range it consumed, listing the final total of each level it touched.

Self-trade prevention
    The taker's mode decides (Binance's rule). EXPIRE_* expire the remaining quantity of
    the affected order(s) with status EXPIRED_IN_MATCH; DECREMENT reduces both by the
    prevented quantity and expires whichever reaches zero. TRANSFER is DECREMENT here:
    it differs only between accounts of one trade group, which the mock does not model
    (self-trades are same-account only).

Determinism
    No randomness and no clock reads here; ids are sequential per symbol, and iteration is
    only ever over insertion-ordered or sorted containers.

Known limitations
    Iceberg, trailing-stop, pegged orders and order lists are not modelled. A triggered
    STOP_LOSS/TAKE_PROFIT (market) BUY re-prices its lock at trigger time and expires
    (reason REJECTED) if the account can no longer pay.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Final

from . import errors as E
from .accounts import FEE_ACCOUNT_ID, Ledger
from .book import Book, Level
from .errors import BadRequest, CancelRejected, OrderRejected, filter_failure, rejected
from .filters import LimitRules, SymbolConfig, check_new_order
from .market_data import MarketData
from .types import (
    CONDITIONAL_TYPES,
    MARKET_LIKE_TYPES,
    PRICED_TYPES,
    AccountPosition,
    CancelRestriction,
    DepthUpdate,
    Event,
    ExecutionReport,
    ExecutionType,
    ExpiryReason,
    Fill,
    NewOrder,
    Order,
    OrderStatus,
    OrderType,
    Prevention,
    Side,
    STPMode,
    SymbolStatus,
    TimeInForce,
    Trade,
)
from .units import SCALE

# Enum members as module constants. On CPython 3.11 ``OrderStatus.NEW`` is a metaclass
# attribute lookup costing ~100 ns, a module global ~10 ns, and a command uses dozens.
BUY: Final = Side.BUY
SELL: Final = Side.SELL
NEW: Final = OrderStatus.NEW
PARTIALLY_FILLED: Final = OrderStatus.PARTIALLY_FILLED
FILLED: Final = OrderStatus.FILLED
CANCELED: Final = OrderStatus.CANCELED
EXPIRED: Final = OrderStatus.EXPIRED
EXPIRED_IN_MATCH: Final = OrderStatus.EXPIRED_IN_MATCH
ET_NEW: Final = ExecutionType.NEW
ET_TRADE: Final = ExecutionType.TRADE
ET_CANCELED: Final = ExecutionType.CANCELED
ET_EXPIRED: Final = ExecutionType.EXPIRED
ET_TRADE_PREVENTION: Final = ExecutionType.TRADE_PREVENTION
LIMIT: Final = OrderType.LIMIT
LIMIT_MAKER: Final = OrderType.LIMIT_MAKER
GTC: Final = TimeInForce.GTC
IOC: Final = TimeInForce.IOC
FOK: Final = TimeInForce.FOK
STP_NONE: Final = STPMode.NONE
TRADING: Final = SymbolStatus.TRADING
_OPEN = (NEW, PARTIALLY_FILLED)

_TYPE_NOT_SUPPORTED = {
    OrderType.MARKET: "Market orders are not supported for this symbol.",
    OrderType.STOP_LOSS: "Stop loss orders are not supported for this symbol.",
    OrderType.STOP_LOSS_LIMIT: "Stop loss limit orders are not supported for this symbol.",
    OrderType.TAKE_PROFIT: "Take profit orders are not supported for this symbol.",
    OrderType.TAKE_PROFIT_LIMIT: "Take profit limit orders are not supported for this symbol.",
}

#: (type, side) pairs that trigger when the last price rises to the stop price.
_TRIGGER_ABOVE = frozenset(
    {
        (OrderType.STOP_LOSS, BUY),
        (OrderType.STOP_LOSS_LIMIT, BUY),
        (OrderType.TAKE_PROFIT, SELL),
        (OrderType.TAKE_PROFIT_LIMIT, SELL),
    }
)


def _mandatory(name: str) -> BadRequest:
    return BadRequest(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _not_required(name: str) -> BadRequest:
    return BadRequest(-1106, f"Parameter '{name}' sent when not required.")


def validate_shape(cmd: NewOrder) -> None:
    """Binance's mandatory-parameter rules per order type (``-1102``/``-1106``/``-1114``)."""
    t = cmd.type
    if t is OrderType.MARKET:
        if cmd.quantity is None and cmd.quote_order_qty is None:
            raise BadRequest(
                -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
        if cmd.quantity is not None and cmd.quote_order_qty is not None:
            raise _not_required("quoteOrderQty")
        if cmd.price is not None:
            raise _not_required("price")
        if cmd.stop_price is not None:
            raise _not_required("stopPrice")
        if cmd.time_in_force is not None:
            raise BadRequest(-1114, "TimeInForce parameter sent when not required.")
        return
    if cmd.quantity is None:
        raise _mandatory("quantity")
    if cmd.quote_order_qty is not None:
        raise _not_required("quoteOrderQty")
    if t in PRICED_TYPES:
        if cmd.price is None:
            raise _mandatory("price")
    elif cmd.price is not None:
        raise _not_required("price")
    if t in CONDITIONAL_TYPES:
        if cmd.stop_price is None:
            raise _mandatory("stopPrice")
    elif cmd.stop_price is not None:
        raise _not_required("stopPrice")
    if t in (OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT):
        if cmd.time_in_force is None:
            raise _mandatory("timeInForce")
    elif cmd.time_in_force is not None:
        raise BadRequest(-1114, "TimeInForce parameter sent when not required.")


def _own_skipped(stp: STPMode, account_id: int) -> int | None:
    """The account whose resting orders a market order's dry run leaves out: its own, if
    its STP mode expires them and trades on (``EXPIRE_MAKER``)."""
    return account_id if stp is STPMode.EXPIRE_MAKER else None


def _level_qty(level: Level, skip_account: int | None) -> int:
    """What ``level`` offers, without ``skip_account``'s own orders (if given)."""
    if skip_account is None:
        return level.total
    return level.total - sum(o.available for o in level.orders.values() if o.account_id == skip_account)


def _take_dirty(dirty: dict[int, None], levels: dict[int, Level]) -> list[tuple[int, int]]:
    """The changed levels of one side as (price, new total; 0 if gone), and forget them."""
    out: list[tuple[int, int]] = []
    if dirty:
        # A loop, not a comprehension: a comprehension is a function call on 3.11.
        for p in dirty:
            lv = levels.get(p)
            out.append((p, lv.total if lv is not None else 0))
        dirty.clear()
    return out


class MatchingEngine:
    """One symbol's book, orders, stops, ids and market data."""

    def __init__(self, cfg: SymbolConfig, ledger: Ledger, execution_ids: Iterator[int]) -> None:
        self.cfg = cfg
        self.symbol = cfg.symbol
        self.ledger = ledger
        self.book = Book()
        self.data = MarketData(cfg.symbol)
        self._exec_ids = execution_ids
        #: Every order ever placed on this symbol, by id (ascending).
        self.orders: dict[int, Order] = {}
        #: Conditional orders waiting for their trigger, in placement order.
        self.stops: dict[int, Order] = {}
        self.open_by_account: dict[int, dict[int, Order]] = {}
        self.algo_count: dict[int, int] = {}
        self.orders_by_account: dict[int, list[Order]] = {}
        self.client_ids: dict[tuple[int, str], Order] = {}
        #: account -> [(trade, is_buyer)]; a self-trade appears twice, once per side.
        self.trades_by_account: dict[int, list[tuple[Trade, bool]]] = {}
        self.next_order_id = 1
        self.next_trade_id = 1
        self.next_agg_id = 1
        self.next_prevented_match_id = 1
        #: The last update id consumed (``lastUpdateId`` of a snapshot taken now).
        self.update_id = 0
        # Per-command scratch state.
        self._now = 0
        self._events: list[Event] = []
        self._dirty_bids: dict[int, None] = {}
        self._dirty_asks: dict[int, None] = {}
        self._changes = 0
        self._agg_key: tuple[int, int] = (0, -1)
        self._last_taker_report: ExecutionReport | None = None
        #: ``cfg.filters`` folded for the priced-order fast path (refolded on change).
        self._rules = LimitRules(cfg.filters)

    # ================================================================== commands

    def place(
        self, cmd: NewOrder, client_order_id: str, now: int, *, test_only: bool = False
    ) -> tuple[Order, list[Fill], list[Event], Order | None] | None:
        """Place ``cmd``; return the order, its own fills, every event in order, and (if
        stops it triggered changed it further) a copy of the order as its own matching
        left it.

        With ``test_only`` (``order/test``), run the checks that happen before an order
        reaches the matching engine (shape, symbol, filters) and return ``None``.
        """
        cfg = self.cfg
        otype = cmd.type
        qty = cmd.quantity
        quote_qty = cmd.quote_order_qty
        # The common case (a complete LIMIT order) passes ``validate_shape``; decided inline.
        if not (
            otype is LIMIT
            and qty is not None
            and cmd.price is not None
            and cmd.time_in_force is not None
            and quote_qty is None
            and cmd.stop_price is None
        ):
            validate_shape(cmd)
        if cfg.status is not TRADING:
            raise OrderRejected(-1013, E.MARKET_CLOSED)
        # A StrEnum member equals its wire string, so this is ``otype.value in ...``
        # without the (slow) ``.value`` descriptor.
        if otype not in cfg.order_types:
            raise rejected(_TYPE_NOT_SUPPORTED.get(otype, E.ORDER_TYPE_NOT_SUPPORTED))
        stp = cmd.self_trade_prevention_mode or cfg.default_stp_mode
        if stp not in cfg.allowed_stp_modes:
            raise OrderRejected(-1013, E.STP_NOT_ALLOWED)
        is_quote = quote_qty is not None
        if is_quote and not cfg.quote_order_qty_market_allowed:
            raise rejected(E.QUOTE_QTY_NOT_SUPPORTED)
        side = cmd.side
        is_algo = otype in CONDITIONAL_TYPES
        is_market = otype in MARKET_LIKE_TYPES
        price = cmd.price or 0
        stop_price = cmd.stop_price or 0
        account_id = cmd.account_id
        acct_open = self.open_by_account.get(account_id)
        n_open = len(acct_open) if acct_open else 0
        data = self.data
        # Fast path for priced orders: one pass/fail over the folded filters; only a
        # "no" walks the filters in order (for the exact error). See ``LimitRules``.
        rules = self._rules
        if rules.source != cfg.filters:  # the config changed: refold
            rules = self._rules = LimitRules(cfg.filters)
        if (
            is_market
            or is_algo
            or qty is None
            or not rules.passes(price, qty, side is BUY, data.avg_price, now, n_open)
        ):
            check_new_order(
                cfg,
                is_market,
                price,
                stop_price,
                qty,
                quote_qty,
                side is BUY,
                lambda mins: data.avg_price(mins, now),
                n_open,
                self.algo_count.get(account_id, 0) if is_algo else 0,
                is_algo,
            )
        if not is_market and price * (qty or 0) // SCALE <= 0:
            raise rejected(E.PRICE_QTY_ZERO)
        if test_only:
            return None
        prev = self.client_ids.get((account_id, client_order_id))
        if prev is not None and prev.status in _OPEN:
            raise rejected(E.DUPLICATE_ORDER)

        # What the order locks, decided without changing anything.
        if is_algo:
            if self._would_trigger(otype, side, stop_price):
                raise rejected(E.WOULD_TRIGGER)
            assert qty is not None
            if side is BUY:
                lock_asset, lock = cfg.quote_asset, (price or stop_price) * qty // SCALE
            else:
                lock_asset, lock = cfg.base_asset, qty
        elif is_market:
            lock_asset, lock = self._market_lock(side, qty, quote_qty, _own_skipped(stp, account_id))
        else:
            assert qty is not None
            if otype is LIMIT_MAKER and self._crosses(side, price):
                raise rejected(E.WOULD_MATCH)
            if side is BUY:
                lock_asset, lock = cfg.quote_asset, price * qty // SCALE
            else:
                lock_asset, lock = cfg.base_asset, qty
        # The last check, which may refuse: ``Ledger.lock`` written out. The touch is
        # recorded below, once we know whether this is the passive fast path.
        ledger = self.ledger
        balances = ledger.accounts[account_id].balances
        bal = balances.get(lock_asset)
        if bal is None:
            bal = balances[lock_asset] = [0, 0]
        if bal[0] < lock:
            raise rejected(E.INSUFFICIENT_BALANCE)
        bal[0] -= lock
        bal[1] += lock

        # ---- accepted: from here on, state changes.
        order_id = self.next_order_id
        self.next_order_id = order_id + 1
        tif = cmd.time_in_force or GTC
        order = Order(  # positional: this runs for every order
            self.symbol,
            order_id,
            client_order_id,
            account_id,
            side,
            otype,
            tif,
            price if otype in PRICED_TYPES else 0,
            qty if qty is not None else 0,
            quote_qty or 0,
            stop_price,
            stp,
            now,
            cmd.strategy_id,
            cmd.strategy_type,
        )
        order.lock_asset = lock_asset
        order.locked = lock
        self.orders[order_id] = order
        history = self.orders_by_account.get(account_id)
        if history is None:
            self.orders_by_account[account_id] = [order]
        else:
            history.append(order)
        self.client_ids[(account_id, client_order_id)] = order
        if acct_open is None:
            self.open_by_account[account_id] = {order_id: order}
        else:
            acct_open[order_id] = order
        fills: list[Fill] = []
        if not is_algo:
            order.is_working = True
            order.working_time = now
        if not is_market and not is_algo and tif is GTC:
            # The commonest order of all: a GTC limit order that rests at once. Decided
            # with ``_crosses`` written out; when it rests, the whole command (``_rest``
            # and ``_finish``) is written out here: exactly one level and one balance
            # changed, and nothing traded, so no stop can trigger.
            if side is BUY:
                keys = self.book.asks.keys  # negated ask prices, best last
                rests = not keys or -keys[-1] > price
                book_side = self.book.bids
            else:
                keys = self.book.bids.keys  # bid prices, best last
                rests = not keys or keys[-1] < price
                book_side = self.book.asks
            if rests:
                level = book_side.levels.get(price)
                if level is None:
                    level = book_side.new_level(price)
                level.orders[order_id] = order
                total = level.total = level.total + order.orig_qty
                uid = self.update_id = self.update_id + 1
                change = [(price, total)]
                events: list[Event] = [
                    ExecutionReport(order, ET_NEW, NEW, now, 0, 0, True, now, next(self._exec_ids)),
                    DepthUpdate(self.symbol, uid, uid, now, change, [])
                    if side is BUY
                    else DepthUpdate(self.symbol, uid, uid, now, [], change),
                ]
                if account_id != FEE_ACCOUNT_ID:  # never reported (see ``_finish``)
                    ledger.accounts[account_id].update_time = now
                    events.append(AccountPosition(account_id, now, [(lock_asset, bal[0], bal[1])]))
                return order, fills, events, None
        ledger._touched[(account_id, lock_asset)] = bal
        self._now = now  # ``_begin(now)``, written out
        self._events = events = []
        self._agg_key = (0, -1)
        self._last_taker_report = None
        if is_algo:
            self.stops[order_id] = order
            self.algo_count[account_id] = self.algo_count.get(account_id, 0) + 1
            self._report(order, ET_NEW)
            return order, fills, self._finish(), None
        # ``_report(order, NEW)`` written out: nothing has executed yet, and the order is
        # working (``w``), market orders included (Binance's market-order FAQ sample).
        events.append(ExecutionReport(order, ET_NEW, NEW, now, 0, 0, True, now, next(self._exec_ids)))
        self._execute(order, fills)
        as_placed = self._run_triggers(order) if self.stops else None
        return order, fills, self._finish(), as_placed

    def cancel(
        self,
        order: Order,
        cancel_client_order_id: str,
        now: int,
        restriction: CancelRestriction | None = None,
    ) -> list[Event]:
        """Cancel an open order (``-2011`` if it is not open or restrictions forbid it)."""
        status = order.status
        if status is not NEW and status is not PARTIALLY_FILLED:
            raise CancelRejected(-2011, E.UNKNOWN_ORDER)
        if restriction is not None:
            if restriction is CancelRestriction.ONLY_NEW and status is not NEW:
                raise CancelRejected(-2011, E.CANCEL_RESTRICTED)
            if restriction is CancelRestriction.ONLY_PARTIALLY_FILLED and status is not PARTIALLY_FILLED:
                raise CancelRejected(-2011, E.CANCEL_RESTRICTED)
        if not order.is_working or order.type in MARKET_LIKE_TYPES:
            # A conditional order still waiting for its trigger.
            self._begin(now)
            self._take_off(order)
            order.status = CANCELED
            order.update_time = now
            self._close(order)
            self._report(order, ET_CANCELED, cancel_client_order_id=cancel_client_order_id)
            return self._finish()
        # A working limit order, so on the book (an invariant between commands). The
        # whole command is written out: ``_take_off``, ``_close``, ``_report`` and
        # ``_finish`` for exactly one level and at most one balance.
        price = order.price
        order_id = order.order_id
        account_id = order.account_id
        is_buy = order.side is BUY
        book_side = self.book.bids if is_buy else self.book.asks
        level = book_side.levels[price]
        orders = level.orders
        del orders[order_id]
        total = level.total = level.total - (order.orig_qty - order.executed_qty - order.prevented_qty)
        if not orders:
            book_side.drop_level(price)
        order.status = CANCELED
        order.update_time = now
        acct_open = self.open_by_account.get(account_id)
        if acct_open is not None:
            acct_open.pop(order_id, None)
        uid = self.update_id = self.update_id + 1
        change = [(price, total)]
        events: list[Event] = [
            ExecutionReport(
                order,
                ET_CANCELED,
                CANCELED,
                now,
                order.executed_qty,
                order.cumulative_quote,
                False,
                order.working_time,
                next(self._exec_ids),
                cancel_client_order_id=cancel_client_order_id,
            ),
            DepthUpdate(self.symbol, uid, uid, now, change, [])
            if is_buy
            else DepthUpdate(self.symbol, uid, uid, now, [], change),
        ]
        locked = order.locked
        if locked:
            account = self.ledger.accounts[account_id]
            bal = account.balances[order.lock_asset]
            assert bal[1] >= locked, (account_id, order.lock_asset, bal, locked)
            bal[1] -= locked
            bal[0] += locked
            order.locked = 0
            if account_id != FEE_ACCOUNT_ID:
                account.update_time = now
                events.append(AccountPosition(account_id, now, [(order.lock_asset, bal[0], bal[1])]))
        return events

    def expire(self, order: Order, now: int) -> list[Event]:
        """The exchange expires an open order (maintenance, delisting...)."""
        if order.status not in _OPEN:
            raise CancelRejected(-2011, E.UNKNOWN_ORDER)
        self._begin(now)
        self._take_off(order)
        self._expire(order, ExpiryReason.EXCHANGE_CANCELED)
        return self._finish()

    # ================================================================== queries

    def snapshot(self, limit: int) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]]]:
        bids, asks = self.book.depth(limit)
        return self.update_id, bids, asks

    # ================================================================== internals

    def _begin(self, now: int) -> None:
        self._now = now
        self._events = []
        self._agg_key = (0, -1)
        self._last_taker_report = None

    def _finish(self) -> list[Event]:
        """End the command: append its ``DepthUpdate`` (if the book changed) and one
        ``AccountPosition`` per account whose balances it touched; return its events."""
        events = self._events
        self._events = []
        now = self._now
        if self._changes:
            first = self.update_id + 1
            self.update_id = last = self.update_id + self._changes
            self._changes = 0
            bids = _take_dirty(self._dirty_bids, self.book.bids.levels)
            asks = _take_dirty(self._dirty_asks, self.book.asks.levels)
            events.append(DepthUpdate(self.symbol, first, last, now, bids, asks))
        touched = self.ledger._touched
        if len(touched) == 1:
            # One balance touched (a passive order, a cancel): ``take_positions``'s
            # grouping has nothing to group.
            (((account_id, asset), b),) = touched.items()
            touched.clear()
            if account_id != FEE_ACCOUNT_ID:
                self.ledger.accounts[account_id].update_time = now
                events.append(AccountPosition(account_id, now, [(asset, b[0], b[1])]))
        elif touched:
            events.extend(self.ledger.take_positions(now))
        return events

    def _touch(self, side: Side, price: int) -> None:
        if side is BUY:
            self._dirty_bids[price] = None
        else:
            self._dirty_asks[price] = None
        self._changes += 1

    def _report(
        self,
        order: Order,
        execution_type: ExecutionType,
        *,
        cancel_client_order_id: str | None = None,
        expiry_reason: ExpiryReason | None = None,
    ) -> ExecutionReport:
        status = order.status
        r = ExecutionReport(
            order,
            execution_type,
            status,
            self._now,
            order.executed_qty,
            order.cumulative_quote,
            order.is_working and (status is NEW or status is PARTIALLY_FILLED),
            order.working_time,
            next(self._exec_ids),
            0,
            0,
            0,
            0,
            None,
            -1,
            False,
            cancel_client_order_id,
            expiry_reason,
        )
        self._events.append(r)
        return r

    def _would_trigger(self, otype: OrderType, side: Side, stop_price: int) -> bool:
        last = self.data.last_price
        if not last:
            return False
        if (otype, side) in _TRIGGER_ABOVE:
            return last >= stop_price
        return last <= stop_price

    def _crosses(self, side: Side, price: int) -> bool:
        """Would an order at ``price`` on ``side`` meet the best opposite level?"""
        if side is BUY:
            keys = self.book.asks.keys  # negated ask prices, best last
            return bool(keys) and -keys[-1] <= price
        keys = self.book.bids.keys  # bid prices, best last
        return bool(keys) and keys[-1] >= price

    def _market_lock(
        self, side: Side, qty: int | None, quote_qty: int | None, skip_account: int | None
    ) -> tuple[str, int]:
        """(asset, amount) a MARKET order locks, from a dry run over the current book. With
        ``skip_account`` (an ``EXPIRE_MAKER`` taker's own account), whichever is more of
        the dry runs with and without its own orders: they expire rather than trade, so
        the order may have to pay for the levels behind them."""
        cfg = self.cfg
        if side is BUY:
            if quote_qty is not None:
                got, _ = self._dry_run(BUY, None, quote_qty)
                self._check_liquidity(BUY, got)
                return cfg.quote_asset, quote_qty
            assert qty is not None
            return cfg.quote_asset, self._market_buy_cost(qty, skip_account)
        if quote_qty is not None:
            lock, _ = self._dry_run(SELL, None, quote_qty)
            if skip_account is not None:
                lock = max(lock, self._dry_run(SELL, None, quote_qty, skip_account)[0])
            self._check_liquidity(SELL, lock)
            return cfg.base_asset, lock
        assert qty is not None
        return cfg.base_asset, qty

    def _check_liquidity(self, side: Side, qty: int) -> None:
        """Refuse a quote-quantity MARKET order on ``side`` whose dry run got only ``qty``,
        with errors.md's message for the case: no orders at all on the opposite side, less
        than LOT_SIZE's minimum, or less than MARKET_LOT_SIZE's minimum; or more than
        MARKET_LOT_SIZE's maximum (its filter failure)."""
        if not self.book.opposite(side):
            raise rejected(E.LIQUIDITY_NO_ORDERS)
        cfg = self.cfg
        lot = cfg.lot_size
        if qty < max(lot.min_qty if lot else 0, 1):
            raise rejected(E.LIQUIDITY_LOT_SIZE)
        market_lot = cfg.market_lot_size
        if market_lot is not None and qty < market_lot.min_qty:
            raise rejected(E.LIQUIDITY_MARKET_LOT_SIZE)
        if market_lot is not None and market_lot.max_qty and qty > market_lot.max_qty:
            # CHANGELOG 2023-07-11: MARKET_LOT_SIZE "now correctly rejects reverse market
            # orders that go over the symbol's maxQty".
            raise filter_failure(market_lot.filter_type)

    def _market_buy_cost(self, qty: int, skip_account: int | None) -> int:
        """What a MARKET BUY of ``qty`` may spend (see ``_market_lock``)."""
        _, cost = self._dry_run(BUY, qty, None)
        if skip_account is not None:
            cost = max(cost, self._dry_run(BUY, qty, None, skip_account)[1])
        return cost

    def _dry_run(
        self, side: Side, qty: int | None, quote: int | None, skip_account: int | None = None
    ) -> tuple[int, int]:
        """Walk the opposite side as a market order would: (base quantity, quote amount).
        Orders of ``skip_account`` are left out: an ``EXPIRE_MAKER`` taker expires them
        and trades on past them."""
        step = self.cfg.step_size
        got = spent = 0
        for level in self.book.opposite(side):
            price = level.price
            total = _level_qty(level, skip_account)
            if total <= 0 and skip_account is not None:
                continue
            if qty is not None:
                take = min(total, qty - got)
            else:
                assert quote is not None
                cap = (quote - spent) * SCALE // price
                cap -= cap % step
                take = min(total, cap)
            if take <= 0:
                break
            got += take
            spent += price * take // SCALE
            if take < total:
                break
        return got, spent

    def _fillable(self, order: Order) -> int:
        """How much of ``order`` the book could fill right now at its limit (for FOK),
        leaving out its account's own orders if ``EXPIRE_MAKER`` will expire them."""
        need = order.available
        got = 0
        limit = order.price
        is_buy = order.side is BUY
        skip = _own_skipped(order.self_trade_prevention_mode, order.account_id)
        for level in self.book.opposite(order.side):
            if limit and ((is_buy and level.price > limit) or (not is_buy and level.price < limit)):
                break
            got += _level_qty(level, skip)
            if got >= need:
                break
        return got

    def _rest(self, order: Order) -> None:
        """Put a working limit order at the back of its level and mark the level changed
        (every passive order comes here, so ``_touch`` is written out)."""
        price = order.price
        if order.side is BUY:
            book_side = self.book.bids
            self._dirty_bids[price] = None
        else:
            book_side = self.book.asks
            self._dirty_asks[price] = None
        self._changes += 1
        level = book_side.levels.get(price)
        if level is None:
            level = book_side.new_level(price)
        level.orders[order.order_id] = order
        level.total += order.orig_qty - order.executed_qty - order.prevented_qty

    def _execute(self, order: Order, fills: list[Fill]) -> None:
        """Run a working order as a taker, then rest, expire or finish it."""
        is_market = order.type in MARKET_LIKE_TYPES
        tif = order.time_in_force
        if not is_market:
            if tif is GTC:
                if not self._crosses(order.side, order.price):
                    self._rest(order)  # nothing to match: rest at once (the common case)
                    return
            elif tif is FOK and self._fillable(order) < order.available:
                self._expire(order, ExpiryReason.UNFILLED_FOK_ORDER_EXPIRED)
                return
        is_quote = is_market and order.orig_quote_qty > 0
        if is_quote:
            order.orig_qty = 1 << 62  # unknown until matching ends; the budget binds instead
        stopped_by_budget = self._match(order, fills)
        if is_quote:
            order.orig_qty = order.executed_qty + order.prevented_qty
        if order.status is EXPIRED_IN_MATCH:
            self._close(order)
            return
        if is_market:
            if is_quote:
                # FILLED once the budget is spent: matching stopped on it, or the book ran
                # out just as it was (what is left trades not one step at the last price).
                done = order.executed_qty > 0 and (
                    stopped_by_budget or self._budget_qty(order, fills[-1].price) <= 0
                )
            else:
                done = order.available == 0
            if done:
                order.status = FILLED
                last = self._last_taker_report
                if last is not None and last.order is order:
                    last.status = FILLED
                self._close(order)
            else:
                self._expire(order, ExpiryReason.INSUFFICIENT_LIQUIDITY)
            return
        if order.available == 0:
            self._close(order)  # FILLED in _trade
            return
        if tif is GTC:
            self._rest(order)
        else:
            reason = (
                ExpiryReason.UNFILLED_IOC_QUANTITY_EXPIRED
                if tif is IOC
                else ExpiryReason.UNFILLED_FOK_ORDER_EXPIRED
            )
            self._expire(order, reason)

    def _expire(self, order: Order, reason: ExpiryReason) -> None:
        order.status = EXPIRED
        order.expiry_reason = reason
        order.update_time = self._now
        self._close(order)
        self._report(order, ET_EXPIRED, expiry_reason=reason)

    def _match(self, taker: Order, fills: list[Fill]) -> bool:
        """Trade ``taker`` against the book. True if it stopped because its budget ran out."""
        is_buy = taker.side is BUY
        opp = self.book.asks if is_buy else self.book.bids
        keys, levels, sign = opp.keys, opp.levels, opp.sign
        limit = taker.price
        is_market = taker.type in MARKET_LIKE_TYPES
        is_quote = is_market and taker.orig_quote_qty > 0
        market_buy = is_market and is_buy
        capped = is_quote or market_buy
        step = self.cfg.step_size if capped else 1
        stp_on = taker.self_trade_prevention_mode is not STP_NONE
        taker_account = taker.account_id
        while keys:
            price = keys[-1] * sign  # the best level
            if limit and ((is_buy and price > limit) or (not is_buy and price < limit)):
                return False
            level = levels[price]
            orders = level.orders
            while orders:
                avail = taker.orig_qty - taker.executed_qty - taker.prevented_qty
                if capped:
                    if is_quote:
                        cap = self._quote_cap(taker, price)
                    else:  # a market BUY by quantity: the most its lock still pays for
                        # (the exact inverse of ``price * qty // SCALE <= locked``; dividing
                        # ``locked`` back lost a step whenever the cost was truncated)
                        cap = ((taker.locked + 1) * SCALE - 1) // price
                        cap -= cap % step
                    if cap <= 0:
                        return True
                    avail = min(avail, cap)
                if avail <= 0:
                    return False
                maker = next(iter(orders.values()))  # the oldest order at the best price
                if stp_on and maker.account_id == taker_account:
                    self._prevent(taker, maker, level, avail)
                    if taker.status is EXPIRED_IN_MATCH:
                        return False
                    continue
                maker_avail = maker.orig_qty - maker.executed_qty - maker.prevented_qty
                self._trade(taker, maker, price, avail if avail < maker_avail else maker_avail, level, fills)
        return False

    def _budget_qty(self, taker: Order, price: int) -> int:
        """What a ``quoteOrderQty`` order's budget left still buys (or, selling, brings in)
        at ``price``, in whole steps."""
        step = self.cfg.step_size
        qty = (taker.orig_quote_qty - taker.cumulative_quote) * SCALE // price
        return qty - qty % step

    def _quote_cap(self, taker: Order, price: int) -> int:
        """How much more a ``quoteOrderQty`` order may trade at ``price``: its budget's
        quantity, and for a SELL no more than the base it locked."""
        cap = self._budget_qty(taker, price)
        return min(cap, taker.locked) if taker.side is SELL else cap

    def _trade(
        self,
        taker: Order,
        maker: Order,
        price: int,
        qty: int,
        level: Level,
        fills: list[Fill],
    ) -> None:
        """One trade of ``qty`` at ``price`` between ``taker`` and ``maker`` (the level's
        first order): fills both, moves funds and fees, emits the trade and two reports.

        This is the hot path of every crossing order, so the ledger moves are written out
        here (they are ``Ledger.spend_locked``/``credit``/``unlock``, touching balances in
        the same order) and so are ``_touch``, ``_close``'s index update and
        ``_release_excess``.
        """
        now = self._now
        cfg = self.cfg
        quote = price * qty // SCALE
        trade_id = self.next_trade_id
        self.next_trade_id = trade_id + 1
        agg_key = (taker.order_id, price)
        if self._agg_key != agg_key:
            self._agg_key = agg_key
            self.next_agg_id += 1
        agg_id = self.next_agg_id - 1
        taker_buys = taker.side is BUY
        if taker_buys:
            buyer, seller = taker, maker
        else:
            buyer, seller = maker, taker
        buyer_id, seller_id = buyer.account_id, seller.account_id
        ledger = self.ledger
        accounts = ledger.accounts
        b_acct = accounts[buyer_id]
        s_acct = accounts[seller_id]
        b_fee = qty * (b_acct.taker_rate if taker_buys else b_acct.maker_rate) // SCALE
        s_fee = quote * (s_acct.maker_rate if taker_buys else s_acct.taker_rate) // SCALE
        base_asset = cfg.base_asset
        quote_asset = cfg.quote_asset

        maker.executed_qty += qty
        maker.cumulative_quote += quote
        maker.update_time = now
        taker.executed_qty += qty
        taker.cumulative_quote += quote
        taker.update_time = now
        level.total -= qty

        # Funds. Both locked balances exist: each order locked from them when placed.
        touched = ledger._touched
        b_bal, s_bal = b_acct.balances, s_acct.balances
        bq = b_bal[quote_asset]
        touched[(buyer_id, quote_asset)] = bq
        assert bq[1] >= quote, (buyer_id, quote_asset, bq, quote)
        bq[1] -= quote
        buyer.locked -= quote
        sb = s_bal[base_asset]
        touched[(seller_id, base_asset)] = sb
        assert sb[1] >= qty, (seller_id, base_asset, sb, qty)
        sb[1] -= qty
        seller.locked -= qty
        bb = b_bal.get(base_asset)
        if bb is None:
            bb = b_bal[base_asset] = [0, 0]
        touched[(buyer_id, base_asset)] = bb
        bb[0] += qty - b_fee
        sq = s_bal.get(quote_asset)
        if sq is None:
            sq = s_bal[quote_asset] = [0, 0]
        touched[(seller_id, quote_asset)] = sq
        sq[0] += quote - s_fee
        if b_fee or s_fee:
            # The fee account is never reported (no AccountPosition), so no touch.
            fee_bal = accounts[FEE_ACCOUNT_ID].balances
            if b_fee:
                fb = fee_bal.get(base_asset)
                if fb is None:
                    fee_bal[base_asset] = [b_fee, 0]
                else:
                    fb[0] += b_fee
            if s_fee:
                fq = fee_bal.get(quote_asset)
                if fq is None:
                    fee_bal[quote_asset] = [s_fee, 0]
                else:
                    fq[0] += s_fee
        if buyer.price and buyer.type not in MARKET_LIKE_TYPES:
            # ``_release_excess(buyer)``: keep exactly price x available locked (a BUY
            # that trades below its limit, and rounding, leave an excess).
            need = buyer.price * (buyer.orig_qty - buyer.executed_qty - buyer.prevented_qty) // SCALE
            excess = buyer.locked - need
            if excess > 0:
                assert bq[1] >= excess, (buyer_id, quote_asset, bq, excess)
                bq[1] -= excess
                bq[0] += excess
                buyer.locked = need

        maker_open = maker.orig_qty - maker.executed_qty - maker.prevented_qty != 0
        if maker_open:
            maker.status = PARTIALLY_FILLED
        else:
            maker.status = FILLED
            orders = level.orders
            del orders[maker.order_id]
            if not orders:
                (self.book.asks if taker_buys else self.book.bids).drop_level(price)
            self._close(maker)
        taker_status = taker.status = (
            FILLED if taker.orig_qty - taker.executed_qty - taker.prevented_qty == 0 else PARTIALLY_FILLED
        )
        # ``_touch(maker.side, price)``
        if taker_buys:
            self._dirty_asks[price] = None
        else:
            self._dirty_bids[price] = None
        self._changes += 1

        trade = Trade(
            self.symbol,
            trade_id,
            agg_id,
            price,
            qty,
            quote,
            now,
            not taker_buys,
            buyer.order_id,
            seller.order_id,
            buyer_id,
            seller_id,
            b_fee,
            base_asset,
            s_fee,
            quote_asset,
        )
        self.data.record(trade)
        tba = self.trades_by_account
        mine = tba.get(buyer_id)
        if mine is None:
            tba[buyer_id] = [(trade, True)]
        else:
            mine.append((trade, True))
        mine = tba.get(seller_id)
        if mine is None:
            tba[seller_id] = [(trade, False)]
        else:
            mine.append((trade, False))
        events = self._events
        events.append(trade)
        exec_ids = self._exec_ids
        if taker_buys:
            maker_fee, maker_fee_asset, taker_fee, taker_fee_asset = s_fee, quote_asset, b_fee, base_asset
        else:
            maker_fee, maker_fee_asset, taker_fee, taker_fee_asset = b_fee, base_asset, s_fee, quote_asset
        events.append(
            ExecutionReport(
                maker,
                ET_TRADE,
                maker.status,
                now,
                maker.executed_qty,
                maker.cumulative_quote,
                maker_open,  # a resting maker is never market-like: working iff still open
                maker.working_time,
                next(exec_ids),
                qty,
                price,
                quote,
                maker_fee,
                maker_fee_asset,
                trade_id,
                True,
            )
        )
        r = ExecutionReport(
            taker,
            ET_TRADE,
            taker_status,
            now,
            taker.executed_qty,
            taker.cumulative_quote,
            # ``w``: a GTC limit taker rests on the book once it stops matching; IOC, FOK
            # and market-like takers never do (Binance's market-order FAQ sample).
            taker_status is PARTIALLY_FILLED
            and taker.time_in_force is GTC
            and taker.type not in MARKET_LIKE_TYPES,
            taker.working_time,
            next(exec_ids),
            qty,
            price,
            quote,
            taker_fee,
            taker_fee_asset,
            trade_id,
            False,
        )
        events.append(r)
        self._last_taker_report = r
        fills.append(Fill(price, qty, taker_fee, taker_fee_asset, trade_id))

    def _prevent(self, taker: Order, maker: Order, level: Level, taker_avail: int) -> None:
        """Self-trade prevention between ``taker`` and ``maker`` (same account)."""
        mode = taker.self_trade_prevention_mode
        pmid = self.next_prevented_match_id
        self.next_prevented_match_id += 1
        maker_avail = maker.available
        matchable = min(taker_avail, maker_avail)
        decrement = mode is STPMode.DECREMENT or mode is STPMode.TRANSFER
        if decrement:
            taker_cut = maker_cut = matchable
        else:
            taker_cut = taker_avail if mode in (STPMode.EXPIRE_TAKER, STPMode.EXPIRE_BOTH) else 0
            maker_cut = maker_avail if mode in (STPMode.EXPIRE_MAKER, STPMode.EXPIRE_BOTH) else 0
        price = maker.price
        now = self._now
        for o, cut, other in ((maker, maker_cut, taker), (taker, taker_cut, maker)):
            if not cut:
                continue
            o.prevented_qty += cut
            o.prevented_match_id = pmid
            o.update_time = now
            if o is maker:
                level.total -= cut
                self._touch(maker.side, price)
            if o.available == 0 or (o is taker and not decrement):
                o.status = EXPIRED_IN_MATCH
                if o is maker:
                    del level.orders[maker.order_id]
                    if not level.orders:
                        self.book.side(maker.side).drop_level(price)
                    self._close(maker)
            elif o.type not in MARKET_LIKE_TYPES:
                self._release_excess(o)
            r = ExecutionReport(
                o,
                ET_TRADE_PREVENTION,
                o.status,
                now,
                o.executed_qty,
                o.cumulative_quote,
                o.status in _OPEN
                and o.type not in MARKET_LIKE_TYPES
                and (o is maker or o.time_in_force is GTC),  # on the book (see ``_trade``)
                o.working_time,
                next(self._exec_ids),
                prevention=Prevention(
                    pmid,
                    o.prevented_qty,
                    cut,
                    other.order_id,
                    matchable,
                    price,
                    price * matchable // SCALE,
                    is_taker=o is taker,
                ),
            )
            self._events.append(r)

    def _release_excess(self, order: Order) -> None:
        """A resting order keeps exactly what it needs locked: ``price x available`` for a
        BUY, ``available`` for a SELL."""
        if order.side is BUY:
            need = order.price * order.available // SCALE
        else:
            need = order.available
        excess = order.locked - need
        if excess > 0:
            self.ledger.unlock(order.account_id, order.lock_asset, excess)
            order.locked = need

    def _take_off(self, order: Order) -> None:
        """Remove an open order from wherever it waits (book or stop list)."""
        if order.order_id in self.stops:
            del self.stops[order.order_id]
            self.algo_count[order.account_id] -= 1
            return
        if order.is_working and order.type not in MARKET_LIKE_TYPES:
            level = self.book.side(order.side).levels.get(order.price)
            if level is not None and order.order_id in level.orders:
                self.book.remove(order, order.available)
                self._touch(order.side, order.price)

    def _close(self, order: Order) -> None:
        """The order left the open set: unindex it and release what it still locks."""
        acct_open = self.open_by_account.get(order.account_id)
        if acct_open is not None:
            acct_open.pop(order.order_id, None)
        if order.locked:
            self.ledger.unlock(order.account_id, order.lock_asset, order.locked)
            order.locked = 0

    def _run_triggers(self, placed: Order) -> Order | None:
        """Trigger every conditional order the last price now reaches, until none does.

        A triggered stop may trade with ``placed``, the order being placed, in the same
        command: returns a copy of ``placed`` as its own matching left it (the placement's
        answer), or None if nothing triggered."""
        as_placed = None
        while self.stops:
            last = self.data.last_price
            if not last:
                break
            fired = None
            for o in self.stops.values():
                above = (o.type, o.side) in _TRIGGER_ABOVE
                if (above and last >= o.stop_price) or (not above and last <= o.stop_price):
                    fired = o
                    break
            if fired is None:
                break
            if as_placed is None:
                as_placed = copy.copy(placed)
            del self.stops[fired.order_id]
            self.algo_count[fired.account_id] -= 1
            self._trigger(fired)
        return as_placed

    def _trigger(self, order: Order) -> None:
        now = self._now
        order.is_working = True
        order.working_time = now
        order.update_time = now
        if order.type in MARKET_LIKE_TYPES and order.side is BUY:
            # Re-price the lock for what the market order will actually cost now.
            self.ledger.unlock(order.account_id, order.lock_asset, order.locked)
            order.locked = 0
            skip = _own_skipped(order.self_trade_prevention_mode, order.account_id)
            cost = self._market_buy_cost(order.available, skip)
            if not self.ledger.has_free(order.account_id, order.lock_asset, cost):
                # user-data-stream.md: a contingent order the engine cannot place (lack of
                # funds) expires with reason REJECTED.
                self._report(order, ET_NEW)
                self._expire(order, ExpiryReason.REJECTED)
                return
            self.ledger.lock(order.account_id, order.lock_asset, cost)
            order.locked = cost
        self._report(order, ET_NEW)
        self._execute(order, [])

    # ================================================================== invariants

    def _check(self) -> None:
        """Assert every invariant of this symbol (book, indexes, locks)."""
        self.book._check()
        assert not self._dirty_bids and not self._dirty_asks and not self._changes
        for o in self.orders.values():
            assert o.executed_qty <= o.orig_qty or o.orig_quote_qty, o
            assert o.available >= 0, o
            assert o.cumulative_quote >= 0, o
        for account_id, open_orders in self.open_by_account.items():
            n_algo = 0
            for oid, o in open_orders.items():
                assert o.status in _OPEN, o
                assert o.account_id == account_id and o.order_id == oid
                if o.order_id in self.stops:
                    n_algo += 1
                    assert not o.is_working
                else:
                    assert o.is_working, o
                    lvl = self.book.side(o.side).levels.get(o.price)
                    assert lvl is not None and oid in lvl.orders, f"open order not on book: {o}"
                # Locked equals what the order needs.
                if o.side is BUY:
                    price = o.price or o.stop_price
                    assert o.locked == price * o.available // SCALE, (o, o.locked)
                else:
                    assert o.locked == o.available, (o, o.locked)
            assert n_algo == self.algo_count.get(account_id, 0), (account_id, n_algo, self.algo_count)
        for o in self.orders.values():
            if o.status not in _OPEN:
                assert o.locked == 0, o
                assert o.order_id not in self.stops
