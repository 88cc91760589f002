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

from mock_exchange.engine import AccountPosition, BalanceUpdate, Event, ExecutionReport
from mock_exchange.faults.plan import Kind, Surface

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
    sink: UserSink
    controls: UserControls
    held: Event | None = None


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
        sub = _Subscriber(sink, controls or UserControls())
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
            if sub.controls.terminate is not None:
                sub.controls.terminate()
        return len(subs)

    def inject(self, account_id: int, payload: dict[str, Any]) -> int:
        """Send ``payload`` to the account's subscribers as if the exchange had produced it."""
        subs = [s for s in self._subs.get(account_id, ()) if s.controls.raw is not None]
        for sub in subs:
            assert sub.controls.raw is not None
            sub.controls.raw(payload)
        return len(subs)

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
                if faulty or sub.held is not None:
                    self._deliver(account_id, sub, event)
                else:
                    sub.sink(event)

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
        kind = fault.action.kind if fault is not None else None
        controls = sub.controls
        if kind is Kind.DROP:
            return
        if kind is Kind.REORDER and sub.held is None:
            sub.held = event
            return
        if kind is Kind.TERMINATE and controls.terminate is not None:
            controls.terminate()
            return
        if kind is Kind.DISCONNECT and controls.disconnect is not None:
            controls.disconnect()
            return
        if kind is Kind.STALL and controls.stall is not None:
            assert fault is not None
            controls.stall(fault.action.seconds)
        if kind is Kind.DELAY:
            assert fault is not None
            self._later(fault.action.seconds, sub, event)
        else:
            sub.sink(event)
            if kind is Kind.DUPLICATE:
                sub.sink(event)
        if sub.held is not None and kind is not Kind.REORDER:
            held, sub.held = sub.held, None
            sub.sink(held)

    def _later(self, seconds: float, sub: _Subscriber, event: Event) -> None:
        async def run() -> None:
            await self.service.clock.sleep(seconds)
            sub.sink(event)

        task = asyncio.ensure_future(run())
        self._delayed.add(task)
        task.add_done_callback(self._delayed.discard)
