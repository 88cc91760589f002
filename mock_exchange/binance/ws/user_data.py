"""User data events: engine events rendered as Binance's payloads, routed per account.

``UserDataHub`` listens to the service's event hub and hands each account's events, in
engine order, to that account's subscribers (WS API subscriptions, legacy listenKey
streams). Subscribers render with ``render_user_event`` in their own time unit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_exchange.engine import AccountPosition, BalanceUpdate, Event, ExecutionReport

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


class UserDataHub:
    def __init__(self, service: ExchangeService) -> None:
        self._sinks: dict[int, list[UserSink]] = {}
        service.hub.subscribe(self._on_events)

    def subscribe(self, account_id: int, sink: UserSink) -> Callable[[], None]:
        self._sinks.setdefault(account_id, []).append(sink)

        def unsubscribe() -> None:
            sinks = self._sinks.get(account_id)
            if sinks and sink in sinks:
                sinks.remove(sink)

        return unsubscribe

    def subscribers(self, account_id: int) -> int:
        return len(self._sinks.get(account_id, ()))

    def _on_events(self, events: list[Event]) -> None:
        sinks_by_account = self._sinks
        if not sinks_by_account:
            return
        for event in events:
            account_id = _account_of(event)
            if account_id is None:
                continue
            sinks = sinks_by_account.get(account_id)
            if sinks:
                for sink in list(sinks):
                    sink(event)
