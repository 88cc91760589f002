"""Connection behaviour: keepalive pings and pongs, server shutdown, clean-up on close."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from mock_exchange.binance.ws.user_data import UserDataHub
from mock_exchange.clock import VirtualClock
from mock_exchange.config import MockConfig
from mock_exchange.server import MockExchangeServer

from .conftest import TIMEOUT, Connect, WsApiClient


async def next_frame(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    return await asyncio.wait_for(ws.receive(), TIMEOUT)


async def test_server_pings_and_drops_a_silent_client(
    connect: Connect, clock: VirtualClock, config: MockConfig
) -> None:
    ping_interval = config.timers.ping_interval
    pong_timeout = config.timers.pong_timeout
    client = await connect(autoping=False)
    ws = client.ws
    await clock.advance(ping_interval)
    ping = await next_frame(ws)
    assert ping.type is aiohttp.WSMsgType.PING
    # Not answered, but not yet late: the connection still serves requests.
    await clock.advance(pong_timeout - 1)
    await ws.send_str('{"id":1,"method":"ping"}')
    while (msg := await next_frame(ws)).type is aiohttp.WSMsgType.PING:
        pass
    assert json.loads(msg.data)["result"] == {}
    await clock.advance(1)
    while (msg := await next_frame(ws)).type is aiohttp.WSMsgType.PING:
        pass
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert msg.data == 1008


async def test_answered_pings_keep_the_connection_open(
    connect: Connect, clock: VirtualClock, config: MockConfig
) -> None:
    client = await connect(autoping=False)
    ws = client.ws
    for _ in range(int(3 * config.timers.pong_timeout / config.timers.ping_interval)):
        await clock.advance(config.timers.ping_interval)
        ping = await next_frame(ws)
        assert ping.type is aiohttp.WSMsgType.PING
        await ws.pong(ping.data)
    assert (await client.call("ping"))["status"] == 200


async def test_client_pings_are_answered(connect: Connect) -> None:
    client = await connect(autoping=False)
    await client.ws.ping(b"are you there")
    pong = await next_frame(client.ws)
    assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"are you there")


async def test_server_shutdown_notice(
    config: MockConfig, clock: VirtualClock, session: aiohttp.ClientSession
) -> None:
    server = MockExchangeServer(config, clock=clock)
    await server.start()
    ms = WsApiClient(await session.ws_connect(server.ws_api_url), clock)
    us = WsApiClient(await session.ws_connect(server.ws_api_url + "?timeUnit=MICROSECOND"), clock)
    assert (await ms.call("ping"))["status"] == 200
    assert (await us.call("ping"))["status"] == 200
    stopping = asyncio.ensure_future(server.stop())
    assert await ms.recv() == {"event": {"e": "serverShutdown", "E": clock.now_us() // 1000}}
    assert await us.recv() == {"event": {"e": "serverShutdown", "E": clock.now_us()}}
    for client in (ms, us):
        msg = await next_frame(client.ws)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await asyncio.wait_for(stopping, TIMEOUT)


async def test_closing_a_connection_ends_its_subscriptions(
    connect: Connect, server: MockExchangeServer
) -> None:
    hub = next(v for v in server.app.values() if isinstance(v, UserDataHub))
    trader_id = server.service.exchange.keys["ws-trader-key"].account_id
    client = await connect()
    await client.call("userDataStream.subscribe.signature", client.signed())
    assert hub.subscribers(trader_id) == 1
    await client.ws.close()
    other = await connect()
    # The server handles the close before answering a request on any later connection.
    for _ in range(100):
        if hub.subscribers(trader_id) == 0:
            break
        await other.call("ping")
    assert hub.subscribers(trader_id) == 0


async def test_plain_http_get_is_refused_without_weight(
    server: MockExchangeServer, session: aiohttp.ClientSession, connect: Connect
) -> None:
    async with session.get(server.ws_api_url.replace("ws://", "http://")) as r:
        assert r.status == 400
    client = await connect()
    assert (await client.call("ping"))["rateLimits"][0]["count"] == 3  # this connection's 2, and 1
