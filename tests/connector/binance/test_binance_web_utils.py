"""Binance ``{code, msg}`` + HTTP status → typed exceptions, and the rate-limit table."""

from __future__ import annotations

import email.utils

import pytest

from connector.binance import binance_constants as CONSTANTS
from connector.binance.binance_web_utils import (
    ERROR_CLASSES,
    MAX_RETRY_AFTER_S,
    _retry_after,
    banned_until_s,
    build_rate_limiter,
    error_class_for,
    error_from_response,
)
from connector.core.errors import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    ExchangeError,
    FilterFailure,
    InvalidTimestamp,
    IPBanned,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    RequestInfo,
    ServerError,
)
from connector.core.throttler import EndpointLimit, RateLimiter


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            400,
            {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
            InvalidTimestamp,
        ),
        (400, {"code": -1022, "msg": "Signature for this request is not valid."}, AuthenticationError),
        (401, {"code": -2014, "msg": "API-key format invalid."}, AuthenticationError),
        (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, AuthenticationError),
        (
            400,
            {"code": -2010, "msg": "Account has insufficient balance for requested action."},
            OrderRejected,
        ),
        (400, {"code": -2010, "msg": "Order would immediately match and take."}, OrderRejected),
        (400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}, FilterFailure),
        (400, {"code": -1013, "msg": "Market is closed."}, OrderRejected),
        (400, {"code": -2013, "msg": "Order does not exist."}, OrderNotFound),
        (400, {"code": -2011, "msg": "Unknown order sent."}, OrderNotFound),
        (400, {"code": -2011, "msg": "Order was not canceled due to cancel restrictions."}, ExchangeError),
        (400, {"code": -1121, "msg": "Invalid symbol."}, BadRequest),
        (400, {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent."}, BadRequest),
        (429, {"code": -1003, "msg": "Too much request weight used"}, RateLimited),
        (429, {"code": -1015, "msg": "Too many new orders."}, RateLimited),
        (
            418,
            {"code": -1003, "msg": "Way too much request weight used; IP banned until 1700000000000."},
            IPBanned,
        ),
        (
            503,
            {"code": -1000, "msg": "Unknown error, please check your request or try again later."},
            ServerError,
        ),
        (500, "<html>Internal Server Error</html>", ServerError),
        (400, {"code": -1006, "msg": "Execution status unknown."}, ServerError),
        (408, {"code": -1007, "msg": "Timeout waiting for response from backend server."}, ServerError),
        (400, {"code": -9999, "msg": "something new"}, ExchangeError),
    ],
)
def test_error_mapping(status: int, body: object, cls: type[ExchangeError]) -> None:
    request = RequestInfo("POST", "/api/v3/order")
    error = error_from_response(status, body, request=request, retry_after=3.0)
    assert type(error) is cls
    assert error.http_status == status
    assert error.request == request
    assert error.retry_after == 3.0
    if isinstance(body, dict):
        assert (error.code, error.msg) == (body["code"], body["msg"])


@pytest.mark.parametrize(
    ("status", "code", "unknown"),
    [
        (503, -1000, True),
        (500, None, True),
        (400, -1006, True),
        (408, -1007, True),
        (400, -2010, False),
        (400, -2013, False),
        (429, -1003, False),
        (400, -1021, False),
    ],
)
def test_unknown_outcome_only_for_5xx_and_message_bus_codes(
    status: int, code: int | None, unknown: bool
) -> None:
    body = {"code": code, "msg": "x"} if code is not None else "oops"
    assert error_from_response(status, body).outcome_unknown is unknown


def test_ip_ban_end_is_read_from_the_message() -> None:
    error = error_from_response(418, {"code": -1003, "msg": "IP banned until 1700000000000. Please use..."})
    assert isinstance(error, IPBanned)
    assert error.banned_until == 1_700_000_000.0
    assert banned_until_s("no date here") is None
    assert banned_until_s("banned until 1700000000000000") == 1_700_000_000.0  # microseconds


def test_filter_failure_names_the_filter() -> None:
    error = error_from_response(400, {"code": -1013, "msg": "Filter failure: NOTIONAL"})
    assert isinstance(error, FilterFailure) and error.filter_name == "NOTIONAL"


