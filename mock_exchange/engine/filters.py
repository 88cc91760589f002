"""Symbol rules and Binance's filter checks.

Filters are configured in the same JSON shape ``exchangeInfo`` publishes (strings for
amounts), parsed here into integer units. The checks follow Binance's documented formulas:
modulo taken from zero, any bound of 0 disables that bound, ``-1013 Filter failure: NAME``
on failure. Filters run in the order the symbol lists them, before the order reaches the
book, so a failure never changes state.

Filter types we publish but do not enforce (``ICEBERG_PARTS``, ``TRAILING_DELTA`` ...)
are kept verbatim in ``SymbolConfig.extra_filters``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import filter_failure
from .types import STPMode, SymbolStatus
from .units import SCALE, mul, parse_units


@dataclass(frozen=True, slots=True)
class PriceFilter:
    min_price: int
    max_price: int
    tick_size: int
    filter_type = "PRICE_FILTER"


@dataclass(frozen=True, slots=True)
class LotSize:
    min_qty: int
    max_qty: int
    step_size: int
    filter_type = "LOT_SIZE"


@dataclass(frozen=True, slots=True)
class MarketLotSize(LotSize):
    filter_type = "MARKET_LOT_SIZE"


@dataclass(frozen=True, slots=True)
class MinNotional:
    min_notional: int
    apply_to_market: bool
    avg_price_mins: int
    filter_type = "MIN_NOTIONAL"


@dataclass(frozen=True, slots=True)
class Notional:
    min_notional: int
    apply_min_to_market: bool
    max_notional: int
    apply_max_to_market: bool
    avg_price_mins: int
    filter_type = "NOTIONAL"


@dataclass(frozen=True, slots=True)
class PercentPrice:
    multiplier_up: int
    multiplier_down: int
    avg_price_mins: int
    filter_type = "PERCENT_PRICE"


@dataclass(frozen=True, slots=True)
class PercentPriceBySide:
    bid_multiplier_up: int
    bid_multiplier_down: int
    ask_multiplier_up: int
    ask_multiplier_down: int
    avg_price_mins: int
    filter_type = "PERCENT_PRICE_BY_SIDE"


@dataclass(frozen=True, slots=True)
class MaxNumOrders:
    max_num_orders: int
    filter_type = "MAX_NUM_ORDERS"


@dataclass(frozen=True, slots=True)
class MaxNumAlgoOrders:
    max_num_algo_orders: int
    filter_type = "MAX_NUM_ALGO_ORDERS"


Filter = (
    PriceFilter
    | LotSize
    | MarketLotSize
    | MinNotional
    | Notional
    | PercentPrice
    | PercentPriceBySide
    | MaxNumOrders
    | MaxNumAlgoOrders
)


class ConfigError(ValueError):
    """A symbol or filter definition in the configuration is malformed."""


def _u(d: Mapping[str, Any], key: str, where: str) -> int:
    try:
        value = d[key]
    except KeyError:
        raise ConfigError(f"{where}: missing {key!r}") from None
    try:
        return parse_units(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {key!r} must be a decimal string, got {value!r}") from None


def _i(d: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = d.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where}: {key!r} must be an integer, got {value!r}")
    return value


def _b(d: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key!r} must be true or false, got {value!r}")
    return value


def parse_filter(d: Mapping[str, Any], where: str) -> Filter | None:
    """Parse one exchangeInfo-shaped filter; ``None`` for types we only publish."""
    ft = d.get("filterType")
    w = f"{where} {ft}"
    if ft == "PRICE_FILTER":
        return PriceFilter(_u(d, "minPrice", w), _u(d, "maxPrice", w), _u(d, "tickSize", w))
    if ft == "LOT_SIZE":
        return LotSize(_u(d, "minQty", w), _u(d, "maxQty", w), _u(d, "stepSize", w))
    if ft == "MARKET_LOT_SIZE":
        return MarketLotSize(_u(d, "minQty", w), _u(d, "maxQty", w), _u(d, "stepSize", w))
    if ft == "MIN_NOTIONAL":
        return MinNotional(
            _u(d, "minNotional", w), _b(d, "applyToMarket", w, True), _i(d, "avgPriceMins", w, 5)
        )
    if ft == "NOTIONAL":
        return Notional(
            _u(d, "minNotional", w),
            _b(d, "applyMinToMarket", w, True),
            _u(d, "maxNotional", w),
            _b(d, "applyMaxToMarket", w, False),
            _i(d, "avgPriceMins", w, 5),
        )
    if ft == "PERCENT_PRICE":
        return PercentPrice(_u(d, "multiplierUp", w), _u(d, "multiplierDown", w), _i(d, "avgPriceMins", w, 5))
    if ft == "PERCENT_PRICE_BY_SIDE":
        return PercentPriceBySide(
            _u(d, "bidMultiplierUp", w),
            _u(d, "bidMultiplierDown", w),
            _u(d, "askMultiplierUp", w),
            _u(d, "askMultiplierDown", w),
            _i(d, "avgPriceMins", w, 1),
        )
    if ft == "MAX_NUM_ORDERS":
        return MaxNumOrders(_i(d, "maxNumOrders", w))
    if ft == "MAX_NUM_ALGO_ORDERS":
        return MaxNumAlgoOrders(_i(d, "maxNumAlgoOrders", w))
    if not isinstance(ft, str):
        raise ConfigError(f"{where}: a filter needs a string 'filterType', got {ft!r}")
    return None


@dataclass(slots=True)
class SymbolConfig:
    """One symbol's static definition and rules."""

    symbol: str
    base_asset: str
    quote_asset: str
    status: SymbolStatus = SymbolStatus.TRADING
    order_types: tuple[str, ...] = (
        "LIMIT",
        "LIMIT_MAKER",
        "MARKET",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    )
    quote_order_qty_market_allowed: bool = True
    cancel_replace_allowed: bool = True
    default_stp_mode: STPMode = STPMode.NONE
    allowed_stp_modes: tuple[STPMode, ...] = (
        STPMode.NONE,
        STPMode.EXPIRE_TAKER,
        STPMode.EXPIRE_MAKER,
        STPMode.EXPIRE_BOTH,
        STPMode.DECREMENT,
        STPMode.TRANSFER,
    )
    permission_sets: list[list[str]] = field(default_factory=lambda: [["SPOT"]])
    filters: list[Filter] = field(default_factory=list)
    #: Filters published verbatim but not enforced (e.g. ICEBERG_PARTS, TRAILING_DELTA).
    extra_filters: list[dict[str, Any]] = field(default_factory=list)
    #: Order in which all filters (enforced or not) appear in exchangeInfo: (kind, index).
    filter_order: list[tuple[str, int]] = field(default_factory=list)

    # Shortcuts, filled by ``index_filters``.
    price_filter: PriceFilter | None = None
    lot_size: LotSize | None = None
    market_lot_size: MarketLotSize | None = None

    def index_filters(self) -> None:
        for f in self.filters:
            if isinstance(f, PriceFilter):
                self.price_filter = f
            elif isinstance(f, MarketLotSize):
                self.market_lot_size = f
            elif isinstance(f, LotSize):
                self.lot_size = f

    @property
    def step_size(self) -> int:
        return self.lot_size.step_size if self.lot_size and self.lot_size.step_size else 1

    @property
    def min_qty(self) -> int:
        return self.lot_size.min_qty if self.lot_size else 0


