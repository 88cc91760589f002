"""Faults on market streams, user data and the WS API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from mock_exchange.clock import VirtualClock
from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.faults.conftest import KEY, recv, signed, ws_limit_order
from tests.support.waiting import eventually


def buy(server: MockExchangeServer, qty: str = "0.01") -> None:
    server.control.place_order("trader", "BTCUSDT", "BUY", "MARKET", quantity=qty)


async def barrier(ws: aiohttp.ClientWebSocketResponse, rid: int) -> list[Any]:
    """Everything queued before now on a stream connection."""
    await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": rid}))
    out = []
    while True:
        m = await recv(ws)
        if isinstance(m, dict) and m.get("id") == rid:
            return out
        out.append(m)


async def trade_ids(ws: aiohttp.ClientWebSocketResponse, rid: int) -> list[int]:
    return [m["t"] for m in await barrier(ws, rid)]


async def test_drop_duplicate_reorder(server: MockExchangeServer, session: aiohttp.ClientSession) -> None:
    ws = await session.ws_connect(server.stream_url + "/ws/btcusdt@trade")
    await barrier(ws, 0)
    server.control.add_fault({"surface": "stream", "stream": "btcusdt@trade", "action": "drop"})
    buy(server)
    buy(server)
    assert await trade_ids(ws, 1) == [2]
    server.control.add_fault({"surface": "stream", "stream": "btcusdt@trade", "action": "duplicate"})
    buy(server)
    assert await trade_ids(ws, 2) == [3, 3]
    server.control.add_fault({"surface": "stream", "stream": "btcusdt@trade", "action": "reorder"})
    buy(server)
    buy(server)
    assert await trade_ids(ws, 3) == [5, 4]
    # Firing on two messages in a row: each held message goes out right after the next one.
    server.control.add_fault(
        {"surface": "stream", "stream": "btcusdt@trade", "action": "reorder", "times": 2}
    )
    for _ in range(4):
        buy(server)
    assert await trade_ids(ws, 4) == [7, 6, 8, 9]


async def test_delay_and_stall_follow_the_clock(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.stream_url + "/ws/btcusdt@trade")
    await barrier(ws, 0)
    server.control.add_fault(
        {"surface": "stream", "stream": "btcusdt@trade", "action": "delay", "seconds": 5}
    )
    buy(server)
    buy(server)
    assert await trade_ids(ws, 1) == [2]
    await clock.advance(5)
    assert await trade_ids(ws, 2) == [1]
    assert server.control.stall(10, surface="stream") == 1
    buy(server)
    await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
    with_stall = asyncio.ensure_future(recv(ws))
    await clock.advance(9)
    assert not with_stall.done()  # silence, socket open
    await clock.advance(2)
    assert (await asyncio.wait_for(with_stall, 5))["t"] == 3


async def test_gap_by_dropping_a_depth_diff(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.stream_url + "/ws/btcusdt@depth@100ms")
    await barrier(ws, 0)
    server.control.add_fault({"surface": "stream", "stream": "btcusdt@depth*", "action": "drop", "after": 1})
    for _ in range(3):
        buy(server)
        await clock.advance(0.1)
    diffs = await barrier(ws, 1)
    assert len(diffs) == 2 and diffs[1]["U"] > diffs[0]["u"] + 1  # the client must see a gap


async def test_disconnect_streams(server: MockExchangeServer, session: aiohttp.ClientSession) -> None:
    ws = await session.ws_connect(server.stream_url + "/ws/btcusdt@trade")
    await barrier(ws, 0)
    assert server.control.disconnect("stream") == 1
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


async def subscribe_user(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(server.ws_api_url)
    await ws.send_str(
        json.dumps(
            {
                "id": 1,
                "method": "userDataStream.subscribe.signature",
                "params": signed({"apiKey": KEY, "timestamp": clock.now_us() // 1000}),
            }
        )
    )
    reply = await recv(ws)
    assert reply["status"] == 200, reply
    return ws


async def user_events(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[Any]:
    return [(await recv(ws))["event"] for _ in range(n)]


async def test_user_data_drop_duplicate_delay(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await subscribe_user(server, session, clock)
    server.control.add_fault(
        {
            "surface": "user_data",
            "account": "trader",
            "event": "executionReport",
            "execution_type": "TRADE",
            "action": "drop",
        }
    )
    buy(server)
    assert [e.get("x", e["e"]) for e in await user_events(ws, 2)] == ["NEW", "outboundAccountPosition"]
    server.control.add_fault(
        {"surface": "user_data", "event": "executionReport", "execution_type": "TRADE", "action": "duplicate"}
    )
    buy(server)
    assert [e.get("x", e["e"]) for e in await user_events(ws, 4)] == [
        "NEW",
        "TRADE",
        "TRADE",
        "outboundAccountPosition",
    ]
    server.control.add_fault(
        {
            "surface": "user_data",
            "event": "executionReport",
            "execution_type": "TRADE",
            "action": "delay",
            "seconds": 60,
        }
    )
    buy(server)
    assert [e.get("x", e["e"]) for e in await user_events(ws, 2)] == ["NEW", "outboundAccountPosition"]
    await clock.advance(60)
    [late] = await user_events(ws, 1)
    assert late["x"] == "TRADE"


async def test_user_data_terminate(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await subscribe_user(server, session, clock)
    assert server.control.terminate_user_data("trader") == 1
    msg = await recv(ws)
    assert msg["subscriptionId"] == 0 and msg["event"]["e"] == "eventStreamTerminated"
    buy(server)
    await ws.send_str(json.dumps({"id": 9, "method": "ping"}))
    assert (await recv(ws))["id"] == 9  # nothing for the ended subscription came first


async def test_ws_api_request_faults(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.ws_api_url)
    server.control.add_fault(
        {
            "surface": "ws_api",
            "method": "order.place",
            "action": "execute_then_error",
            "status": 503,
            "code": -1007,
        }
    )
    params = ws_limit_order(clock, "ws-unknown")
    await ws.send_str(json.dumps({"id": "a", "method": "order.place", "params": params}))
    reply = await recv(ws)
    assert (reply["id"], reply["status"], reply["error"]["code"]) == ("a", 503, -1007)
    assert (
        server.service.exchange.find_order(
            server.service.exchange.account_by_name("trader").account_id,
            "BTCUSDT",
            orig_client_order_id="ws-unknown",
        ).status.value
        == "NEW"
    )
    server.control.add_fault({"surface": "ws_api", "method": "time", "action": "hang"})
    await ws.send_str(json.dumps({"id": "b", "method": "time"}))
    await ws.send_str(json.dumps({"id": "c", "method": "ping"}))
    assert (await recv(ws))["id"] == "c"  # b never answers
    await eventually(lambda: server.service.faults.faults[1].fired == 1, "the hang to fire")


async def test_a_ws_api_delay_holds_one_answer_not_the_socket(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.ws_api_url)
    server.control.add_fault({"surface": "ws_api", "method": "time", "action": "delay", "seconds": 2})
    await ws.send_str(json.dumps({"id": "slow", "method": "time"}))
    await ws.send_str(json.dumps({"id": "fast", "method": "ping"}))
    assert (await recv(ws))["id"] == "fast"  # answered while "slow" is held
    await clock.advance(2)
    slow = await recv(ws)
    assert (slow["id"], slow["status"]) == ("slow", 200)


async def test_stale_snapshot_on_the_ws_api_and_only_for_depth(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.ws_api_url)
    await ws.send_str(json.dumps({"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5}}))
    before = (await recv(ws))["result"]
    fault = server.control.add_fault({"surface": "ws_api", "action": "stale_snapshot", "symbol": "BTCUSDT"})
    buy(server, "0.3")  # the book moves on
    await ws.send_str(json.dumps({"id": 2, "method": "ticker.price", "params": {"symbol": "BTCUSDT"}}))
    assert (await recv(ws))["result"]["symbol"] == "BTCUSDT"  # not a depth request: untouched
    await ws.send_str(json.dumps({"id": 3, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5}}))
    stale = await recv(ws)
    assert (stale["id"], stale["status"], stale["result"]) == (3, 200, before)
    await ws.send_str(json.dumps({"id": 4, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5}}))
    assert (await recv(ws))["result"]["lastUpdateId"] > before["lastUpdateId"]
    assert fault.fired == 1


async def test_injected_messages(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await subscribe_user(server, session, clock)
    weird = {"e": "executionReport", "X": "SOMETHING_NEW", "x": "NEW", "c": "abc"}
    assert server.control.inject_user_event("trader", weird) == 1
    assert (await recv(ws)) == {"subscriptionId": 0, "event": weird}
    stream = await session.ws_connect(server.stream_url + "/stream?streams=btcusdt@trade")
    await barrier(stream, 0)
    assert server.control.inject_stream_message("btcusdt@trade", {"e": "trade", "t": 999}) == 1
    assert (await recv(stream)) == {"stream": "btcusdt@trade", "data": {"e": "trade", "t": 999}}


async def test_a_ws_api_ban_fault_answers_418_then_disconnects(
    server: MockExchangeServer, session: aiohttp.ClientSession
) -> None:
    ws = await session.ws_connect(server.ws_api_url)
    server.control.add_fault({"surface": "ws_api", "method": "ping", "action": "ban", "seconds": 60})
    await ws.send_str(json.dumps({"id": 5, "method": "ping"}))
    reply = await recv(ws)
    assert (reply["id"], reply["status"], reply["error"]["code"]) == (5, 418, -1003)
    closing = await asyncio.wait_for(ws.receive(), 5)
    assert (closing.type, closing.data, closing.extra) == (aiohttp.WSMsgType.CLOSE, 1008, "IP banned")


async def test_ws_api_rate_limit_faults_escalate_to_a_418_then_disconnect(
    server: MockExchangeServer, session: aiohttp.ClientSession
) -> None:
    ws = await session.ws_connect(server.ws_api_url)
    server.control.add_fault({"surface": "ws_api", "method": "ping", "action": "rate_limit", "times": None})
    statuses = []
    for i in range(server.config.rate_limits.ban_after_violations + 1):
        await ws.send_str(json.dumps({"id": i, "method": "ping"}))
        statuses.append((await recv(ws))["status"])
    assert statuses == [429] * server.config.rate_limits.ban_after_violations + [418]
    closing = await asyncio.wait_for(ws.receive(), 5)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1008)
