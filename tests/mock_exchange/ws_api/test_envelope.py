"""The request/response envelope: ids, malformed requests, rateLimits, time unit, 429/418."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.config import MockConfig
from mock_exchange.server import MockExchangeServer

from .conftest import TIMEOUT, Connect, Rest, WsApiClient, handshake

WEIGHT_LIMIT = 6000
SMALL_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "50000",
}


def weight(count: int) -> dict[str, Any]:
    return {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": WEIGHT_LIMIT,
        "count": count,
    }


@pytest.mark.parametrize("rid", [7, 0, -3, 2**63 - 1, "abc-_XYZ09", "x" * 36, None])
async def test_id_is_echoed_verbatim(ws: WsApiClient, rid: Any) -> None:
    reply = await ws.call("ping", rid=rid)
    assert reply == {"id": rid, "status": 200, "result": {}, "rateLimits": [weight(3)]}


async def test_version_prefix_and_optional_params(ws: WsApiClient, clock: VirtualClock) -> None:
    expected = {"serverTime": clock.now_us() // 1000}
    assert (await ws.call("v3/time"))["result"] == expected
    assert (await ws.call("time", {}))["result"] == expected
    reply = await ws.send_raw('{"id":1,"method":"time","params":null}')
    assert reply["status"] == 200 and reply["result"] == expected


INVALID_JSON = {"id": None, "status": 400, "error": {"code": -1135, "msg": "Invalid JSON Request"}}
INVALID_ID = {
    "id": None,
    "status": 400,
    "error": {
        "code": -1135,
        "msg": "Invalid 'id' in JSON request; expected an integer, a string matching "
        "'^[a-zA-Z0-9-_]{1,36}$', or null.",
    },
}


@pytest.mark.parametrize("frame", ['{"id":1,"method":"ping"', "", "ping", "[1,2]", '"ping"', "null"])
async def test_malformed_json_is_refused_without_rate_limits(ws: WsApiClient, frame: str) -> None:
    assert await ws.send_raw(frame) == INVALID_JSON


@pytest.mark.parametrize(
    "rid",
    [
        "1.5",
        "true",
        json.dumps("x" * 37),
        '"has space"',
        '""',
        '"é"',
        "[1]",
        "{}",
        str(2**63),
        json.dumps("ab\n"),
    ],
)
async def test_invalid_id_is_refused_with_null_id(ws: WsApiClient, rid: str) -> None:
    assert await ws.send_raw(f'{{"id":{rid},"method":"ping"}}') == INVALID_ID


async def test_missing_id_is_refused(ws: WsApiClient) -> None:
    assert await ws.send_raw('{"method":"ping"}') == INVALID_ID


@pytest.mark.parametrize("params", ["[]", '"x"', "1", "true"])
async def test_params_must_be_an_object(ws: WsApiClient, params: str) -> None:
    reply = await ws.send_raw(f'{{"id":"p1","method":"ping","params":{params}}}')
    assert reply == {
        "id": "p1",
        "status": 400,
        "error": {"code": -1135, "msg": "Invalid 'params' in JSON request; expected an object."},
    }


@pytest.mark.parametrize("method", [None, 1, "", ["ping"]])
async def test_method_must_be_a_string(ws: WsApiClient, method: Any) -> None:
    body: dict[str, Any] = {"id": 5}
    if method is not None:
        body["method"] = method
    reply = await ws.send_raw(json.dumps(body))
    assert reply == {
        "id": 5,
        "status": 400,
        "error": {"code": -1135, "msg": "Invalid 'method' in JSON request; expected a string."},
    }


@pytest.mark.parametrize("method", ["nope", "PING", "v2/ping", "v3/", "userDataStream.start", "order"])
async def test_unknown_method(ws: WsApiClient, method: str) -> None:
    reply = await ws.call(method, rid=9)
    assert reply == {
        "id": 9,
        "status": 400,
        "error": {"code": -1020, "msg": "This operation is not supported."},
        "rateLimits": [weight(2)],
    }


async def test_unread_parameter_is_refused(ws: WsApiClient) -> None:
    reply = await ws.call("ping", {"foo": 1})
    assert reply["status"] == 400
    assert reply["error"] == {
        "code": -1104,
        "msg": "Not all sent parameters were read; read '0' parameter(s) but was sent '1'.",
    }


async def test_public_methods_ignore_auth_parameters(ws: WsApiClient) -> None:
    params = {
        "symbol": "BTCUSDT",
        "limit": 1,
        "apiKey": "whatever",
        "signature": "bad",
        "timestamp": 1,
        "recvWindow": 70000,
    }
    reply = await ws.call("depth", params)
    assert reply["status"] == 200
    assert reply["result"]["bids"] == [["59995.00000000", "0.25000000"]]


async def test_weight_is_counted_per_ip_and_shared_with_rest(connect: Connect, rest: Rest) -> None:
    a = await connect()
    assert (await a.call("ping"))["rateLimits"] == [weight(3)]  # connecting cost 2
    assert (await a.call("exchangeInfo"))["rateLimits"] == [weight(23)]
    b = await connect()
    assert (await b.call("depth", {"symbol": "BTCUSDT", "limit": 100}))["rateLimits"] == [weight(30)]
    status, headers = await rest_used_weight(rest)
    assert (status, headers) == (200, "31")
    assert (await a.call("ping"))["rateLimits"] == [weight(32)]


async def rest_used_weight(rest: Rest) -> tuple[int, str]:
    async with rest.session.get(rest.base + "/api/v3/ping") as r:
        return r.status, r.headers["X-MBX-USED-WEIGHT-1M"]


async def test_return_rate_limits_per_request(ws: WsApiClient) -> None:
    reply = await ws.call("ping", {"returnRateLimits": False})
    assert reply == {"id": reply["id"], "status": 200, "result": {}}
    reply = await ws.call("ping", {"returnRateLimits": "false"})
    assert "rateLimits" not in reply
    assert (await ws.call("ping", {"returnRateLimits": True}))["rateLimits"] == [weight(5)]
    reply = await ws.call("ping", {"returnRateLimits": "maybe"})
    assert reply["error"] == {
        "code": -1130,
        "msg": "Data sent for parameter 'returnRateLimits' is not valid.",
    }


async def test_return_rate_limits_per_connection(connect: Connect) -> None:
    ws = await connect("?returnRateLimits=false")
    assert await ws.call("ping", rid=1) == {"id": 1, "status": 200, "result": {}}
    error = await ws.call("nope", rid=2)
    assert "rateLimits" not in error
    # An explicit true overrides the connection's default.
    assert (await ws.call("ping", {"returnRateLimits": True}))["rateLimits"] == [weight(4)]
    status = await ws.call("session.status")
    assert status["result"]["returnRateLimits"] is False


async def test_orders_limits_on_order_placement(ws: WsApiClient) -> None:
    reply = await ws.call("order.place", ws.signed(SMALL_BUY))
    assert reply["status"] == 200
    assert reply["rateLimits"] == [
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 1},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000, "count": 1},
        weight(2),  # a successful placement costs no weight
    ]
    # A refused placement costs its weight and still reports the order counts.
    reply = await ws.call("order.place", ws.signed({**SMALL_BUY, "quantity": "100"}))
    assert reply["error"]["code"] == -2010
    assert [r["count"] for r in reply["rateLimits"]] == [2, 2, 3]
    # Queries report request weight only.
    query = await ws.call("order.status", ws.signed({"symbol": "BTCUSDT", "orderId": 1}))
    assert [r["rateLimitType"] for r in query["rateLimits"]] == ["REQUEST_WEIGHT"]


async def test_microsecond_time_unit(connect: Connect, clock: VirtualClock) -> None:
    for unit in ("MICROSECOND", "microsecond"):
        ws = await connect(f"?timeUnit={unit}")
        assert (await ws.call("time"))["result"] == {"serverTime": clock.now_us()}
    ws = await connect("?timeUnit=millisecond")
    assert (await ws.call("time"))["result"] == {"serverTime": clock.now_us() // 1000}


async def test_invalid_time_unit_refuses_the_handshake(
    server: MockExchangeServer, session: aiohttp.ClientSession
) -> None:
    status, _, body = await handshake(session, server.ws_api_url + "?timeUnit=SECOND")
    assert status == 400
    assert json.loads(body) == {
        "code": -1194,
        "msg": "Invalid value for time unit; expected either MICROSECOND or MILLISECOND.",
    }
    status, _, body = await handshake(session, server.ws_api_url + "?returnRateLimits=nope")
    assert (status, json.loads(body)["code"]) == (400, -1130)


async def test_too_much_weight_then_ban(
    config: MockConfig, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    config.rate_limits.request_weight_per_minute = 30
    async with MockExchangeServer(config, clock=clock) as server:
        ws = WsApiClient(await session.ws_connect(server.ws_api_url), clock)
        assert (await ws.call("exchangeInfo"))["status"] == 200  # 2 + 20
        now_ms = clock.now_us() // 1000
        minute_end_ms = (clock.now_us() // 60_000_000 + 1) * 60_000
        reply = await ws.call("exchangeInfo", rid=1)
        assert reply == {
            "id": 1,
            "status": 429,
            "error": {
                "code": -1003,
                "msg": "Too much request weight used; current limit is 30 request weight per 1 MINUTE. "
                "Please use WebSocket Streams for live updates to avoid polling the API.",
                "data": {"serverTime": now_ms, "retryAfter": minute_end_ms},
            },
            "rateLimits": [{**weight(22), "limit": 30}],
        }
        # Cheap requests still fit: the refused one was not counted.
        assert (await ws.call("ping"))["status"] == 200
        for _ in range(config.rate_limits.ban_after_violations - 1):
            assert (await ws.call("exchangeInfo"))["status"] == 429
        reply = await ws.call("exchangeInfo", rid=2)
        banned_until = now_ms + config.rate_limits.ban_seconds * 1000
        assert reply["status"] == 418
        assert reply["error"] == {
            "code": -1003,
            "msg": f"Way too much request weight used; IP banned until {banned_until}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            "data": {"serverTime": now_ms, "retryAfter": banned_until},
        }
        # "... will result in an automated IP ban and you will be disconnected."
        closing = await asyncio.wait_for(ws.ws.receive(), TIMEOUT)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1008)
        # A banned IP cannot open a new connection either.
        status, headers, body = await handshake(session, server.ws_api_url)
        assert status == 418
        assert headers["Retry-After"] == str(config.rate_limits.ban_seconds)
        assert json.loads(body)["code"] == -1003
        await ws.ws.close()


async def test_ban_earned_over_rest_disconnects_ws_api_sessions(
    config: MockConfig, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    """CHANGELOG 2023-03-13: WS API users are disconnected when their IP is banned (418),
    however the ban was earned: here by REST requests, while the session only listens."""
    config.rate_limits.request_weight_per_minute = 30
    config.rate_limits.ban_after_violations = 1
    async with MockExchangeServer(config, clock=clock) as server:
        ws = WsApiClient(await session.ws_connect(server.ws_api_url), clock)
        subscribed = await ws.call("userDataStream.subscribe.signature", ws.signed())
        assert subscribed["status"] == 200
        rest = Rest(session, server.rest_url, clock)
        statuses = [(await rest.request("GET", "/api/v3/exchangeInfo"))[0] for _ in range(3)]
        assert statuses == [200, 429, 418]  # 2 + 20 fits; 42 does not; the second refusal bans
        closing = await asyncio.wait_for(ws.ws.receive(), TIMEOUT)
        assert (closing.type, closing.data, closing.extra) == (aiohttp.WSMsgType.CLOSE, 1008, "IP banned")
        await ws.ws.close()


async def test_too_many_orders(
    config: MockConfig, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    config.rate_limits.orders_per_10s = 1
    async with MockExchangeServer(config, clock=clock) as server:
        ws = WsApiClient(await session.ws_connect(server.ws_api_url), clock)
        assert (await ws.call("order.place", ws.signed(SMALL_BUY)))["status"] == 200
        now_ms = clock.now_us() // 1000
        window_end_ms = (clock.now_us() // 10_000_000 + 1) * 10_000
        reply = await ws.call("order.place", ws.signed(SMALL_BUY))
        assert reply["status"] == 429
        assert reply["error"] == {
            "code": -1015,
            "msg": "Too many new orders; current limit is 1 orders per 10 SECOND.",
            "data": {"serverTime": now_ms, "retryAfter": window_end_ms},
        }
        assert [r["count"] for r in reply["rateLimits"]] == [1, 1, 3]
        await ws.ws.close()


async def test_filled_orders_leave_the_order_count(
    config: MockConfig, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    # faqs/order_count_decrement.md: an order that trades at once takes itself off the
    # unfilled order count, so a limit of 1 lets market orders through one after another.
    config.rate_limits.orders_per_10s = 1
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    async with MockExchangeServer(config, clock=clock) as server:
        ws = WsApiClient(await session.ws_connect(server.ws_api_url), clock)
        for _ in range(2):
            reply = await ws.call("order.place", ws.signed(market))
            assert (reply["status"], reply["result"]["status"]) == (200, "FILLED")
            assert [r["count"] for r in reply["rateLimits"][:2]] == [0, 0]
        assert (await ws.call("order.place", ws.signed(SMALL_BUY)))["status"] == 200  # rests
        reply = await ws.call("order.place", ws.signed(market))
        assert (reply["status"], reply["error"]["code"]) == (429, -1015)
        await ws.ws.close()


async def test_connection_attempts_are_limited_per_ip(
    config: MockConfig, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    """ "300 connections per attempt every 5 minutes", per IP (3 here); past it, a 429 with
    -1034 TOO_MANY_CONNECTIONS and the seconds to the window's end."""
    config.rate_limits.ws_api_connections_per_5m = 3
    async with MockExchangeServer(config, clock=clock) as server:
        opened = [await session.ws_connect(server.ws_api_url) for _ in range(3)]
        status, headers, body = await handshake(session, server.ws_api_url)
        window_left_s = -(-(300_000_000 - clock.now_us() % 300_000_000) // 1_000_000)
        assert status == 429
        assert headers["Retry-After"] == str(window_left_s)
        assert json.loads(body) == {
            "code": -1034,
            "msg": "Too many connection attempts from IP; current limit is 3 per '5 MINUTE'.",
        }
        await clock.advance(window_left_s)
        again = await session.ws_connect(server.ws_api_url)
        info = await WsApiClient(again, clock).call("exchangeInfo", {"symbol": "BTCUSDT"})
        assert info["result"]["rateLimits"][-1] == {
            "rateLimitType": "CONNECTIONS",
            "interval": "MINUTE",
            "intervalNum": 5,
            "limit": 3,
        }
        for ws in [*opened, again]:
            await ws.close()


async def test_ws_api_requests_are_not_raw_requests(
    config: MockConfig, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    """RAW_REQUESTS is a REST limit: WebSocket API requests spend weight, not raw requests."""
    config.rate_limits.raw_requests_per_5m = 2
    async with MockExchangeServer(config, clock=clock) as server:
        ws = WsApiClient(await session.ws_connect(server.ws_api_url), clock)
        for _ in range(5):
            assert (await ws.call("ping"))["status"] == 200
        async with session.get(server.rest_url + "/api/v3/ping") as first:
            assert first.status == 200
        async with session.get(server.rest_url + "/api/v3/ping") as second:
            assert second.status == 200
        async with session.get(server.rest_url + "/api/v3/ping") as third:
            assert third.status == 429
        await ws.ws.close()
