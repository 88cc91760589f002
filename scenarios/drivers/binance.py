"""Scenario driver for this project's ``connector.binance.BinanceExchange``."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from connector.binance import (
    BalanceUpdated,
    BinanceEndpoints,
    BinanceExchange,
    InvalidOrder,
    NotReady,
    OrderAnomaly,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderType,
)
from connector.binance.binance_exchange import ReconciliationCompleted, StreamStatusChanged
from connector.core.events import ConnectorEvent
from connector.core.order_book_tracker import Backoff

from ..driver import DriverEnv, LocalRejection, MarketView, ObservedEvent, OrderView, VolumeQuote


#: Options a scenario's ``setup.connector`` may set (BinanceExchange keyword arguments).
def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < float("inf")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


#: Connector options a scenario may set, each with the check its value must pass and what
#: that check means (for the error message).
OPTIONS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "recv_window_ms": (lambda v: _count(v) and v <= 60_000, "a whole number of milliseconds, 1 to 60000"),
    "request_timeout_s": (_seconds, "seconds (a number, 0 or more)"),
    "order_request_timeout_s": (_seconds, "seconds (a number, 0 or more)"),
    "trading_rules_interval_s": (_seconds, "seconds (a number, 0 or more)"),
    "order_status_poll_interval_s": (_seconds, "seconds (a number, 0 or more)"),
    "fills_wait_timeout_s": (_seconds, "seconds (a number, 0 or more)"),
    "lost_order_count_limit": (_count, "a whole number, 1 or more"),
    "lost_order_min_age_s": (_seconds, "seconds (a number, 0 or more)"),
    "heartbeat_s": (_seconds, "seconds (a number, 0 or more)"),
    "client_order_id_prefix": (lambda v: isinstance(v, str), "a string"),
    "throttle_safety_margin": (lambda v: _seconds(v) and v < 1, "a fraction, 0 or more and below 1"),
}
#: Short real-time request timeouts and quick backoffs: scenarios run in milliseconds.
DEFAULTS: dict[str, Any] = {
    "request_timeout_s": 2.0,
    "order_request_timeout_s": 2.0,
    "lost_order_min_age_s": 5.0,
}

_NAMES: list[tuple[type[ConnectorEvent], str]] = [
    (OrderCreated, "OrderCreated"),
    (OrderFilled, "OrderFilled"),
    (OrderCompleted, "OrderCompleted"),
    (OrderCancelled, "OrderCancelled"),
    (OrderExpired, "OrderExpired"),
    (OrderFailed, "OrderFailed"),
    (OrderAnomaly, "OrderAnomaly"),
    (BalanceUpdated, "BalanceUpdated"),
]


def _summary(event: ConnectorEvent) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if isinstance(event, OrderFilled):
        data = {
            "trade_id": event.trade_id,
            "price": event.price,
            "amount": event.amount,
            "fee": {a: x for a, x in event.fee.as_pairs()},
        }
    elif isinstance(event, OrderFailed):
        data = {"error": f"{type(event.error).__name__}: {event.error}"}
    elif isinstance(event, OrderCompleted | OrderCancelled | OrderExpired):
        data = {"executed": event.executed_amount_base}
    elif isinstance(event, OrderAnomaly):
        data = {"kind": event.kind.value, "detail": event.detail}
    elif isinstance(event, BalanceUpdated):
        data = {"asset": event.asset, "total": event.total, "available": event.available}
    return data


def _fields(cls: type[ConnectorEvent]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if f.name != "timestamp")


class BinanceDriver:
    name = "binance"

    @staticmethod
    def event_fields() -> dict[str, frozenset[str]]:
        """The non-order events this driver records, and the fields of each (what
        ``connector_events`` patterns may name)."""
        return {
            "BalanceUpdated": frozenset({"asset", "total", "available"}),
            "StreamStatusChanged": _fields(StreamStatusChanged),
            "ReconciliationCompleted": _fields(ReconciliationCompleted),
        }

    def __init__(self) -> None:
        self.events: list[ObservedEvent] = []
        self.exchange: BinanceExchange | None = None
        self._env: DriverEnv | None = None
        self._saved: dict[str, dict[str, Any]] = {}

    @staticmethod
    def validate_options(options: dict[str, Any]) -> str | None:
        for key, value in options.items():
            if key not in OPTIONS:
                return f"unknown connector option {key!r} (known: {', '.join(sorted(OPTIONS))})"
            check, meaning = OPTIONS[key]
            if not check(value):
                return f"connector option {key!r} must be {meaning}, got {value!r}"
        return None

    def _build(self, env: DriverEnv) -> BinanceExchange:
        kwargs = {**DEFAULTS, **{k: v for k, v in env.options.items() if k in OPTIONS}}
        quick = Backoff(initial=0.2, factor=2.0, maximum=5.0)
        exchange = BinanceExchange(
            api_key=env.api_key,
            api_secret=env.api_secret,
            trading_pairs=env.trading_pairs,
            endpoints=BinanceEndpoints(env.rest_url, env.stream_url, env.ws_api_url),
            clock=env.clock,
            sleep=env.sleep,
            stream_backoff=quick,
            rest_backoff=quick,
            reconcile_backoff=quick,
            **kwargs,
        )
        exchange.events.subscribe(ConnectorEvent, self._record)
        return exchange

    def _record(self, event: ConnectorEvent) -> None:
        assert self._env is not None
        name = next((n for cls, n in _NAMES if isinstance(event, cls)), None)
        if name is not None:
            data = _summary(event)
        else:  # stream status, reconciliation...: kept for the timeline
            name = type(event).__name__
            data = (
                {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name != "timestamp"}
                if dataclasses.is_dataclass(event)
                else {}
            )
        self.events.append(
            ObservedEvent(
                len(self.events) + 1,
                int(self._env.clock() * 1_000_000),
                name,
                getattr(event, "client_order_id", None),
                data,
            )
        )

    async def start(self, env: DriverEnv) -> None:
        self._env = env
        self.exchange = self._build(env)
        if self._saved:
            self.exchange.restore_tracking_states(self._saved)
        await self.exchange.start()

    async def stop(self) -> None:
        if self.exchange is not None:
            self._saved = self.exchange.tracking_states
            await self.exchange.stop()

    async def restart(self, while_down: Callable[[], Awaitable[None]] | None = None) -> None:
        assert self._env is not None
        await self.stop()
        if while_down is not None:
            await while_down()
        await self.start(self._env)

    @property
    def _x(self) -> BinanceExchange:
        if self.exchange is None:
            raise RuntimeError("the connector is not started")
        return self.exchange

    def place(
        self,
        side: str,
        pair: str,
        order_type: str,
        amount: Decimal | None,
        price: Decimal | None,
        quote_amount: Decimal | None,
    ) -> str:
        method = self._x.buy if side == "BUY" else self._x.sell
        try:
            return method(pair, amount, OrderType(order_type), price, quote_amount=quote_amount)
        except InvalidOrder as e:
            raise LocalRejection(str(e.reason), str(e)) from e
        except NotReady as e:
            raise LocalRejection("not_ready", str(e)) from e

    async def cancel(self, client_order_id: str) -> bool:
        order = self._x.get_order(client_order_id)
        if order is None:
            raise KeyError(client_order_id)
        result = await self._x.cancel(order.trading_pair, client_order_id)
        return bool(result.success)

    async def cancel_all(self, timeout: float) -> dict[str, bool]:
        return {r.client_order_id: bool(r.success) for r in await self._x.cancel_all(timeout)}

    def order(self, client_order_id: str) -> OrderView | None:
        o = self._x.get_order(client_order_id)
        if o is None:
            return None
        return OrderView(
            client_order_id=o.client_order_id,
            exchange_order_id=o.exchange_order_id,
            state=o.current_state.name,
            executed=o.executed_amount_base,
            executed_quote=o.executed_amount_quote,
            fee={a: x for a, x in o.cumulative_fee.as_pairs()},
            fills=len(o.order_fills),
            failure=f"{type(o.failure_error).__name__}: {o.failure_error}" if o.failure_error else None,
        )

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        x = self._x
        return {a: (x.get_balance(a), x.get_available_balance(a)) for a in x.get_all_balances()}

    def book(
        self, pair: str, depth: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        bids, asks = self._x.get_order_book(pair).snapshot(depth)
        return list(bids), list(asks)

    def status(self) -> dict[str, bool]:
        x = self._x
        parts = x.status_dict
        out = {
            **parts,
            "ready": x.ready,
            "user_stream": parts.get("user_stream_initialized", False),
        }
        for pair in x.trading_pairs:
            out[f"book:{pair}"] = x.is_order_book_synced(pair)
        return out

    def not_ready_reasons(self) -> dict[str, str]:
        """For each part that is not ready, why (optional for a driver: the runner shows it
        when a wait for the connector to be ready times out)."""
        return dict(self._x.not_ready_reasons)

    async def check_network(self) -> str:
        return str(await self._x.check_network())

    async def all_trading_pairs(self) -> list[str]:
        return list(await self._x.all_trading_pairs())

    def trading_rule(self, pair: str) -> dict[str, Any] | None:
        rule = self._x.trading_rules.get(pair)
        if rule is None:
            return None
        return {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule) if f.name != "trading_pair"}

    def supported_order_types(self) -> list[str]:
        return [str(t) for t in self._x.supported_order_types()]

    def market(self, pair: str) -> MarketView:
        x = self._x
        return MarketView(
            last_trade_price=x.get_last_trade_price(pair),
            best_bid=x.get_best_bid(pair),
            best_ask=x.get_best_ask(pair),
            mid_price=x.get_mid_price(pair),
        )

    def price_for_volume(self, pair: str, is_buy: bool, volume: Decimal) -> VolumeQuote | None:
        result = self._x.get_price_for_volume(pair, is_buy, volume)
        if result is None:
            return None
        return VolumeQuote(price=result.result_price, vwap=result.vwap, filled=result.result_volume)

    def open_orders(self) -> list[str]:
        return [cid for cid, o in self._x.in_flight_orders.items() if not o.is_done]
