"""Binance metadata → connector values: trading rules, the symbol map, client order ids.

* ``is_exchange_information_valid``: the symbols this connector trades are those with
  ``status == "TRADING"`` and ``"SPOT"`` in some ``permissionSets`` entry (since 2024-04-25
  ``permissions`` is always ``[]``; it is still read as a fallback for older payloads).
* ``trading_rule_from_symbol``: ``PRICE_FILTER``, ``LOT_SIZE``, ``MARKET_LOT_SIZE`` and
  ``NOTIONAL``/``MIN_NOTIONAL`` become one ``TradingRule``. Binance disables a bound by
  setting it to 0; a ``TradingRule`` says "unbounded" with ``None`` (maxima) or 0 (minima and
  increments), so zeros are translated, never copied.
* ``parse_exchange_info``: a rule for every valid symbol, skipping (and reporting) any that
  cannot be parsed instead of failing the whole refresh (template test 8); and the name of
  every symbol, valid or not, because a symbol that stops trading (``BREAK``, ``HALT``,
  ``CANCEL_ONLY``...) still has open orders to cancel, executions to report and a book.
* ``ClientOrderIdFactory``: ids matching ``^[a-zA-Z0-9-_]{1,36}$`` with a broker prefix.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connector.core.data_types import ZERO, TradeType
from connector.core.throttler import RateLimit, RateLimitKind
from connector.core.trading_rule import TradingRule

from . import binance_constants as CONSTANTS
from .binance_web_utils import decimal

logger = logging.getLogger(__name__)


def trading_pair_of(base_asset: str, quote_asset: str) -> str:
    """``("BTC", "USDT")`` → ``"BTC-USDT"``: the exchange-neutral pair name."""
    return f"{base_asset}-{quote_asset}"


def is_exchange_information_valid(symbol_info: Mapping[str, Any]) -> bool:
    """True for a symbol this connector may trade: TRADING and SPOT-permitted."""
    if symbol_info.get("status") != "TRADING":
        return False
    permission_sets = symbol_info.get("permissionSets")
    if isinstance(permission_sets, list) and permission_sets:
        return any(isinstance(s, list) and "SPOT" in s for s in permission_sets)
    permissions = symbol_info.get("permissions")
    return isinstance(permissions, list) and "SPOT" in permissions


def _positive_or_none(value: Decimal) -> Decimal | None:
    return value if value > 0 else None


def _precision_step(info: Mapping[str, Any], key: str) -> Decimal:
    digits = info.get(key)
    if isinstance(digits, int) and not isinstance(digits, bool) and digits >= 0:
        return Decimal(1).scaleb(-digits)
    return ZERO


def trading_rule_from_symbol(info: Mapping[str, Any]) -> TradingRule:
    """Build a ``TradingRule`` from one ``exchangeInfo`` symbol. Raises ``ValueError`` (or
    ``KeyError``/``TypeError``) on a malformed entry."""
    pair = trading_pair_of(str(info["baseAsset"]), str(info["quoteAsset"]))
    filters = {f["filterType"]: f for f in info.get("filters", []) if isinstance(f, Mapping)}
    values: dict[str, Any] = {}

    price = filters.get("PRICE_FILTER")
    if price is not None:
        values["min_price_increment"] = decimal(price["tickSize"], "tickSize")
        values["min_price"] = decimal(price["minPrice"], "minPrice")
        values["max_price"] = _positive_or_none(decimal(price["maxPrice"], "maxPrice"))

    lot = filters.get("LOT_SIZE")
    if lot is not None:
        values["min_order_size"] = decimal(lot["minQty"], "minQty")
        values["max_order_size"] = _positive_or_none(decimal(lot["maxQty"], "maxQty"))
        values["min_base_amount_increment"] = decimal(lot["stepSize"], "stepSize")

    market_lot = filters.get("MARKET_LOT_SIZE")
    if market_lot is not None:
        values["min_market_order_size"] = decimal(market_lot["minQty"], "minQty")
        values["max_market_order_size"] = _positive_or_none(decimal(market_lot["maxQty"], "maxQty"))
        values["market_amount_increment"] = decimal(market_lot["stepSize"], "stepSize")

    notional = filters.get("NOTIONAL")
    min_notional = filters.get("MIN_NOTIONAL")
    if notional is not None:
        values["min_notional_size"] = decimal(notional["minNotional"], "minNotional")
        values["apply_min_notional_to_market"] = bool(notional.get("applyMinToMarket", True))
        if "maxNotional" in notional:
            values["max_notional_size"] = _positive_or_none(decimal(notional["maxNotional"], "maxNotional"))
        values["apply_max_notional_to_market"] = bool(notional.get("applyMaxToMarket", False))
    elif min_notional is not None:
        values["min_notional_size"] = decimal(min_notional["minNotional"], "minNotional")
        values["apply_min_notional_to_market"] = bool(min_notional.get("applyToMarket", True))

    max_orders = filters.get("MAX_NUM_ORDERS")
    if max_orders is not None:
        limit = max_orders["maxNumOrders"]
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise ValueError(f"maxNumOrders must be an integer, got {limit!r}")
        values["max_num_orders"] = limit if limit > 0 else None

    order_types = info.get("orderTypes")
    if isinstance(order_types, list):
        values["supports_limit_orders"] = "LIMIT" in order_types
        values["supports_limit_maker_orders"] = "LIMIT_MAKER" in order_types
        values["supports_market_orders"] = "MARKET" in order_types
    values["supports_quote_market_orders"] = bool(info.get("quoteOrderQtyMarketAllowed", False))
    values["min_quote_amount_increment"] = _precision_step(info, "quoteAssetPrecision")
    return TradingRule(trading_pair=pair, **values)


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """What the connector keeps of one symbol besides its rule."""

    symbol: str
    trading_pair: str
    base_asset: str
    quote_asset: str


@dataclass(slots=True)
class ExchangeInfo:
    """The parsed ``exchangeInfo``: every symbol's names, the valid symbols' rules, and
    what was skipped."""

    #: Every symbol, whatever its status (for names: cancels, executions, streams).
    symbols: dict[str, SymbolInfo] = field(default_factory=dict)  # by trading pair
    #: Only the symbols new orders may go to (``is_exchange_information_valid``).
    rules: dict[str, TradingRule] = field(default_factory=dict)  # by trading pair
    #: Symbols that are valid but could not be parsed: symbol → reason.
    errors: dict[str, str] = field(default_factory=dict)
    server_time_ms: int | None = None


def parse_exchange_info(payload: Mapping[str, Any]) -> ExchangeInfo:
    """Parse ``GET /api/v3/exchangeInfo``. Every symbol's names are kept; only valid symbols
    get a rule. A malformed valid symbol is reported in ``errors`` and skipped, so one bad
    entry never hides the rest."""
    info = ExchangeInfo()
    server_time = payload.get("serverTime")
    if isinstance(server_time, int):
        info.server_time_ms = server_time
    raw_symbols = payload.get("symbols")
    if not isinstance(raw_symbols, list):
        raise ValueError(f"exchangeInfo has no symbol list: {str(payload)[:200]}")
    for raw in raw_symbols:
        if not isinstance(raw, Mapping):
            continue
        if not is_exchange_information_valid(raw):
            names = raw.get("symbol"), raw.get("baseAsset"), raw.get("quoteAsset")
            if all(isinstance(n, str) and n for n in names):
                symbol, base, quote = (str(n) for n in names)
                pair = trading_pair_of(base, quote)
                info.symbols[pair] = SymbolInfo(symbol, pair, base, quote)
            continue
        name = str(raw.get("symbol", "?"))
        try:
            rule = trading_rule_from_symbol(raw)
            entry = SymbolInfo(name, rule.trading_pair, str(raw["baseAsset"]), str(raw["quoteAsset"]))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            logger.error("skipping symbol %s: cannot parse its trading rules: %r", name, exc)
            info.errors[name] = repr(exc)
            continue
        info.symbols[rule.trading_pair] = entry
        info.rules[rule.trading_pair] = rule
    return info


_INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86_400}


def rate_limits_from_exchange_info(payload: Mapping[str, Any]) -> tuple[RateLimit, ...]:
    """The REQUEST_WEIGHT, ORDERS and RAW_REQUESTS limits an exchange publishes in
    ``exchangeInfo.rateLimits`` (``CONNECTIONS`` and unknown types are not ours to pace).
    Malformed entries are skipped; an empty result means "keep the defaults"."""
    out: dict[str, RateLimit] = {}
    raw = payload.get("rateLimits")
    for entry in raw if isinstance(raw, list) else ():
        if not isinstance(entry, Mapping):
            continue
        try:
            kind = RateLimitKind(entry["rateLimitType"])
            seconds = _INTERVAL_SECONDS[entry["interval"]] * int(entry["intervalNum"])
            limit = int(entry["limit"])
        except (KeyError, TypeError, ValueError):
            continue
        if kind is RateLimitKind.OTHER or limit < 1 or seconds < 1:
            continue
        limit_id = CONSTANTS.rate_limit_id(kind, seconds)
        out[limit_id] = RateLimit(limit_id, limit, seconds, kind)
    return tuple(out.values())


class SymbolMapper:
    """Two-way map between Binance symbols (``BTCUSDT``) and trading pairs (``BTC-USDT``).

    The dictionaries are updated in place on every refresh, so holders of ``pair_by_symbol``
    (the order-book message factories) always see the current map.
    """

    def __init__(self) -> None:
        self.pair_by_symbol: dict[str, str] = {}
        self.symbol_by_pair: dict[str, str] = {}

    def update(self, symbols: Iterable[SymbolInfo]) -> None:
        """Add or refresh these names. Names are never forgotten: a symbol that leaves
        ``exchangeInfo`` (delisted) may still have orders and executions to name."""
        for entry in symbols:
            old_pair = self.pair_by_symbol.get(entry.symbol)
            if old_pair is not None and old_pair != entry.trading_pair:
                self.symbol_by_pair.pop(old_pair, None)
            self.pair_by_symbol[entry.symbol] = entry.trading_pair
            self.symbol_by_pair[entry.trading_pair] = entry.symbol

    @property
    def ready(self) -> bool:
        return bool(self.symbol_by_pair)

    def symbol(self, trading_pair: str) -> str:
        """The Binance symbol of a pair; ``KeyError`` for an unknown pair."""
        return self.symbol_by_pair[trading_pair]

    def trading_pair(self, symbol: str) -> str:
        """The pair of a Binance symbol; ``KeyError`` for an unknown symbol."""
        return self.pair_by_symbol[symbol]


_ALNUM = re.compile(r"[^A-Za-z0-9]")


class ClientOrderIdFactory:
    """New client order ids: ``<prefix><B|S><base><quote><nonce>``, at most 36 characters.

    The nonce is a strictly increasing count of microseconds since the epoch on ``clock``
    (the connector's own clock: ``time.time`` in production, so ids stay unique across
    restarts of the process; a virtual clock in tests and scenarios, so a run's ids are the
    same every time). The asset letters are informative only and are shortened first when
    the id would be too long; the nonce is never cut.
    """

    def __init__(
        self, prefix: str = CONSTANTS.DEFAULT_CLIENT_ORDER_ID_PREFIX, clock: Callable[[], float] = time.time
    ) -> None:
        if len(prefix) > CONSTANTS.MAX_CLIENT_ORDER_ID_PREFIX_LENGTH or (
            prefix and not CONSTANTS.CLIENT_ORDER_ID_RE.fullmatch(prefix)
        ):
            raise ValueError(
                f"client order id prefix {prefix!r} must match [a-zA-Z0-9-_] and be at most "
                f"{CONSTANTS.MAX_CLIENT_ORDER_ID_PREFIX_LENGTH} characters"
            )
        self.prefix = prefix
        self._clock = clock
        self._last_nonce = 0

    def _nonce(self) -> int:
        nonce = max(round(self._clock() * 1_000_000), self._last_nonce + 1)
        self._last_nonce = nonce
        return nonce

    def new_id(self, trade_type: TradeType, trading_pair: str) -> str:
        side = "B" if trade_type is TradeType.BUY else "S"
        nonce = format(self._nonce(), "x")
        room = CONSTANTS.MAX_CLIENT_ORDER_ID_LENGTH - len(self.prefix) - len(side) - len(nonce)
        base, _, quote = trading_pair.partition("-")
        letters = _ALNUM.sub("", base)[:3] + _ALNUM.sub("", quote)[:3]
        return f"{self.prefix}{side}{letters[: max(room, 0)]}{nonce}"


def validate_client_order_id(client_order_id: str) -> bool:
    """True if Binance accepts ``client_order_id`` as a ``newClientOrderId``."""
    return bool(CONSTANTS.CLIENT_ORDER_ID_RE.fullmatch(client_order_id))
