"""Request weight, 429 with Retry-After, escalation to a 418 ban, order counts, legacy keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.config import load_config
from mock_exchange.server import MockExchangeServer
from tests.support.rest_client import Reply, RestClient


@pytest.fixture
async def tight(clock: VirtualClock) -> AsyncIterator[MockExchangeServer]:
    config = load_config()
    config.rate_limits.request_weight_per_minute = 50
    config.rate_limits.orders_per_10s = 3
    config.rate_limits.ban_after_violations = 2
    config.legacy_listen_key = True
    trader = config.account("trader")
    trader.api_key, trader.api_secret = "k", "s"
    async with MockExchangeServer(config, clock=clock) as s:
        yield s


@pytest.fixture
def tight_client(
    tight: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> RestClient:
    return RestClient(session, tight.rest_url, "k", "s", lambda: clock.now_us() // 1000)


async def test_weight_header_counts_per_minute(tight_client: RestClient, clock: VirtualClock) -> None:
    r = await tight_client.public("GET", "/api/v3/exchangeInfo")
    assert r.header("X-MBX-USED-WEIGHT-1M") == "20"
    r = await tight_client.public("GET", "/api/v3/ping")
    assert r.header("X-MBX-USED-WEIGHT-1M") == "21"
    await clock.advance(60)
    r = await tight_client.public("GET", "/api/v3/ping")
    assert r.header("X-MBX-USED-WEIGHT-1M") == "1"


async def test_429_then_418_ban(tight_client: RestClient, clock: VirtualClock) -> None:
    # Align to the start of a minute so the window does not roll over mid-test.
    await clock.advance(60 - (clock.now_us() // 1_000_000) % 60)
    for _ in range(2):
        assert (await tight_client.public("GET", "/api/v3/exchangeInfo")).status == 200
    r = await tight_client.public("GET", "/api/v3/exchangeInfo")  # 60 > 50
    assert (r.status, r.code) == (429, -1003)
    assert r.msg == (
        "Too much request weight used; current limit is 50 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API."
    )
    assert r.header("Retry-After") == "60"
    assert r.header("X-MBX-USED-WEIGHT-1M") == "40"
    assert (await tight_client.public("GET", "/api/v3/ping")).status == 200  # 41 <= 50
    r = await tight_client.public("GET", "/api/v3/exchangeInfo")
    assert r.status == 429
    r = await tight_client.public("GET", "/api/v3/exchangeInfo")  # third violation: banned
    assert (r.status, r.code) == (418, -1003)
    assert (r.msg or "").startswith("Way too much request weight used; IP banned until ")
    assert r.header("Retry-After") == "120"
    await clock.advance(61)
    r = await tight_client.public("GET", "/api/v3/ping")
    assert r.status == 418 and r.header("Retry-After") == "59"
    await clock.advance(60)
    assert (await tight_client.public("GET", "/api/v3/ping")).status == 200


async def test_legacy_weight_header_twins_the_1m_one(tight_client: RestClient) -> None:
    """CHANGELOG: "The legacy header X-MBX-USED-WEIGHT will still be returned"."""
    for path in ("/api/v3/exchangeInfo", "/api/v3/ticker/tradingDay", "/api/v3/depth"):
        r = await tight_client.public("GET", path)  # 200, -1020, -1102
        legacy = r.header("X-MBX-USED-WEIGHT")
        assert legacy is not None and legacy == r.header("X-MBX-USED-WEIGHT-1M"), path


async def test_banned_ip_gets_418_before_any_other_check(
    tight: MockExchangeServer, tight_client: RestClient, clock: VirtualClock
) -> None:
    """A ban answers every request with 418, even one the server would refuse first
    for its parameters, its time unit or its path."""
    tight.service.limiter.ban("127.0.0.1", 300, clock.now_us())
    replies = [
        await tight_client.raw("GET", "/api/v3/depth", query="symbol=BTCUSDT&symbol=BTCUSDT"),
        await tight_client.raw("GET", "/api/v3/ping", headers={"X-MBX-TIME-UNIT": "SECOND"}),
        await tight_client.public("GET", "/api/v3/ticker/tradingDay"),
        await tight_client.public("GET", "/api/v3/ping"),
    ]
    for r in replies:
        assert (r.status, r.code, r.header("Retry-After")) == (418, -1003, "300"), r
    # Outside Binance's API paths there is nothing to ban: a 404 stays a 404.
    assert (await tight_client.public("GET", "/nothing/here")).status == 404


async def resting_buy(client: RestClient, price: str = "59000") -> Reply:
    """A limit buy below the book's best ask: it rests unfilled."""
    return await client.signed(
        "POST",
        "/api/v3/order",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.001",
        price=price,
    )


async def market_buy(client: RestClient) -> Reply:
    """A market buy: it fills at once as a taker."""
    return await client.signed(
        "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
    )


async def order_counts(client: RestClient) -> tuple[int, int]:
    """(10 SECOND, 1 DAY) unfilled order counts, as ``rateLimit/order`` reports them."""
    r = await client.signed("GET", "/api/v3/rateLimit/order")
    counts = {x["interval"]: x["count"] for x in r.body}
    return counts["SECOND"], counts["DAY"]


