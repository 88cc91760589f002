"""REST faults at the protocol boundary: the engine never knows."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.control import ControlError
from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.faults.conftest import limit_order
from tests.support.rest_client import RestClient
from tests.support.waiting import eventually

ORDER = {"surface": "rest", "method": "POST", "path": "/api/v3/order"}


async def test_execute_then_503_leaves_the_order_placed(
    server: MockExchangeServer, client: RestClient
) -> None:
    server.control.add_fault({**ORDER, "action": "execute_then_error", "status": 503, "code": -1007})
    r = await limit_order(client, cid="unknown-outcome")
    assert (r.status, r.code) == (503, -1007)
    assert (
        r.msg
        == "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
    )
    # The order was executed: reconciliation by client order id finds it.
    q = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="unknown-outcome")
    assert q.status == 200 and q.body["status"] == "NEW"
    # times=1: the next order is answered normally.
    assert (await limit_order(client)).status == 200


async def test_error_without_execution(server: MockExchangeServer, client: RestClient) -> None:
    server.control.add_fault({**ORDER, "action": "error", "status": 500, "code": -1001})
    before = (await client.public("GET", "/api/v3/ping")).header("X-MBX-USED-WEIGHT-1M")
    r = await limit_order(client, cid="never-placed")
    assert (r.status, r.code) == (500, -1001)
    # The gateway reports the used weight on an error answer too (nothing new charged).
    assert r.header("X-MBX-USED-WEIGHT-1M") == r.header("X-MBX-USED-WEIGHT") == before
    q = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="never-placed")
    assert q.code == -2013


async def test_delay_follows_the_virtual_clock(
    server: MockExchangeServer, client: RestClient, clock: VirtualClock
) -> None:
    server.control.add_fault({"surface": "rest", "path": "/api/v3/time", "action": "delay", "seconds": 30})
    pending = asyncio.ensure_future(client.public("GET", "/api/v3/time"))
    await eventually(
        lambda: server.service.faults.faults[0].fired == 1 and clock.pending_sleepers >= 1,
        "the request to reach the delay",
    )
    await clock.advance(29)
    assert not pending.done()
    await clock.advance(2)
    r = await asyncio.wait_for(pending, 5)
    assert r.status == 200


async def test_execute_then_hang_times_the_client_out(
    server: MockExchangeServer, client: RestClient, session: aiohttp.ClientSession
) -> None:
    server.control.add_fault({**ORDER, "action": "execute_then_hang"})
    pending = asyncio.ensure_future(limit_order(client, cid="hung"))
    engine = server.service.exchange.engine("BTCUSDT")
    await eventually(lambda: any(k[1] == "hung" for k in engine.client_ids), "the order placed")
    assert not pending.done()  # executed, and no answer: the client can only give up
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    q = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="hung")
    assert q.body["status"] == "NEW"


async def test_close_drops_the_connection(server: MockExchangeServer, client: RestClient) -> None:
    server.control.add_fault({**ORDER, "action": "execute_then_close"})
    with pytest.raises(aiohttp.ClientError):
        await limit_order(client, cid="closed")
    q = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="closed")
    assert q.body["status"] == "NEW"


async def test_429_burst_escalates_to_a_418_ban(server: MockExchangeServer, client: RestClient) -> None:
    server.control.add_fault({"surface": "rest", "path": "/api/v3/*", "action": "rate_limit", "times": 5})
    statuses = []
    for _ in range(4):
        r = await client.public("GET", "/api/v3/ping")
        statuses.append((r.status, r.code, r.header("Retry-After") is not None))
    assert statuses[:2] == [(429, -1003, True), (429, -1003, True)]
    assert statuses[2] == (418, -1003, True)  # ban_after_violations is 2 in these tests
    assert statuses[3][0] == 418


async def test_a_ban_lasts_its_seconds_under_a_backwards_skew(
    server: MockExchangeServer, client: RestClient, clock: VirtualClock
) -> None:
    # The exchange clock stepped a minute back: engine times stay monotonic, but the ban is
    # timed on the clock the gateway checks it against, so it still lasts 2 s.
    await client.public("GET", "/api/v3/ping")
    server.control.skew(-60_000)
    server.control.add_fault({"surface": "rest", "path": "/api/v3/ping", "action": "ban", "seconds": 2})
    r = await client.public("GET", "/api/v3/ping")
    assert (r.status, r.header("Retry-After")) == (418, "2")
    await clock.advance(3)
    assert (await client.public("GET", "/api/v3/ping")).status == 200


async def test_stale_snapshot(server: MockExchangeServer, client: RestClient) -> None:
    before = (await client.public("GET", "/api/v3/depth", symbol="BTCUSDT")).body
    server.control.add_fault(
        {"surface": "rest", "path": "/api/v3/depth", "symbol": "BTCUSDT", "action": "stale_snapshot"}
    )
    await client.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.3")
    stale = (await client.public("GET", "/api/v3/depth", symbol="BTCUSDT")).body
    fresh = (await client.public("GET", "/api/v3/depth", symbol="BTCUSDT")).body
    assert stale == before
    assert fresh["lastUpdateId"] > stale["lastUpdateId"] and fresh["asks"] != before["asks"]


async def test_stale_snapshot_leaves_other_requests_alone(
    server: MockExchangeServer, client: RestClient
) -> None:
    server.control.add_fault({"surface": "rest", "symbol": "BTCUSDT", "action": "stale_snapshot"})
    r = await client.public("GET", "/api/v3/ticker/price", symbol="BTCUSDT")
    assert set(r.body) == {"symbol", "price"}
    assert (await limit_order(client)).body["status"] == "NEW"
    assert "lastUpdateId" in (await client.public("GET", "/api/v3/depth", symbol="BTCUSDT")).body


async def test_after_and_account_narrow_a_fault(server: MockExchangeServer, client: RestClient) -> None:
    server.control.add_fault(
        {**ORDER, "account": "trader", "after": 1, "action": "error", "status": 503, "code": -1008}
    )
    assert (await limit_order(client)).status == 200
    assert (await limit_order(client)).code == -1008
    assert (await limit_order(client)).status == 200
    [fault] = server.control.faults()
    assert (fault["seen"], fault["fired"]) == (2, 1)


async def test_probability_is_seeded(server: MockExchangeServer, client: RestClient) -> None:
    server.control.add_fault(
        {
            "surface": "rest",
            "path": "/api/v3/time",
            "action": "error",
            "status": 503,
            "code": -1001,
            "times": None,
            "probability": 0.5,
        }
    )
    first = [(await client.public("GET", "/api/v3/time")).status for _ in range(20)]
    assert 0 < first.count(503) < 20


async def test_skewed_exchange_clock_gives_1021(server: MockExchangeServer, client: RestClient) -> None:
    server.control.skew(-6000)  # the exchange is 6 s behind the client
    r = await client.signed("GET", "/api/v3/account", timestamp=server.service.clock.now_us() // 1000)
    assert (r.code, r.msg) == (-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    server.control.skew(0)
    assert (await client.signed("GET", "/api/v3/account")).status == 200


def test_fault_specs_are_validated(server: MockExchangeServer) -> None:
    for spec, field in [
        ({"surface": "fax", "action": "error"}, "surface"),
        ({"surface": "rest", "action": "drop"}, "action"),
        ({"surface": "stream", "action": "delay"}, "seconds"),
        ({"surface": "rest", "action": "error", "times": 0}, "times"),
        ({"surface": "rest", "action": "error", "colour": "red"}, "colour"),
        ({"surface": "rest", "action": "stale_snapshot", "symbol": "NOPE"}, "symbol"),
        ({"surface": "ws_api", "action": "stale_snapshot"}, "needs the 'symbol'"),
        (
            {"surface": "rest", "method": "POST", "action": "stale_snapshot", "symbol": "BTCUSDT"},
            "depth requests",
        ),
    ]:
        with pytest.raises(ControlError, match=field):
            server.control.add_fault(spec)
