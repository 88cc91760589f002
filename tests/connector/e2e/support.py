"""Helpers for running ``BinanceExchange`` against a real ``MockExchangeServer``.

* ``Harness``: one mock exchange (on an ephemeral port) plus the connectors a test builds
  against it; everything is stopped in reverse order at teardown.
* ``RestFaults``: scripted REST faults and a request log, installed through the mock's
  official seam (``RestSurface.interceptors``): fail a request (before or *after* the
  exchange executed it), hold its answer until the test releases it, rewrite its body, or
  add response headers.
* ``EventLog``: every event the connector publishes, in order, with ``wait_for``.
* Stream helpers: inject raw frames into, or close, the server side of the connector's
  market-stream and user-stream connections.

Synchronisation is always on events, futures or conditions; ``SAFETY`` bounds every wait so
a broken test fails instead of hanging, and is never what a test waits *for*.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from connector.binance import BinanceEndpoints, BinanceExchange, ReconciliationCompleted
from connector.core.events import ConnectorEvent, EventBus
from connector.core.order_book_tracker import Backoff
from mock_exchange.binance.app import REST
from mock_exchange.binance.rest import RestCall
from mock_exchange.binance.ws import STREAMS, WS_API
from mock_exchange.clock import Clock, VirtualClock
from mock_exchange.config import MockConfig, load_config
from mock_exchange.engine import NewOrder, OrderType, Side, TimeInForce
from mock_exchange.server import MockExchangeServer
from tests.support.waiting import eventually

SAFETY = 10.0  # seconds: a hang guard, never a synchronisation device
API_KEY = "e2e-trader-key"
API_SECRET = "e2e-trader-secret"
MM_KEY = "e2e-mm-key"
MM_SECRET = "e2e-mm-secret"
BTC, ETH, ETHBTC = "BTC-USDT", "ETH-USDT", "ETH-BTC"
D = Decimal
FAST = Backoff(initial=0.01, factor=2.0, maximum=0.1)
#: Reconnect so late that a stream closed by a test stays down for the test's duration.
NEVER = Backoff(initial=3600.0, factor=1.0, maximum=3600.0)

E = TypeVar("E", bound=ConnectorEvent)


def units(value: str) -> int:
    """A decimal string as the engine's integer units (10**-8)."""
    return int(Decimal(value).scaleb(8))


def make_config(
    *, trader_balances: dict[str, str] | None = None, extra_symbols: Iterable[dict[str, Any]] = ()
) -> MockConfig:
    """The default mock configuration with known keys (and optional changes)."""
    config = load_config()
    trader = config.account("trader")
    trader.api_key, trader.api_secret = API_KEY, API_SECRET
    if trader_balances is not None:
        trader.balances = {asset: units(v) for asset, v in trader_balances.items()}
    mm = config.account("market-maker")
    mm.api_key, mm.api_secret = MM_KEY, MM_SECRET
    if extra_symbols:
        from mock_exchange.engine import symbol_from_config

        for raw in extra_symbols:
            config.symbols.append(symbol_from_config(raw))
    return config


# ---------------------------------------------------------------------------------------------
# REST faults and request log


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    status: int | None = None


@dataclass
class _Rule:
    method: str
    path: str
    action: Callable[[RestCall, Callable[[], Awaitable[web.StreamResponse]]], Awaitable[web.StreamResponse]]
    times: int | None  # None: forever
    hits: int = 0
    where: Callable[[RestCall], bool] | None = None


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body),
        headers={"Content-Type": "application/json;charset=UTF-8", **(headers or {})},
    )


