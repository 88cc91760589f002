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
        details = " ".join(f"{k}={v}" for k, v in self.data.items())
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
        """At least: ready, user_stream, and book:<pair> for each pair."""
        ...
