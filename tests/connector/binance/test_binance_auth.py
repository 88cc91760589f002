"""Request signing: Binance's official HMAC vectors (REST and WebSocket API), the exact
string that is signed and sent, and the timestamp/recvWindow parameters."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from connector.binance.binance_auth import (
    API_KEY_HEADER,
    BinanceAuth,
    encode_params,
    format_param,
    ws_payload,
)

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
REST_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
    "&timestamp=1499827319559"
)
REST_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
WS_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
WS_SIGNATURE = "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"


def auth(timestamp: int = 1499827319559, key: str = "key") -> BinanceAuth:
    return BinanceAuth(key, SECRET, lambda: timestamp)


def test_official_rest_vector() -> None:
    assert auth().sign(REST_PAYLOAD) == REST_SIGNATURE


def test_signed_query_signs_exactly_what_is_sent_in_order() -> None:
    params = {
        "symbol": "LTCBTC",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": Decimal("1"),
        "price": Decimal("0.1"),
    }
    query = auth().signed_query(params)
    assert query == f"{REST_PAYLOAD}&signature={REST_SIGNATURE}"


def test_signed_query_percent_encodes_before_signing() -> None:
    a = auth()
    query = a.signed_query({"symbols": '["BTCUSDT","ETHUSDT"]'})
    payload, _, signature = query.rpartition("&signature=")
    assert "%5B%22BTCUSDT%22" in payload  # encoded, as sent
    assert signature == a.sign(payload)
    assert dict(parse_qsl(payload))["symbols"] == '["BTCUSDT","ETHUSDT"]'


def test_recv_window_is_configurable_and_explicit_values_win() -> None:
    a = BinanceAuth("key", SECRET, lambda: 42, recv_window_ms=10_000)
    assert dict(parse_qsl(a.signed_query({})))["recvWindow"] == "10000"
    assert dict(parse_qsl(a.signed_query({"recvWindow": 7000})))["recvWindow"] == "7000"
    assert dict(parse_qsl(a.signed_query({})))["timestamp"] == "42"


@pytest.mark.parametrize("window", [0, -1, 60_001])
def test_recv_window_outside_binance_range_is_refused(window: int) -> None:
    with pytest.raises(ValueError, match="recv_window_ms"):
        BinanceAuth("key", SECRET, lambda: 0, recv_window_ms=window)


def test_missing_credentials_are_refused() -> None:
    with pytest.raises(ValueError):
        BinanceAuth("", SECRET, lambda: 0)


def test_timestamp_is_read_at_signing_time() -> None:
    now = [1000]
    a = BinanceAuth("key", SECRET, lambda: now[0])
    first = dict(parse_qsl(a.signed_query({})))
    now[0] = 2000
    second = dict(parse_qsl(a.signed_query({})))
    assert (first["timestamp"], second["timestamp"]) == ("1000", "2000")


def test_official_ws_api_vector() -> None:
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": 100,
        "timestamp": 1645423376532,
    }
    signed = BinanceAuth(WS_API_KEY, SECRET, lambda: 0).ws_signed_params(params)
    assert signed["signature"] == WS_SIGNATURE
    assert signed["timestamp"] == 1645423376532  # an explicit timestamp is kept


def test_ws_payload_is_sorted_and_excludes_the_signature() -> None:
    assert ws_payload({"timestamp": 2, "apiKey": "k", "signature": "x"}) == "apiKey=k&timestamp=2"


def test_user_stream_subscription_params() -> None:
    signed = BinanceAuth("the-key", SECRET, lambda: 1700000000000).ws_signed_params()
    assert set(signed) == {"apiKey", "timestamp", "signature"}
    assert signed["signature"] == auth().sign("apiKey=the-key&timestamp=1700000000000")


def test_header_and_repr_never_leak_the_secret() -> None:
    a = auth(key="abcdefgh")
    assert a.headers() == {API_KEY_HEADER: "abcdefgh"}
    assert SECRET not in repr(a)


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("1E-5"), "0.00001"), (Decimal("0.10"), "0.10"), (True, "true"), (False, "false"), (7, "7")],
)
def test_parameter_formatting(value: Decimal | bool | int, text: str) -> None:
    assert format_param(value) == text
    assert encode_params({"q": value}) == f"q={text}"