def test_error_table_is_consistent() -> None:
    for code, cls in ERROR_CLASSES.items():
        assert issubclass(cls, ExchangeError)
        assert error_class_for(400, code, "x") in (cls, FilterFailure, OrderNotFound, ExchangeError)


def test_every_endpoint_is_registered_against_known_pools() -> None:
    limiter = build_rate_limiter()
    for endpoint in CONSTANTS.ENDPOINT_LIMITS:
        weights = limiter.weights_for(endpoint.method, endpoint.path, {"symbol": "BTCUSDT"})
        assert weights[CONSTANTS.REQUEST_WEIGHT] >= 1
        assert weights[CONSTANTS.RAW_REQUESTS] == 1


def test_only_placing_an_order_counts_toward_the_order_pools() -> None:
    limiter = build_rate_limiter()
    assert limiter.weights_for("POST", CONSTANTS.ORDER_PATH)[CONSTANTS.ORDERS_10S] == 1
    for method in ("GET", "DELETE"):
        assert CONSTANTS.ORDERS_10S not in limiter.weights_for(method, CONSTANTS.ORDER_PATH)


@pytest.mark.parametrize(("limit", "weight"), [(100, 5), (500, 25), (1000, 50), (5000, 250)])
def test_depth_weight_depends_on_limit(limit: int, weight: int) -> None:
    weights = build_rate_limiter().weights_for("GET", CONSTANTS.DEPTH_PATH, {"limit": limit})
    assert weights[CONSTANTS.REQUEST_WEIGHT] == weight


def test_unknown_rate_limit_id_is_rejected_at_configuration_time() -> None:
    """Study addition (p): a typo in the limits table fails at start-up, not mid-request."""
    bad = EndpointLimit("GET", "/api/v3/ping", {"REQUEST_WEIGHTS": 1})
    with pytest.raises(ConfigurationError, match="REQUEST_WEIGHTS"):
        RateLimiter(CONSTANTS.RATE_LIMITS, [*CONSTANTS.ENDPOINT_LIMITS, bad])


def test_unregistered_endpoint_is_refused_before_sending() -> None:
    with pytest.raises(ConfigurationError, match="/api/v3/unknown"):
        build_rate_limiter().acquire("GET", "/api/v3/unknown", 0.0)


def test_published_limits_replace_the_defaults() -> None:
    """Hummingbot #5491: pace by ``exchangeInfo.rateLimits``; unknown types are ignored."""
    from connector.binance.binance_utils import rate_limits_from_exchange_info

    published = rate_limits_from_exchange_info(
        {
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 200},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 3},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 1000},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
                {"rateLimitType": "CONNECTIONS", "interval": "MINUTE", "intervalNum": 5, "limit": 300},
                {"rateLimitType": "ORDERS", "interval": "FORTNIGHT", "intervalNum": 1, "limit": 1},
            ]
        }
    )
    assert {(p.limit_id, p.limit) for p in published} == {
        (CONSTANTS.REQUEST_WEIGHT, 200),
        (CONSTANTS.ORDERS_10S, 3),
        (CONSTANTS.ORDERS_1D, 1000),
        (CONSTANTS.RAW_REQUESTS, 300000),
    }
    limiter = build_rate_limiter(published, safety_margin=0)
    assert limiter.capacity(CONSTANTS.ORDERS_10S) == 3
    assert limiter.weights_for("POST", CONSTANTS.ORDER_PATH)[CONSTANTS.ORDERS_10S] == 1


NOW_S = 1_780_000_000.0


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("2", 2.0),
        ("-5", 0.0),
        (email.utils.formatdate(NOW_S + 30, usegmt=True), 30.0),
        ("inf", MAX_RETRY_AFTER_S),
        ("1e300", MAX_RETRY_AFTER_S),
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER_S),
        ("Mon, 01 Feb 99999999999999999999 00:00:00 GMT", None),  # OverflowError inside
        ("nan", None),
        ("soon", None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date_is_bounded(header: str, wait: float | None) -> None:
    assert _retry_after({"Retry-After": header}, NOW_S) == wait