def symbol_from_config(d: Mapping[str, Any]) -> SymbolConfig:
    """Build a ``SymbolConfig`` from a mapping shaped like an exchangeInfo symbol entry."""
    name = d.get("symbol")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"symbol entry needs a 'symbol' name: {dict(d)!r}")
    where = f"symbol {name}"
    for key in ("baseAsset", "quoteAsset"):
        if not isinstance(d.get(key), str):
            raise ConfigError(f"{where}: missing {key!r}")
    try:
        status = SymbolStatus(d.get("status", "TRADING"))
        default_stp = STPMode(d.get("defaultSelfTradePreventionMode", "NONE"))
        allowed = tuple(
            STPMode(m)
            for m in d.get(
                "allowedSelfTradePreventionModes",
                ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT", "TRANSFER"],
            )
        )
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None
    cfg = SymbolConfig(
        symbol=name,
        base_asset=d["baseAsset"],
        quote_asset=d["quoteAsset"],
        status=status,
        quote_order_qty_market_allowed=_b(d, "quoteOrderQtyMarketAllowed", where, True),
        cancel_replace_allowed=_b(d, "cancelReplaceAllowed", where, True),
        default_stp_mode=default_stp,
        allowed_stp_modes=allowed,
        permission_sets=d.get("permissionSets", [["SPOT"]]),
    )
    if "orderTypes" in d:
        cfg.order_types = tuple(d["orderTypes"])
    for raw in d.get("filters", []):
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: each filter must be a mapping, got {raw!r}")
        parsed = parse_filter(raw, where)
        if parsed is None:
            cfg.filter_order.append(("extra", len(cfg.extra_filters)))
            cfg.extra_filters.append(dict(raw))
        else:
            cfg.filter_order.append(("rule", len(cfg.filters)))
            cfg.filters.append(parsed)
    cfg.index_filters()
    return cfg


