"""Session authentication: session.logon (Ed25519 only), session.status, session.logout."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_exchange.clock import VirtualClock

from .conftest import API_KEY, ED_API_KEY, LIMIT_BUY, MM_KEY, MM_SECRET, Connect, Ed25519Key, WsApiClient


def info(
    api_key: str | None,
    authorized: int | None,
    connected: int,
    now: int,
    uds: bool = False,
    rate_limits: bool = True,
) -> dict[str, object]:
    return {
        "apiKey": api_key,
        "authorizedSince": authorized,
        "connectedSince": connected,
        "returnRateLimits": rate_limits,
        "serverTime": now,
        "userDataStream": uds,
    }


async def test_logon_status_logout(ws: WsApiClient, ed_key: Ed25519Key, clock: VirtualClock) -> None:
    connected = ws.now_ms()
    await clock.advance(3)
    status = await ws.call("session.status")
    assert status["result"] == info(None, None, connected, ws.now_ms())
    assert status["rateLimits"][0]["count"] == 4  # connect 2 + status 2
    logon_at = ws.now_ms()
    reply = await ws.call("session.logon", ws.ed_signed(ed_key))
    assert reply["status"] == 200
    assert reply["result"] == info(ED_API_KEY, logon_at, connected, logon_at)
    await clock.advance(2)
    assert (await ws.call("session.status"))["result"] == info(ED_API_KEY, logon_at, connected, ws.now_ms())
    out = await ws.call("session.logout")
    assert out["result"] == info(None, None, connected, ws.now_ms())
    # Logging out of a connection that is not logged on does nothing.
    assert (await ws.call("session.logout"))["status"] == 200


async def test_signed_requests_after_logon_omit_key_and_signature(
    ws: WsApiClient, ed_key: Ed25519Key
) -> None:
    assert (await ws.call("session.logon", ws.ed_signed(ed_key)))["status"] == 200
    account = await ws.call("account.status", {"timestamp": ws.now_ms()})
    assert account["status"] == 200
    assert {"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"} in account["result"]["balances"]
    placed = await ws.call("order.place", {**LIMIT_BUY, "timestamp": ws.now_ms()})
    assert placed["status"] == 200
    status = await ws.call(
        "order.status",
        {"symbol": "BTCUSDT", "orderId": placed["result"]["orderId"], "timestamp": ws.now_ms()},
    )
    assert status["result"]["status"] == "NEW"
    # timestamp is still required, and still checked.
    missing = await ws.call("account.status")
    assert missing["error"] == {
        "code": -1102,
        "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    }
    stale = await ws.call("account.status", {"timestamp": ws.now_ms() - 10_000})
    assert stale["error"]["code"] == -1021
    # An explicit key and signature override the logged-on key for one request.
    mm = await ws.call("account.status", ws.signed(key=MM_KEY, secret=MM_SECRET))
    assert {"asset": "BTC", "free": "993.02100000", "locked": "6.97900000"} in mm["result"]["balances"]
    # After logout the key is forgotten.
    await ws.call("session.logout")
    after = await ws.call("account.status", {"timestamp": ws.now_ms()})
    assert (after["status"], after["error"]) == (401, {"code": -2014, "msg": "API-key format invalid."})


async def test_logon_with_hmac_key_is_refused(ws: WsApiClient) -> None:
    reply = await ws.call("session.logon", ws.signed())
    assert (reply["status"], reply["error"]) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )
    assert (await ws.call("session.status"))["result"]["apiKey"] is None
    assert (await ws.call("account.status", {"timestamp": ws.now_ms()}))["error"]["code"] == -2014


async def test_logon_errors(ws: WsApiClient, ed_key: Ed25519Key) -> None:
    impostor = Ed25519Key(ED_API_KEY, Ed25519PrivateKey.generate())
    bad = await ws.call("session.logon", ws.ed_signed(impostor))
    assert bad["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}
    stale = await ws.call("session.logon", ws.ed_signed(ed_key, {"timestamp": ws.now_ms() - 6000}))
    assert stale["error"]["code"] == -1021
    unknown = await ws.call("session.logon", ws.ed_signed(Ed25519Key("who", ed_key.private)))
    assert unknown["error"]["code"] == -2015
    extra = await ws.call("session.logon", ws.ed_signed(ed_key, {"symbol": "BTCUSDT"}))
    assert extra["error"]["code"] == -1104
    assert (await ws.call("session.status"))["result"]["apiKey"] is None
    assert (await ws.call("session.status", {"x": 1}))["error"]["code"] == -1104


async def test_logon_is_per_connection(connect: Connect, ed_key: Ed25519Key) -> None:
    a, b = await connect(), await connect()
    await a.call("session.logon", a.ed_signed(ed_key))
    assert (await a.call("account.status", {"timestamp": a.now_ms()}))["status"] == 200
    assert (await b.call("account.status", {"timestamp": b.now_ms()}))["error"]["code"] == -2014


async def test_session_info_reports_connection_settings(
    connect: Connect, ed_key: Ed25519Key, clock: VirtualClock
) -> None:
    ws = await connect("?returnRateLimits=false&timeUnit=MICROSECOND")
    reply = await ws.call("session.logon", ws.ed_signed(ed_key))
    now = clock.now_us()
    assert reply == {
        "id": reply["id"],
        "status": 200,
        "result": info(ED_API_KEY, now, now, now, rate_limits=False),
    }


async def test_user_data_stream_on_the_logged_on_account(
    ws: WsApiClient, ed_key: Ed25519Key, clock: VirtualClock
) -> None:
    refused = await ws.call("userDataStream.subscribe")
    assert (refused["status"], refused["error"]) == (
        401,
        {"code": -1002, "msg": "You are not authorized to execute this request."},
    )
    await ws.call("session.logon", ws.ed_signed(ed_key))
    assert (await ws.call("userDataStream.subscribe"))["result"] == {"subscriptionId": 0}
    assert (await ws.call("session.status"))["result"]["userDataStream"] is True
    # One subscription per account per connection, whichever way it was made.
    again = await ws.call("userDataStream.subscribe.signature", ws.signed())
    assert again["error"] == {"code": -2035, "msg": "User Data Stream subscription already active."}
    # A signature subscription for another account survives logout; the logon one does not.
    mm = await ws.call("userDataStream.subscribe.signature", ws.signed(key=MM_KEY, secret=MM_SECRET))
    assert mm["result"] == {"subscriptionId": 1}
    placed = await ws.call("order.place", {**LIMIT_BUY, "timestamp": ws.now_ms()})
    events = await ws.drain()
    assert [(e["subscriptionId"], e["event"]["e"]) for e in events] == [
        (0, "executionReport"),
        (0, "outboundAccountPosition"),
    ]
    assert events[0]["event"]["i"] == placed["result"]["orderId"]
    await clock.advance(1)
    out = await ws.call("session.logout")
    assert out["result"]["userDataStream"] is True  # the mm subscription is still active
    assert await ws.events(1) == [
        {"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": ws.now_ms()}}
    ]
    assert (await ws.call("session.subscriptions"))["result"] == [{"subscriptionId": 1}]
    cancel = await ws.call("openOrders.cancelAll", ws.signed({"symbol": "BTCUSDT"}))
    assert cancel["status"] == 200
    assert await ws.drain() == []  # the trader's events no longer arrive


async def test_ed25519_key_signs_individual_requests_too(ws: WsApiClient, ed_key: Ed25519Key) -> None:
    reply = await ws.call("account.status", ws.ed_signed(ed_key))
    assert reply["status"] == 200
    sub = await ws.call("userDataStream.subscribe.signature", ws.ed_signed(ed_key))
    assert sub["result"] == {"subscriptionId": 0}
    assert API_KEY != ED_API_KEY
