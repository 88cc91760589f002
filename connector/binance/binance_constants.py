"""Binance Spot constants: endpoints, paths, order vocabulary and rate limits.

Everything here is data about Binance's protocol (``binance-spot-api.md`` is the reference
the section numbers point to). Nothing here does I/O.

Rate limits (§1.8): Binance counts request *weight* per IP per minute, *orders* per account
per 10 seconds and per day, and raw requests per 5 minutes, in fixed windows. The pools below
are the documented production values. Endpoint costs are keyed by ``(method, path)`` so that a
GET of an order does not debit the order-count pools (Hummingbot's W7), and a request to an
endpoint missing from ``ENDPOINT_LIMITS`` is refused before anything is sent (addition (p)).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from connector.core.data_types import OrderState, OrderType
from connector.core.throttler import EndpointLimit, RateLimit, RateLimitKind, Weight, interval_header_suffix

# ---------------------------------------------------------------------------------------------
# Endpoints


@dataclass(frozen=True, slots=True)
class BinanceEndpoints:
    """Where the three Binance surfaces live. Any base URL works (a mock, a proxy).

    ``rest_url`` has no path (``/api/v3/...`` is appended); ``stream_url`` is the market-stream
    base (``/ws`` is appended); ``ws_api_url`` is the full WebSocket API URL.
    """

    rest_url: str
    stream_url: str
    ws_api_url: str

    def __post_init__(self) -> None:
        for name in ("rest_url", "stream_url", "ws_api_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or "://" not in value:
                raise ValueError(f"{name} must be an absolute URL, got {value!r}")
            object.__setattr__(self, name, value.rstrip("/"))

    @classmethod
    def production(cls) -> BinanceEndpoints:
        return cls(
            rest_url="https://api.binance.com",
            stream_url="wss://stream.binance.com:9443",
            ws_api_url="wss://ws-api.binance.com:443/ws-api/v3",
        )

    @classmethod
    def testnet(cls) -> BinanceEndpoints:
        return cls(
            rest_url="https://testnet.binance.vision",
            stream_url="wss://stream.testnet.binance.vision:9443",
            ws_api_url="wss://ws-api.testnet.binance.vision/ws-api/v3",
        )

    @classmethod
    def local(cls, host: str = "127.0.0.1", port: int = 8090, *, tls: bool = False) -> BinanceEndpoints:
        """All three surfaces on one host and port, as a local mock exchange serves them."""
        http, ws = ("https", "wss") if tls else ("http", "ws")
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return cls(
            rest_url=f"{http}://{authority}",
            stream_url=f"{ws}://{authority}",
            ws_api_url=f"{ws}://{authority}/ws-api/v3",
        )


# ---------------------------------------------------------------------------------------------
# REST paths

PING_PATH: Final = "/api/v3/ping"
SERVER_TIME_PATH: Final = "/api/v3/time"
EXCHANGE_INFO_PATH: Final = "/api/v3/exchangeInfo"
DEPTH_PATH: Final = "/api/v3/depth"
TICKER_PRICE_PATH: Final = "/api/v3/ticker/price"
RECENT_TRADES_PATH: Final = "/api/v3/trades"
ACCOUNT_PATH: Final = "/api/v3/account"
COMMISSION_PATH: Final = "/api/v3/account/commission"
MY_TRADES_PATH: Final = "/api/v3/myTrades"
#: Trades per ``myTrades`` request (Binance's maximum; the default is 500).
MY_TRADES_PAGE_LIMIT: Final = 1000
ORDER_PATH: Final = "/api/v3/order"
OPEN_ORDERS_PATH: Final = "/api/v3/openOrders"
#: The requests whose success answer is a JSON array (every other one answers an object;
#: ``ticker/price`` answers an array only when no ``symbol`` is given).
LIST_ANSWERS: Final = frozenset(
    {
        ("GET", RECENT_TRADES_PATH),
        ("GET", MY_TRADES_PATH),
        ("GET", OPEN_ORDERS_PATH),
        ("DELETE", OPEN_ORDERS_PATH),
    }
)

#: ``limit`` for depth snapshots: deep enough for price-for-volume queries, weight 50.
SNAPSHOT_DEPTH_LIMIT: Final = 1000

# ---------------------------------------------------------------------------------------------
# WebSocket

WS_PATH: Final = "/ws"
DIFF_STREAM_SUFFIX: Final = "@depth@100ms"
TRADE_STREAM_SUFFIX: Final = "@trade"
#: Market streams per pair: its diff depth and its trades.
STREAMS_PER_PAIR: Final = 2
#: Streams one market-stream connection may carry (Binance: 1024); two per pair here.
MAX_STREAMS_PER_CONNECTION: Final = 1024
USER_STREAM_SUBSCRIBE_METHOD: Final = "userDataStream.subscribe.signature"

DIFF_EVENT_TYPE: Final = "depthUpdate"
TRADE_EVENT_TYPE: Final = "trade"
EXECUTION_REPORT_EVENT_TYPE: Final = "executionReport"
ACCOUNT_POSITION_EVENT_TYPE: Final = "outboundAccountPosition"
BALANCE_UPDATE_EVENT_TYPE: Final = "balanceUpdate"
STREAM_TERMINATED_EVENT_TYPE: Final = "eventStreamTerminated"
SERVER_SHUTDOWN_EVENT_TYPE: Final = "serverShutdown"

# ---------------------------------------------------------------------------------------------
# Orders

#: Binance's ``newClientOrderId`` rule (-1100 quotes it).
CLIENT_ORDER_ID_RE: Final = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
MAX_CLIENT_ORDER_ID_LENGTH: Final = 36
#: This connector's default broker prefix; configurable per connector.
DEFAULT_CLIENT_ORDER_ID_PREFIX: Final = "x-TCONN"
MAX_CLIENT_ORDER_ID_PREFIX_LENGTH: Final = 16

DEFAULT_RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60000

#: Binance order status (``status`` / executionReport ``X``) → our state (§3.1).
#: ``REJECTED`` is the only failure; both expiries are ``EXPIRED`` (never a failure, W14).
#: ``PENDING_NEW`` (a waiting order-list leg) carries no state for us: ids only.
#: Anything else is unknown: logged and skipped, never a crash (addition (o)).
ORDER_STATE: Final[Mapping[str, OrderState]] = {
    "PENDING_NEW": OrderState.PENDING_CREATE,
    "NEW": OrderState.OPEN,
    "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
    "FILLED": OrderState.FILLED,
    "PENDING_CANCEL": OrderState.PENDING_CANCEL,
    "CANCELED": OrderState.CANCELED,
    "REJECTED": OrderState.FAILED,
    "EXPIRED": OrderState.EXPIRED,
    "EXPIRED_IN_MATCH": OrderState.EXPIRED,
}

SUPPORTED_ORDER_TYPES: Final[tuple[OrderType, ...]] = (
    OrderType.LIMIT,
    OrderType.LIMIT_MAKER,
    OrderType.MARKET,
)

# ---------------------------------------------------------------------------------------------
# Error codes (§4). The code → exception class table lives in binance_web_utils.

INVALID_TIMESTAMP_CODE: Final = -1021
UNKNOWN_ORDER_CODE: Final = -2011  # cancel: "Unknown order sent."
NO_SUCH_ORDER_CODE: Final = -2013  # query: "Order does not exist."
UNKNOWN_ORDER_MESSAGE: Final = "Unknown order sent."
ORDER_REJECTED_CODE: Final = -2010
FILTER_FAILURE_CODE: Final = -1013
TOO_MANY_REQUESTS_CODE: Final = -1003
TOO_MANY_ORDERS_CODE: Final = -1015
AUTH_ERROR_CODES: Final = frozenset({-1002, -1022, -2014, -2015})

# ---------------------------------------------------------------------------------------------
# Rate limits (§1.8)
#
# A pool's id is its kind and interval, as Binance names them in its headers
# (``X-MBX-USED-WEIGHT-1M``): the defaults below are the documented production values, and
# the limits an exchange publishes in ``exchangeInfo.rateLimits`` replace them
# (``binance_utils.rate_limits_from_exchange_info``; Hummingbot hard-coded them, #5491).


def rate_limit_id(kind: RateLimitKind, interval_seconds: float) -> str:
    """``REQUEST_WEIGHT_1M``, ``ORDERS_10S``, ``ORDERS_1D``, ``RAW_REQUESTS_5M``..."""
    return f"{kind.value}_{interval_header_suffix(interval_seconds)}"


REQUEST_WEIGHT: Final = rate_limit_id(RateLimitKind.REQUEST_WEIGHT, 60)
ORDERS_10S: Final = rate_limit_id(RateLimitKind.ORDERS, 10)
ORDERS_1D: Final = rate_limit_id(RateLimitKind.ORDERS, 86_400)
RAW_REQUESTS: Final = rate_limit_id(RateLimitKind.RAW_REQUESTS, 300)

RATE_LIMITS: Final[tuple[RateLimit, ...]] = (
    RateLimit(REQUEST_WEIGHT, 6000, 60, RateLimitKind.REQUEST_WEIGHT),
    RateLimit(ORDERS_10S, 50, 10, RateLimitKind.ORDERS),
    RateLimit(ORDERS_1D, 160_000, 86_400, RateLimitKind.ORDERS),
    RateLimit(RAW_REQUESTS, 300_000, 300, RateLimitKind.RAW_REQUESTS),
)


def _depth_weight(params: Mapping[str, Any]) -> int:
    limit = int(params.get("limit", 100))
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def _symbol_or_all(one: int, every: int) -> Weight:
    def weight(params: Mapping[str, Any]) -> int:
        return one if "symbol" in params else every

    return weight


def _my_trades_weight(params: Mapping[str, Any]) -> int:
    return 5 if "orderId" in params else 20


@dataclass(frozen=True, slots=True)
class EndpointCost:
    """What one request costs: ``weight`` in every REQUEST_WEIGHT pool and ``orders`` in every
    ORDERS pool (raw-request pools are charged 1 by the limiter itself)."""

    method: str
    path: str
    weight: Weight
    orders: int = 0


#: The cost of every request this connector makes. Successful order and cancel requests cost
#: 0 weight since 2026-04-02; booking 1 is the conservative side (failed ones cost 1). Only
#: placing an order counts toward the unfilled-order pools.
ENDPOINT_COSTS: Final[tuple[EndpointCost, ...]] = (
    EndpointCost("GET", PING_PATH, 1),
    EndpointCost("GET", SERVER_TIME_PATH, 1),
    EndpointCost("GET", EXCHANGE_INFO_PATH, 20),
    EndpointCost("GET", DEPTH_PATH, _depth_weight),
    EndpointCost("GET", TICKER_PRICE_PATH, _symbol_or_all(2, 4)),
    EndpointCost("GET", RECENT_TRADES_PATH, 25),
    EndpointCost("GET", ACCOUNT_PATH, 20),
    EndpointCost("GET", COMMISSION_PATH, 20),
    EndpointCost("GET", MY_TRADES_PATH, _my_trades_weight),
    EndpointCost("POST", ORDER_PATH, 1, orders=1),
    EndpointCost("GET", ORDER_PATH, 4),
    EndpointCost("DELETE", ORDER_PATH, 1),
    EndpointCost("GET", OPEN_ORDERS_PATH, _symbol_or_all(6, 80)),
    EndpointCost("DELETE", OPEN_ORDERS_PATH, 1),
)


def endpoint_limits(limits: Iterable[RateLimit]) -> tuple[EndpointLimit, ...]:
    """``ENDPOINT_COSTS`` expressed against a given set of pools."""
    pools = list(limits)
    weight_pools = [p.limit_id for p in pools if p.kind is RateLimitKind.REQUEST_WEIGHT]
    order_pools = [p.limit_id for p in pools if p.kind is RateLimitKind.ORDERS]
    out = []
    for cost in ENDPOINT_COSTS:
        weights: dict[str, Weight] = {pool: cost.weight for pool in weight_pools}
        if cost.orders:
            weights.update({pool: cost.orders for pool in order_pools})
        out.append(EndpointLimit(cost.method, cost.path, weights))
    return tuple(out)


ENDPOINT_LIMITS: Final[tuple[EndpointLimit, ...]] = endpoint_limits(RATE_LIMITS)
