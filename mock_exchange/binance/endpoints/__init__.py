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


#: Binance Spot REST endpoints (rest-api.md) that the mock does not model. They answer
#: ``-1020 This operation is not supported.`` as JSON, as the WS API answers their methods,
#: rather than the HTML 404 of a path Binance does not have: a client calling one gets a
#: Binance error it can parse, not something that looks like a wrong base URL.
UNMODELLED: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/api/v3/ticker/tradingDay"),
        ("GET", "/api/v3/historicalBlockTrades"),
        ("GET", "/api/v3/executionRules"),
        ("GET", "/api/v3/referencePrice/calculation"),
        ("PUT", "/api/v3/order/amend/keepPriority"),
        ("GET", "/api/v3/order/amendments"),
        ("POST", "/api/v3/order/oco"),
        ("POST", "/api/v3/orderList/oco"),
        ("POST", "/api/v3/orderList/oto"),
        ("POST", "/api/v3/orderList/otoco"),
        ("POST", "/api/v3/orderList/opo"),
        ("POST", "/api/v3/orderList/opoco"),
        ("GET", "/api/v3/orderList"),
        ("DELETE", "/api/v3/orderList"),
        ("GET", "/api/v3/allOrderList"),
        ("GET", "/api/v3/openOrderList"),
        ("POST", "/api/v3/sor/order"),
        ("POST", "/api/v3/sor/order/test"),
        ("GET", "/api/v3/myPreventedMatches"),
        ("GET", "/api/v3/myAllocations"),
        ("GET", "/api/v3/myFilters"),
    }
)


#: Binance WS API methods (web-socket-api.md) the mock does not model: answered ``-1020``
#: like any unknown method, listed so that tools can tell them from typos.
UNMODELLED_WS_METHODS: frozenset[str] = frozenset(
    {
        "allOrderLists",
        "blockTrades.historical",
        "executionRules",
        "myAllocations",
        "myFilters",
        "myPreventedMatches",
        "openOrderLists.status",
        "order.amend.keepPriority",
        "order.amendments",
        "orderList.cancel",
        "orderList.place",
        "orderList.place.oco",
        "orderList.place.opo",
        "orderList.place.opoco",
        "orderList.place.oto",
        "orderList.place.otoco",
        "orderList.status",
        "referencePrice.calculation",
        "sor.order.place",
        "sor.order.test",
        "ticker.tradingDay",
    }
)


def all_endpoints() -> list[Endpoint]:
    from . import account, market, orders, user_stream

    return [*market.ENDPOINTS, *orders.ENDPOINTS, *account.ENDPOINTS, *user_stream.ENDPOINTS]
