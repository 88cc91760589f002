"""User data events: engine events rendered as Binance's payloads, routed per account.

``UserDataHub`` listens to the service's event hub and hands each account's events, in
engine order, to that account's subscribers (WS API subscriptions, legacy listenKey
streams). Subscribers render with ``render_user_event`` in their own time unit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_exchange.clock import call_later
from mock_exchange.engine import AccountPosition, BalanceUpdate, Event, ExecutionReport
from mock_exchange.faults.messages import MessageOutlet
from mock_exchange.faults.plan import Surface

from .. import formatting as F
from ..service import ExchangeService

UserSink = Callable[[Event], None]


def render_user_event(event: Event, div: int = F.MS) -> dict[str, Any] | None:
    """The user-data payload for an engine event (None if it is not a user-data event)."""
    if isinstance(event, ExecutionReport):
        return F.execution_report(event, event.time, div)
    if isinstance(event, AccountPosition):
        return {
            "e": "outboundAccountPosition",
            "E": event.time // div,
            "u": event.time // div,
            "B": [{"a": a, "f": F.fmt(free), "l": F.fmt(locked)} for a, free, locked in event.balances],
        }
    if isinstance(event, BalanceUpdate):
        return {
            "e": "balanceUpdate",
            "E": event.time // div,
            "a": event.asset,
            "d": F.fmt(event.delta),
            "T": event.time // div,
        }
    return None


def _account_of(event: Event) -> int | None:
    if isinstance(event, ExecutionReport):
        return event.order.account_id
    if isinstance(event, AccountPosition | BalanceUpdate):
        return event.account_id
    return None


@dataclass
class UserControls:
    """What fault injection may do to one subscriber besides filtering its events."""

    terminate: Callable[[], None] | None = None
    disconnect: Callable[[], None] | None = None
    stall: Callable[[float], None] | None = None
    #: Deliver a payload as-is (fault injection: events the engine would never produce).
    raw: Callable[[dict[str, Any]], None] | None = None


@dataclass(eq=False)
class _Subscriber:
    #: The sink, with what message faults may do to it.
    outlet: MessageOutlet[Event]
    raw: Callable[[dict[str, Any]], None] | None


_EVENT_TYPES = {
    ExecutionReport: "executionReport",
    AccountPosition: "outboundAccountPosition",
    BalanceUpdate: "balanceUpdate",
}


class UserDataHub:
    def __init__(self, service: ExchangeService) -> None:
        self.service = service
        self._subs: dict[int, list[_Subscriber]] = {}
        self._delayed: set[asyncio.Task[None]] = set()
        service.hub.subscribe(self._on_events)

    def subscribe(
        self, account_id: int, sink: UserSink, controls: UserControls | None = None
    ) -> Callable[[], None]:
        controls = controls or UserControls()
        outlet = MessageOutlet(
            sink, disconnect=controls.disconnect, stall=controls.stall, terminate=controls.terminate
        )
        sub = _Subscriber(outlet, controls.raw)
        self._subs.setdefault(account_id, []).append(sub)

        def unsubscribe() -> None:
            subs = self._subs.get(account_id)
            if subs and sub in subs:
                subs.remove(sub)

        return unsubscribe

    def subscribers(self, account_id: int) -> int:
        return len(self._subs.get(account_id, ()))

    def terminate(self, account_id: int) -> int:
        """End every subscription of an account now (``eventStreamTerminated``)."""
        subs = list(self._subs.get(account_id, ()))
        for sub in subs:
            if sub.outlet.terminate is not None:
                sub.outlet.terminate()
        return len(subs)

    def inject(self, account_id: int, payload: dict[str, Any]) -> int:
        """Send ``payload`` to the account's subscribers as if the exchange had produced it."""
        raws = [s.raw for s in self._subs.get(account_id, ()) if s.raw is not None]
        for raw in raws:
            raw(payload)
        return len(raws)

    def _on_events(self, events: list[Event]) -> None:
        subs_by_account = self._subs
        if not subs_by_account:
            return
        faulty = Surface.USER_DATA in self.service.faults.active
        for event in events:
            account_id = _account_of(event)
            if account_id is None:
                continue
            subs = subs_by_account.get(account_id)
            if not subs:
                continue
            for sub in list(subs):
                if faulty or sub.outlet.held is not None:
                    self._deliver(account_id, sub, event)
                else:
                    sub.outlet.send(event)

    def _deliver(self, account_id: int, sub: _Subscriber, event: Event) -> None:
        """Deliver one event through the fault plan."""
        etype = _EVENT_TYPES.get(type(event), "")
        facts: dict[str, str | None] = {
            "account": self.service.exchange.account(account_id).name,
            "event": etype,
            "execution_type": event.execution_type.value if isinstance(event, ExecutionReport) else None,
            "symbol": event.order.symbol if isinstance(event, ExecutionReport) else None,
        }
        fault = self.service.faults.take(Surface.USER_DATA, f"{etype} for {facts['account']}", **facts)
        sub.outlet.deliver(fault, event, self._later)

    def _later(self, seconds: float, fn: Callable[[], None]) -> None:
        call_later(self.service.clock, seconds, fn, self._delayed)
