"""The protocol layer's state: the engine, limits, the clock, and where events go.

``ExchangeService`` is what REST handlers, the WS API and the control API share. Every
engine command goes through ``run`` so that its events reach the ``EventHub`` (market
streams and user data streams subscribe there) in engine order, exactly once.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from mock_exchange.clock import Clock
from mock_exchange.config import MockConfig, build_exchange
from mock_exchange.engine import (
    Account,
    ApiKey,
    CancelResult,
    Event,
    Exchange,
    ExecutionReport,
    ExecutionType,
    NewOrder,
    PlaceResult,
)
from mock_exchange.faults.plan import FaultPlan
from mock_exchange.traffic import TrafficLog

from .params import Params
from .rate_limits import RateLimiter

T = TypeVar("T")
TRADE = ExecutionType.TRADE

EventListener = Callable[[list[Event]], None]


class EventHub:
    """Synchronous fan-out of engine events to listeners, in registration order."""

    def __init__(self) -> None:
        self._listeners: list[EventListener] = []

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, events: list[Event]) -> None:
        if not events:
            return
        for listener in list(self._listeners):
            listener(events)


class ExchangeService:
    def __init__(self, config: MockConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        #: Exchange time minus client time: a skewed exchange clock (fault injection). The
        #: timers (keepalive, batching, expiry) keep running on ``clock`` itself.
        self.skew_us = 0
        self.exchange = Exchange(self._exchange_time, seed=config.seed)
        build_exchange(config, self.exchange)
        self.limiter = RateLimiter(config.rate_limits)
        self.hub = EventHub()
        self.hub.subscribe(self._count_first_fills)
        self.faults = FaultPlan(config.seed)
        self.traffic = TrafficLog()
        self.faults.on_fire = lambda fault, surface, what: self.traffic.record(
            self.now_us(),
            "fault",
            None,
            "out",
            f"fault {fault.id} {fault.action.kind.value} on {surface} {what}",
        )
        #: Called with a symbol just before a depth snapshot is taken, so that streams can
        #: publish what they batched: the snapshot's lastUpdateId then equals the last
        #: published ``u`` and the next diff starts at exactly lastUpdateId + 1.
        self.snapshot_hooks: list[Callable[[str], None]] = []
        from .endpoints.user_stream import ListenKeys

        self.listen_keys = ListenKeys()
        #: REST requests being worked on right now, not counting those a fault holds on
        #: purpose (a delay on the clock, a hang): a virtual-clock driver may jump time
        #: only when this is zero, or it would make a request look slow that is merely busy.
        self.rest_busy = 0
        #: WebSocket connections are numbered per server (1, 2, ... on every surface), so
        #: a fresh server's traffic log reads the same whatever ran before in the process.
        self._connection_ids = itertools.count(1)

    def next_connection_id(self) -> int:
        return next(self._connection_ids)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Mark the current REST request as deliberately waiting (see ``rest_busy``)."""
        self.rest_busy -= 1
        try:
            yield
        finally:
            self.rest_busy += 1

    def _exchange_time(self) -> int:
        return self.clock.now_us() + self.skew_us

    def now_us(self) -> int:
        """Exchange time as the engine sees it (skew included, never backwards)."""
        return self.exchange.now()

    def wall_us(self) -> int:
        """The exchange's clock as its gateway reads it: what ``/api/v3/time`` reports and
        ``timestamp``/``recvWindow`` are checked against. A backwards skew shows here at
        once, while engine timestamps stay monotonic."""
        return self._exchange_time()

    def publish(self, events: list[Event]) -> None:
        self.hub.publish(events)

    def _count_first_fills(self, events: list[Event]) -> None:
        """An order's first fill, whoever traded with it (a resting order filled by another
        account's taker too), takes one off its account's unfilled order count. Every
        command's events pass through here, after the command's own order was counted."""
        now = self.wall_us()
        limiter = self.limiter
        for e in events:
            if type(e) is ExecutionReport and e.execution_type is TRADE and e.executed_qty == e.last_qty:
                limiter.order_filled(e.order.account_id, now)

    # Commands from inside the process (synthetic activity, the control API, tests): run
    # them on the engine and publish their events, exactly as the REST handlers do.

    def place_order(self, cmd: NewOrder) -> PlaceResult:
        result = self.exchange.place_order(cmd)
        self.publish(result.events)
        return result

    def cancel_order(self, account_id: int, symbol: str, order_id: int) -> CancelResult:
        result = self.exchange.cancel_order(account_id, symbol, order_id)
        self.publish(result.events)
        return result

    def before_snapshot(self, symbol: str) -> None:
        for hook in self.snapshot_hooks:
            hook(symbol)

    def account_for(self, api_key: ApiKey) -> Account:
        return self.exchange.account(api_key.account_id)


@dataclass
class Request:
    """One call to an endpoint, whichever surface it came from (REST, WS API, control)."""

    service: ExchangeService
    params: Params
    ip: str
    #: 1000 to render times in milliseconds, 1 for microseconds.
    div: int
    now_us: int
    api_key: ApiKey | None = None
    surface: str = "rest"
    #: Parameters that may be sent without being read (auth parameters on public endpoints).
    lenient: frozenset[str] = frozenset()

    @property
    def exchange(self) -> Exchange:
        return self.service.exchange

    @property
    def account(self) -> Account:
        assert self.api_key is not None, "signed endpoint without a key"
        return self.service.exchange.account(self.api_key.account_id)

    def done(self, *ignore: str) -> None:
        """Parsing is finished: refuse unread parameters before anything happens."""
        self.params.check_all_read((*ignore, *self.lenient))


Handler = Callable[[Request], Any]