async def test_order_count_limit(tight_client: RestClient, clock: VirtualClock) -> None:
    await clock.advance(10 - (clock.now_us() // 1_000_000) % 10)
    for i in range(3):
        r = await resting_buy(tight_client)
        assert r.header("X-MBX-ORDER-COUNT-10S") == str(i + 1)
    r = await resting_buy(tight_client)
    assert (r.status, r.code, r.msg) == (
        429,
        -1015,
        "Too many new orders; current limit is 3 orders per 10 SECOND.",
    )
    assert r.header("Retry-After") == "10"
    await clock.advance(10)
    r = await resting_buy(tight_client)
    assert r.status == 200 and r.header("X-MBX-ORDER-COUNT-10S") == "1"
    assert r.header("X-MBX-ORDER-COUNT-1D") == "4"


@pytest.fixture
async def three_orders(clock: VirtualClock) -> AsyncIterator[MockExchangeServer]:
    """At most 3 unfilled orders per 10 seconds; the other limits as configured by default."""
    config = load_config()
    config.rate_limits.orders_per_10s = 3
    trader = config.account("trader")
    trader.api_key, trader.api_secret = "k", "s"
    async with MockExchangeServer(config, clock=clock) as s:
        yield s


async def test_a_first_fill_takes_the_order_off_the_unfilled_count(
    three_orders: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    """faqs/order_count_decrement.md: an order's first fill, as taker or as maker, takes
    one off the count in every interval; later fills do not; never below zero."""
    client = RestClient(session, three_orders.rest_url, "k", "s", lambda: clock.now_us() // 1000)
    await clock.advance(10 - (clock.now_us() // 1_000_000) % 10)
    r = await market_buy(client)  # +1, filled as taker -1
    assert r.status == 200 and r.body["status"] == "FILLED"
    assert (r.header("X-MBX-ORDER-COUNT-10S"), r.header("X-MBX-ORDER-COUNT-1D")) == ("0", "0")
    makers = [(await resting_buy(client, price)).body["orderId"] for price in ("60000", "59999", "59998")]
    assert await order_counts(client) == (3, 3)
    assert (await market_buy(client)).code == -1015  # at the limit
    # Another participant sells into the first resting buy, partially: its first fill.
    control = three_orders.control
    control.place_order("market-maker", "BTCUSDT", "SELL", quantity="0.0005", price="60000")
    assert await order_counts(client) == (2, 2)
    control.place_order("market-maker", "BTCUSDT", "SELL", quantity="0.0005", price="60000")  # fills it
    assert await order_counts(client) == (2, 2)
    r = await market_buy(client)  # admitted again
    assert (r.status, r.header("X-MBX-ORDER-COUNT-10S"), r.header("X-MBX-ORDER-COUNT-1D")) == (200, "2", "2")
    # Next window: 0 unfilled orders there. A fill of an order placed in the earlier
    # window still lowers the current counts, but not below zero.
    await clock.advance(10)
    control.place_order("market-maker", "BTCUSDT", "SELL", quantity="0.001", price="59999")
    assert await order_counts(client) == (0, 1)
    orders = control.orders("trader", "BTCUSDT")
    assert {o["orderId"]: o["status"] for o in orders if o["orderId"] in makers} == {
        makers[0]: "FILLED",
        makers[1]: "FILLED",
        makers[2]: "NEW",
    }


async def test_successful_orders_cost_no_weight(client: RestClient) -> None:
    r = await client.signed(
        "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
    )
    assert r.header("X-MBX-USED-WEIGHT-1M") == "0"
    r = await client.signed(
        "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="1000"
    )
    assert r.status == 400 and r.header("X-MBX-USED-WEIGHT-1M") == "1"


async def test_listen_key_endpoints_are_gone_by_default(client: RestClient) -> None:
    r = await client.raw("POST", "/api/v3/userDataStream")
    assert r.status == 410


async def test_legacy_listen_key_flow(tight_client: RestClient, clock: VirtualClock) -> None:
    r = await tight_client.raw("POST", "/api/v3/userDataStream")
    key = r.body["listenKey"]
    assert r.status == 200 and len(key) == 64
    assert (await tight_client.raw("POST", "/api/v3/userDataStream")).body["listenKey"] == key
    r = await tight_client.raw("PUT", "/api/v3/userDataStream", query=f"listenKey={key}")
    assert (r.status, r.body) == (200, {})
    r = await tight_client.raw("PUT", "/api/v3/userDataStream", query="listenKey=nope")
    assert (r.code, r.msg) == (-1125, "This listenKey does not exist.")
    r = await tight_client.raw("DELETE", "/api/v3/userDataStream", body=f"listenKey={key}")
    assert (r.status, r.body) == (200, {})
    r = await tight_client.raw("PUT", "/api/v3/userDataStream", query=f"listenKey={key}")
    assert r.code == -1125
    r = await tight_client.raw("POST", "/api/v3/userDataStream", headers={"X-MBX-APIKEY": "zz"})
    assert (r.status, r.code) == (401, -2015)
