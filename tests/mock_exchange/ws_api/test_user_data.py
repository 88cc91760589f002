"""User data stream subscriptions on the WS API, and the exact events they deliver."""

from __future__ import annotations

from typing import Any

import pytest

from mock_exchange.binance.ws.ws_api import WsApi
from mock_exchange.clock import VirtualClock

from .conftest import MM_KEY, MM_SECRET, Connect, Rest, WsApiClient

#: Binance's documented field order for an executionReport without STP fields.
REPORT_KEYS = [
    "e",
    "E",
    "s",
    "c",
    "S",
    "o",
    "f",
    "q",
    "p",
    "P",
    "F",
    "g",
    "C",
    "x",
    "X",
    "r",
    "i",
    "l",
    "z",
    "L",
    "n",
    "N",
    "T",
    "t",
    "I",
    "w",
    "m",
    "M",
    "O",
    "Z",
    "Y",
    "Q",
    "W",
    "V",
]


@pytest.fixture
async def sub(connect: Connect) -> WsApiClient:
    """A connection subscribed to the trader's user data with an HMAC signature."""
    ws = await connect()
    reply = await ws.call("userDataStream.subscribe.signature", ws.signed())
    assert reply["status"] == 200
    assert reply["result"] == {"subscriptionId": 0}
    assert reply["rateLimits"][0]["count"] == 4  # connect 2 + subscribe 2
    return ws


@pytest.fixture
async def trading(connect: Connect) -> WsApiClient:
    """A second connection the trader places orders from."""
    return await connect()


def limit(side: str, qty: str, price: str, **extra: Any) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": side,
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": qty,
        "price": price,
        **extra,
    }


async def place(ws: WsApiClient, params: dict[str, Any]) -> dict[str, Any]:
    reply = await ws.call("order.place", ws.signed(params))
    assert reply["status"] == 200, reply
    result: dict[str, Any] = reply["result"]
    return result


def unwrap(events: list[Any], subscription: int = 0) -> list[dict[str, Any]]:
    assert all(e["subscriptionId"] == subscription and set(e) == {"subscriptionId", "event"} for e in events)
    return [e["event"] for e in events]


async def assert_position_matches_rest(position: dict[str, Any], rest: Rest) -> None:
    assert position["e"] == "outboundAccountPosition"
    balances = {
        b["asset"]: (b["free"], b["locked"])
        for b in (await rest.get("/api/v3/account", signed=True))["balances"]
    }
    assert position["B"], position
    for b in position["B"]:
        assert balances[b["a"]] == (b["f"], b["l"]), b["a"]


async def test_new_resting_order(
    sub: WsApiClient, trading: WsApiClient, rest: Rest, clock: VirtualClock
) -> None:
    await clock.advance(1.5)
    order = await place(trading, limit("BUY", "0.01", "59000", newClientOrderId="rest-1"))
    report, position = unwrap(await sub.events(2))
    now = clock.now_us() // 1000
    assert list(report) == REPORT_KEYS
    assert report == {
        "e": "executionReport",
        "E": now,
        "s": "BTCUSDT",
        "c": "rest-1",
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "0.01000000",
        "p": "59000.00000000",
        "P": "0.00000000",
        "F": "0.00000000",
        "g": -1,
        "C": "",
        "x": "NEW",
        "X": "NEW",
        "r": "NONE",
        "i": order["orderId"],
        "l": "0.00000000",
        "z": "0.00000000",
        "L": "0.00000000",
        "n": "0",
        "N": None,
        "T": now,
        "t": -1,
        "I": report["I"],
        "w": True,
        "m": False,
        "M": False,
        "O": now,
        "Z": "0.00000000",
        "Y": "0.00000000",
        "Q": "0.00000000",
        "W": now,
        "V": "NONE",
    }
    assert isinstance(report["I"], int)
    assert position == {
        "e": "outboundAccountPosition",
        "E": now,
        "u": now,
        "B": [{"a": "USDT", "f": "99410.00000000", "l": "590.00000000"}],
    }
    await assert_position_matches_rest(position, rest)
    assert await sub.drain() == []


