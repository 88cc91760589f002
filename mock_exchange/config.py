"""The mock exchange's configuration: symbols, accounts, starting books, limits, timers.

A configuration is a YAML (or JSON) mapping; ``default_config.yaml`` is the one
``mock-exchange serve`` uses. ``load_config`` validates it and reports the first problem
with its path (``accounts[1].balances.BTC: ...``). ``build_exchange`` turns a validated
configuration into a ready ``Exchange`` with funded accounts and seeded books.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .engine import (
    ConfigError,
    EngineError,
    Event,
    Exchange,
    KeyType,
    NewOrder,
    OrderType,
    Side,
    SymbolConfig,
    TimeInForce,
    format_units,
    symbol_from_config,
)
from .engine.units import parse_units


@dataclass
class AccountConfig:
    name: str
    api_key: str
    api_secret: str
    maker_rate: int
    taker_rate: int
    balances: dict[str, int]
    #: Optional Ed25519 key: (api key, public key PEM).
    ed25519_api_key: str | None = None
    ed25519_public_key: str | None = None


@dataclass
class BookConfig:
    symbol: str
    account: str
    mid: int
    levels: int
    spacing: int
    quantity: int


#: The keys of a ``books`` entry (``BookConfig``'s fields).
BOOK_SETTINGS = frozenset({"symbol", "account", "mid", "levels", "spacing", "quantity"})


@dataclass
class RateLimitConfig:
    """Defaults are Binance's published limits."""

    request_weight_per_minute: int = 6000
    raw_requests_per_5m: int = 300_000
    #: WebSocket API connection attempts per IP (``CONNECTIONS``, every 5 minutes).
    ws_api_connections_per_5m: int = 300
    #: Market/user-data stream (``/ws``, ``/stream``) connection attempts per IP, every 5 minutes.
    stream_connections_per_5m: int = 300
    orders_per_10s: int = 50
    orders_per_day: int = 160_000
    #: Requests refused with 429 in one window before the IP is banned (418).
    ban_after_violations: int = 5
    #: First ban length; each further ban doubles it, up to three days.
    ban_seconds: int = 120


@dataclass
class TimerConfig:
    """WebSocket timers (seconds); tests shrink them."""

    ping_interval: float = 20.0
    pong_timeout: float = 60.0
    connection_lifetime: float = 86_400.0
    listen_key_validity: float = 3_600.0
    depth_fast_interval: float = 0.1
    depth_slow_interval: float = 1.0
    ticker_interval: float = 1.0
    kline_interval: float = 2.0
    max_incoming_per_second: int = 5
    max_streams_per_connection: int = 1024


@dataclass
class ActivityConfig:
    """Synthetic participants (see ``mock_exchange.activity``)."""

    enabled: bool = False
    seed: int = 1
    quote_interval: float = 1.0
    taker_interval: float = 3.0
    volatility_bps: float = 5.0  # float ok: a random-walk knob, not money
    levels: int = 10


