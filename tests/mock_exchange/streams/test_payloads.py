"""Each stream's payload: fields, types and formatting identical to REST."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import aiohttp

from mock_exchange.binance.ws import STREAMS
from mock_exchange.clock import VirtualClock
from mock_exchange.engine import NewOrder, OrderType, Side, TimeInForce
from mock_exchange.engine.units import parse_units
from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.streams.conftest import TIMEOUT, StreamClient
from tests.support.waiting import eventually


def buy(server: MockExchangeServer, qty: str) -> Any:
    acct = server.service.exchange.account_by_name("trader").account_id
    return server.service.place_order(
        NewOrder(acct, "BTCUSDT", Side.BUY, OrderType.MARKET, quantity=parse_units(qty))
    )


def by_stream(msgs: list[Any]) -> dict[str, list[Any]]:
    """Combined-stream messages grouped by stream name: the ``data`` of each, in order."""
    out: dict[str, list[Any]] = {}
    for m in msgs:
        out.setdefault(m["stream"], []).append(m["data"])
    return out


async def rest(session: aiohttp.ClientSession, server: MockExchangeServer, path: str) -> Any:
    async with session.get(server.rest_url + path) as r:
        return await r.json()


async def test_trade_and_agg_trade(
    connect: Any, server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    c: StreamClient = await connect("/stream?streams=btcusdt@trade/btcusdt@aggTrade")
    result = buy(server, "0.3")  # two levels: two trades, two aggregate trades
    msgs = await c.sync()
    trades = [m["data"] for m in msgs if m["stream"] == "btcusdt@trade"]
    aggs = [m["data"] for m in msgs if m["stream"] == "btcusdt@aggTrade"]
    now = clock.now_us() // 1000
    assert trades[0] == {
        "e": "trade",
        "E": now,
        "s": "BTCUSDT",
        "t": result.fills[0].trade_id,
        "p": "60005.00000000",
        "q": "0.25000000",
        "T": now,
        "m": False,
        "M": True,
    }
    assert [t["t"] for t in trades] == [f.trade_id for f in result.fills]
    rest_trades = await rest(session, server, "/api/v3/trades?symbol=BTCUSDT")
    assert [(t["id"], t["price"], t["qty"]) for t in rest_trades] == [
        (t["t"], t["p"], t["q"]) for t in trades
    ]
    assert [a["a"] for a in aggs] == [
        a["a"] for a in await rest(session, server, "/api/v3/aggTrades?symbol=BTCUSDT")
    ]
    assert set(aggs[0]) == {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}


async def test_book_ticker_only_on_change(
    connect: Any, server: MockExchangeServer, session: aiohttp.ClientSession
) -> None:
    c: StreamClient = await connect("/ws/btcusdt@bookTicker")
    buy(server, "0.1")
    [bt] = await c.sync()
    depth = await rest(session, server, "/api/v3/depth?symbol=BTCUSDT&limit=1")
    assert bt == {
        "u": depth["lastUpdateId"],
        "s": "BTCUSDT",
        "b": depth["bids"][0][0],
        "B": depth["bids"][0][1],
        "a": depth["asks"][0][0],
        "A": depth["asks"][0][1],
    }
    # An order far from the top changes depth but not the top of book: no message.
    acct = server.service.exchange.account_by_name("trader").account_id
    server.service.place_order(
        NewOrder(
            acct,
            "BTCUSDT",
            Side.BUY,
            OrderType.LIMIT,
            quantity=parse_units("0.01"),
            price=parse_units("50000"),
            time_in_force="GTC",
        )
    )  # type: ignore[arg-type]
    assert await c.sync() == []


def limit_order(server: MockExchangeServer, side: Side, qty: str, price: str) -> Any:
    acct = server.service.exchange.account_by_name("market-maker").account_id
    return server.service.place_order(
        NewOrder(
            acct,
            "BTCUSDT",
            side,
            OrderType.LIMIT,
            quantity=parse_units(qty),
            price=parse_units(price),
            time_in_force=TimeInForce.GTC,
        )
    )


async def test_book_ticker_after_a_time_without_subscribers(connect: Any, server: MockExchangeServer) -> None:
    """The top a former subscriber saw last is no reason to hold back the next change for
    a new subscriber, even when that change restores the same top."""
    first: StreamClient = await connect("/ws/btcusdt@bookTicker")
    placed = limit_order(server, Side.BUY, "0.1", "59999.50")
    [seen] = await first.sync()
    assert (seen["b"], seen["B"]) == ("59999.50000000", "0.10000000")
    await first.ws.close()
    hub = server.app[STREAMS]
    await eventually(
        lambda: "btcusdt@bookTicker" not in hub.subs, "the server to drop the subscriber", TIMEOUT
    )
    acct = server.service.exchange.account_by_name("market-maker").account_id
    server.service.cancel_order(acct, "BTCUSDT", placed.order.order_id)
    second: StreamClient = await connect("/ws/btcusdt@bookTicker")
    limit_order(server, Side.BUY, "0.1", "59999.50")  # the same top as the one first saw
    [again] = await second.sync()
    assert (again["b"], again["B"]) == ("59999.50000000", "0.10000000")


async def test_combined_url_keeps_the_plus_of_a_kline_time_zone(connect: Any) -> None:
    """Clients put ``@+08:00`` in the ``streams`` query unencoded; ``+`` is not a space."""
    c: StreamClient = await connect("/stream?streams=btcusdt@kline_1d@+08:00/btcusdt@trade")
    assert (await c.request("LIST_SUBSCRIPTIONS", None, 1))["result"] == [
        "btcusdt@kline_1d@+08:00",
        "btcusdt@trade",
    ]
    encoded: StreamClient = await connect("/stream?streams=btcusdt%40kline_1d%40%2B08%3A00")
    assert (await encoded.request("LIST_SUBSCRIPTIONS", None, 1))["result"] == ["btcusdt@kline_1d@+08:00"]


async def test_tickers_klines_and_avg_price(
    connect: Any, server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    c: StreamClient = await connect(
        "/stream?streams=btcusdt@ticker/btcusdt@miniTicker/btcusdt@kline_1m/btcusdt@avgPrice/!miniTicker@arr"
    )
    buy(server, "0.1")
    await clock.advance(2)
    streams = by_stream(await c.sync())
    ticker = streams["btcusdt@ticker"][-1]
    rest_ticker = await rest(session, server, "/api/v3/ticker/24hr?symbol=BTCUSDT")
    assert ticker["e"] == "24hrTicker" and ticker["c"] == rest_ticker["lastPrice"] == "60005.00000000"
    assert ticker["v"] == rest_ticker["volume"] and ticker["n"] == rest_ticker["count"] == 1
    mini = streams["btcusdt@miniTicker"][-1]
    assert set(mini) == {"e", "E", "s", "c", "o", "h", "l", "v", "q"}
    assert [x["s"] for x in streams["!miniTicker@arr"][-1]] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]
    kline = streams["btcusdt@kline_1m"][-1]["k"]
    rest_kline = (await rest(session, server, "/api/v3/klines?symbol=BTCUSDT&interval=1m"))[-1]
    assert (kline["t"], kline["o"], kline["c"], kline["v"], kline["n"], kline["x"]) == (
        rest_kline[0],
        rest_kline[1],
        rest_kline[4],
        rest_kline[5],
        rest_kline[8],
        False,
    )
    avg = streams["btcusdt@avgPrice"][-1]
    assert (
        avg["e"] == "avgPrice"
        and avg["w"] == (await rest(session, server, "/api/v3/avgPrice?symbol=BTCUSDT"))["price"]
    )
    # When the minute rolls over, the finished kline is sent once more with x=true.
    await clock.advance(60)
    closed = [
        d["k"]
        for d in (m["data"] for m in await c.sync() if m["stream"] == "btcusdt@kline_1m")
        if d["k"]["x"]
    ]
    assert closed and closed[0]["t"] == kline["t"] and closed[0]["n"] == 1


async def test_mini_ticker_array_sends_only_changed_tickers(
    connect: Any, server: MockExchangeServer, clock: VirtualClock
) -> None:
    c: StreamClient = await connect("/ws/!miniTicker@arr")
    await clock.advance(1)
    [first] = await c.sync()
    assert [x["s"] for x in first] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]
    buy(server, "0.1")
    await clock.advance(1)
    [changed] = await c.sync()
    assert [x["s"] for x in changed] == ["BTCUSDT"] and changed[0]["v"] == "0.10000000"
    await clock.advance(3)
    assert await c.sync() == []  # nothing changed: nothing sent
    # python-binance spells the update speed out: the same stream.
    c2: StreamClient = await connect("/ws/!miniTicker@arr@1000ms")
    await clock.advance(1)
    [first] = await c2.sync()
    assert [x["s"] for x in first] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]


async def test_a_new_kline_subscriber_gets_no_stale_closed_kline(
    connect: Any, server: MockExchangeServer, clock: VirtualClock
) -> None:
    c: StreamClient = await connect("/ws/btcusdt@kline_1m")
    await clock.advance(2)
    assert await c.sync()
    await c.ws.close()
    await clock.advance(300)  # several minutes later, another client subscribes
    c = await connect("/ws/btcusdt@kline_1m")
    await clock.advance(2)
    klines = [m["k"] for m in await c.sync()]
    now_ms = clock.now_us() // 1000
    assert klines and all(not k["x"] and k["t"] <= now_ms <= k["T"] for k in klines)


async def test_diff_depth_keeps_its_cadence_beside_fast_partial_books(
    connect: Any, server: MockExchangeServer, clock: VirtualClock
) -> None:
    slow: StreamClient = await connect("/ws/btcusdt@depth")
    fast: StreamClient = await connect("/ws/btcusdt@depth5@100ms")
    acct = server.service.exchange.account_by_name("trader").account_id
    for i in range(30):  # a book change every 100 ms for 3 s
        server.service.place_order(
            NewOrder(
                acct,
                "BTCUSDT",
                Side.BUY,
                OrderType.LIMIT,
                quantity=parse_units("0.01"),
                price=parse_units(str(59_000 + i)),
                time_in_force=TimeInForce.GTC,
            )
        )
        await clock.advance(0.1)
    diffs = await slow.sync()
    assert len(await fast.sync()) == 30
    assert [m["E"] - diffs[0]["E"] for m in diffs] == [0, 1000, 2000]
    assert all(b["U"] == a["u"] + 1 for a, b in pairwise(diffs))


async def test_rolling_window_tickers(
    connect: Any, server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    c: StreamClient = await connect(
        "/stream?streams=btcusdt@ticker_1h/!ticker_4h@arr/btcusdt@referencePrice/btcusdt@blockTrade"
    )
    buy(server, "0.1")
    await clock.advance(1)
    streams = by_stream(await c.sync())
    [hour] = streams["btcusdt@ticker_1h"]
    now_ms = clock.now_us() // 1000
    assert hour["e"] == "1hTicker" and hour["s"] == "BTCUSDT" and hour["C"] == now_ms == hour["E"]
    # The window opens on a minute, up to 59,999 ms wider than the window.
    assert hour["O"] % 60_000 == 0 and 3_600_000 <= now_ms - hour["O"] < 3_660_000
    rest_ticker = await rest(session, server, "/api/v3/ticker/24hr?symbol=BTCUSDT")
    assert (hour["c"], hour["v"], hour["q"], hour["n"], hour["F"], hour["L"]) == (
        rest_ticker["lastPrice"],
        rest_ticker["volume"],
        rest_ticker["quoteVolume"],
        1,
        rest_ticker["firstId"],
        rest_ticker["lastId"],
    )
    [four] = streams["!ticker_4h@arr"]
    assert [x["s"] for x in four] == ["BTCUSDT", "ETHUSDT", "ETHBTC"] and four[0]["e"] == "4hTicker"
    assert streams["btcusdt@referencePrice"] == [
        {"e": "referencePrice", "s": "BTCUSDT", "r": None, "t": now_ms}
    ]
    assert "btcusdt@blockTrade" not in streams  # no block trades on the mock
    await clock.advance(1)
    later = [m["stream"] for m in await c.sync()]
    assert "!ticker_4h@arr" not in later and "btcusdt@ticker_1h" in later  # arrays: changes only
    r = await c.request("SUBSCRIBE", ["btcusdt@ticker_2h"])
    assert r["error"]["code"] == 2


async def test_legacy_listen_key_stream(
    connect: Any, server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    headers = {"X-MBX-APIKEY": "stream-key"}
    async with session.post(server.rest_url + "/api/v3/userDataStream", headers=headers) as r:
        key = (await r.json())["listenKey"]
    raw: StreamClient = await connect(f"/ws/{key}")
    combined: StreamClient = await connect(f"/stream?streams={key}")
    buy(server, "0.01")
    events = await raw.sync()
    assert [e["e"] for e in events] == ["executionReport", "executionReport", "outboundAccountPosition"]
    assert [e["x"] for e in events[:2]] == ["NEW", "TRADE"]
    wrapped = await combined.sync()
    assert [w["stream"] for w in wrapped] == [key] * 3 and [w["data"] for w in wrapped] == events
    await clock.advance(31)  # listen_key_validity is 30 s in these tests
    [expired] = await raw.sync()
    assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
    assert clock.now_us() // 1000 - 1000 <= expired["E"] <= clock.now_us() // 1000
    buy(server, "0.01")
    assert await raw.sync() == []
