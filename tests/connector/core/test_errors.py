"""The error hierarchy: who is at fault, and whether the outcome is known."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector.core.data_types import TokenAmount, TradeFee, check_decimal
from connector.core.errors import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    ConnectorError,
    ExchangeError,
    FilterFailure,
    InvalidOrder,
    InvalidOrderReason,
    InvalidTimestamp,
    IPBanned,
    LocalError,
    NotReady,
    OrderLost,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    RemoteError,
    RequestInfo,
    RequestTimeout,
    ServerError,
    TransportError,
)

REQUEST = RequestInfo("POST", "/api/v3/order")


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (ServerError("Internal error", http_status=500), True),
        (ServerError("bad gateway", http_status=502), True),
        (ExchangeError("?", http_status=503), True),  # any 5xx, whatever class it was given
        (ExchangeError("message bus", code=-1006, http_status=400), True),
        (ExchangeError("backend timeout", code=-1007), True),
        (RequestTimeout("no answer", request=REQUEST), True),
        (TransportError("connection reset after sending"), True),
        (TransportError("connection refused", request_sent=False), False),
        (OrderRejected("insufficient balance", code=-2010, http_status=400), False),
        (FilterFailure("Filter failure: LOT_SIZE", code=-1013, http_status=400), False),
        (OrderNotFound("Order does not exist.", code=-2013, http_status=400), False),
        (InvalidTimestamp("outside recvWindow", code=-1021, http_status=400), False),
        (AuthenticationError("bad key", code=-2015, http_status=401), False),
        (RateLimited("too much weight", code=-1003, http_status=429), False),
        (IPBanned("banned", code=-1003, http_status=418), False),
        (BadRequest("bad param", code=-1102, http_status=400), False),
        (InvalidOrder(InvalidOrderReason.BELOW_MIN_SIZE, "too small"), False),
        (NotReady("no rules yet"), False),
        (OrderLost("gone"), False),
    ],
)
def test_outcome_unknown_exactly_when_the_request_may_have_taken_effect(
    error: ConnectorError, unknown: bool
) -> None:
    assert error.outcome_unknown is unknown


def test_local_and_remote_errors_are_disjoint() -> None:
    local = [InvalidOrder(InvalidOrderReason.INVALID_PRICE, "x"), NotReady(), ConfigurationError()]
    remote = [ExchangeError(), TransportError("x"), RequestTimeout("x"), OrderLost("x")]
    assert all(isinstance(e, LocalError) and not isinstance(e, RemoteError) for e in local)
    assert all(isinstance(e, RemoteError) and not isinstance(e, LocalError) for e in remote)
    assert all(isinstance(e, ConnectorError) for e in local + remote)


def test_subclass_relations_useful_for_except_clauses() -> None:
    assert issubclass(FilterFailure, OrderRejected)
    assert issubclass(IPBanned, RateLimited)
    assert issubclass(RequestTimeout, TransportError)
    assert issubclass(ServerError, ExchangeError)


def test_transient_errors_only_delay() -> None:
    transient = [
        RequestTimeout("x"),
        ServerError("x", http_status=503),
        RateLimited("x", http_status=429),
        InvalidTimestamp("x", code=-1021),
    ]
    final = [
        OrderNotFound("x", code=-2013),
        OrderRejected("x", code=-2010),
        AuthenticationError("x"),
        InvalidOrder(InvalidOrderReason.INVALID_AMOUNT, "x"),
    ]
    assert all(e.transient for e in transient)
    assert not any(e.transient for e in final)


def test_from_payload_reads_code_and_msg() -> None:
    error = OrderNotFound.from_payload(
        400, {"code": -2013, "msg": "Order does not exist."}, request=REQUEST, retry_after=None
    )
    assert isinstance(error, OrderNotFound)
    assert (error.http_status, error.code, error.msg) == (400, -2013, "Order does not exist.")
    assert error.request == REQUEST
    assert str(error) == "OrderNotFound HTTP 400 -2013: Order does not exist. (POST /api/v3/order)"


def test_from_payload_tolerates_bodies_of_the_wrong_shape() -> None:
    html = ServerError.from_payload(502, "<html>Bad Gateway</html>")
    assert html.code is None and html.msg == "<html>Bad Gateway</html>"
    odd = ExchangeError.from_payload(400, {"code": "x", "msg": 5})
    assert odd.code is None and odd.msg == ""
    limited = RateLimited.from_payload(429, {"code": -1003, "msg": "slow down"}, retry_after=30)
    assert limited.retry_after == 30


def test_filter_failure_names_the_filter() -> None:
    assert FilterFailure("Filter failure: NOTIONAL", code=-1013).filter_name == "NOTIONAL"
    assert FilterFailure("something else", code=-1013).filter_name is None


def test_ban_carries_its_end() -> None:
    ban = IPBanned("IP banned until 1700000000000.", http_status=418, banned_until=1.7e9)
    assert ban.banned_until == 1.7e9


def test_invalid_order_carries_reason_value_and_limit() -> None:
    error = InvalidOrder(
        InvalidOrderReason.BELOW_MIN_NOTIONAL,
        "notional 1 is below the minimum 5",
        trading_pair="BTC-USDT",
        value=Decimal(1),
        limit=Decimal(5),
    )
    assert error.reason is InvalidOrderReason.BELOW_MIN_NOTIONAL
    assert (error.value, error.limit) == (Decimal(1), Decimal(5))
    assert str(error) == "BELOW_MIN_NOTIONAL [BTC-USDT]: notional 1 is below the minimum 5"


def test_order_lost_keeps_the_evidence() -> None:
    last = OrderNotFound("Order does not exist.", code=-2013)
    lost = OrderLost("not found", not_found_count=2, last_reason=last)
    assert lost.not_found_count == 2 and lost.last_reason is last


# -- money values (data_types) -------------------------------------------------------------------


def test_decimal_guard_refuses_floats_nan_and_negatives() -> None:
    assert check_decimal(Decimal("1.5"), "x") == Decimal("1.5")
    with pytest.raises(TypeError):
        check_decimal(1.5, "x")
    with pytest.raises(TypeError):
        check_decimal(1, "x")
    with pytest.raises(ValueError):
        check_decimal(Decimal("NaN"), "x")
    with pytest.raises(ValueError):
        check_decimal(Decimal("-1"), "x")
    assert check_decimal(Decimal("-1"), "x", allow_negative=True) == Decimal("-1")


def test_trade_fee_is_canonical_and_adds_per_asset() -> None:
    a = TradeFee.from_pairs([("USDT", Decimal("0.1")), ("BNB", Decimal("0.01"))])
    b = TradeFee((TokenAmount("BNB", Decimal("0.01")), TokenAmount("USDT", Decimal("0.1"))))
    assert a == b and hash(a) == hash(b)
    total = a + TradeFee.of("USDT", Decimal("0.2"))
    assert total.amount_of("USDT") == Decimal("0.3")
    assert total.amount_of("BTC") == 0
    assert total.tokens == ("BNB", "USDT")
    assert TradeFee.of("BNB", Decimal(0)).is_zero
    assert TradeFee.from_json(total.to_json()) == total
    assert total.as_pairs() == [("BNB", Decimal("0.01")), ("USDT", Decimal("0.3"))]
    with pytest.raises(TypeError):
        TradeFee.of("USDT", 0.1)  # type: ignore[arg-type]