# --------------------------------------------------------------------------- checks

AvgPrice = Callable[[int], int]
"""Given ``avgPriceMins``, the symbol's average price in units (0 if nothing traded)."""


def check_new_order(
    cfg: SymbolConfig,
    is_market: bool,
    price: int,
    stop_price: int,
    qty: int | None,
    quote_qty: int | None,
    is_buy: bool,
    avg_price: AvgPrice,
    open_orders: int,
    open_algo_orders: int,
    is_algo: bool,
) -> None:
    """Run every enforced filter in the symbol's order; raise ``-1013`` on the first failure.

    ``price`` is the limit price (0 for market-like orders); ``qty`` is ``None`` for a
    MARKET order by ``quoteOrderQty``. Called for every order that ``LimitRules`` does not
    clear, so it dispatches on the filter's class identity rather than ``isinstance`` chains
    and writes the common checks out inline instead of calling a method per filter.
    ``avg_price`` is only called by filters that need it.
    """
    for f in cfg.filters:
        t = type(f)
        if t is PriceFilter:
            assert isinstance(f, PriceFilter)  # for mypy: narrowing on `t` is lost
            lo, hi, tick = f.min_price, f.max_price, f.tick_size
            for p in (price, stop_price):
                if p and ((lo and p < lo) or (hi and p > hi) or (tick and p % tick)):
                    raise filter_failure(f.filter_type)
        elif t is LotSize or (t is MarketLotSize and is_market):
            assert isinstance(f, LotSize)
            if qty is not None and (
                qty < f.min_qty or (f.max_qty and qty > f.max_qty) or (f.step_size and qty % f.step_size)
            ):
                raise filter_failure(f.filter_type)
        elif t is Notional or t is MinNotional:
            assert isinstance(f, Notional | MinNotional)
            if is_market:
                _check_market_notional(f, qty, quote_qty, avg_price)
            else:
                # A priced order: the minimum always applies, NOTIONAL's maximum too.
                notional = price * (qty or 0) // SCALE
                if notional < f.min_notional:
                    raise filter_failure(f.filter_type)
                if t is Notional:
                    assert isinstance(f, Notional)
                    if f.max_notional and notional > f.max_notional:
                        raise filter_failure(f.filter_type)
        elif t is PercentPriceBySide or t is PercentPrice:
            assert isinstance(f, PercentPriceBySide | PercentPrice)
            if price and not is_market:
                ref = avg_price(f.avg_price_mins)
                if ref:
                    if isinstance(f, PercentPrice):
                        up, down = f.multiplier_up, f.multiplier_down
                    elif is_buy:
                        up, down = f.bid_multiplier_up, f.bid_multiplier_down
                    else:
                        up, down = f.ask_multiplier_up, f.ask_multiplier_down
                    if price > mul(ref, up) or price < mul(ref, down):
                        raise filter_failure(f.filter_type)
        elif t is MaxNumOrders:
            assert isinstance(f, MaxNumOrders)
            if open_orders >= f.max_num_orders:
                raise filter_failure(f.filter_type)
        elif t is MaxNumAlgoOrders:
            assert isinstance(f, MaxNumAlgoOrders)
            if is_algo and open_algo_orders >= f.max_num_algo_orders:
                raise filter_failure(f.filter_type)


