"""Account, commission, myTrades and order rate limits, consistent with orders and fills."""

from __future__ import annotations

from mock_exchange.clock import VirtualClock
from mock_exchange.server import MockExchangeServer
from tests.support.rest_client import RestClient


def balances(body: dict) -> dict[str, tuple[str, str]]:
    return {b["asset"]: (b["free"], b["locked"]) for b in body["balances"]}


async def test_account_shape_and_locking(client: RestClient) -> None:
    r = await client.signed("GET", "/api/v3/account")
    acct = r.body
    assert acct["makerCommission"] == 10 and acct["takerCommission"] == 10
    assert acct["commissionRates"]["maker"] == "0.00100000"
    assert acct["canTrade"] is True and acct["accountType"] == "SPOT" and acct["permissions"] == ["SPOT"]
    assert balances(acct) == {
        "BTC": ("1.00000000", "0.00000000"),
        "ETH": ("10.00000000", "0.00000000"),
        "USDT": ("100000.00000000", "0.00000000"),
    }
    await client.signed(
        "POST",
        "/api/v3/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.1",
        price="59000",
    )
    r = await client.signed("GET", "/api/v3/account")
    assert balances(r.body)["USDT"] == ("94100.00000000", "5900.00000000")


async def test_omit_zero_balances(client: RestClient) -> None:
    await client.signed("POST", "/api/v3/order", symbol="ETHUSDT", side="SELL", type="MARKET", quantity="10")
    r = await client.signed("GET", "/api/v3/account")
    assert balances(r.body)["ETH"] == ("0.00000000", "0.00000000")
    r = await client.signed("GET", "/api/v3/account", omitZeroBalances="true")
    assert "ETH" not in balances(r.body)


async def test_commission_endpoint(client: RestClient) -> None:
    r = await client.signed("GET", "/api/v3/account/commission", symbol="BTCUSDT")
    assert r.body["symbol"] == "BTCUSDT"
    assert r.body["standardCommission"] == {
        "maker": "0.00100000",
        "taker": "0.00100000",
        "buyer": "0.00000000",
        "seller": "0.00000000",
    }
    assert r.body["taxCommission"]["maker"] == "0.00000000"


async def test_my_trades_match_fills(client: RestClient, clock: VirtualClock) -> None:
    placed = (
        await client.signed(
            "POST", "/api/v3/order", symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.3"
        )
    ).body
    r = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT")
    assert len(r.body) == 2
    for t, f in zip(r.body, placed["fills"], strict=True):
        assert t["id"] == f["tradeId"] and t["price"] == f["price"] and t["qty"] == f["qty"]
        assert (t["commission"], t["commissionAsset"]) == (f["commission"], f["commissionAsset"])
        assert t["commissionAsset"] == "USDT"  # a seller receives, and pays in, the quote asset
        assert t["isBuyer"] is False and t["isMaker"] is False and t["orderId"] == placed["orderId"]
        assert t["orderListId"] == -1 and t["isBestMatch"] is True
    assert list(r.body[0]) == [
        "symbol",
        "id",
        "orderId",
        "orderListId",
        "price",
        "qty",
        "quoteQty",
        "commission",
        "commissionAsset",
        "time",
        "isBuyer",
        "isMaker",
        "isBestMatch",
    ]
    r2 = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT", orderId=placed["orderId"])
    assert r2.body == r.body and int(r2.header("X-MBX-USED-WEIGHT-1M") or 0) > 0
    first = r.body[0]["id"]
    r = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT", fromId=first + 1)
    assert [t["id"] for t in r.body] == [first + 1]
    now = clock.now_us() // 1000
    r = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT", startTime=now - 1000, endTime=now)
    assert len(r.body) == 2


async def test_my_trades_parameter_combinations(client: RestClient, clock: VirtualClock) -> None:
    now = clock.now_us() // 1000
    r = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT", orderId=1, startTime=now)
    assert (r.code, r.msg) == (-1128, "Combination of optional parameters invalid.")
    r = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT", fromId=1, startTime=now)
    assert r.code == -1128
    r = await client.signed(
        "GET", "/api/v3/myTrades", symbol="BTCUSDT", startTime=now - 90_000_000, endTime=now
    )
    assert (r.code, r.msg) == (-1127, "More than 24 hours between startTime and endTime.")
    r = await client.signed("GET", "/api/v3/myTrades")
    assert r.code == -1102


async def test_order_rate_limit_counts(client: RestClient) -> None:
    for _ in range(3):  # resting, never filled: each stays on the unfilled order count
        await client.signed(
            "POST",
            "/api/v3/order",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.001",
            price="59000",
        )
    r = await client.signed("GET", "/api/v3/rateLimit/order")
    assert r.body == [
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 3},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000, "count": 3},
    ]


async def test_maker_side_sees_its_own_fills(
    client: RestClient, mm_client: RestClient, server: MockExchangeServer
) -> None:
    await client.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.1")
    r = await mm_client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT")
    [t] = r.body
    assert t["isBuyer"] is False and t["isMaker"] is True and t["commission"] == "0.00000000"
