"""cancelReplace: the new order's filters and the unfilled order count are evaluated before
the cancel (rest-api.md, and the CHANGELOG entry that introduced the endpoint), and
``orderRateLimitExceededMode`` decides what happens over the limit (the status table)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from mock_exchange.clock import VirtualClock
from mock_exchange.config import load_config
from mock_exchange.engine.filters import MaxNumOrders
from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.rest.conftest import API_KEY, API_SECRET
from tests.mock_exchange.rest.test_orders import RESTING_BUY, resting_buy
from tests.mock_exchange.ws_api.conftest import WsApiClient
from tests.support.rest_client import Reply, RestClient

#: What the new order of every cancelReplace here is, unless a test overrides it.
NEW_ORDER = {**RESTING_BUY, "price": "59100"}
OVER_LIMIT = {"code": -1015, "msg": "Too many new orders; current limit is 2 orders per 10 SECOND."}


@pytest.fixture
async def limited(clock: VirtualClock) -> AsyncIterator[MockExchangeServer]:
    """Two unfilled orders per 10 seconds, and MAX_NUM_ORDERS 2 on BTCUSDT (set once the
    market maker's book is seeded)."""
    config = load_config()
    config.rate_limits.orders_per_10s = 2
    trader = config.account("trader")
    trader.api_key, trader.api_secret = API_KEY, API_SECRET
    async with MockExchangeServer(config, clock=clock) as s:
        btc = s.service.exchange.engine("BTCUSDT").cfg
        btc.filters = [MaxNumOrders(2) if isinstance(f, MaxNumOrders) else f for f in btc.filters]
        await clock.advance(10 - (clock.now_us() // 1_000_000) % 10)  # a fresh 10 s window
        yield s


@pytest.fixture
def trader(limited: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock) -> RestClient:
    return RestClient(session, limited.rest_url, API_KEY, API_SECRET, lambda: clock.now_us() // 1000)


async def replace(client: RestClient, mode: str, order_id: int, **params: Any) -> Reply:
    return await client.signed(
        "POST",
        "/api/v3/order/cancelReplace",
        symbol="BTCUSDT",
        cancelReplaceMode=mode,
        cancelOrderId=order_id,
        **{**NEW_ORDER, **params},
    )


async def open_orders(client: RestClient) -> list[tuple[int, str]]:
    r = await client.signed("GET", "/api/v3/openOrders", symbol="BTCUSDT")
    return [(o["orderId"], o["price"]) for o in r.body]


async def test_a_new_order_failing_its_filters_cancels_nothing(client: RestClient) -> None:
    placed = (await resting_buy(client)).body["orderId"]
    for mode in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
        r = await replace(client, mode, placed, quantity="0.00001")  # 0.59 USDT < NOTIONAL's 5
        assert (r.status, r.body) == (400, {"code": -1013, "msg": "Filter failure: NOTIONAL"})
        assert await open_orders(client) == [(placed, "59000.00000000")]
    r = await replace(client, "STOP_ON_FAILURE", placed)
    assert (r.status, r.body["cancelResponse"]["orderId"]) == (200, placed)


async def test_max_num_orders_counts_the_order_being_replaced(
    trader: RestClient, clock: VirtualClock
) -> None:
    # CHANGELOG: with MAX_NUM_ORDERS at the limit, "both the cancel order placement and
    # new order will fail because of the filter".
    first = (await resting_buy(trader)).body["orderId"]
    await clock.advance(10)  # a new window: the order count is not what refuses below
    second = (await resting_buy(trader, price="58000")).body["orderId"]
    r = await replace(trader, "ALLOW_FAILURE", first)
    assert (r.status, r.body) == (400, {"code": -1013, "msg": "Filter failure: MAX_NUM_ORDERS"})
    assert await open_orders(trader) == [(first, "59000.00000000"), (second, "58000.00000000")]
    await trader.signed("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=second)
    await clock.advance(10)  # the refused new order above counted: a fresh window
    r = await replace(trader, "ALLOW_FAILURE", first)
    assert r.status == 200
    assert await open_orders(trader) == [(r.body["newOrderResponse"]["orderId"], "59100.00000000")]


async def fill_the_order_count(trader: RestClient) -> int:
    """Two resting orders: the account is at its limit of 2. Returns the first's id."""
    first = await resting_buy(trader)
    second = await resting_buy(trader, price="58000")
    assert second.header("X-MBX-ORDER-COUNT-10S") == "2"
    order_id: int = first.body["orderId"]
    return order_id


@pytest.mark.parametrize("rate_mode", [None, "DO_NOTHING"])
async def test_over_the_order_count_do_nothing_cancels_nothing(
    trader: RestClient, rate_mode: str | None
) -> None:
    order_id = await fill_the_order_count(trader)
    extra = {} if rate_mode is None else {"orderRateLimitExceededMode": rate_mode}
    for mode in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
        r = await replace(trader, mode, order_id, **extra)
        assert (r.status, r.body) == (429, OVER_LIMIT)
        assert r.header("Retry-After") == "10" and r.header("X-MBX-ORDER-COUNT-10S") == "2"
    assert len(await open_orders(trader)) == 2


async def test_over_the_order_count_cancel_only_still_cancels(trader: RestClient) -> None:
    order_id = await fill_the_order_count(trader)
    # STOP_ON_FAILURE: the status table answers 429, cancel done, new order refused.
    r = await replace(trader, "STOP_ON_FAILURE", order_id, orderRateLimitExceededMode="CANCEL_ONLY")
    assert (r.status, r.code, r.msg) == (429, -2021, "Order cancel-replace partially failed.")
    data = r.body["data"]
    assert (data["cancelResult"], data["newOrderResult"]) == ("SUCCESS", "FAILURE")
    assert data["cancelResponse"]["orderId"] == order_id and data["cancelResponse"]["status"] == "CANCELED"
    assert data["newOrderResponse"] == OVER_LIMIT
    assert r.header("Retry-After") == "10" and r.header("X-MBX-ORDER-COUNT-10S") == "2"
    assert [price for _, price in await open_orders(trader)] == ["58000.00000000"]
    # A cancel that fails: NOT_ATTEMPTED, still 429.
    r = await replace(trader, "STOP_ON_FAILURE", order_id, orderRateLimitExceededMode="CANCEL_ONLY")
    assert (r.status, r.code) == (429, -2022)
    assert (r.body["data"]["newOrderResult"], r.body["data"]["newOrderResponse"]) == ("NOT_ATTEMPTED", None)
    # ALLOW_FAILURE: 400 when both fail, 409 when the cancel succeeds.
    r = await replace(trader, "ALLOW_FAILURE", order_id, orderRateLimitExceededMode="CANCEL_ONLY")
    assert (r.status, r.code) == (400, -2022)
    assert (r.body["data"]["newOrderResult"], r.body["data"]["newOrderResponse"]) == ("FAILURE", OVER_LIMIT)
    [(other, _)] = await open_orders(trader)
    r = await replace(trader, "ALLOW_FAILURE", other, orderRateLimitExceededMode="CANCEL_ONLY")
    assert (r.status, r.code) == (409, -2021)
    assert (r.body["data"]["cancelResult"], r.body["data"]["newOrderResponse"]) == ("SUCCESS", OVER_LIMIT)
    assert await open_orders(trader) == []
    assert r.header("X-MBX-ORDER-COUNT-10S") == "2"
    r = await replace(trader, "ALLOW_FAILURE", other, orderRateLimitExceededMode="SOMETIMES")
    assert (r.status, r.code) == (400, -1130)


async def test_ws_api_checks_before_the_cancel_too(
    limited: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock, trader: RestClient
) -> None:
    order_id = await fill_the_order_count(trader)
    ws = WsApiClient(await session.ws_connect(limited.ws_api_url), clock)

    def signed(params: dict[str, Any]) -> dict[str, Any]:
        return ws.signed(params, key=API_KEY, secret=API_SECRET)

    params = {
        **NEW_ORDER,
        "symbol": "BTCUSDT",
        "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": order_id,
    }
    reply = await ws.call("order.cancelReplace", signed({**params, "quantity": "0.00001"}))
    assert (reply["status"], reply["error"]["code"]) == (429, -1015)  # the count comes first
    assert len(await open_orders(trader)) == 2
    reply = await ws.call(
        "order.cancelReplace", signed({**params, "orderRateLimitExceededMode": "CANCEL_ONLY"})
    )
    assert (reply["status"], reply["error"]["code"]) == (429, -2021)
    assert reply["error"]["data"]["newOrderResponse"] == OVER_LIMIT
    assert [r["count"] for r in reply["rateLimits"][:2]] == [2, 2]
    await clock.advance(10)
    [(other, _)] = await open_orders(trader)
    reply = await ws.call(
        "order.cancelReplace", signed({**params, "cancelOrderId": other, "quantity": "0.00001"})
    )
    assert (reply["status"], reply["error"]) == (400, {"code": -1013, "msg": "Filter failure: NOTIONAL"})
    assert await open_orders(trader) == [(other, "58000.00000000")]
    await ws.ws.close()
