"""Authentication and timing security, over real HTTP."""

from __future__ import annotations

import hashlib
import hmac

from mock_exchange.binance.auth import hmac_hex, split_signature, ws_payload
from mock_exchange.clock import VirtualClock
from tests.support.rest_client import RestClient

OFFICIAL_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def test_official_hmac_vector() -> None:
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    assert hmac_hex(OFFICIAL_SECRET, payload) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


def test_official_ws_api_vector() -> None:
    params = {
        "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": "100",
        "timestamp": "1645423376532",
    }
    assert hmac_hex(OFFICIAL_SECRET, ws_payload(params)) == (
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )


def test_signature_is_removed_from_wherever_it_is() -> None:
    assert split_signature("a=1&signature=x&b=2", "c=3") == ("a=1&b=2c=3", "x")
    assert split_signature("a=1", "b=2&signature=y") == ("a=1b=2", "y")


async def test_signed_request_in_query_and_in_body(client: RestClient) -> None:
    r = await client.signed("GET", "/api/v3/account")
    assert r.status == 200 and "balances" in r.body
    r = await client.signed("DELETE", "/api/v3/openOrders", in_body=True, symbol="BTCUSDT")
    assert (r.status, r.code) == (400, -2011)  # authenticated; nothing to cancel


async def test_uppercase_hex_signature_is_accepted(client: RestClient) -> None:
    payload = f"timestamp={client.now_ms()}"
    r = await client.raw(
        "GET", "/api/v3/account", query=f"{payload}&signature={client.sign(payload).upper()}"
    )
    assert r.status == 200


async def test_signature_over_raw_bytes_in_client_order(client: RestClient) -> None:
    # python-binance sorts parameters; others keep their own order. Both must verify,
    # and so must percent-encoded values (verification is over the bytes as sent).
    ts = client.now_ms()
    for payload in (f"timestamp={ts}&symbol=BTCUSDT", f"symbol=BTCUSDT&timestamp={ts}"):
        r = await client.raw("GET", "/api/v3/openOrders", query=f"{payload}&signature={client.sign(payload)}")
        assert r.status == 200, r.body
    payload = f"symbols=%5B%22BTCUSDT%22%5D&timestamp={ts}"
    r = await client.raw("GET", "/api/v3/ticker/price", query=payload)
    assert r.status == 200 and r.body[0]["symbol"] == "BTCUSDT"
    body = (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000"
        f"&newClientOrderId=x-ABC_1&timestamp={ts}"
    )
    r = await client.raw("POST", "/api/v3/order", body=f"{body}&signature={client.sign(body)}")
    assert r.status == 200 and r.body["clientOrderId"] == "x-ABC_1"


async def test_query_and_body_split_with_signature_in_query(client: RestClient) -> None:
    ts = client.now_ms()
    query = f"symbol=BTCUSDT&timestamp={ts}"
    body = "side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000"
    sig = client.sign(query + body)
    r = await client.raw("POST", "/api/v3/order", query=f"{query}&signature={sig}", body=body)
    assert r.status == 200, r.body


async def test_query_wins_over_body(client: RestClient) -> None:
    ts = client.now_ms()
    query = f"symbol=BTCUSDT&quantity=0.002&timestamp={ts}"
    body = "side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000"
    sig = client.sign(query + body)
    r = await client.raw("POST", "/api/v3/order", query=f"{query}&signature={sig}", body=body)
    assert r.status == 200 and r.body["origQty"] == "0.00200000"


async def test_form_body_with_json_content_type(client: RestClient) -> None:
    ts = client.now_ms()
    body = f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&timestamp={ts}"
    r = await client.raw(
        "POST",
        "/api/v3/order",
        body=f"{body}&signature={client.sign(body)}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status == 200, r.body


async def test_key_errors(client: RestClient) -> None:
    r = await client.raw("GET", "/api/v3/account", query="timestamp=1", headers={"X-MBX-APIKEY": ""})
    assert (r.status, r.code, r.msg) == (401, -2014, "API-key format invalid.")
    client.api_key = "no-such-key"
    r = await client.signed("GET", "/api/v3/account")
    assert (r.status, r.code, r.msg) == (401, -2015, "Invalid API-key, IP, or permissions for action.")


async def test_bad_and_missing_signature(client: RestClient) -> None:
    r = await client.raw("GET", "/api/v3/account", query=f"timestamp={client.now_ms()}&signature=00ff")
    assert (r.status, r.code, r.msg) == (400, -1022, "Signature for this request is not valid.")
    r = await client.raw("GET", "/api/v3/account", query=f"timestamp={client.now_ms()}")
    assert (r.status, r.code) == (400, -1102)
    assert r.msg == "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    client.secret = "wrong"
    r = await client.signed(
        "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
    )
    assert r.code == -1022


async def test_timestamp_window(client: RestClient, clock: VirtualClock) -> None:
    now = clock.now_us() // 1000
    r = await client.signed("GET", "/api/v3/account", timestamp=now - 5001)
    assert (r.status, r.code, r.msg) == (
        400,
        -1021,
        "Timestamp for this request is outside of the recvWindow.",
    )
    r = await client.signed("GET", "/api/v3/account", timestamp=now - 5001, recvWindow=6000)
    assert r.status == 200
    r = await client.signed("GET", "/api/v3/account", timestamp=now + 1000)
    assert r.msg == "Timestamp for this request was 1000ms ahead of the server's time."
    r = await client.signed("GET", "/api/v3/account", timestamp=now + 999)
    assert r.status == 200
    r = await client.signed("GET", "/api/v3/account", recvWindow=60001)
    assert (r.code, r.msg) == (-1102, "'recvWindow' contains unexpected value. Cannot be greater than 60000.")
    r = await client.signed("GET", "/api/v3/account", recvWindow="6000.346")
    assert r.status == 200
    r = await client.signed("GET", "/api/v3/account", timestamp=now * 1000)  # microseconds
    assert r.status == 200
    for query in ("signature=ab", "timestamp=&signature=ab"):  # absent or empty
        r = await client.raw("GET", "/api/v3/account", query=query)
        assert (r.code, r.msg) == (
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        ), query


async def test_public_endpoints_ignore_the_key_and_auth_params(client: RestClient) -> None:
    client.api_key = "whatever"
    r = await client.raw("GET", "/api/v3/time", query="timestamp=1&signature=zz")
    assert r.status == 200


def test_hmac_matches_stdlib() -> None:
    assert hmac_hex("k", "p") == hmac.new(b"k", b"p", hashlib.sha256).hexdigest()
