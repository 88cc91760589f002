"""The ``respond`` fault: a canned answer (e.g. a payload from a user's bug report), and
``execute_then_delay`` being accepted on the request surfaces."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.control import ControlError
from mock_exchange.faults import Fault, FaultSpecError, Kind
from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.faults.conftest import KEY, limit_order, recv, signed, ws_limit_order
from tests.support.rest_client import RestClient
from tests.support.waiting import eventually

MALFORMED_INFO: dict[str, Any] = {
    "timezone": "UTC",
    "serverTime": 1,
    "rateLimits": [],
    "exchangeFilters": [],
    "symbols": [
        {
            "symbol": "ETHUSDT",
            "status": "TRADING",
            "baseAsset": "ETH",
            "quoteAsset": "USDT",
            "filters": [
                {"filterType": "LOT_SIZE", "minQty": "0.1", "maxQty": "9", "stepSize": "not-a-number"}
            ],
        }
    ],
}


async def test_rest_respond_replays_a_payload_once(server: MockExchangeServer, client: RestClient) -> None:
    server.control.add_fault(
        {
            "surface": "rest",
            "method": "GET",
            "path": "/api/v3/exchangeInfo",
            "action": "respond",
            "body": MALFORMED_INFO,
        }
    )
    canned = await client.public("GET", "/api/v3/exchangeInfo")
    assert canned.status == 200
    assert canned.body == MALFORMED_INFO
    assert (canned.header("Content-Type") or "").startswith("application/json")
    real = await client.public("GET", "/api/v3/exchangeInfo")  # times: 1
    assert real.status == 200 and {s["symbol"] for s in real.body["symbols"]} == {
        "BTCUSDT",
        "ETHUSDT",
        "ETHBTC",
    }


async def test_rest_respond_executes_nothing_and_takes_any_status_and_json_value(
    server: MockExchangeServer, client: RestClient
) -> None:
    server.control.add_fault(
        {
            "surface": "rest",
            "method": "POST",
            "path": "/api/v3/order",
            "action": "respond",
            "status": 502,
            "body": ["not", "an", {"order": None}],
        }
    )
    r = await limit_order(client, cid="canned")
    assert (r.status, r.body) == (502, ["not", "an", {"order": None}])
    q = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="canned")
    assert q.code == -2013  # the order was never placed

    server.control.add_fault(
        {"surface": "rest", "path": "/api/v3/ping", "action": "respond", "body": None, "times": 2}
    )
    assert [(await client.public("GET", "/api/v3/ping")).body for _ in range(3)] == [None, None, {}]


async def test_ws_api_respond_is_the_result_with_the_given_status(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.ws_api_url)
    server.control.add_fault(
        {
            "surface": "ws_api",
            "method": "order.place",
            "action": "respond",
            "status": 200,
            "body": {"orderId": -1},
        }
    )
    params = ws_limit_order(clock, "ws-canned")
    await ws.send_str(json.dumps({"id": "a", "method": "order.place", "params": params}))
    reply = await recv(ws)
    assert reply == {"id": "a", "status": 200, "result": {"orderId": -1}}
    assert server.control.orders("trader", "BTCUSDT") == []  # nothing executed

    server.control.add_fault(
        {
            "surface": "ws_api",
            "method": "userDataStream.subscribe.signature",
            "action": "respond",
            "status": 400,
            "body": {"subscriptionId": "x"},
        }
    )
    await ws.send_str(
        json.dumps(
            {
                "id": "b",
                "method": "userDataStream.subscribe.signature",
                "params": signed({"apiKey": KEY, "timestamp": clock.now_us() // 1000}),
            }
        )
    )
    reply = await recv(ws)
    assert reply == {"id": "b", "status": 400, "result": {"subscriptionId": "x"}}
    await eventually(lambda: all(f["fired"] == 1 for f in server.control.faults()), "both faults to fire")
    await ws.close()


def test_respond_spec_is_validated() -> None:
    fault = Fault.from_spec(
        {"surface": "rest", "path": "/api/v3/ping", "action": "respond", "body": {"a": [1]}}
    )
    assert (
        fault.action.kind is Kind.RESPOND and fault.action.status == 200 and fault.action.body == {"a": [1]}
    )
    assert fault.describe()["action"] == {"kind": "respond", "status": 200, "body": {"a": [1]}}
    for spec, message in [
        ({"surface": "rest", "action": "respond"}, r"fault\.body: 'respond' needs"),
        ({"surface": "rest", "action": "error", "body": {}}, r"fault\.body: only the 'respond' action"),
        ({"surface": "rest", "action": "respond", "body": {}, "status": 99}, r"fault\.status"),
        ({"surface": "rest", "action": "respond", "body": float("nan")}, r"fault\.body: not a JSON value"),
        ({"surface": "stream", "action": "respond", "body": {}}, r"fault\.action: 'respond' does not apply"),
    ]:
        with pytest.raises(FaultSpecError, match=message):
            Fault.from_spec(spec)


def test_respond_body_is_copied(server: MockExchangeServer) -> None:
    body: dict[str, Any] = {"symbols": []}
    fault = server.control.add_fault({"surface": "rest", "action": "respond", "body": body})
    body["symbols"].append("later")
    assert fault.action.body == {"symbols": []}
    with pytest.raises(ControlError, match="body"):
        server.control.add_fault({"surface": "ws_api", "action": "respond"})


def test_execute_then_delay_applies_to_request_surfaces() -> None:
    for surface in ("rest", "ws_api"):
        fault = Fault.from_spec({"surface": surface, "action": "execute_then_delay", "seconds": 2})
        assert fault.action.kind is Kind.EXECUTE_THEN_DELAY and fault.action.seconds == 2


async def test_execute_then_delay_executes_now_and_answers_later(
    server: MockExchangeServer, client: RestClient, clock: VirtualClock
) -> None:
    server.control.add_fault(
        {
            "surface": "rest",
            "method": "POST",
            "path": "/api/v3/order",
            "action": "execute_then_delay",
            "seconds": 5,
        }
    )
    pending = asyncio.ensure_future(limit_order(client, cid="late-answer"))
    await eventually(
        lambda: len(server.control.orders("trader", "BTCUSDT")) == 1 and clock.pending_sleepers >= 1,
        "the order to execute before its answer",
    )
    assert not pending.done()
    await clock.advance(6)
    r = await asyncio.wait_for(pending, 5)
    assert r.status == 200 and r.body["clientOrderId"] == "late-answer"


def test_a_ws_api_fault_names_its_method_with_or_without_the_v3_prefix() -> None:
    """Requests are matched without the optional ``v3/`` (``v3/order.place`` is served as
    ``order.place``): a fault written with it must match them too, not never fire."""
    fault = Fault.from_spec({"surface": "ws_api", "method": "v3/order.place", "action": "error"})
    assert fault.match.method == "order.place"