async def test_partial_then_full_fill(
    sub: WsApiClient, trading: WsApiClient, rest: Rest, mm_rest: Rest, clock: VirtualClock
) -> None:
    # The market maker's best ask is 0.25 BTC at 60005: a 0.3 BTC bid takes it and rests 0.05.
    order = await place(trading, limit("BUY", "0.3", "60005", newClientOrderId="pf-1"))
    assert order["status"] == "PARTIALLY_FILLED"
    [fill] = order["fills"]
    new, trade, position = unwrap(await sub.events(3))
    now = clock.now_us() // 1000
    assert (new["x"], new["X"], new["i"], new["c"]) == ("NEW", "NEW", order["orderId"], "pf-1")
    assert trade == {
        **new,
        "x": "TRADE",
        "X": "PARTIALLY_FILLED",
        "l": "0.25000000",
        "z": "0.25000000",
        "L": "60005.00000000",
        "n": "0.00025000",
        "N": "BTC",
        "t": fill["tradeId"],
        "I": trade["I"],
        "w": True,
        "m": False,
        "M": True,  # set on trades, as in Binance's samples (faqs/market_orders_faq.md)
        "Z": "15001.25000000",
        "Y": "15001.25000000",
    }
    assert trade["I"] > new["I"]
    assert (fill["qty"], fill["price"], fill["commission"], fill["commissionAsset"]) == (
        trade["l"],
        trade["L"],
        trade["n"],
        trade["N"],
    )
    assert position["E"] == now
    assert {b["a"] for b in position["B"]} == {"USDT", "BTC"}
    await assert_position_matches_rest(position, rest)

    # The market maker sells 0.05 into the resting remainder: the trader is the maker now.
    await clock.advance(2)
    status, mm_order = await mm_rest.request(
        "POST", "/api/v3/order", limit("SELL", "0.05", "60005"), signed=True
    )
    assert status == 200 and mm_order["status"] == "FILLED"
    [mm_fill] = mm_order["fills"]
    filled, position = unwrap(await sub.events(2))
    now = clock.now_us() // 1000
    assert filled == {
        **trade,
        "E": now,
        "X": "FILLED",
        "l": "0.05000000",
        "z": "0.30000000",
        "n": "0.00005000",
        "T": now,
        "t": mm_fill["tradeId"],
        "I": filled["I"],
        "w": False,
        "m": True,
        "Z": "18001.50000000",
        "Y": "3000.25000000",
    }
    await assert_position_matches_rest(position, rest)
    # One trade id everywhere: executionReport t, FULL fills[].tradeId, myTrades id.
    trades = await rest.get("/api/v3/myTrades", {"symbol": "BTCUSDT"}, signed=True)
    assert [t["id"] for t in trades] == [trade["t"], filled["t"]]
    assert [(t["commission"], t["commissionAsset"], t["isMaker"]) for t in trades] == [
        ("0.00025000", "BTC", False),
        ("0.00005000", "BTC", True),
    ]
    assert await sub.drain() == []


async def test_cancel(sub: WsApiClient, trading: WsApiClient, rest: Rest, clock: VirtualClock) -> None:
    order = await place(trading, limit("BUY", "0.01", "59000", newClientOrderId="orig-1"))
    new, _ = unwrap(await sub.events(2))
    await clock.advance(1)
    reply = await trading.call(
        "order.cancel",
        trading.signed({"symbol": "BTCUSDT", "origClientOrderId": "orig-1", "newClientOrderId": "cxl-1"}),
    )
    assert reply["result"]["status"] == "CANCELED"
    cancelled, position = unwrap(await sub.events(2))
    now = clock.now_us() // 1000
    assert cancelled == {
        **new,
        "E": now,
        "c": "cxl-1",
        "C": "orig-1",
        "x": "CANCELED",
        "X": "CANCELED",
        "T": now,
        "I": cancelled["I"],
        "w": False,
    }
    assert cancelled["i"] == order["orderId"]
    assert position["B"] == [{"a": "USDT", "f": "100000.00000000", "l": "0.00000000"}]
    await assert_position_matches_rest(position, rest)


async def test_ioc_remainder_expires(sub: WsApiClient, trading: WsApiClient, rest: Rest) -> None:
    order = await place(trading, {**limit("BUY", "0.3", "60005"), "timeInForce": "IOC"})
    assert (order["status"], order["executedQty"], order["expiryReason"]) == (
        "EXPIRED",
        "0.25000000",
        "UNFILLED_IOC_QUANTITY_EXPIRED",
    )
    new, trade, expired, position = unwrap(await sub.events(4))
    assert [e["x"] for e in (new, trade, expired)] == ["NEW", "TRADE", "EXPIRED"]
    assert trade["X"] == "PARTIALLY_FILLED"
    assert expired == {
        **trade,
        "x": "EXPIRED",
        "X": "EXPIRED",
        "l": "0.00000000",
        "L": "0.00000000",
        "n": "0",
        "N": None,
        "t": -1,
        "I": expired["I"],
        "w": False,
        "M": False,
        "Y": "0.00000000",
        "eR": "UNFILLED_IOC_QUANTITY_EXPIRED",
    }
    assert "eR" not in new and "eR" not in trade
    await assert_position_matches_rest(position, rest)


