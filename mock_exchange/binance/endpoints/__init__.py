"""Every endpoint, once: REST path + method, WS API method name, security type, weight.

REST and the WS API dispatch through this one table, so an endpoint's parameters, errors,
weight and result are identical on both surfaces. Handlers let the engine's refusals
(``EngineError``) propagate: both surfaces answer them as Binance errors, code and message
unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..auth import Security
from ..params import Params
from ..service import Handler

Weight = int | Callable[[Params], int]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    ws_method: str | None
    security: Security
    weight: Weight
    handler: Handler
    #: Places an order: subject to the ORDERS limits and reports order counts.
    places_order: bool = False
    #: Successful calls cost no weight (order placement and cancels since 2026-04-02).
    free_on_success: bool = False
    #: Only served when the legacy listenKey switch is on.
    legacy: bool = False

    def weight_for(self, params: Params) -> int:
        return self.weight(params) if callable(self.weight) else self.weight


def all_endpoints() -> list[Endpoint]:
    from . import account, market, orders, user_stream

    return [*market.ENDPOINTS, *orders.ENDPOINTS, *account.ENDPOINTS, *user_stream.ENDPOINTS]
