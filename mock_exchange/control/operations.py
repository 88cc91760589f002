"""Everything a test, a scenario or a person may do to the exchange from the outside.

``Control`` is the Python API; ``control.http`` serves the same operations as JSON under
``/mock/``. Amounts are decimal strings (or ``Decimal``), accounts are referred to by name,
and every refusal is a ``ControlError`` whose message names the offending field.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from mock_exchange.binance import formatting as F
from mock_exchange.binance.params import CLIENT_ID_CHARS
from mock_exchange.binance.service import ExchangeService
from mock_exchange.clock import VirtualClock
from mock_exchange.config import BookConfig, seed_book
from mock_exchange.engine import (
    EngineError,
    NewOrder,
    OrderType,
    Side,
    STPMode,
    TimeInForce,
    format_units,
    to_units,
)
from mock_exchange.engine.exchange import DAY_US
from mock_exchange.faults.plan import Fault, FaultSpecError, Kind


class ControlError(ValueError):
    """A control request is malformed or impossible; the message says which field and why."""


#: Amounts the control API takes: below 10^20, as Binance's own decimal parameters.
MAX_AMOUNT = 10**20
MAX_SKEW_MS = DAY_US // 1000
_ASSET = re.compile(r"[A-Z0-9]{1,20}")
_CLIENT_ORDER_ID = re.compile(CLIENT_ID_CHARS)


def _units(value: Any, field: str) -> int:
    if isinstance(value, bool) or value is None:
        raise ControlError(f"{field}: expected a decimal amount, got {value!r}")
    try:
        number = Decimal(str(value))
        if not number.is_finite() or abs(number) >= MAX_AMOUNT:
            raise ValueError(value)
        amount = to_units(number)
    except (InvalidOperation, ValueError):
        raise ControlError(
            f"{field}: {value!r} is not a decimal below {MAX_AMOUNT:,} with at most 8 places"
        ) from None
    if amount < 0:
        raise ControlError(f"{field}: must not be negative")
    return amount


def _asset(value: Any) -> str:
    if not (isinstance(value, str) and _ASSET.fullmatch(value)):
        raise ControlError(f"asset: expected an asset name (1-20 capital letters or digits), got {value!r}")
    return value


def _enum(enum: Any, value: Any, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ControlError(f"{field}: must be one of {allowed}, got {value!r}") from None


def _check_socket_surface(surface: str) -> None:
    """The WebSocket surfaces a connection operation can address."""
    if surface not in ("stream", "ws_api", "all"):
        raise ControlError(f"surface: must be stream, ws_api or all, got {surface!r}")


class Control:
    def __init__(
        self, service: ExchangeService, streams: Any = None, ws_api: Any = None, user_data: Any = None
    ) -> None:
        self.service = service
        self.streams = streams
        self.ws_api = ws_api
        self.user_data = user_data

    @property
    def exchange(self) -> Any:
        return self.service.exchange

    def account_id(self, name: str) -> int:
        try:
            return int(self.exchange.account_by_name(name).account_id)
        except KeyError:
            known = ", ".join(a.name for a in self.exchange.ledger.accounts.values() if a.account_id)
            raise ControlError(f"account: no account named {name!r} (accounts: {known})") from None

    def _symbol(self, symbol: Any) -> str:
        if not isinstance(symbol, str) or symbol not in self.exchange.engines:
            raise ControlError(
                f"symbol: unknown symbol {symbol!r} (symbols: {', '.join(self.exchange.engines)})"
            )
        return symbol

    # ------------------------------------------------------------------ faults

    def add_fault(self, spec: dict[str, Any] | Fault) -> Fault:
        try:
            fault = spec if isinstance(spec, Fault) else Fault.from_spec(spec)
        except FaultSpecError as e:
            raise ControlError(str(e)) from None
        if fault.action.kind is Kind.STALE_SNAPSHOT:
            symbol = self._symbol(fault.match.symbol)
            fault.captured = self.exchange.engine(symbol).snapshot(5000)
        return self.service.faults.add(fault)

    def remove_fault(self, fault_id: int) -> bool:
        return self.service.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.service.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return [f.describe() for f in self.service.faults.faults]

    def disconnect(self, surface: str = "all", stream: str | None = None) -> int:
        """Drop WebSocket connections at once: market streams, the WS API, or both."""
        _check_socket_surface(surface)
        n = 0
        if surface in ("stream", "all") and self.streams is not None:
            n += self.streams.disconnect_all(stream)
        if surface in ("ws_api", "all") and self.ws_api is not None:
            for session in list(self.ws_api.sessions):
                session.conn.abort()
                n += 1
        return n

    def shutdown_notice(self, surface: str = "all") -> None:
        """Send Binance's ``serverShutdown`` on every WebSocket connection of ``surface``
        without closing anything: Binance sends it when a server is about to shut down, and a
        client should reconnect meanwhile."""
        _check_socket_surface(surface)
        if surface in ("stream", "all") and self.streams is not None:
            self.streams.shutdown_notice()
        if surface in ("ws_api", "all") and self.ws_api is not None:
            self.ws_api.shutdown_notice()

    def stall(self, seconds: float, surface: str = "all", stream: str | None = None) -> int:
        """Silence connections for ``seconds`` (sockets stay open)."""
        if seconds <= 0:
            raise ControlError("seconds: must be positive")
        _check_socket_surface(surface)
        n = 0
        if surface in ("stream", "all") and self.streams is not None:
            n += self.streams.stall_all(seconds, stream)
        if surface in ("ws_api", "all") and self.ws_api is not None:
            for session in list(self.ws_api.sessions):
                session.conn.stall(seconds)
                n += 1
        return n

    def terminate_user_data(self, account: str) -> int:
        """End the account's user data subscriptions (``eventStreamTerminated``)."""
        if self.user_data is None:
            return 0
        return int(self.user_data.terminate(self.account_id(account)))

    def inject_user_event(self, account: str, payload: dict[str, Any]) -> int:
        """Deliver a raw user-data payload (e.g. an executionReport with a status the engine
        never produces) to the account's subscribers; returns how many got it."""
        if not isinstance(payload, dict):
            raise ControlError("payload: expected a JSON object")
        if self.user_data is None:
            return 0
        return int(self.user_data.inject(self.account_id(account), payload))

    def inject_stream_message(self, stream: str, payload: Any) -> int:
        """Publish a raw message on a market stream (e.g. a depth diff that crosses the book)."""
        if self.streams is None:
            return 0
        return int(self.streams.inject(stream, payload))

    # ------------------------------------------------------------------ money

    def deposit(self, account: str, asset: str, amount: Any) -> None:
        units = _units(amount, "amount")
        if not units:
            raise ControlError("amount: must be positive")
        self.service.publish(self.exchange.deposit(self.account_id(account), _asset(asset), units))

    def withdraw(self, account: str, asset: str, amount: Any) -> None:
        units = _units(amount, "amount")
        if not units:
            raise ControlError("amount: must be positive")
        try:
            self.service.publish(self.exchange.withdraw(self.account_id(account), _asset(asset), units))
        except EngineError as e:
            raise ControlError(f"amount: {e.msg}") from None

    def balances(self, account: str) -> dict[str, dict[str, str]]:
        acct = self.exchange.account(self.account_id(account))
        return {
            a: {"free": format_units(f), "locked": format_units(lk)} for a, (f, lk) in acct.balances.items()
        }

    # ------------------------------------------------------------------ orders and books

    def place_order(
        self,
        account: str,
        symbol: str,
        side: str,
        type: str = "LIMIT",
        *,
        quantity: Any = None,
        price: Any = None,
        quote_order_qty: Any = None,
        stop_price: Any = None,
        time_in_force: str | None = None,
        client_order_id: str | None = None,
        stp: str | None = None,
    ) -> dict[str, Any]:
        """Place an order as ``account`` (another participant): returns the order as GET /order shows it."""
        otype = _enum(OrderType, type, "type")
        tif = _enum(TimeInForce, time_in_force, "timeInForce") if time_in_force else None
        if client_order_id is not None and not (
            isinstance(client_order_id, str) and _CLIENT_ORDER_ID.fullmatch(client_order_id)
        ):
            raise ControlError(
                f"clientOrderId: expected a string matching {_CLIENT_ORDER_ID.pattern}, "
                f"got {client_order_id!r}"
            )
        if otype in (OrderType.LIMIT,) and tif is None:
            tif = TimeInForce.GTC
        cmd = NewOrder(
            self.account_id(account),
            self._symbol(symbol),
            _enum(Side, side, "side"),
            otype,
            quantity=_units(quantity, "quantity") if quantity is not None else None,
            quote_order_qty=_units(quote_order_qty, "quoteOrderQty") if quote_order_qty is not None else None,
            price=_units(price, "price") if price is not None else None,
            stop_price=_units(stop_price, "stopPrice") if stop_price is not None else None,
            time_in_force=tif,
            new_client_order_id=client_order_id,
            self_trade_prevention_mode=_enum(STPMode, stp, "selfTradePreventionMode") if stp else None,
        )
        try:
            result = self.service.place_order(cmd)
        except EngineError as e:
            raise ControlError(f"order refused: {e.code} {e.msg}") from None
        return F.order_query(result.order)

    def cancel_order(
        self, account: str, symbol: str, order_id: int | None = None, client_order_id: str | None = None
    ) -> dict[str, Any]:
        try:
            result = self.exchange.cancel_order(
                self.account_id(account), self._symbol(symbol), order_id, client_order_id
            )
        except EngineError as e:
            raise ControlError(f"cancel refused: {e.code} {e.msg}") from None
        self.service.publish(result.events)
        return F.order_query(result.order)

    def seed_book(
        self, symbol: str, account: str, mid: Any, levels: int, spacing: Any, quantity: Any
    ) -> None:
        self.account_id(account)
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
            raise ControlError(f"levels: expected a whole number, 1 or more, got {levels!r}")
        if not _units(spacing, "spacing"):
            raise ControlError("spacing: must be positive (a zero spacing makes the two sides cross)")
        book = BookConfig(
            self._symbol(symbol),
            account,
            _units(mid, "mid"),
            int(levels),
            _units(spacing, "spacing"),
            _units(quantity, "quantity"),
        )
        try:
            seed_book(self.exchange, book, self.service.publish)
        except ValueError as e:
            raise ControlError(str(e)) from None

    def clear_book(self, symbol: str) -> int:
        """Cancel every resting order on ``symbol`` (every account): an empty book."""
        eng = self.exchange.engine(self._symbol(symbol))
        n = 0
        for account_id, orders in list(eng.open_by_account.items()):
            for order in list(orders.values()):
                result = self.exchange.cancel_order(account_id, symbol, order.order_id)
                self.service.publish(result.events)
                n += 1
        return n

    def book(self, symbol: str, limit: int = 100) -> dict[str, Any]:
        return F.depth_snapshot(*self.exchange.engine(self._symbol(symbol)).snapshot(limit))

    def orders(self, account: str, symbol: str) -> list[dict[str, Any]]:
        return [
            F.order_query(o)
            for o in self.exchange.all_orders(self.account_id(account), self._symbol(symbol), limit=1_000_000)
        ]

    def trades(self, account: str, symbol: str) -> list[dict[str, Any]]:
        rows = self.exchange.my_trades(self.account_id(account), self._symbol(symbol), limit=1_000_000)
        return [F.my_trade(t, is_buyer) for t, is_buyer in rows]

    # ------------------------------------------------------------------ time

    async def advance(self, seconds: float) -> None:
        clock = self.service.clock
        if not isinstance(clock, VirtualClock):
            raise ControlError(
                "clock: the server runs on wall time; start it with a virtual clock to advance it"
            )
        if seconds < 0:
            raise ControlError("seconds: time only moves forward")
        await clock.advance(seconds)

    def skew(self, ms: int) -> None:
        """Set the exchange clock's offset from the client's (positive: exchange ahead),
        at most a day either way. The engine's clock never goes back, so after a forward
        skew its times stay ahead until the clock catches up."""
        if abs(ms) > MAX_SKEW_MS:
            raise ControlError(f"ms: at most {MAX_SKEW_MS} (a day) either way, got {ms}")
        self.service.skew_us = int(ms) * 1000

    def clock(self) -> dict[str, Any]:
        return {
            "now_us": self.service.now_us(),
            "virtual": isinstance(self.service.clock, VirtualClock),
            "skew_ms": self.service.skew_us // 1000,
        }

    # ------------------------------------------------------------------ traffic

    def traffic(self, since: int = 0) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.service.traffic.since(since)]

    def record_traffic(self, enabled: bool = True) -> None:
        self.service.traffic.enabled = enabled