async def test_self_trade_prevention(sub: WsApiClient, trading: WsApiClient, rest: Rest) -> None:
    maker = await place(trading, limit("SELL", "0.01", "60001"))
    await sub.events(2)
    taker = await place(trading, limit("BUY", "0.01", "60001", selfTradePreventionMode="EXPIRE_TAKER"))
    assert taker["status"] == "EXPIRED_IN_MATCH"
    new, prevented, position = unwrap(await sub.events(3))
    assert (new["x"], new["i"], new["V"]) == ("NEW", taker["orderId"], "EXPIRE_TAKER")
    assert prevented == {
        **new,
        "x": "TRADE_PREVENTION",
        "X": "EXPIRED_IN_MATCH",
        "I": prevented["I"],
        "w": False,
        "v": taker["preventedMatches"][0]["preventedMatchId"],
        "A": "0.01000000",
        "B": "0.01000000",
        "u": -1,
        "U": maker["orderId"],
        "Cs": "BTCUSDT",
        "pl": "0.01000000",
        "pL": "60001.00000000",
        "pY": "600.01000000",
    }
    assert (prevented["l"], prevented["L"], prevented["Y"], prevented["t"]) == (
        "0.00000000",
        "0.00000000",
        "0.00000000",
        -1,
    )
    await assert_position_matches_rest(position, rest)
    status = await trading.call(
        "order.status", trading.signed({"symbol": "BTCUSDT", "orderId": maker["orderId"]})
    )
    assert status["result"]["status"] == "NEW"  # EXPIRE_TAKER leaves the maker resting


async def test_reply_comes_before_the_events_it_caused(sub: WsApiClient) -> None:
    reply = await sub.call("order.place", sub.signed(limit("BUY", "0.01", "59000")))
    assert sub.pending == []  # nothing arrived before the reply
    new, position = unwrap(await sub.events(2))
    assert new["i"] == reply["result"]["orderId"]
    assert position["e"] == "outboundAccountPosition"