class RestFaults:
    """Scripted faults for REST requests, matched by method and path, first rule first."""

    def __init__(self, server: MockExchangeServer) -> None:
        self.calls: list[Recorded] = []
        self._rules: list[_Rule] = []
        server.app[REST].interceptors.insert(0, self)

    async def __call__(
        self, call: RestCall, proceed: Callable[[], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        request = call.request
        record = Recorded(request.method, request.path, request.query_string)
        self.calls.append(record)
        for rule in self._rules:
            if rule.method != request.method or rule.path != request.path:
                continue
            if rule.times is not None and rule.hits >= rule.times:
                continue
            if rule.where is not None and not rule.where(call):
                continue
            rule.hits += 1
            response = await rule.action(call, proceed)
            record.status = response.status
            return response
        response = await proceed()
        record.status = response.status
        return response

    def count(self, method: str, path: str) -> int:
        return sum(1 for c in self.calls if c.method == method and c.path == path)

    def add(
        self,
        method: str,
        path: str,
        action: Callable[
            [RestCall, Callable[[], Awaitable[web.StreamResponse]]], Awaitable[web.StreamResponse]
        ],
        *,
        times: int | None = 1,
        where: Callable[[RestCall], bool] | None = None,
    ) -> _Rule:
        rule = _Rule(method, path, action, times, where=where)
        self._rules.append(rule)
        return rule

    def clear(self) -> None:
        self._rules.clear()

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 503,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        after_execution: bool = False,
        where: Callable[[RestCall], bool] | None = None,
    ) -> _Rule:
        """Answer with an error; with ``after_execution`` the exchange runs the request first
        (the outcome is then unknown to the client, but real)."""
        payload = (
            body
            if body is not None
            else {"code": -1000, "msg": "An unknown error occurred while processing the request."}
        )

        async def action(
            call: RestCall, proceed: Callable[[], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            if after_execution:
                await proceed()
            return json_response(status, payload, headers)

        return self.add(method, path, action, times=times, where=where)

    def hold(
        self,
        method: str,
        path: str,
        release: asyncio.Event,
        *,
        times: int | None = 1,
        execute_first: bool = True,
    ) -> _Rule:
        """Hold the answer until ``release`` is set. With ``execute_first`` the answer is
        produced now (so it is stale when it arrives); otherwise the request runs late."""

        async def action(
            call: RestCall, proceed: Callable[[], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            if execute_first:
                response = await proceed()
                await release.wait()
                return response
            await release.wait()
            return await proceed()

        return self.add(method, path, action, times=times)

    def rewrite(
        self, method: str, path: str, edit: Callable[[Any], Any], *, times: int | None = None
    ) -> _Rule:
        """Run the request, then change its JSON body with ``edit``."""

        async def action(
            call: RestCall, proceed: Callable[[], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            response = await proceed()
            assert isinstance(response, web.Response) and response.text is not None
            return json_response(
                response.status,
                edit(json.loads(response.text)),
                {k: v for k, v in response.headers.items() if k.lower().startswith("x-mbx")},
            )

        return self.add(method, path, action, times=times)


# ---------------------------------------------------------------------------------------------
# Events


class EventLog:
    """Every event published on a bus, in order."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.events: list[ConnectorEvent] = []
        self._subscription = bus.subscribe(ConnectorEvent, self.events.append)

    def of(self, event_type: type[E], client_order_id: str | None = None) -> list[E]:
        return [
            e
            for e in self.events
            if isinstance(e, event_type)
            and (client_order_id is None or getattr(e, "client_order_id", None) == client_order_id)
        ]

    def names(
        self, client_order_id: str | None = None, *, base: type[ConnectorEvent] = ConnectorEvent
    ) -> list[str]:
        return [type(e).__name__ for e in self.of(base, client_order_id)]

    async def wait_for(
        self,
        event_type: type[E],
        client_order_id: str | None = None,
        predicate: Callable[[E], bool] | None = None,
    ) -> E:
        """The first matching event, already published or still to come."""
        for event in self.of(event_type, client_order_id):
            if predicate is None or predicate(event):
                return event
        future = self.bus.wait_for(event_type, client_order_id=client_order_id, predicate=predicate)
        return await asyncio.wait_for(future, SAFETY)


async def until(
    condition: Callable[[], bool], bus: EventBus | None = None, *, what: str = "condition"
) -> None:
    """Wait until ``condition()`` holds, re-checking after every published event (or, with no
    bus, on every loop iteration: ``tests.support.waiting.eventually``); ``SAFETY`` bounds
    the wait."""
    if bus is None:
        await eventually(condition, what, SAFETY)
        return

    async def check() -> None:
        while not condition():
            await bus.wait_for(ConnectorEvent)

    try:
        await asyncio.wait_for(check(), SAFETY)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


# ---------------------------------------------------------------------------------------------
# The harness


@dataclass
class Harness:
    server: MockExchangeServer
    faults: RestFaults
    exchanges: list[BinanceExchange] = field(default_factory=list)

    @property
    def endpoints(self) -> BinanceEndpoints:
        return BinanceEndpoints(self.server.rest_url, self.server.stream_url, self.server.ws_api_url)

    @property
    def clock(self) -> Clock:
        return self.server.clock

    def exchange(self, **overrides: Any) -> BinanceExchange:
        """A connector for the trader account (not started). Defaults suit fast tests."""
        kwargs: dict[str, Any] = {
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "trading_pairs": [BTC, ETH],
            "endpoints": self.endpoints,
            "stream_backoff": FAST,
            "rest_backoff": FAST,
            "reconcile_backoff": FAST,
            "request_timeout_s": 2.0,
            "order_request_timeout_s": 2.0,
            "order_status_poll_interval_s": None,
        }
        kwargs.update(overrides)
        exchange = BinanceExchange(**kwargs)
        self.exchanges.append(exchange)
        return exchange

    async def started(self, **overrides: Any) -> tuple[BinanceExchange, EventLog]:
        """A started, ready connector and the log of its events."""
        exchange = self.exchange(**overrides)
        log = EventLog(exchange.events)
        await exchange.start()
        await asyncio.wait_for(exchange.wait_until_ready(), SAFETY)
        if overrides.get("trading_required", True):
            # Ready comes a moment before the reconciliation the user stream's connection
            # asks for; let it finish so a test's own steps are the only thing going on.
            await log.wait_for(ReconciliationCompleted, predicate=lambda e: "user stream" in e.trigger)
        return exchange, log

    # -- acting as the exchange or another participant ----------------------------------------

    def account_id(self, name: str = "trader") -> int:
        return int(self.server.service.exchange.account_by_name(name).account_id)

    def mm_order(self, symbol: str, side: Side, quantity: str, price: str | None = None) -> Any:
        """The market maker places an order (a LIMIT GTC with a price, else a MARKET)."""
        return self.server.service.place_order(
            NewOrder(
                self.account_id("market-maker"),
                symbol,
                side,
                OrderType.LIMIT if price is not None else OrderType.MARKET,
                quantity=units(quantity),
                price=None if price is None else units(price),
                time_in_force=TimeInForce.GTC if price is not None else None,
            )
        )

    def find_order(self, client_order_id: str, symbol: str = "BTCUSDT") -> Any:
        """The engine's order for one of the trader's client order ids (None if absent)."""
        return self.server.service.exchange.engine(symbol).client_ids.get(
            (self.account_id(), client_order_id)
        )

    def cancel_on_exchange(self, client_order_id: str, symbol: str = "BTCUSDT") -> None:
        """Cancel one of the trader's orders behind the connector's back (another session)."""
        order = self.open_order(client_order_id, symbol)
        self.server.service.cancel_order(self.account_id(), symbol, order.order_id)

    def open_order(self, client_order_id: str, symbol: str = "BTCUSDT") -> Any:
        exchange = self.server.service.exchange
        for order in exchange.open_orders(self.account_id(), symbol):
            if order.client_order_id == client_order_id:
                return order
        raise AssertionError(f"{client_order_id} is not open on the exchange")

    def deposit(self, asset: str, amount: str) -> None:
        service = self.server.service
        service.publish(service.exchange.deposit(self.account_id(), asset, units(amount)))

    # -- streams -------------------------------------------------------------------------------

    def market_connections(self) -> list[Any]:
        return list(self.server.app[STREAMS].conns)

    def user_sessions(self) -> list[Any]:
        return list(self.server.app[WS_API].sessions)

    def inject_market(self, payload: Any) -> None:
        """Send a raw frame to every market-stream connection."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        for sc in self.market_connections():
            sc.conn.send(text)

    def inject_user(self, payload: Any) -> None:
        """Send a raw frame to every WS API connection (wrap events yourself)."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        for session in self.user_sessions():
            session.conn.send(text)

    def close_market_streams(self) -> None:
        for sc in self.market_connections():
            sc.conn.close_soon(1001, "test: going away")

    def close_user_streams(self) -> None:
        for session in self.user_sessions():
            session.conn.close_soon(1001, "test: going away")


def tracking_state(
    client_order_id: str,
    trading_pair: str = BTC,
    *,
    state: str = "OPEN",
    trade_type: str = "BUY",
    amount: str = "0.01",
    price: str = "59000",
    exchange_order_id: str | None = None,
    creation_timestamp: float = 0.0,
) -> dict[str, Any]:
    """A saved ``tracking_states`` entry, as a previous run would have written it."""
    from connector.core.data_types import OrderType as ConnectorOrderType
    from connector.core.data_types import TradeType
    from connector.core.in_flight_order import InFlightOrder

    order = InFlightOrder(
        client_order_id=client_order_id,
        trading_pair=trading_pair,
        order_type=ConnectorOrderType.LIMIT,
        trade_type=TradeType(trade_type),
        amount=Decimal(amount),
        price=Decimal(price),
        creation_timestamp=creation_timestamp,
        exchange_order_id=exchange_order_id,
    )
    data = order.to_json()
    data["current_state"] = state
    data["acknowledged"] = state != "PENDING_CREATE"
    return data


async def stream_down(harness: Harness, exchange: BinanceExchange, stream: str = "user_stream") -> None:
    """Close the server side of one of the connector's streams and wait until it noticed."""
    from connector.binance import StreamStatusChanged

    noticed = exchange.events.wait_for(
        StreamStatusChanged, predicate=lambda e: e.stream == stream and not e.connected
    )
    if stream == "user_stream":
        harness.close_user_streams()
    else:
        harness.close_market_streams()
    await asyncio.wait_for(noticed, SAFETY)


async def harness_for(config: MockConfig, clock: Clock | None = None) -> AsyncIterator[Harness]:
    async with MockExchangeServer(config, clock=clock) as server:
        harness = Harness(server, RestFaults(server))
        try:
            yield harness
        finally:
            for exchange in reversed(harness.exchanges):
                await exchange.stop()


def virtual_clock() -> VirtualClock:
    # Not on a window boundary of any rate limit (10 s, 1 min, 5 min, 1 day): requests sent at
    # the very start would otherwise wait for the edge guard, i.e. for a clock advance.
    return VirtualClock(start_us=1_780_000_003_000_000)
