"""Public market data endpoints: fields, types, parameters and errors."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.engine import SymbolStatus
from mock_exchange.server import MockExchangeServer
from tests.support.rest_client import RestClient

DEC = re.compile(r"^-?[0-9]+\.[0-9]{8}$")


def is_dec(v: object) -> bool:
    return isinstance(v, str) and bool(DEC.match(v))


async def buy_market(client: RestClient, qty: str = "0.01") -> dict:
    r = await client.signed(
        "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity=qty
    )
    assert r.status == 200, r.body
    return r.body


async def test_ping_and_time(client: RestClient, clock: VirtualClock) -> None:
    r = await client.public("GET", "/api/v3/ping")
    assert (r.status, r.body) == (200, {})
    r = await client.public("GET", "/api/v3/time")
    assert r.body == {"serverTime": clock.now_us() // 1000}
    r = await client.raw("GET", "/api/v3/time", headers={"X-MBX-TIME-UNIT": "MICROSECOND"})
    assert r.body == {"serverTime": clock.now_us()}
    r = await client.raw("GET", "/api/v3/time", headers={"X-MBX-TIME-UNIT": "SECONDS"})
    assert (r.code, r.msg) == (
        -1194,
        "Invalid value for time unit; expected either MICROSECOND or MILLISECOND.",
    )


async def test_exchange_info_shape(client: RestClient) -> None:
    r = await client.public("GET", "/api/v3/exchangeInfo")
    assert r.status == 200
    info = r.body
    assert info["timezone"] == "UTC" and isinstance(info["serverTime"], int)
    assert {x["rateLimitType"] for x in info["rateLimits"]} == {"REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"}
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]
    btc = info["symbols"][0]
    assert btc["status"] == "TRADING" and btc["permissions"] == []
    assert any("SPOT" in group for group in btc["permissionSets"])
    assert btc["baseAsset"] == "BTC" and btc["quoteAssetPrecision"] == 8
    kinds = [f["filterType"] for f in btc["filters"]]
    assert kinds[:2] == ["PRICE_FILTER", "LOT_SIZE"] and "NOTIONAL" in kinds
    price_filter = btc["filters"][0]
    assert price_filter["tickSize"] == "0.01000000" and is_dec(price_filter["minPrice"])
    assert "EXPIRE_TAKER" in btc["allowedSelfTradePreventionModes"]
    assert btc["quoteOrderQtyMarketAllowed"] is True


async def test_exchange_info_filters_and_errors(client: RestClient) -> None:
    r = await client.public("GET", "/api/v3/exchangeInfo", symbol="ETHBTC")
    assert [s["symbol"] for s in r.body["symbols"]] == ["ETHBTC"]
    r = await client.public("GET", "/api/v3/exchangeInfo", symbols='["ETHBTC","BTCUSDT"]')
    assert [s["symbol"] for s in r.body["symbols"]] == ["ETHBTC", "BTCUSDT"]
    r = await client.public("GET", "/api/v3/exchangeInfo", permissions="SPOT")
    assert len(r.body["symbols"]) == 3
    r = await client.public("GET", "/api/v3/exchangeInfo", permissions='["MARGIN"]')
    assert r.body["symbols"] == []
    r = await client.public("GET", "/api/v3/exchangeInfo", symbol="NOPE")
    assert (r.status, r.code, r.msg) == (400, -1121, "Invalid symbol.")
    r = await client.public("GET", "/api/v3/exchangeInfo", symbols='["ETHBTC","ETHBTC"]')
    assert (r.code, r.msg) == (-1151, "Symbol is present multiple times in the list.")
    r = await client.public("GET", "/api/v3/exchangeInfo", symbols="ETHBTC")
    assert r.code == -1100
    r = await client.public("GET", "/api/v3/exchangeInfo", symbol="ETHBTC", permissions="SPOT")
    assert r.code == -1128
    r = await client.public("GET", "/api/v3/exchangeInfo", showPermissionSets="false")
    # The field stays, empty ("controls whether the content ... is populated").
    assert r.body["symbols"][0]["permissionSets"] == []
    keys = list(r.body["symbols"][0])
    assert keys[keys.index("permissions") + 1] == "permissionSets"


@pytest.mark.parametrize(
    ("limit", "weight", "levels"), [(None, 5, 20), (5, 5, 5), (101, 25, 20), (1000, 50, 20), (5001, 250, 20)]
)
async def test_depth_limits_and_weights(
    client: RestClient, limit: int | None, weight: int, levels: int
) -> None:
    params = {"symbol": "BTCUSDT"} if limit is None else {"symbol": "BTCUSDT", "limit": limit}
    before = int((await client.public("GET", "/api/v3/ping")).header("X-MBX-USED-WEIGHT-1M") or 0)
    r = await client.public("GET", "/api/v3/depth", **params)
    assert r.status == 200
    assert int(r.header("X-MBX-USED-WEIGHT-1M") or 0) == before + weight
    bids, asks = r.body["bids"], r.body["asks"]
    assert len(bids) == levels and len(asks) == levels
    assert [float(b[0]) for b in bids] == sorted((float(b[0]) for b in bids), reverse=True)  # float ok
    assert [float(a[0]) for a in asks] == sorted(float(a[0]) for a in asks)  # float ok
    assert all(is_dec(p) and is_dec(q) for p, q in bids + asks)
    assert isinstance(r.body["lastUpdateId"], int)


async def test_depth_errors(client: RestClient) -> None:
    r = await client.public("GET", "/api/v3/depth")
    assert (r.code, r.msg) == (
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    )
    r = await client.public("GET", "/api/v3/depth", symbol="BTCUSDT", limit="ten")
    assert r.code == -1100 and "'limit'" in (r.msg or "")
    r = await client.public("GET", "/api/v3/depth", symbol="BTCUSDT", symbolStatus="HALT")
    assert r.code == -1220
    r = await client.public("GET", "/api/v3/depth", symbol="BTCUSDT", symbolStatus="NAP")
    assert r.code == -1122
    r = await client.public("GET", "/api/v3/depth", symbol="BTCUSDT", foo="1")
    assert (r.code, r.msg) == (
        -1104,
        "Not all sent parameters were read; read '1' parameter(s) but was sent '2'.",
    )
    r = await client.raw("GET", "/api/v3/depth", query="symbol=BTCUSDT&symbol=ETHBTC")
    assert (r.code, r.msg) == (-1101, "Duplicate values for a parameter detected.")


async def test_trades_and_history(client: RestClient) -> None:
    order = await buy_market(client, "0.3")  # walks two 0.25 levels
    trade_ids = [f["tradeId"] for f in order["fills"]]
    r = await client.public("GET", "/api/v3/trades", symbol="BTCUSDT")
    assert [t["id"] for t in r.body] == trade_ids
    t = r.body[0]
    assert set(t) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}
    assert t["isBuyerMaker"] is False and is_dec(t["quoteQty"])
    r = await client.public("GET", "/api/v3/historicalTrades", symbol="BTCUSDT", fromId=trade_ids[1])
    assert [t["id"] for t in r.body] == trade_ids[1:]
    r = await client.public("GET", "/api/v3/trades", symbol="BTCUSDT", limit=1001)
    assert (r.code, r.msg) == (-1102, "'limit' contains unexpected value. Cannot be greater than 1000.")
    r = await client.public("GET", "/api/v3/aggTrades", symbol="BTCUSDT")
    assert [(a["f"], a["l"]) for a in r.body] == [(trade_ids[0], trade_ids[0]), (trade_ids[1], trade_ids[1])]
    assert set(r.body[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}


async def test_klines_avg_price_and_tickers(client: RestClient, clock: VirtualClock) -> None:
    await buy_market(client, "0.1")
    await clock.advance(61)
    await buy_market(client, "0.1")
    r = await client.public("GET", "/api/v3/klines", symbol="BTCUSDT", interval="1m")
    assert len(r.body) == 2 and len(r.body[0]) == 12
    row = r.body[0]
    assert isinstance(row[0], int) and is_dec(row[1]) and row[8] == 1 and row[6] == row[0] + 59_999
    r = await client.public("GET", "/api/v3/klines", symbol="BTCUSDT", interval="1H")
    assert (r.code, r.msg) == (-1120, "Invalid interval.")
    r = await client.public("GET", "/api/v3/avgPrice", symbol="BTCUSDT")
    assert r.body["mins"] == 5 and r.body["price"] == "60005.00000000"
    r = await client.public("GET", "/api/v3/ticker/price", symbol="BTCUSDT")
    assert r.body == {"symbol": "BTCUSDT", "price": "60005.00000000"}
    r = await client.public("GET", "/api/v3/ticker/price")
    assert [x["symbol"] for x in r.body] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]
    r = await client.public("GET", "/api/v3/ticker/bookTicker", symbols='["ETHBTC"]')
    assert r.body == [
        {
            "symbol": "ETHBTC",
            "bidPrice": "0.04995000",
            "bidQty": "2.00000000",
            "askPrice": "0.05005000",
            "askQty": "2.00000000",
        }
    ]
    r = await client.public("GET", "/api/v3/ticker/24hr", symbol="BTCUSDT")
    t = r.body
    assert t["lastPrice"] == "60005.00000000" and t["count"] == 2 and t["volume"] == "0.20000000"
    assert isinstance(t["firstId"], int) and t["priceChangePercent"] == "0.000"
    r = await client.public("GET", "/api/v3/ticker/24hr", symbol="BTCUSDT", type="MINI")
    assert "priceChange" not in r.body and "lastPrice" in r.body
    r = await client.public("GET", "/api/v3/ticker/24hr", symbol="BTCUSDT", type="MAXI")
    assert (r.code, r.msg) == (-1139, "Invalid ticker type.")
    r = await client.public("GET", "/api/v3/ticker/24hr", symbol="BTCUSDT", symbols='["BTCUSDT"]')
    assert r.code == -1128


async def test_time_bounds_are_inclusive_to_the_millisecond(client: RestClient, clock: VirtualClock) -> None:
    # The exchange keeps microseconds; a trade half a millisecond into ms T is "at" T.
    await clock.advance(0.0005)
    order = await buy_market(client, "0.1")
    t = order["transactTime"]
    assert clock.now_us() == t * 1000 + 500
    for bounds in ({"endTime": t}, {"startTime": t, "endTime": t}):
        r = await client.public("GET", "/api/v3/aggTrades", symbol="BTCUSDT", **bounds)
        assert [a["T"] for a in r.body] == [t], bounds
        r = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT", **bounds)
        assert [x["time"] for x in r.body] == [t], bounds
        r = await client.signed("GET", "/api/v3/allOrders", symbol="BTCUSDT", **bounds)
        assert [o["orderId"] for o in r.body] == [order["orderId"]], bounds
    # aggTrades' one-hour limit was removed on 2022-12-05 (CHANGELOG).
    r = await client.public("GET", "/api/v3/aggTrades", symbol="BTCUSDT", startTime=t - 7_200_000, endTime=t)
    assert r.status == 200 and len(r.body) == 1
    # "fromId cannot be used together with startTime and endTime".
    for bounds in ({"startTime": t}, {"endTime": t}):
        r = await client.public("GET", "/api/v3/aggTrades", symbol="BTCUSDT", fromId=0, **bounds)
        assert (r.code, r.msg) == (-1128, "Combination of optional parameters invalid."), bounds


async def test_end_time_alone_pages_back_from_the_newest(client: RestClient, clock: VirtualClock) -> None:
    """ "With endTime, returns most recent items up to endTime and the limit"; with
    startTime, the oldest from it (rest-api.md, General API Information)."""
    orders = []
    for _ in range(4):
        orders.append(await buy_market(client, "0.01"))
        await clock.advance(1)
    ids = [o["orderId"] for o in orders]
    times = [o["transactTime"] for o in orders]
    end = times[2]  # the fourth order is after the window
    r = await client.public("GET", "/api/v3/aggTrades", symbol="BTCUSDT", endTime=end, limit=2)
    assert [a["T"] for a in r.body] == times[1:3]
    r = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT", endTime=end, limit=2)
    assert [x["orderId"] for x in r.body] == ids[1:3]
    r = await client.signed("GET", "/api/v3/allOrders", symbol="BTCUSDT", endTime=end, limit=2)
    assert [o["orderId"] for o in r.body] == ids[1:3]
    r = await client.signed("GET", "/api/v3/allOrders", symbol="BTCUSDT", startTime=times[1], limit=2)
    assert [o["orderId"] for o in r.body] == ids[1:3]
    r = await client.public("GET", "/api/v3/aggTrades", symbol="BTCUSDT", startTime=times[1], limit=2)
    assert [a["T"] for a in r.body] == times[1:3]
    # "If startTime and/or endTime are specified, orderId is ignored."
    r = await client.signed("GET", "/api/v3/allOrders", symbol="BTCUSDT", orderId=ids[3], endTime=end)
    assert [o["orderId"] for o in r.body] == ids[:3]


async def test_klines_are_selected_by_open_time_and_always_whole(
    client: RestClient, clock: VirtualClock
) -> None:
    # The clock starts at 20:26:40 UTC: both trades fall in the 20:26 minute.
    await buy_market(client, "0.1")
    first = clock.now_us() // 1000
    await clock.advance(10)
    await buy_market(client, "0.2")
    minute = first - first % 60_000

    async def klines(**bounds: int) -> list[list]:
        r = await client.public("GET", "/api/v3/klines", symbol="BTCUSDT", interval="1m", **bounds)
        assert r.status == 200, r.body
        return r.body

    whole = await klines()
    assert [(k[0], k[5], k[8]) for k in whole] == [(minute, "0.30000000", 3)]  # 0.2 walks two levels
    # Any bounds that select this kline return all of it, not the trades inside the bounds.
    assert await klines(startTime=minute, endTime=minute) == whole
    assert await klines(endTime=first) == whole
    assert await klines(startTime=minute - 30_000, endTime=first) == whole
    # A kline that opened before startTime is not selected.
    assert await klines(startTime=first + 5_000) == []
    assert await klines(startTime=minute + 1) == []


async def test_klines_without_trades_are_flat_at_the_previous_close(
    client: RestClient, clock: VirtualClock
) -> None:
    await buy_market(client, "0.1")  # 60005, in the 20:26 minute
    minute = clock.now_us() // 1000 // 60_000 * 60_000
    await clock.advance(180)  # three quiet minutes later, another trade
    await buy_market(client, "0.3")  # 60005 then 60010: closes at 60010
    await clock.advance(120)  # and two more quiet minutes: now in the 20:31 minute

    async def klines(**params: Any) -> list[list[Any]]:
        r = await client.public("GET", "/api/v3/klines", symbol="BTCUSDT", interval="1m", **params)
        assert r.status == 200, r.body
        return r.body

    rows = await klines()
    assert [row[0] for row in rows] == [minute + i * 60_000 for i in range(6)]  # up to now's
    assert [(row[4], row[5], row[8]) for row in rows] == [
        ("60005.00000000", "0.10000000", 1),
        ("60005.00000000", "0.00000000", 0),  # flat at the previous close
        ("60005.00000000", "0.00000000", 0),
        ("60010.00000000", "0.30000000", 2),
        ("60010.00000000", "0.00000000", 0),
        ("60010.00000000", "0.00000000", 0),  # the current kline, still open
    ]
    quiet = rows[1]
    assert quiet[1] == quiet[2] == quiet[3] == quiet[4] and quiet[6] == quiet[0] + 59_999
    assert await klines(limit=2) == rows[-2:]
    assert await klines(startTime=minute + 1, limit=2) == rows[1:3]
    assert await klines(startTime=minute, endTime=minute + 120_000) == rows[:3]
    assert await klines(endTime=minute - 1) == []  # before the first trade: no price yet


async def test_weekly_klines_open_on_monday(client: RestClient, clock: VirtualClock) -> None:
    await buy_market(client, "0.1")
    r = await client.public("GET", "/api/v3/klines", symbol="BTCUSDT", interval="1w")
    [row] = r.body
    opened = dt.datetime.fromtimestamp(row[0] / 1000, tz=dt.UTC)
    assert (opened.weekday(), opened.hour, opened.minute) == (0, 0, 0)
    assert row[0] <= clock.now_us() // 1000 <= row[6] == row[0] + 7 * 86_400_000 - 1
    r = await client.public("GET", "/api/v3/klines", symbol="BTCUSDT", interval="1w", timeZone="8")
    [row] = r.body
    opened = dt.datetime.fromtimestamp(row[0] / 1000, tz=dt.timezone(dt.timedelta(hours=8)))
    assert (opened.weekday(), opened.hour) == (0, 0)


async def test_tickers_filter_by_symbol_status(client: RestClient, server: MockExchangeServer) -> None:
    server.service.exchange.engine("ETHBTC").cfg.status = SymbolStatus.HALT
    for path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker", "/api/v3/ticker/24hr"):
        r = await client.public("GET", path, symbolStatus="TRADING")
        assert [x["symbol"] for x in r.body] == ["BTCUSDT", "ETHUSDT"], path
        r = await client.public("GET", path, symbols='["ETHBTC","BTCUSDT"]', symbolStatus="HALT")
        assert [x["symbol"] for x in r.body] == ["ETHBTC"], path
        r = await client.public("GET", path, symbol="BTCUSDT", symbolStatus="TRADING")
        assert r.body["symbol"] == "BTCUSDT", path
        r = await client.public("GET", path, symbol="ETHBTC", symbolStatus="TRADING")
        assert (r.status, r.code, r.msg) == (
            400,
            -1220,
            "The symbol's status does not match the requested symbolStatus.",
        ), path
        r = await client.public("GET", path, symbolStatus="END_OF_DAY")
        assert (r.code, r.msg) == (-1122, "Invalid symbolStatus."), path
    r = await client.public("GET", "/api/v3/exchangeInfo", symbolStatus="HALT")
    assert [x["symbol"] for x in r.body["symbols"]] == ["ETHBTC"]


async def test_before_any_trade_the_last_price_is_the_books_mid(client: RestClient) -> None:
    # A listed symbol has always traded: on a fresh exchange the configured mid stands in.
    r = await client.public("GET", "/api/v3/ticker/price", symbol="BTCUSDT")
    assert r.body["price"] == "60000.00000000"
    r = await client.public("GET", "/api/v3/avgPrice", symbol="BTCUSDT")
    assert r.body["price"] == "60000.00000000"
    # So a market order's notional is judged (0.00001 BTC is 0.60 USDT < minNotional 5)...
    r = await client.signed(
        "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.00001"
    )
    assert (r.code, r.msg) == (-1013, "Filter failure: NOTIONAL")
    # ...and a BUY stop at or below the market would trigger at once.
    r = await client.signed(
        "POST",
        "/api/v3/order",
        symbol="BTCUSDT",
        side="BUY",
        type="STOP_LOSS",
        quantity="0.01",
        stopPrice="59990",
    )
    assert (r.code, r.msg) == (-2010, "Order would trigger immediately.")
    r = await client.public("GET", "/api/v3/trades", symbol="BTCUSDT")
    assert r.body == []


async def test_rolling_window_ticker(client: RestClient, clock: VirtualClock) -> None:
    await buy_market(client, "0.1")
    await clock.advance(120)  # two minutes on: a 1m window no longer holds the trade
    r = await client.public("GET", "/api/v3/ticker", symbol="BTCUSDT", windowSize="5m")
    t = r.body
    assert list(t) == [
        "symbol",
        "priceChange",
        "priceChangePercent",
        "weightedAvgPrice",
        "openPrice",
        "highPrice",
        "lowPrice",
        "lastPrice",
        "volume",
        "quoteVolume",
        "openTime",
        "closeTime",
        "firstId",
        "lastId",
        "count",
    ]
    now_ms = clock.now_us() // 1000
    assert t["closeTime"] == now_ms and t["openTime"] % 60_000 == 0
    assert 300_000 <= now_ms - t["openTime"] < 360_000  # up to 59,999 ms wider than the window
    assert (t["count"], t["volume"], t["lastPrice"]) == (1, "0.10000000", "60005.00000000")
    assert r.header("X-MBX-USED-WEIGHT-1M") is not None
    r = await client.public("GET", "/api/v3/ticker", symbol="BTCUSDT", windowSize="1m")
    assert (r.body["count"], r.body["volume"]) == (0, "0.00000000")
    r = await client.public("GET", "/api/v3/ticker", symbols='["BTCUSDT","ETHBTC"]', type="MINI")
    assert [x["symbol"] for x in r.body] == ["BTCUSDT", "ETHBTC"] and "priceChange" not in r.body[0]
    assert r.body[0]["closeTime"] - r.body[0]["openTime"] >= 86_400_000  # the default: 1d
    for params, code in [
        ({}, -1102),  # symbol or symbols is mandatory
        ({"symbol": "BTCUSDT", "windowSize": "60m"}, -1130),
        ({"symbol": "BTCUSDT", "windowSize": "1d2h"}, -1130),
        ({"symbol": "BTCUSDT", "windowSize": "8d"}, -1130),
        ({"symbol": "BTCUSDT", "windowSize": "\u00b2m"}, -1130),  # "²": a digit to str.isdigit
        ({"symbol": "BTCUSDT", "windowSize": "\u0661m"}, -1130),  # Arabic-Indic one
        ({"symbol": "BTCUSDT", "type": "MAXI"}, -1139),
    ]:
        r = await client.public("GET", "/api/v3/ticker", **params)
        assert (r.status, r.code) == (400, code), params
    r = await client.public("GET", "/api/v3/ticker")
    assert r.msg == "Param 'symbol' or 'symbols' must be sent, but both were empty/null!"
    # Weight: 4 per symbol.
    before = int((await client.public("GET", "/api/v3/ping")).header("X-MBX-USED-WEIGHT-1M") or 0)
    r = await client.public("GET", "/api/v3/ticker", symbols='["BTCUSDT","ETHBTC","ETHUSDT"]')
    assert int(r.header("X-MBX-USED-WEIGHT-1M") or 0) == before + 12


async def test_klines_never_crash_on_extreme_or_odd_parameters(client: RestClient) -> None:
    """A start far in the future has no klines (it crashed the calendar-month arithmetic
    with a 500); a timeZone is ASCII hours[:minutes] only."""
    await client.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    for interval in ("1M", "1w", "1m"):
        r = await client.public(
            "GET", "/api/v3/klines", symbol="BTCUSDT", interval=interval, startTime=str(2**63 - 1)
        )
        assert (r.status, r.body) == (200, []), interval
    for tz in ("\u0661", "1_0", "8\n", "+8:0", "08:00:00"):
        r = await client.public("GET", "/api/v3/klines", symbol="BTCUSDT", interval="1h", timeZone=tz)
        assert (r.status, r.code) == (400, -1130), tz
    r = await client.public("GET", "/api/v3/klines", symbol="BTCUSDT", interval="1h", timeZone="-1:30")
    assert r.status == 200


async def test_unknown_path_and_method(client: RestClient) -> None:
    r = await client.public("GET", "/api/v3/nothing")
    assert r.status == 404
    r = await client.public("PATCH", "/api/v3/order")
    assert r.status == 405


async def test_binance_endpoints_the_mock_does_not_model(client: RestClient) -> None:
    """A Binance endpoint the mock leaves out answers a parseable Binance error, not the HTML
    404 of a wrong path; its weight header is still there."""
    for method, path in (
        ("POST", "/api/v3/orderList/oco"),
        ("GET", "/api/v3/openOrderList"),
        ("GET", "/api/v3/myPreventedMatches"),
        ("PUT", "/api/v3/order/amend/keepPriority"),
        ("GET", "/api/v3/ticker/tradingDay"),
    ):
        r = await client.public(method, path, symbol="BTCUSDT")
        assert (r.status, r.code, r.msg) == (400, -1020, "This operation is not supported."), path
        assert r.headers["Content-Type"].startswith("application/json")
        assert "X-MBX-USED-WEIGHT-1M" in r.headers
    # The same path with a method Binance does not serve is still an unknown path.
    r = await client.public("GET", "/api/v3/orderList/oco")
    assert r.status == 404


async def test_reference_price_never_set(client: RestClient) -> None:
    """No reference prices in the mock: its stream sends ``"r": null``, and the query
    answers as for a symbol whose reference price was never set."""
    r = await client.public("GET", "/api/v3/referencePrice", symbol="BTCUSDT")
    assert (r.status, r.code, r.msg) == (400, -2043, "This symbol doesn't have a reference price.")
    r = await client.public("GET", "/api/v3/referencePrice", symbol="NOPE")
    assert (r.code, r.msg) == (-1121, "Invalid symbol.")
    r = await client.public("GET", "/api/v3/referencePrice")
    assert r.code == -1102
    assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) >= 2
