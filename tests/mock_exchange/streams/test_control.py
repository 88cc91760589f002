"""Live control messages, connection paths, limits, keepalive and lifetime."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.engine import NewOrder, OrderType, Side
from mock_exchange.engine.units import parse_units
from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.streams.conftest import StreamClient


def market_buy(server: MockExchangeServer, qty: str = "0.01") -> None:
    acct = server.service.exchange.account_by_name("trader").account_id
    server.service.place_order(
        NewOrder(acct, "BTCUSDT", Side.BUY, OrderType.MARKET, quantity=parse_units(qty))
    )


async def test_subscribe_unsubscribe_list(connect: Any, server: MockExchangeServer) -> None:
    c: StreamClient = await connect("/ws")
    assert await c.request("SUBSCRIBE", ["btcusdt@trade", "ethbtc@aggTrade"], 1) == {"result": None, "id": 1}
    assert await c.request("LIST_SUBSCRIPTIONS", None, 3) == {
        "result": ["btcusdt@trade", "ethbtc@aggTrade"],
        "id": 3,
    }
    market_buy(server)
    [trade] = await c.sync()
    assert trade["e"] == "trade" and "stream" not in trade
    assert await c.request("UNSUBSCRIBE", ["btcusdt@trade"], 312) == {"result": None, "id": 312}
    market_buy(server)
    assert await c.sync() == []
    assert (await c.request("LIST_SUBSCRIPTIONS", None, "abc"))["result"] == ["ethbtc@aggTrade"]


async def test_ids_and_errors(connect: Any) -> None:
    c: StreamClient = await connect("/ws")
    assert await c.request("LIST_SUBSCRIPTIONS", None, None) == {"result": [], "id": None}
    assert await c.request("LIST_SUBSCRIPTIONS", None, -5) == {"result": [], "id": -5}
    await c.ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":1.5}')
    assert await c.recv() == {
        "error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
        "id": None,
    }
    # "Parameter id had to be provided": null is an id, a missing one is not.
    await c.ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@trade"]}')
    assert await c.recv() == {
        "error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
        "id": None,
    }
    assert await c.request("LIST_SUBSCRIPTIONS", None, 2) == {"result": [], "id": 2}
    await c.ws.send_str("{not json")
    reply = await c.recv()
    assert reply["error"]["code"] == 3 and reply["error"]["msg"].startswith(
        "Invalid JSON: expected value at line 1"
    )
    await c.ws.send_str('{"id":7}')
    assert (await c.recv())["error"]["msg"].startswith("Invalid request: missing field `method`")
    reply = await c.request("SUBSCRIBED", ["x"], 8)
    assert reply["error"]["code"] == 2 and "unknown variant `SUBSCRIBED`" in reply["error"]["msg"]
    reply = await c.request("SUBSCRIBE", ["BTCUSDT@trade"], 9)
    assert reply == {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 9}
    assert await c.request("SET_PROPERTY", ["combined", "yes"], 10) == {
        "code": 1,
        "msg": "Invalid value type: expected Boolean",
        "id": 10,
    }
    assert await c.request("GET_PROPERTY", ["colour"], 11) == {"code": 0, "msg": "Unknown property", "id": 11}
    assert (await c.request("LIST_SUBSCRIPTIONS", ["x"], 12))["error"][
        "msg"
    ] == "Invalid request: too many parameters"


async def test_combined_property(connect: Any, server: MockExchangeServer) -> None:
    c: StreamClient = await connect("/ws/btcusdt@trade")
    assert await c.request("GET_PROPERTY", ["combined"], 1) == {"result": False, "id": 1}
    assert await c.request("SET_PROPERTY", ["combined", True], 2) == {"result": None, "id": 2}
    market_buy(server)
    [msg] = await c.sync()
    assert msg["stream"] == "btcusdt@trade" and msg["data"]["e"] == "trade"
    s: StreamClient = await connect("/stream")
    assert await s.request("GET_PROPERTY", ["combined"], 1) == {"result": True, "id": 1}


async def test_raw_path_with_several_streams_and_suffixes(connect: Any, server: MockExchangeServer) -> None:
    c: StreamClient = await connect("/ws/btcusdt@trade/btcusdt@bookTicker")
    assert (await c.request("LIST_SUBSCRIPTIONS", None, 1))["result"] == [
        "btcusdt@trade",
        "btcusdt@bookTicker",
    ]
    anything: StreamClient = await connect("/ws/some-client-suffix-123")
    assert (await anything.request("LIST_SUBSCRIPTIONS", None, 1))["result"] == []
    encoded: StreamClient = await connect("/ws/btcusdt%40trade")
    assert (await encoded.request("LIST_SUBSCRIPTIONS", None, 1))["result"] == ["btcusdt@trade"]


async def test_micro_second_time_unit(connect: Any, server: MockExchangeServer, clock: VirtualClock) -> None:
    c: StreamClient = await connect("/ws/btcusdt@trade?timeUnit=MICROSECOND")
    m: StreamClient = await connect("/ws/btcusdt@trade")
    market_buy(server)
    [micro], [milli] = await c.sync(), await m.sync()
    assert micro["T"] == clock.now_us() and milli["T"] == clock.now_us() // 1000


async def test_incoming_message_limit_disconnects(connect: Any, server: MockExchangeServer) -> None:
    server.config.timers.max_incoming_per_second = 5
    c: StreamClient = await connect("/ws")
    for i in range(7):
        await c.ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
    replies = []
    while True:
        msg = await asyncio.wait_for(c.ws.receive(), 5)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            break
        replies.append(json.loads(msg.data))
    assert len(replies) == 5
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1008, "Too many requests")


async def test_too_many_streams(connect: Any, server: MockExchangeServer) -> None:
    server.config.timers.max_streams_per_connection = 3
    c: StreamClient = await connect("/ws")
    reply = await c.request(
        "SUBSCRIBE", ["btcusdt@trade", "ethbtc@trade", "ethusdt@trade", "btcusdt@ticker"], 1
    )
    assert reply == {"error": {"code": 4, "msg": "Too many subscriptions"}, "id": 1}


async def test_server_pings_and_drops_silent_clients(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.stream_url + "/ws", autoping=False)
    await clock.advance(20)
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type is aiohttp.WSMsgType.PING
    # Do not answer: after the pong timeout the server hangs up.
    await clock.advance(60)
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type is aiohttp.WSMsgType.PING or msg.type in (
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSED,
    )
    while msg.type is aiohttp.WSMsgType.PING:
        msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_answering_pongs_keeps_the_connection(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.stream_url + "/ws", autoping=False)
    for _ in range(6):
        await clock.advance(20)
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type is aiohttp.WSMsgType.PING
        await ws.pong(msg.data)
    # Client pings are answered with the same payload.
    await ws.ping(b"hello")
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.PONG, b"hello")
    await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":1}')
    assert json.loads((await asyncio.wait_for(ws.receive(), 5)).data) == {"result": [], "id": 1}


async def test_unsolicited_pongs_do_not_keep_alive(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    ws = await session.ws_connect(server.stream_url + "/ws", autoping=False)
    await clock.advance(20)
    assert (await asyncio.wait_for(ws.receive(), 5)).type is aiohttp.WSMsgType.PING
    await ws.pong(b"")  # wrong payload: not an answer
    await clock.advance(60)
    msg = await asyncio.wait_for(ws.receive(), 5)
    while msg.type is aiohttp.WSMsgType.PING:
        msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_24_hour_lifetime(
    server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    # Hourly pings instead of every 20 s: the same lifetime, 180x fewer timer wake-ups.
    server.config.timers.ping_interval = 3600
    server.config.timers.pong_timeout = 7200
    ws = await session.ws_connect(server.stream_url + "/ws", autoping=True, heartbeat=None)

    async def answer_pings() -> aiohttp.WSMessage:
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.PING:
                return msg

    reader = asyncio.ensure_future(answer_pings())
    await clock.advance(86_399)
    assert not reader.done()
    await clock.advance(2)
    msg = await asyncio.wait_for(reader, 5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_server_shutdown_notice(
    config: Any, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    server = MockExchangeServer(config, clock=clock)
    await server.start()
    raw = await session.ws_connect(server.stream_url + "/ws")
    combined = await session.ws_connect(server.stream_url + "/stream")
    await raw.send_str('{"method":"LIST_SUBSCRIPTIONS","id":1}')
    await combined.send_str('{"method":"LIST_SUBSCRIPTIONS","id":1}')
    await raw.receive()
    await combined.receive()
    stopping = asyncio.ensure_future(server.stop())
    msg = json.loads((await asyncio.wait_for(raw.receive(), 5)).data)
    assert msg == {"e": "serverShutdown", "E": clock.now_us() // 1000}
    msg = json.loads((await asyncio.wait_for(combined.receive(), 5)).data)
    assert msg == {"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": clock.now_us() // 1000}}
    # Then each connection closes as "going away" (reading the close completes it at once).
    for ws in (raw, combined):
        closing = await asyncio.wait_for(ws.receive(), 5)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    await stopping


async def test_connection_attempts_are_limited_per_ip(
    config: Any, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    """ "300 connections per attempt every 5 minutes per IP" (2 here): past it the
    handshake is refused with 429 and -1034 until the window ends."""
    config.rate_limits.stream_connections_per_5m = 2
    async with MockExchangeServer(config, clock=clock) as server:
        opened = [await session.ws_connect(server.stream_url + "/ws/btcusdt@trade") for _ in range(2)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(server.stream_url + "/stream?streams=btcusdt@trade")
        assert refused.value.status == 429
        window_left_s = -(-(300_000_000 - clock.now_us() % 300_000_000) // 1_000_000)
        await clock.advance(window_left_s)
        opened.append(await session.ws_connect(server.stream_url + "/ws/btcusdt@trade"))
        for ws in opened:
            await ws.close()