@dataclass
class MockConfig:
    seed: int = 1
    accounts: list[AccountConfig] = field(default_factory=list)
    symbols: list[SymbolConfig] = field(default_factory=list)
    books: list[BookConfig] = field(default_factory=list)
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    timers: TimerConfig = field(default_factory=TimerConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    #: Serve the removed listenKey endpoints and streams, for clients pinned to old versions.
    legacy_listen_key: bool = False

    def account(self, name: str) -> AccountConfig:
        for a in self.accounts:
            if a.name == name:
                return a
        raise KeyError(name)


def _amount(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"{where}: expected a decimal string, got {value!r}")
    try:
        return parse_units(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a non-negative decimal with <= 8 places") from None


def _decimal(units: int) -> str:
    """Units as a person writes the amount: ``"0.5"``, not ``50000000``."""
    return format_units(units).rstrip("0").rstrip(".")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _dataclass_section(cls: type, raw: Any, where: str) -> Any:
    data = _mapping(raw, where)
    defaults = cls()
    kwargs = {}
    for key, value in data.items():
        if not hasattr(defaults, key):
            raise ConfigError(f"{where}.{key}: unknown setting")
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # float ok: timer seconds
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{where}.{key}: expected {expected.__name__}, got {value!r}")
        kwargs[key] = value
    return cls(**kwargs)


def parse_config(raw: Any) -> MockConfig:
    """Validate a configuration mapping; raise ``ConfigError`` naming the offending path."""
    top = _mapping(raw, "config")
    known = {"seed", "accounts", "symbols", "books", "rate_limits", "timers", "activity", "legacy_listen_key"}
    for key in top:
        if key not in known:
            raise ConfigError(f"config.{key}: unknown section (known: {', '.join(sorted(known))})")
    cfg = MockConfig()
    seed = top.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed: expected an integer, got {seed!r}")
    cfg.seed = seed
    legacy = top.get("legacy_listen_key", False)
    if not isinstance(legacy, bool):
        raise ConfigError(f"legacy_listen_key: expected true or false, got {legacy!r}")
    cfg.legacy_listen_key = legacy

    for i, raw_sym in enumerate(_list(top.get("symbols", []), "symbols")):
        sym = symbol_from_config(_mapping(raw_sym, f"symbols[{i}]"))
        if any(s.symbol == sym.symbol for s in cfg.symbols):
            raise ConfigError(f"symbols[{i}]: {sym.symbol} is defined twice")
        cfg.symbols.append(sym)

    for i, raw_acct in enumerate(_list(top.get("accounts", []), "accounts")):
        where = f"accounts[{i}]"
        a = _mapping(raw_acct, where)
        name = a.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}.name: every account needs a name")
        if any(x.name == name for x in cfg.accounts):
            raise ConfigError(f"{where}.name: {name!r} is used twice")
        for key in a:
            if key not in {
                "name",
                "api_key",
                "api_secret",
                "commission",
                "balances",
                "ed25519_api_key",
                "ed25519_public_key",
            }:
                raise ConfigError(f"{where}.{key}: unknown setting")
        commission = _mapping(a.get("commission", {}), f"{where}.commission")
        balances = {
            str(asset): _amount(v, f"{where}.balances.{asset}")
            for asset, v in _mapping(a.get("balances", {}), f"{where}.balances").items()
        }
        cfg.accounts.append(
            AccountConfig(
                name=name,
                api_key=str(a.get("api_key") or secrets.token_hex(32)),
                api_secret=str(a.get("api_secret") or secrets.token_hex(32)),
                maker_rate=_amount(commission.get("maker", "0"), f"{where}.commission.maker"),
                taker_rate=_amount(commission.get("taker", "0"), f"{where}.commission.taker"),
                balances=balances,
                ed25519_api_key=a.get("ed25519_api_key"),
                ed25519_public_key=a.get("ed25519_public_key"),
            )
        )

    symbols = {s.symbol for s in cfg.symbols}
    names = {a.name for a in cfg.accounts}
    for i, raw_book in enumerate(_list(top.get("books", []), "books")):
        where = f"books[{i}]"
        b = _mapping(raw_book, where)
        for key in b:
            if key not in BOOK_SETTINGS:
                raise ConfigError(f"{where}.{key}: unknown setting")
        if not isinstance(b.get("symbol"), str) or b["symbol"] not in symbols:
            raise ConfigError(f"{where}.symbol: {b.get('symbol')!r} is not a configured symbol")
        if not isinstance(b.get("account"), str) or b["account"] not in names:
            raise ConfigError(f"{where}.account: {b.get('account')!r} is not a configured account")
        levels = b.get("levels", 10)
        if not isinstance(levels, int) or isinstance(levels, bool) or levels < 0:
            raise ConfigError(f"{where}.levels: expected a non-negative integer")
        cfg.books.append(
            BookConfig(
                symbol=b["symbol"],
                account=b["account"],
                mid=_amount(b.get("mid"), f"{where}.mid"),
                levels=levels,
                spacing=_amount(b.get("spacing"), f"{where}.spacing"),
                quantity=_amount(b.get("quantity"), f"{where}.quantity"),
            )
        )
    if "rate_limits" in top:
        cfg.rate_limits = _dataclass_section(RateLimitConfig, top["rate_limits"], "rate_limits")
    if "timers" in top:
        cfg.timers = _dataclass_section(TimerConfig, top["timers"], "timers")
    if "activity" in top:
        cfg.activity = _dataclass_section(ActivityConfig, top["activity"], "activity")
    return cfg


def load_config(path: str | Path | None = None) -> MockConfig:
    """Load and validate ``path``, or the embedded default configuration."""
    if path is None:
        text = resources.files("mock_exchange").joinpath("default_config.yaml").read_text()
        where = "default_config.yaml"
    else:
        text = Path(path).read_text()
        where = str(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {e}") from None
    try:
        return parse_config(raw or {})
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def build_exchange(cfg: MockConfig, exchange: Exchange) -> None:
    """Create symbols, accounts (with keys) and starting books in ``exchange``."""
    for sym in cfg.symbols:
        exchange.add_symbol(sym)
    for a in cfg.accounts:
        acct = exchange.add_account(
            a.name, maker_rate=a.maker_rate, taker_rate=a.taker_rate, balances=dict(a.balances)
        )
        exchange.add_api_key(acct.account_id, a.api_key, a.api_secret)
        if a.ed25519_api_key and a.ed25519_public_key:
            exchange.add_api_key(acct.account_id, a.ed25519_api_key, a.ed25519_public_key, KeyType.ED25519)
    for book in cfg.books:
        seed_book(exchange, book)
        # A listed symbol has always traded before: until it trades here, its last price
        # (tickers, avgPrice, market-order notional checks, stop triggers) is the mid.
        exchange.engine(book.symbol).data.assume_last_price(book.mid)


def seed_book(
    exchange: Exchange, book: BookConfig, publish: Callable[[list[Event]], None] | None = None
) -> None:
    """Rest ``book.levels`` orders a side around ``book.mid``; ``publish`` gets their events."""
    account_id = exchange.account_by_name(book.account).account_id
    for i in range(1, book.levels + 1):
        for side, price in (
            (Side.BUY, book.mid - i * book.spacing),
            (Side.SELL, book.mid + i * book.spacing),
        ):
            if price <= 0:
                continue
            try:
                result = exchange.place_order(
                    NewOrder(
                        account_id,
                        book.symbol,
                        side,
                        OrderType.LIMIT,
                        quantity=book.quantity,
                        price=price,
                        time_in_force=TimeInForce.GTC,
                    )
                )
            except EngineError as e:
                quantity, at = _decimal(book.quantity), _decimal(price)
                raise ConfigError(f"books: cannot seed {book.symbol} {side} {quantity} @ {at}: {e}") from None
            if publish is not None:
                publish(result.events)