class LimitRules:
    """The enforced filters folded into flat bounds: a quick pass/fail for priced orders.

    ``check_new_order`` walks the filter list in order because the *first* failing filter
    names the error. But almost every order passes every filter, and for a priced,
    non-conditional order (LIMIT, LIMIT_MAKER) the filters reduce to a handful of
    bounds. ``passes`` tests them all at once; when it says no, the engine runs
    ``check_new_order`` to raise the exact error. So ``passes`` only has to be exact in
    one direction: it must never accept an order some filter would refuse.

    Folding needs each enforced filter type at most once; otherwise (or for a filter
    type this class does not know) ``exact`` is False, ``passes`` always says no, and
    every order takes the full walk. ``source`` is a copy of the list the rules were
    folded from: the engine refolds when ``SymbolConfig.filters`` no longer equals it.
    """

    __slots__ = (
        "ask_down",
        "ask_up",
        "avg_price_mins",
        "bid_down",
        "bid_up",
        "exact",
        "max_notional",
        "max_orders",
        "max_price",
        "max_qty",
        "min_notional",
        "min_price",
        "min_qty",
        "source",
        "step_size",
        "tick_size",
    )

    def __init__(self, filters: Sequence[object]) -> None:
        self.source = list(filters)
        self.exact = True
        self.min_price = self.max_price = self.tick_size = 0
        self.min_qty = self.max_qty = self.step_size = 0
        self.min_notional: int | None = None  # None: no notional filter
        self.max_notional = 0  # 0: no maximum
        self.avg_price_mins: int | None = None  # None: no PERCENT_PRICE_BY_SIDE
        self.bid_up = self.bid_down = self.ask_up = self.ask_down = 0
        self.max_orders: int | None = None
        seen: set[type] = set()
        for f in filters:
            t = type(f)
            if t in seen:
                self.exact = False
            seen.add(t)
            if isinstance(f, PriceFilter):
                self.min_price, self.max_price, self.tick_size = f.min_price, f.max_price, f.tick_size
            elif isinstance(f, MarketLotSize | MaxNumAlgoOrders):
                pass  # never applies to a priced, non-conditional order
            elif isinstance(f, LotSize):
                self.min_qty, self.max_qty, self.step_size = f.min_qty, f.max_qty, f.step_size
            elif isinstance(f, MinNotional | Notional):
                # A priced order must meet every minimum, and NOTIONAL's maximum.
                self.min_notional = max(self.min_notional or 0, f.min_notional)
                if isinstance(f, Notional):
                    self.max_notional = f.max_notional
            elif isinstance(f, PercentPriceBySide):
                self.avg_price_mins = f.avg_price_mins
                self.bid_up, self.bid_down = f.bid_multiplier_up, f.bid_multiplier_down
                self.ask_up, self.ask_down = f.ask_multiplier_up, f.ask_multiplier_down
            elif isinstance(f, MaxNumOrders):
                self.max_orders = f.max_num_orders
            else:
                self.exact = False

    def passes(
        self,
        price: int,
        qty: int,
        is_buy: bool,
        avg_price: Callable[[int, int], int],
        now: int,
        open_orders: int,
    ) -> bool:
        """True only if every filter accepts this priced, non-conditional order.

        The same tests as ``check_new_order`` with ``is_market=False``, ``stop_price=0``
        and ``is_algo=False``; ``avg_price(mins, now)`` is the symbol's average price.
        """
        if not self.exact:
            return False
        if price:
            if (self.min_price and price < self.min_price) or (self.max_price and price > self.max_price):
                return False
            if self.tick_size and price % self.tick_size:
                return False
        if qty < self.min_qty or (self.max_qty and qty > self.max_qty):
            return False
        if self.step_size and qty % self.step_size:
            return False
        if self.min_notional is not None:
            notional = price * qty // SCALE
            if notional < self.min_notional or (self.max_notional and notional > self.max_notional):
                return False
        if self.max_orders is not None and open_orders >= self.max_orders:
            return False
        if price and self.avg_price_mins is not None:
            ref = avg_price(self.avg_price_mins, now)
            if ref:
                if is_buy:
                    up, down = self.bid_up, self.bid_down
                else:
                    up, down = self.ask_up, self.ask_down
                if price > ref * up // SCALE or price < ref * down // SCALE:
                    return False
        return True


def _check_market_notional(
    f: MinNotional | Notional,
    qty: int | None,
    quote_qty: int | None,
    avg_price: AvgPrice,
) -> None:
    """A MARKET-like order against a notional filter: judged by ``quoteOrderQty``, or by
    quantity at the average price, and only on the bounds the filter applies to market."""
    if isinstance(f, MinNotional):
        apply_min, apply_max = f.apply_to_market, False
    else:
        apply_min, apply_max = f.apply_min_to_market, f.apply_max_to_market
    if not (apply_min or apply_max):
        return
    if quote_qty is not None:
        notional = quote_qty
    else:
        ref = avg_price(f.avg_price_mins)
        if not ref:
            return  # nothing traded yet: no reference price to judge by
        notional = mul(ref, qty or 0)
    if apply_min and notional < f.min_notional:
        raise filter_failure(f.filter_type)
    if apply_max and isinstance(f, Notional) and f.max_notional and notional > f.max_notional:
        raise filter_failure(f.filter_type)
