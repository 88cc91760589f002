"""Every endpoint-backed method, compared with what REST answers for the same call."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mock_exchange.clock import VirtualClock

from .conftest import API_KEY, API_SECRET, LIMIT_BUY, Connect, Rest, WsApiClient, hmac_sign, ws_payload


@pytest.fixture
async def traded(ws: WsApiClient, rest: Rest, clock: VirtualClock) -> None:
    """Some public trades (a market buy walking two levels), one minute in."""
    await clock.advance(60)
    reply = await ws.call(
        "order.place", ws.signed({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.3"})
    )
    assert reply["result"]["status"] == "FILLED"
    await clock.advance(1)


PUBLIC = [
    ("ping", "/api/v3/ping", {}),
    ("time", "/api/v3/time", {}),
    ("exchangeInfo", "/api/v3/exchangeInfo", {}),
    ("exchangeInfo", "/api/v3/exchangeInfo", {"symbol": "ETHBTC"}),
    ("exchangeInfo", "/api/v3/exchangeInfo", {"symbols": ["BTCUSDT", "ETHUSDT"]}),
    ("depth", "/api/v3/depth", {"symbol": "BTCUSDT"}),
    ("depth", "/api/v3/depth", {"symbol": "ETHUSDT", "limit": 5}),
    ("trades.recent", "/api/v3/trades", {"symbol": "BTCUSDT"}),
    ("trades.historical", "/api/v3/historicalTrades", {"symbol": "BTCUSDT", "fromId": 1, "limit": 1}),
    ("trades.aggregate", "/api/v3/aggTrades", {"symbol": "BTCUSDT"}),
    ("klines", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m"}),
    ("uiKlines", "/api/v3/uiKlines", {"symbol": "BTCUSDT", "interval": "1s", "limit": 3}),
    ("avgPrice", "/api/v3/avgPrice", {"symbol": "BTCUSDT"}),
    ("ticker.price", "/api/v3/ticker/price", {"symbol": "BTCUSDT"}),
    ("ticker.price", "/api/v3/ticker/price", {}),
    ("ticker.book", "/api/v3/ticker/bookTicker", {"symbols": ["ETHBTC", "BTCUSDT"]}),
    ("ticker.24hr", "/api/v3/ticker/24hr", {"symbol": "BTCUSDT"}),
    ("ticker.24hr", "/api/v3/ticker/24hr", {"type": "MINI"}),
]


def rest_params(params: dict[str, Any]) -> dict[str, Any]:
    """JSON arrays travel as JSON text in a REST query string."""
    return {k: json.dumps(v, separators=(",", ":")) if isinstance(v, list) else v for k, v in params.items()}


@pytest.mark.usefixtures("traded")
@pytest.mark.parametrize(("method", "path", "params"), PUBLIC)
async def test_public_method_matches_rest(
    ws: WsApiClient, rest: Rest, method: str, path: str, params: dict[str, Any]
) -> None:
    expected_text = await rest_text(rest, path, rest_params(params))
    if method == "exchangeInfo":
        # The one documented difference: the WS API publishes its CONNECTIONS limit where
        # REST publishes RAW_REQUESTS (CHANGELOG 2023-08-25).
        raw = '{"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":300000}'
        assert raw in expected_text
        connections = '{"rateLimitType":"CONNECTIONS","interval":"MINUTE","intervalNum":5,"limit":300}'
        expected_text = expected_text.replace(raw, connections)
    await ws.ws.send_str(json.dumps({"id": 1, "method": method, "params": params}))
    frame = (await ws.ws.receive()).data
    reply = json.loads(frame)
    assert reply["status"] == 200, reply
    assert reply["result"] == json.loads(expected_text)
    # Byte for byte: the result is exactly the body REST sends.
    assert '"result":' + expected_text + "," in frame


async def rest_text(rest: Rest, path: str, params: dict[str, Any]) -> str:
    async with rest.session.get(rest.base + path, params=params) as r:
        assert r.status == 200
        return await r.text()


async def test_time_is_the_clock(ws: WsApiClient, clock: VirtualClock) -> None:
    await clock.advance(12.345)
    assert (await ws.call("time"))["result"] == {"serverTime": clock.now_us() // 1000}


async def test_public_errors_match_rest(ws: WsApiClient, rest: Rest) -> None:
    reply = await ws.call("depth", {"symbol": "NOPE"})
    assert reply["status"] == 400
    assert reply["error"] == {"code": -1121, "msg": "Invalid symbol."}
    reply = await ws.call("depth", {})
    assert reply["error"] == {
        "code": -1102,
        "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    }
    status, body = await rest.request("GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "7m"})
    reply = await ws.call("klines", {"symbol": "BTCUSDT", "interval": "7m"})
    assert (reply["status"], reply["error"]) == (status, body)


async def test_order_lifecycle_matches_rest(ws: WsApiClient, rest: Rest) -> None:
    placed = await ws.call(
        "order.place", ws.signed({**LIMIT_BUY, "newClientOrderId": "ws-1", "newOrderRespType": "RESULT"})
    )
    assert placed["status"] == 200
    order = placed["result"]
    assert order["clientOrderId"] == "ws-1" and order["status"] == "NEW"
    assert "fills" not in order
    order_id = order["orderId"]

    status = await ws.call("order.status", ws.signed({"symbol": "BTCUSDT", "orderId": order_id}))
    assert status["result"] == await rest.get(
        "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id}, signed=True
    )
    by_client = await ws.call("order.status", ws.signed({"symbol": "BTCUSDT", "origClientOrderId": "ws-1"}))
    assert by_client["result"] == status["result"]

    open_orders = await ws.call("openOrders.status", ws.signed({"symbol": "BTCUSDT"}))
    assert open_orders["result"] == [status["result"]]
    assert open_orders["result"] == await rest.get("/api/v3/openOrders", {"symbol": "BTCUSDT"}, signed=True)
    everything = await ws.call("openOrders.status", ws.signed())
    assert everything["result"] == [status["result"]]

    cancelled = await ws.call(
        "order.cancel", ws.signed({"symbol": "BTCUSDT", "orderId": order_id, "newClientOrderId": "cxl-1"})
    )
    assert cancelled["status"] == 200
    result = cancelled["result"]
    assert (result["origClientOrderId"], result["clientOrderId"], result["status"]) == (
        "ws-1",
        "cxl-1",
        "CANCELED",
    )
    all_orders = await ws.call("allOrders", ws.signed({"symbol": "BTCUSDT"}))
    assert all_orders["result"] == await rest.get("/api/v3/allOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert [o["status"] for o in all_orders["result"]] == ["CANCELED"]

    again = await ws.call("order.cancel", ws.signed({"symbol": "BTCUSDT", "orderId": order_id}))
    assert (again["status"], again["error"]) == (400, {"code": -2011, "msg": "Unknown order sent."})
    missing = await ws.call("order.status", ws.signed({"symbol": "BTCUSDT", "orderId": 999_999}))
    assert missing["error"] == {"code": -2013, "msg": "Order does not exist."}


async def test_cancel_all_and_cancel_replace(ws: WsApiClient, rest: Rest) -> None:
    first = (await ws.call("order.place", ws.signed({**LIMIT_BUY, "newClientOrderId": "a"})))["result"]
    await ws.call("order.place", ws.signed({**LIMIT_BUY, "price": "58000", "newClientOrderId": "b"}))
    replaced = await ws.call(
        "order.cancelReplace",
        ws.signed(
            {
                **LIMIT_BUY,
                "price": "58500",
                "newClientOrderId": "c",
                "cancelReplaceMode": "STOP_ON_FAILURE",
                "cancelOrderId": first["orderId"],
            }
        ),
    )
    assert replaced["status"] == 200
    result = replaced["result"]
    assert (result["cancelResult"], result["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert result["cancelResponse"]["origClientOrderId"] == "a"
    assert result["newOrderResponse"]["clientOrderId"] == "c"
    assert [r["rateLimitType"] for r in replaced["rateLimits"]] == ["ORDERS", "ORDERS", "REQUEST_WEIGHT"]

    failed = await ws.call(
        "order.cancelReplace",
        ws.signed({**LIMIT_BUY, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrigClientOrderId": "gone"}),
    )
    assert failed["status"] == 400
    assert failed["error"]["code"] == -2022
    assert failed["error"]["data"]["cancelResult"] == "FAILURE"

    cancelled = await ws.call("openOrders.cancelAll", ws.signed({"symbol": "BTCUSDT"}))
    assert sorted(r["origClientOrderId"] for r in cancelled["result"]) == ["b", "c"]
    assert (await ws.call("openOrders.status", ws.signed()))["result"] == []
    none_left = await ws.call("openOrders.cancelAll", ws.signed({"symbol": "BTCUSDT"}))
    assert none_left["error"] == {"code": -2011, "msg": "Unknown order sent."}


async def test_pegged_orders_are_refused(ws: WsApiClient, rest: Rest) -> None:
    pegged = {**LIMIT_BUY, "pegPriceType": "PRIMARY_PEG", "pegOffsetType": "PRICE_LEVEL", "pegOffsetValue": 1}
    for method in ("order.place", "order.test"):
        reply = await ws.call(method, ws.signed(pegged))
        assert (reply["status"], reply["error"]) == (
            400,
            {"code": -2010, "msg": "Pegged orders are not supported for this symbol."},
        )
    reply = await ws.call("order.place", ws.signed({**LIMIT_BUY, "pegPriceType": "NONE"}))
    assert reply["error"] == {"code": -1210, "msg": "Invalid pegPriceType."}
    status, body = await rest.request(
        "POST", "/api/v3/order", {**LIMIT_BUY, "pegPriceType": "NONE"}, signed=True
    )
    assert (reply["status"], reply["error"]) == (status, body)


async def test_order_test(ws: WsApiClient, rest: Rest) -> None:
    assert (await ws.call("order.test", ws.signed(LIMIT_BUY)))["result"] == {}
    with_rates = await ws.call("order.test", ws.signed({**LIMIT_BUY, "computeCommissionRates": True}))
    status, body = await rest.request(
        "POST", "/api/v3/order/test", {**LIMIT_BUY, "computeCommissionRates": "true"}, signed=True
    )
    assert (with_rates["status"], with_rates["result"]) == (status, body)
    assert with_rates["rateLimits"][-1]["count"] == 2 + 1 + 20  # connect, plain test, with rates
    assert (await ws.call("openOrders.status", ws.signed()))["result"] == []


async def test_account_methods_match_rest(ws: WsApiClient, rest: Rest) -> None:
    filled = await ws.call(
        "order.place",
        ws.signed(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "MARKET",
                "quantity": "0.3",
                "newOrderRespType": "FULL",
            }
        ),
    )
    fills = filled["result"]["fills"]
    assert len(fills) == 2
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("account.status", "/api/v3/account", {}),
        ("account.status", "/api/v3/account", {"omitZeroBalances": "true"}),
        ("account.commission", "/api/v3/account/commission", {"symbol": "BTCUSDT"}),
        ("myTrades", "/api/v3/myTrades", {"symbol": "BTCUSDT"}),
        ("myTrades", "/api/v3/myTrades", {"symbol": "BTCUSDT", "fromId": fills[1]["tradeId"]}),
        ("account.rateLimits.orders", "/api/v3/rateLimit/order", {}),
    ]
    for method, path, params in cases:
        reply = await ws.call(method, ws.signed(params))
        assert reply["status"] == 200, (method, reply)
        assert reply["result"] == await rest.get(path, params, signed=True), method
    trades = (await ws.call("myTrades", ws.signed({"symbol": "BTCUSDT"})))["result"]
    assert [t["id"] for t in trades] == [f["tradeId"] for f in fills]
    assert [(t["commission"], t["commissionAsset"]) for t in trades] == [
        (f["commission"], f["commissionAsset"]) for f in fills
    ]


# ------------------------------------------------------------------ signed request security


async def test_hmac_signature_case_insensitive(ws: WsApiClient) -> None:
    params = {"apiKey": API_KEY, "timestamp": ws.now_ms()}
    params["signature"] = hmac_sign("ws-trader-secret", ws_payload(params)).upper()
    assert (await ws.call("account.rateLimits.orders", params))["status"] == 200


async def test_numbers_are_signed_as_the_client_wrote_them(ws: WsApiClient) -> None:
    """A client (JavaScript, typically) may send amounts as JSON numbers and sign them as
    written: ``0.00010`` is signed as ``quantity=0.00010``, not as Python's ``0.0001``."""
    literal = {"price": "60000.50", "quantity": "0.00010"}
    params: dict[str, Any] = {
        "apiKey": API_KEY,
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "timestamp": ws.now_ms(),
        **literal,
    }
    params["signature"] = hmac_sign(API_SECRET, ws_payload(params))
    text = json.dumps({"id": "numbers", "method": "order.test", "params": params})
    for name, value in literal.items():
        text = text.replace(f'"{name}": "{value}"', f'"{name}": {value}')
    assert '"quantity": 0.00010' in text
    reply = await ws.send_raw(text)
    assert (reply["status"], reply["result"]) == (200, {}), reply


