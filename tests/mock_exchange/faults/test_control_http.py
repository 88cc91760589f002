"""The control API over HTTP, as a scenario file or a person with curl uses it."""

from __future__ import annotations

from typing import Any

import aiohttp

from mock_exchange.clock import VirtualClock
from mock_exchange.server import MockExchangeServer
from tests.support.rest_client import RestClient


async def call(
    session: aiohttp.ClientSession, server: MockExchangeServer, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with session.request(method, server.rest_url + path, json=body) as r:
        return r.status, await r.json()


async def test_money_orders_books_and_state(
    server: MockExchangeServer, session: aiohttp.ClientSession, client: RestClient
) -> None:
    status, bal = await call(
        session, server, "POST", "/mock/accounts/trader/deposit", {"asset": "BNB", "amount": "5"}
    )
    assert status == 200 and bal["BNB"] == {"free": "5.00000000", "locked": "0.00000000"}
    status, _ = await call(
        session, server, "POST", "/mock/accounts/trader/withdraw", {"asset": "BNB", "amount": "2"}
    )
    assert (await call(session, server, "GET", "/mock/accounts/trader"))[1]["BNB"]["free"] == "3.00000000"
    status, body = await call(
        session, server, "POST", "/mock/accounts/trader/withdraw", {"asset": "BNB", "amount": "9"}
    )
    assert status == 400 and body["error"].startswith("amount:")
    # Another participant trades against the trader's resting order.
    placed = await client.signed(
        "POST",
        "/api/v3/order",
        symbol="BTCUSDT",
        side="SELL",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.1",
        price="60001",
    )
    status, order = await call(
        session,
        server,
        "POST",
        "/mock/orders",
        {
            "account": "market-maker",
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": "0.04",
            "price": "60001",
            "timeInForce": "IOC",
        },
    )
    assert status == 200 and order["status"] == "FILLED"
    mine = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", orderId=placed.body["orderId"])
    assert mine.body["status"] == "PARTIALLY_FILLED" and mine.body["executedQty"] == "0.04000000"
    status, trades = await call(session, server, "GET", "/mock/trades?account=trader&symbol=BTCUSDT")
    assert [t["qty"] for t in trades] == ["0.04000000"]
    status, cancelled = await call(
        session,
        server,
        "DELETE",
        "/mock/orders",
        {"account": "trader", "symbol": "BTCUSDT", "orderId": placed.body["orderId"]},
    )
    assert cancelled["status"] == "CANCELED"
    # Books: clear, then seed.
    status, body = await call(session, server, "DELETE", "/mock/books/ETHBTC")
    assert body["cancelled"] == 40
    assert (await call(session, server, "GET", "/mock/books/ETHBTC"))[1]["bids"] == []
    status, book = await call(
        session,
        server,
        "POST",
        "/mock/books/ETHBTC/seed",
        {"account": "market-maker", "mid": "0.06", "levels": 2, "spacing": "0.0001", "quantity": "1"},
    )
    assert book["bids"] == [["0.05990000", "1.00000000"], ["0.05980000", "1.00000000"]]
    status, state = await call(session, server, "GET", "/mock/state")
    assert state["symbols"] == ["BTCUSDT", "ETHUSDT", "ETHBTC"] and "trader" in state["accounts"]


async def test_faults_clock_and_traffic(
    server: MockExchangeServer, session: aiohttp.ClientSession, client: RestClient, clock: VirtualClock
) -> None:
    status, fault = await call(
        session,
        server,
        "POST",
        "/mock/faults",
        {
            "surface": "rest",
            "path": "/api/v3/ping",
            "action": "error",
            "status": 503,
            "code": -1001,
            "label": "flaky ping",
        },
    )
    assert status == 200 and fault["label"] == "flaky ping"
    assert (await client.public("GET", "/api/v3/ping")).status == 503
    status, faults = await call(session, server, "GET", "/mock/faults")
    assert faults[0]["fired"] == 1
    assert (await call(session, server, "DELETE", f"/mock/faults/{fault['id']}"))[0] == 200
    status, body = await call(session, server, "DELETE", "/mock/faults/999")
    assert status == 400 and body["error"] == "id: no fault 999"
    status, body = await call(session, server, "POST", "/mock/faults", {"surface": "rest", "action": "nap"})
    assert status == 400 and body["error"].startswith("fault.action:")
    before = clock.now_us()
    status, c = await call(session, server, "POST", "/mock/clock/advance", {"seconds": 3600})
    assert c["virtual"] is True and c["now_us"] >= before + 3_600_000_000
    status, c = await call(session, server, "POST", "/mock/clock/skew", {"ms": 2500})
    assert c["skew_ms"] == 2500
    for path, body, error in [  # bad numbers are a 400 naming the field, never a 500
        ("/mock/clock/advance", {"seconds": "x"}, "seconds: expected a number, got 'x'"),
        ("/mock/clock/skew", {"ms": "abc"}, "ms: expected an integer, got 'abc'"),
        ("/mock/clock/skew", {"ms": 1.9}, "ms: expected an integer, got 1.9"),
        ("/mock/connections/stall", {"seconds": None}, "seconds: expected a number, got None"),
        ("/mock/connections/stall", {"seconds": 1, "surface": "moon"}, "surface: must be stream"),
    ]:
        status, answer = await call(session, server, "POST", path, body)
        assert status == 400 and answer["error"].startswith(error), (path, body, answer)
    await call(session, server, "POST", "/mock/traffic", {"enabled": True})
    await client.public("GET", "/api/v3/time")
    status, entries = await call(session, server, "GET", "/mock/traffic")
    texts = [e["text"] for e in entries]
    assert any(t.startswith("GET /api/v3/time") for t in texts) and any(
        t.startswith("200 GET /api/v3/time") for t in texts
    )
    status, body = await call(
        session, server, "POST", "/mock/orders", {"account": "ghost", "symbol": "BTCUSDT", "side": "BUY"}
    )
    assert status == 400 and body["error"].startswith("account: no account named 'ghost'")


async def test_control_refuses_what_could_never_work(
    server: MockExchangeServer, session: aiohttp.ClientSession, client: RestClient
) -> None:
    """Non-finite or absurd numbers, malformed names and fault filters a surface never
    matches are a 400 naming the field: never a 500, a silent no-op or a changed state."""
    inf, nan = float("inf"), float("nan")
    order = {"account": "trader", "symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01", "price": "50000"}
    for path, body, error in [
        ("/mock/accounts/trader/deposit", {"asset": "BTC", "amount": "Infinity"}, "amount:"),
        ("/mock/accounts/trader/deposit", {"asset": None, "amount": "1"}, "asset:"),
        ("/mock/accounts/trader/deposit", {"asset": "", "amount": "1"}, "asset:"),
        ("/mock/accounts/trader/withdraw", {"asset": "NOPE", "amount": "1"}, "amount:"),
        ("/mock/orders", {**order, "quantity": "Infinity"}, "quantity:"),
        ("/mock/orders", {**order, "clientOrderId": 123}, "clientOrderId:"),
        ("/mock/orders", {**order, "clientOrderId": "x" * 37}, "clientOrderId:"),
        ("/mock/faults", {"surface": "rest", "action": "delay", "seconds": inf}, "fault.seconds:"),
        ("/mock/faults", {"surface": "rest", "action": "ban", "seconds": 1e12}, "fault.seconds:"),
        ("/mock/faults", {"surface": "rest", "stream": "x", "action": "error"}, "fault.stream:"),
        ("/mock/faults", {"surface": "ws_api", "path": "/api/v3/ping", "action": "error"}, "fault.path:"),
        ("/mock/faults", {"surface": "stream", "method": "GET", "action": "drop"}, "fault.method:"),
        ("/mock/faults", {"surface": "rest", "action": "error", "label": {"a": 1}}, "fault.label:"),
        ("/mock/connections/stall", {"seconds": nan}, "seconds:"),
        ("/mock/clock/skew", {"ms": 1e20}, "ms:"),
        ("/mock/traffic", {"enabled": "false"}, "enabled:"),
        (
            "/mock/books/BTCUSDT/seed",
            {"account": "market-maker", "mid": "60000", "levels": 2, "spacing": "0", "quantity": "0.1"},
            "spacing:",
        ),
        (
            "/mock/books/BTCUSDT/seed",
            {"account": "market-maker", "mid": "60000", "levels": 0, "spacing": "1", "quantity": "0.1"},
            "levels:",
        ),
    ]:
        status, answer = await call(session, server, "POST", path, body)
        assert status == 400 and answer["error"].startswith(error), (path, body, answer)
    _, balances = await call(session, server, "GET", "/mock/accounts/trader")
    assert "NOPE" not in balances and "None" not in balances
    _, faults = await call(session, server, "GET", "/mock/faults")
    assert faults == []
    # HTTP methods match in any case.
    status, _ = await call(
        session,
        server,
        "POST",
        "/mock/faults",
        {"surface": "rest", "method": "get", "path": "/api/v3/pi*", "action": "error"},
    )
    assert status == 200
    assert (await client.public("GET", "/api/v3/ping")).status == 503
    # The control API itself is never faulted (it is how faults are removed).
    await call(
        session, server, "POST", "/mock/faults", {"surface": "rest", "path": "/mock/*", "action": "error"}
    )
    status, faults = await call(session, server, "GET", "/mock/faults")
    assert status == 200 and len(faults) == 2


async def test_shutdown_notice_is_sent_and_closes_nothing(
    session: aiohttp.ClientSession, server: MockExchangeServer
) -> None:
    stream = await session.ws_connect(server.stream_url + "/stream?streams=btcusdt@trade")
    api = await session.ws_connect(server.ws_api_url)
    status, answer = await call(session, server, "POST", "/mock/connections/shutdown-notice", {})
    assert (status, answer) == (200, {"notified": "all"})
    notice = await stream.receive_json(timeout=5)
    assert notice["stream"] == "!serverShutdown" and notice["data"]["e"] == "serverShutdown"
    assert (await api.receive_json(timeout=5))["event"]["e"] == "serverShutdown"
    await stream.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})  # still open
    assert (await stream.receive_json(timeout=5)) == {"result": ["btcusdt@trade"], "id": 1}
    status, answer = await call(
        session, server, "POST", "/mock/connections/shutdown-notice", {"surface": "x"}
    )
    assert status == 400 and answer["error"].startswith("surface: must be stream")
    await stream.close()
    await api.close()