async def test_unsubscribe_terminates_the_stream(
    sub: WsApiClient, trading: WsApiClient, clock: VirtualClock
) -> None:
    await clock.advance(1)
    reply = await sub.call("userDataStream.unsubscribe", {"subscriptionId": 0}, rid=3)
    assert reply == {"id": 3, "status": 200, "result": {}, "rateLimits": reply["rateLimits"]}
    assert sub.pending == []
    assert await sub.events(1) == [
        {"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": clock.now_us() // 1000}}
    ]
    await place(trading, limit("BUY", "0.01", "59000"))
    assert await sub.drain() == []
    assert (await sub.call("session.subscriptions"))["result"] == []
    assert (await sub.call("session.status"))["result"]["userDataStream"] is False
    again = await sub.call("userDataStream.unsubscribe", {"subscriptionId": 0})
    assert (again["status"], again["error"]) == (
        400,
        {"code": -2036, "msg": "User Data Stream subscription not active."},
    )
    # Ids are never reused on a connection.
    assert (await sub.call("userDataStream.subscribe.signature", sub.signed()))["result"] == {
        "subscriptionId": 1
    }


async def test_unsubscribe_without_id_closes_everything(
    sub: WsApiClient, trading: WsApiClient, clock: VirtualClock
) -> None:
    mm = await sub.call("userDataStream.subscribe.signature", sub.signed(key=MM_KEY, secret=MM_SECRET))
    assert mm["result"] == {"subscriptionId": 1}
    assert (await sub.call("session.subscriptions"))["result"] == [
        {"subscriptionId": 0},
        {"subscriptionId": 1},
    ]
    assert (await sub.call("userDataStream.unsubscribe"))["result"] == {}
    now = clock.now_us() // 1000
    assert await sub.events(2) == [
        {"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": now}},
        {"subscriptionId": 1, "event": {"e": "eventStreamTerminated", "E": now}},
    ]
    await place(trading, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"})
    assert await sub.drain() == []
    nothing = await sub.call("userDataStream.unsubscribe")
    assert nothing["error"]["code"] == -2036


async def test_one_subscription_per_account(sub: WsApiClient, connect: Connect) -> None:
    again = await sub.call("userDataStream.subscribe.signature", sub.signed())
    assert (again["status"], again["error"]) == (
        400,
        {"code": -2035, "msg": "User Data Stream subscription already active."},
    )
    # Another connection may subscribe to the same account; ids are per connection.
    other = await connect()
    assert (await other.call("userDataStream.subscribe.signature", other.signed()))["result"] == {
        "subscriptionId": 0
    }
    await place(other, limit("BUY", "0.01", "59000"))
    assert len(await other.events(2)) == 2
    assert len(await sub.events(2)) == 2


async def test_unknown_subscription_id(sub: WsApiClient) -> None:
    for sid in (1, 99):
        reply = await sub.call("userDataStream.unsubscribe", {"subscriptionId": sid})
        assert reply["error"] == {"code": -2036, "msg": "User Data Stream subscription not active."}
    bad = await sub.call("userDataStream.unsubscribe", {"subscriptionId": "zero"})
    assert bad["error"]["code"] == -1100
    assert (await sub.call("session.subscriptions"))["result"] == [{"subscriptionId": 0}]


async def test_maximum_subscription_ids(connect: Connect, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WsApi, "max_subscription_ids", 2)
    ws = await connect()
    for expected in (0, 1):
        assert (await ws.call("userDataStream.subscribe.signature", ws.signed()))["result"] == {
            "subscriptionId": expected
        }
        assert (await ws.call("userDataStream.unsubscribe"))["status"] == 200
    reply = await ws.call("userDataStream.subscribe.signature", ws.signed())
    assert reply["error"] == {"code": -2042, "msg": "Maximum subscription ID reached for this connection."}


async def test_subscribe_signature_errors(ws: WsApiClient) -> None:
    bad = ws.signed()
    bad["signature"] = "0" * 64
    assert (await ws.call("userDataStream.subscribe.signature", bad))["error"]["code"] == -1022
    stale = ws.signed({"timestamp": ws.now_ms() - 60_000})
    assert (await ws.call("userDataStream.subscribe.signature", stale))["error"]["code"] == -1021
    windowed = ws.signed({"timestamp": ws.now_ms() - 6000, "recvWindow": 7000})
    assert (await ws.call("userDataStream.subscribe.signature", windowed))["result"] == {"subscriptionId": 0}


async def test_two_accounts_on_one_connection(sub: WsApiClient, trading: WsApiClient) -> None:
    mm = await sub.call("userDataStream.subscribe.signature", sub.signed(key=MM_KEY, secret=MM_SECRET))
    assert mm["result"] == {"subscriptionId": 1}
    order = await place(trading, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"})
    events = await sub.drain()
    trader = [e["event"] for e in events if e["subscriptionId"] == 0]
    maker = [e["event"] for e in events if e["subscriptionId"] == 1]
    assert [(e["e"], e.get("x")) for e in trader] == [
        ("executionReport", "NEW"),
        ("executionReport", "TRADE"),
        ("outboundAccountPosition", None),
    ]
    assert [(e["e"], e.get("x"), e.get("m")) for e in maker] == [
        ("executionReport", "TRADE", True),
        ("outboundAccountPosition", None, None),
    ]
    assert trader[1]["t"] == maker[0]["t"] == order["fills"][0]["tradeId"]
    # Engine order: the taker's NEW comes before the trade reports of both sides.
    assert events.index({"subscriptionId": 0, "event": trader[0]}) < events.index(
        {"subscriptionId": 1, "event": maker[0]}
    )


async def test_events_in_microseconds(connect: Connect, clock: VirtualClock) -> None:
    ws = await connect("?timeUnit=MICROSECOND")
    await ws.call("userDataStream.subscribe.signature", ws.signed())
    await clock.advance(0.000123)
    reply = await ws.call("order.place", ws.signed(limit("BUY", "0.01", "59000")))
    assert reply["result"]["transactTime"] == clock.now_us()
    new, position = unwrap(await ws.events(2))
    assert (new["E"], new["T"], new["O"], new["W"]) == (clock.now_us(),) * 4
    assert position["E"] == position["u"] == clock.now_us()
    await clock.advance(1)
    await ws.call("userDataStream.unsubscribe")
    assert await ws.events(1) == [
        {"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": clock.now_us()}}
    ]
