"""The small interface a connector implements to be driven by scenarios.

The harness never imports a connector directly: it talks to a ``ConnectorDriver``, so
another connector can be checked against the same scenarios by writing one class. Amounts
are ``Decimal``; events are normalised to ``ObservedEvent`` with Hummingbot-style names.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


def show_value(value: Any) -> str:
    """A value for a report: decimals as plain numbers with their own digits
    (``0.00030000``, not ``Decimal('0.00030000')``; ``0.00000000``, not ``0E-8``),
    mappings as ``{BTC: 0.00030000}``."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show_value(v)}" for k, v in value.items()) + "}"
    return str(value)


@dataclass(frozen=True)
class DriverEnv:
    """Where the exchange is and how time flows, for one scenario run."""

    rest_url: str
    stream_url: str
    ws_api_url: str
    api_key: str
    api_secret: str
    trading_pairs: list[str]
    #: Epoch seconds on the scenario's (virtual) clock; the connector must use it for
    #: timestamps and timers.
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    #: Driver-specific options from the scenario's ``setup.connector``.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedEvent:
    seq: int
    time_us: int
    #: OrderCreated, OrderFilled, OrderCompleted, OrderCancelled, OrderExpired, OrderFailed,
    #: OrderAnomaly, BalanceUpdated.
    name: str
    client_order_id: str | None
    data: dict[str, Any]
    mono_ns: int = field(default_factory=time.monotonic_ns)

    def __str__(self) -> str:
        details = " ".join(f"{k}={show_value(v)}" for k, v in self.data.items())
        who = f" {self.client_order_id}" if self.client_order_id else ""
        return f"{self.name}{who} {details}".rstrip()


@dataclass(frozen=True)
class OrderView:
    client_order_id: str
    exchange_order_id: str | None
    #: PENDING_CREATE, OPEN, PARTIALLY_FILLED, PENDING_CANCEL, FILLED, CANCELED, EXPIRED, FAILED.
    state: str
    executed: Decimal
    executed_quote: Decimal
    fee: dict[str, Decimal]
    fills: int
    failure: str | None = None


@dataclass(frozen=True)
class MarketView:
    """The connector's market data for one pair; ``None`` means "none known" (e.g. the
    book is not synced, or no public trade has been seen)."""

    last_trade_price: Decimal | None
    best_bid: Decimal | None
    best_ask: Decimal | None
    mid_price: Decimal | None


@dataclass(frozen=True)
class VolumeQuote:
    """What a market order of some volume would get from the connector's book: the worst
    price reached, the volume-weighted average price, and the base volume obtained (less
    than asked when the book is too thin). Prices are ``None`` when nothing matched."""

    price: Decimal | None
    vwap: Decimal | None
    filled: Decimal


class LocalRejection(Exception):
    """The connector refused an order before sending it; ``reason`` is machine-readable."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ConnectorDriver(Protocol):
    name: str
    events: list[ObservedEvent]

    async def start(self, env: DriverEnv) -> None: ...

    async def stop(self) -> None: ...

    async def restart(self, while_down: Callable[[], Awaitable[None]] | None = None) -> None:
        """Stop, run ``while_down`` (time passes, the market moves), start again from the
        connector's saved tracking state."""
        ...

    def place(
        self,
        side: str,
        pair: str,
        order_type: str,
        amount: Decimal | None,
        price: Decimal | None,
        quote_amount: Decimal | None,
    ) -> str:
        """Submit an order; return its client order id. Raises ``LocalRejection``."""
        ...

    async def cancel(self, client_order_id: str) -> bool: ...

    async def cancel_all(self, timeout: float) -> dict[str, bool]: ...

    def order(self, client_order_id: str) -> OrderView | None: ...

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (total, available), as the connector believes."""
        ...

    def book(
        self, pair: str, depth: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]: ...

    def status(self) -> dict[str, bool]:
        """At least: ready, user_stream, and book:<pair> for each pair; plus the connector's
        own readiness parts (Hummingbot's ``status_dict``: ``user_stream_initialized``,
        ``order_books_initialized``, ...), which ``expect.status`` matches. A driver may
        also have ``not_ready_reasons() -> dict[str, str]`` (part -> why it is not ready),
        which a time-out waiting for the connector to be ready then shows."""
        ...

    # -- network and metadata (template cases 1-12) -----------------------------------------

    async def check_network(self) -> str:
        """``CONNECTED`` or ``NOT_CONNECTED``; never raises for a network problem."""
        ...

    async def all_trading_pairs(self) -> list[str]:
        """Every pair the exchange lists that this connector could trade."""
        ...

    def trading_rule(self, pair: str) -> dict[str, Any] | None:
        """The pair's trading rule as ``field -> value`` (Decimal, bool or None), or None
        when the connector has no rule for it."""
        ...

    def supported_order_types(self) -> list[str]:
        """Order type names, e.g. LIMIT, LIMIT_MAKER, MARKET."""
        ...

    # -- market data --------------------------------------------------------------------------

    def market(self, pair: str) -> MarketView: ...

    def price_for_volume(self, pair: str, is_buy: bool, volume: Decimal) -> VolumeQuote | None:
        """Walk the connector's book as a market order of ``volume`` would (None when the
        connector cannot answer, e.g. its book is not synced)."""
        ...

    def open_orders(self) -> list[str]:
        """Client order ids of the orders the connector still tracks as not done."""
        ...