async def test_bad_signature(ws: WsApiClient) -> None:
    params = ws.signed({"symbol": "BTCUSDT"})
    params["symbol"] = "ETHUSDT"  # signed one thing, sent another
    reply = await ws.call("openOrders.status", params)
    assert (reply["status"], reply["error"]) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )
    wrong_secret = ws.signed({"symbol": "BTCUSDT"}, secret="not-the-secret")
    assert (await ws.call("openOrders.status", wrong_secret))["error"]["code"] == -1022


async def test_missing_and_stale_timestamps(ws: WsApiClient, clock: VirtualClock) -> None:
    params = {"apiKey": API_KEY}
    params["signature"] = hmac_sign("ws-trader-secret", ws_payload(params))
    reply = await ws.call("account.status", params)
    assert reply["error"] == {
        "code": -1102,
        "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    }
    now = ws.now_ms()
    old = await ws.call("account.status", ws.signed({"timestamp": now - 5001}))
    assert old["error"] == {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    widened = await ws.call("account.status", ws.signed({"timestamp": now - 5001, "recvWindow": 6000}))
    assert widened["status"] == 200
    ahead = await ws.call("account.status", ws.signed({"timestamp": now + 1000}))
    assert ahead["error"] == {
        "code": -1021,
        "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
    }
    micro = await ws.call("account.status", ws.signed({"timestamp": clock.now_us()}))
    assert micro["status"] == 200
    too_wide = await ws.call("account.status", ws.signed({"recvWindow": 60001}))
    assert too_wide["error"] == {
        "code": -1102,
        "msg": "'recvWindow' contains unexpected value. Cannot be greater than 60000.",
    }


async def test_key_errors(ws: WsApiClient) -> None:
    unknown = await ws.call("account.status", ws.signed(key="no-such-key"))
    assert (unknown["status"], unknown["error"]) == (
        401,
        {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
    )
    no_key = await ws.call("account.status", {"timestamp": ws.now_ms()})
    assert (no_key["status"], no_key["error"]) == (401, {"code": -2014, "msg": "API-key format invalid."})
    no_signature = await ws.call("account.status", {"apiKey": API_KEY, "timestamp": ws.now_ms()})
    assert no_signature["error"] == {
        "code": -1102,
        "msg": "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
    }


async def test_unread_parameter_on_signed_method(ws: WsApiClient) -> None:
    reply = await ws.call("account.status", ws.signed({"colour": "blue"}))
    assert reply["error"] == {
        "code": -1104,
        "msg": "Not all sent parameters were read; read '3' parameter(s) but was sent '4'.",
    }


async def test_return_rate_limits_is_signed_like_any_parameter(ws: WsApiClient) -> None:
    reply = await ws.call("account.status", ws.signed({"returnRateLimits": False}))
    assert reply["status"] == 200 and "rateLimits" not in reply


async def test_same_connection_shares_engine_with_other_connections(connect: Connect) -> None:
    a, b = await connect(), await connect()
    placed = await a.call("order.place", a.signed(LIMIT_BUY))
    order_id = placed["result"]["orderId"]
    seen = await b.call("order.status", b.signed({"symbol": "BTCUSDT", "orderId": order_id}))
    assert seen["result"]["status"] == "NEW"
