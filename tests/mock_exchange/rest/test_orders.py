"""Order endpoints over HTTP: response shapes per type, lookups, cancels, errors."""

from __future__ import annotations

from typing import Any

import aiohttp

from mock_exchange.clock import VirtualClock
from mock_exchange.config import load_config
from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.rest.conftest import API_KEY, API_SECRET
from tests.support.rest_client import RestClient

RESULT_KEYS = [
    "symbol",
    "orderId",
    "orderListId",
    "clientOrderId",
    "transactTime",
    "price",
    "origQty",
    "executedQty",
    "origQuoteOrderQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "workingTime",
    "selfTradePreventionMode",
]


#: A GTC limit BUY of 0.01 BTC at 59000: below the book's best ask, so it rests.
RESTING_BUY = {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01", "price": "59000"}


async def order(client: RestClient, **params: Any) -> Any:
    params.setdefault("symbol", "BTCUSDT")
    return await client.signed("POST", "/api/v3/order", **params)


async def resting_buy(client: RestClient, **params: Any) -> Any:
    """``RESTING_BUY``, with ``params`` added or overriding."""
    return await order(client, **{**RESTING_BUY, **params})


async def order_test(client: RestClient, **params: Any) -> Any:
    """``order/test`` with ``RESTING_BUY``, ``params`` added or overriding."""
    return await client.signed("POST", "/api/v3/order/test", symbol="BTCUSDT", **{**RESTING_BUY, **params})


async def cancel_replace(client: RestClient, mode: str, order_id: int) -> Any:
    """Cancel ``order_id`` and place ``RESTING_BUY`` at 59100 instead."""
    return await client.signed(
        "POST",
        "/api/v3/order/cancelReplace",
        symbol="BTCUSDT",
        cancelReplaceMode=mode,
        cancelOrderId=order_id,
        **{**RESTING_BUY, "price": "59100"},
    )


async def test_limit_defaults_to_full_and_rests(client: RestClient, clock: VirtualClock) -> None:
    r = await resting_buy(client, newClientOrderId="my-1")
    assert r.status == 200
    assert list(r.body) == [*RESULT_KEYS, "fills"]
    assert r.body["status"] == "NEW" and r.body["fills"] == []
    assert r.body["clientOrderId"] == "my-1" and r.body["orderListId"] == -1
    assert r.body["transactTime"] == clock.now_us() // 1000 == r.body["workingTime"]
    assert r.body["price"] == "59000.00000000" and r.body["origQuoteOrderQty"] == "0.00000000"
    assert r.header("X-MBX-ORDER-COUNT-10S") == "1" and r.header("X-MBX-ORDER-COUNT-1D") == "1"


async def test_market_full_with_fills_and_commission(client: RestClient) -> None:
    r = await order(client, side="BUY", type="MARKET", quantity="0.3")
    assert r.status == 200 and r.body["status"] == "FILLED"
    assert r.body["price"] == "0.00000000" and r.body["timeInForce"] == "GTC"
    fills = r.body["fills"]
    assert [(f["price"], f["qty"]) for f in fills] == [
        ("60005.00000000", "0.25000000"),
        ("60010.00000000", "0.05000000"),
    ]
    assert fills[0]["commission"] == "0.00025000" and fills[0]["commissionAsset"] == "BTC"
    assert r.body["cummulativeQuoteQty"] == "18001.75000000"


async def test_resp_types(client: RestClient) -> None:
    r = await order(client, side="SELL", type="LIMIT_MAKER", quantity="0.01", price="61000")
    assert list(r.body) == ["symbol", "orderId", "orderListId", "clientOrderId", "transactTime"]
    assert len(r.body["clientOrderId"]) == 22 and r.body["clientOrderId"].isalnum()
    r = await resting_buy(client, newOrderRespType="RESULT")
    assert list(r.body) == RESULT_KEYS
    r = await resting_buy(client, type="STOP_LOSS_LIMIT", stopPrice="60500", newOrderRespType="RESULT")
    assert r.body["stopPrice"] == "60500.00000000" and r.body["workingTime"] == -1
    r = await resting_buy(client, newOrderRespType="SOME")
    assert (r.code, r.msg) == (-1130, "Data sent for parameter 'newOrderRespType' is not valid.")


async def test_ioc_expiry_reason_and_quote_order(client: RestClient) -> None:
    r = await order(client, side="BUY", type="LIMIT", timeInForce="IOC", quantity="1", price="60005")
    assert r.body["status"] == "EXPIRED" and r.body["executedQty"] == "0.25000000"
    assert r.body["expiryReason"] == "UNFILLED_IOC_QUANTITY_EXPIRED"
    r = await order(client, side="BUY", type="MARKET", quoteOrderQty="100")
    assert r.body["status"] == "FILLED" and r.body["origQuoteOrderQty"] == "100.00000000"
    assert r.body["origQty"] == r.body["executedQty"] == "0.00166000"


async def test_quote_order_on_an_empty_book(client: RestClient, server: MockExchangeServer) -> None:
    server.control.clear_book("BTCUSDT")
    r = await order(client, side="BUY", type="MARKET", quoteOrderQty="100")
    assert (r.status, r.code, r.msg) == (
        400,
        -2010,
        "Order book liquidity is less than symbol minimum quantity.",
    )


async def test_engine_rejections(client: RestClient) -> None:
    r = await order(client, side="BUY", type="LIMIT_MAKER", quantity="0.01", price="60005")
    assert (r.status, r.code, r.msg) == (400, -2010, "Order would immediately match and take.")
    r = await order(client, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.00001", price="60000")
    assert (r.code, r.msg) == (-1013, "Filter failure: NOTIONAL")
    r = await order(client, side="BUY", type="LIMIT", timeInForce="GTC", quantity="10", price="59000")
    assert (r.code, r.msg) == (-2010, "Account has insufficient balance for requested action.")
    # -1111 is for significant digits past 8 places; 3 places on a 0.01 tick is a filter failure.
    r = await order(
        client, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="59000.000000001"
    )
    assert (r.code, r.msg) == (-1111, "Parameter 'price' has too much precision.")
    r = await order(client, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="59000.005")
    assert (r.code, r.msg) == (-1013, "Filter failure: PRICE_FILTER")
    r = await order(client, side="BUY", type="LIMIT", timeInForce="GTC", quantity="1e-2", price="59000")
    assert (r.code, r.msg) == (
        -1100,
        "Illegal characters found in parameter 'quantity'; legal range is "
        "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    )
    # "$" also matches before a final newline: values are matched whole.
    r = await order(client, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01\n", price="59000")
    assert (r.code, r.msg) == (
        -1100,
        "Illegal characters found in parameter 'quantity'; legal range is "
        "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    )
    r = await order(
        client,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price="59000",
        newClientOrderId="abc\n",
    )
    assert r.code == -1100 and "'newClientOrderId'" in (r.msg or "")
    r = await order(client, side="HOLD", type="LIMIT")
    assert (r.code, r.msg) == (-1117, "Invalid side.")
    r = await order(client, side="BUY", type="ICEBERG")
    assert (r.code, r.msg) == (-1116, "Invalid orderType.")
    r = await order(client, side="BUY", type="LIMIT", timeInForce="GTD", quantity="1", price="1")
    assert (r.code, r.msg) == (-1115, "Invalid timeInForce.")
    r = await order(client, side="BUY", type="LIMIT", quantity="1", price="1")
    assert r.code == -1102 and "'timeInForce'" in (r.msg or "")
    r = await order(client, side="BUY", type="MARKET", quantity="0.001", timeInForce="GTC")
    assert (r.code, r.msg) == (-1114, "TimeInForce parameter sent when not required.")
    r = await order(client, side="BUY", type="MARKET", quantity="0.001", newClientOrderId="bad id!")
    assert r.code == -1100 and "^[a-zA-Z0-9-_]{1,36}$" in (r.msg or "")
    r = await order(client, side="BUY", type="MARKET", quantity="0.001", newClientOrderId="")
    assert (r.code, r.msg) == (-1118, "New client order ID was empty.")
    r = await order(client, symbol="DOGEUSDT", side="BUY", type="MARKET", quantity="1")
    assert (r.code, r.msg) == (-1121, "Invalid symbol.")
    r = await order(client, side="BUY", type="MARKET", quantity="0.001", strategyType="5")
    assert r.code == -1134


async def test_pegged_orders_are_refused_after_their_parameters_are_checked(client: RestClient) -> None:
    # Every symbol publishes pegInstructionsAllowed: false (errors.md's message for that).
    not_supported = (400, -2010, "Pegged orders are not supported for this symbol.")
    pegged = {"pegPriceType": "PRIMARY_PEG", "pegOffsetType": "PRICE_LEVEL", "pegOffsetValue": "2"}
    r = await resting_buy(client, **pegged)
    assert (r.status, r.code, r.msg) == not_supported
    r = await resting_buy(client, pegPriceType="MARKET_PEG")
    assert (r.status, r.code, r.msg) == not_supported
    r = await order_test(client, **pegged)
    assert (r.status, r.code, r.msg) == not_supported
    r = await resting_buy(client, pegPriceType="BEST_PEG")
    assert (r.status, r.code, r.msg) == (400, -1210, "Invalid pegPriceType.")
    r = await resting_buy(client, pegPriceType="PRIMARY_PEG", pegOffsetType="TICKS", pegOffsetValue="2")
    assert (r.status, r.code, r.msg) == (400, -1211, "Invalid pegOffsetType.")
    r = await resting_buy(client, pegPriceType="PRIMARY_PEG", pegOffsetType="PRICE_LEVEL", pegOffsetValue="x")
    assert (r.status, r.code) == (400, -1100)
    placed = (await resting_buy(client)).body
    r = await client.signed(
        "POST",
        "/api/v3/order/cancelReplace",
        symbol="BTCUSDT",
        cancelReplaceMode="ALLOW_FAILURE",
        cancelOrderId=placed["orderId"],
        **{**RESTING_BUY, **pegged},
    )
    assert (r.status, r.code, r.msg) == not_supported
    r = await client.signed("GET", "/api/v3/openOrders", symbol="BTCUSDT")
    assert [(o["orderId"], o["status"]) for o in r.body] == [(placed["orderId"], "NEW")]


async def test_rejected_orders_change_nothing(client: RestClient) -> None:
    before = (await client.signed("GET", "/api/v3/account")).body["balances"]
    for params in (
        dict(side="BUY", type="LIMIT_MAKER", quantity="0.01", price="60005"),
        dict(side="BUY", type="LIMIT", timeInForce="GTC", quantity="10", price="59000"),
        dict(side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="59000", bogus="1"),
    ):
        r = await order(client, **params)
        assert r.status == 400
    after = (await client.signed("GET", "/api/v3/account")).body["balances"]
    assert after == before
    r = await client.signed("GET", "/api/v3/openOrders", symbol="BTCUSDT")
    assert r.body == []


async def test_query_by_id_and_client_id(client: RestClient) -> None:
    placed = (await resting_buy(client, newClientOrderId="q-1")).body
    by_id = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", orderId=placed["orderId"])
    by_cid = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="q-1")
    assert by_id.body == by_cid.body
    q = by_id.body
    assert q["isWorking"] is True and q["time"] == q["updateTime"] == placed["transactTime"]
    assert q["stopPrice"] == "0.00000000" and q["icebergQty"] == "0.00000000"
    r = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", orderId=999999)
    assert (r.status, r.code, r.msg) == (400, -2013, "Order does not exist.")
    r = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT")
    assert (r.code, r.msg) == (
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    )
    r = await client.signed(
        "GET", "/api/v3/order", symbol="BTCUSDT", orderId=placed["orderId"], origClientOrderId="other"
    )
    assert (r.code, r.msg) == (-2039, "Client order ID is not correct for this order ID.")


async def test_cancel_by_client_id_reports_both_ids(client: RestClient) -> None:
    await resting_buy(client, newClientOrderId="c-1")
    r = await client.signed(
        "DELETE", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="c-1", newClientOrderId="cancel-c-1"
    )
    assert r.status == 200
    assert r.body["status"] == "CANCELED"
    assert (r.body["origClientOrderId"], r.body["clientOrderId"]) == ("c-1", "cancel-c-1")
    assert list(r.body)[:6] == [
        "symbol",
        "origClientOrderId",
        "orderId",
        "orderListId",
        "clientOrderId",
        "transactTime",
    ]
    r = await client.signed("DELETE", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="c-1")
    assert (r.status, r.code, r.msg) == (400, -2011, "Unknown order sent.")
    r = await client.signed("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=1, cancelRestrictions="X")
    assert (r.code, r.msg) == (-1145, "Invalid cancelRestrictions")


async def test_open_orders_all_orders_and_cancel_all(client: RestClient) -> None:
    ids = []
    for price in ("59000", "59001"):
        ids.append((await resting_buy(client, price=price)).body["orderId"])
    r = await client.signed("GET", "/api/v3/openOrders", symbol="BTCUSDT")
    assert [o["orderId"] for o in r.body] == ids
    assert r.header("X-MBX-USED-WEIGHT-1M")
    r = await client.signed("GET", "/api/v3/openOrders")
    assert len(r.body) == 2
    r = await client.signed("DELETE", "/api/v3/openOrders", symbol="BTCUSDT")
    assert [o["status"] for o in r.body] == ["CANCELED", "CANCELED"]
    r = await client.signed("DELETE", "/api/v3/openOrders", symbol="BTCUSDT")
    assert (r.code, r.msg) == (-2011, "Unknown order sent.")
    r = await client.signed("GET", "/api/v3/allOrders", symbol="BTCUSDT")
    assert [o["orderId"] for o in r.body] == ids
    r = await client.signed("GET", "/api/v3/allOrders", symbol="BTCUSDT", orderId=ids[1])
    assert [o["orderId"] for o in r.body] == ids[1:]


async def test_cancel_replace(client: RestClient) -> None:
    placed = (await resting_buy(client)).body
    r = await cancel_replace(client, "STOP_ON_FAILURE", placed["orderId"])
    assert r.status == 200
    assert (r.body["cancelResult"], r.body["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert r.body["cancelResponse"]["status"] == "CANCELED"
    assert r.body["newOrderResponse"]["price"] == "59100.00000000"
    r = await cancel_replace(client, "STOP_ON_FAILURE", placed["orderId"])
    assert (r.status, r.code, r.msg) == (400, -2022, "Order cancel-replace failed.")
    assert r.body["data"]["newOrderResult"] == "NOT_ATTEMPTED"
    assert r.body["data"]["cancelResponse"] == {"code": -2011, "msg": "Unknown order sent."}
    r = await cancel_replace(client, "ALLOW_FAILURE", placed["orderId"])
    assert (r.status, r.code) == (409, -2021)
    assert r.body["data"]["newOrderResult"] == "SUCCESS"


async def test_cancel_replace_counts_an_order_even_when_not_attempted(client: RestClient) -> None:
    placed = await resting_buy(client)
    day = int(placed.header("X-MBX-ORDER-COUNT-1D") or 0)
    r = await cancel_replace(client, "STOP_ON_FAILURE", 999_999)
    assert (r.code, r.body["data"]["newOrderResult"]) == (-2022, "NOT_ATTEMPTED")
    r = await client.signed("GET", "/api/v3/rateLimit/order")
    assert [x["count"] for x in r.body if x["interval"] == "DAY"] == [day + 1]


class TickingClock(VirtualClock):
    """Virtual time that moves a millisecond every time it is read."""

    def now_us(self) -> int:
        self._now += 1000
        return super().now_us()


async def test_transact_time_is_when_the_engine_placed_the_order() -> None:
    # Time passes between a request's arrival and the engine's work on it; transactTime
    # is the engine's, the same instant as the order's workingTime and its fills.
    config = load_config()
    trader = config.account("trader")
    trader.api_key, trader.api_secret = API_KEY, API_SECRET
    clock = TickingClock(start_us=1_780_000_000_000_000)
    async with MockExchangeServer(config, clock=clock) as server, aiohttp.ClientSession() as session:
        client = RestClient(session, server.rest_url, API_KEY, API_SECRET, lambda: clock.now_us() // 1000)
        r = await resting_buy(client, newOrderRespType="RESULT")
        assert r.body["transactTime"] == r.body["workingTime"]
        q = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", orderId=r.body["orderId"])
        assert q.body["time"] == r.body["transactTime"]
        r = await order(client, side="BUY", type="MARKET", quantity="0.01")
        assert len(r.body["fills"]) == 1
        t = await client.signed("GET", "/api/v3/myTrades", symbol="BTCUSDT", orderId=r.body["orderId"])
        assert [x["time"] for x in t.body] == [r.body["transactTime"]] == [r.body["workingTime"]]


async def test_order_test_endpoint(client: RestClient) -> None:
    r = await order_test(client)
    assert (r.status, r.body) == (200, {})
    r = await order_test(client, computeCommissionRates="true")
    assert r.body["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}
    r = await order_test(client, quantity="0.00001")
    assert r.code == -1013
    r = await client.signed("GET", "/api/v3/openOrders", symbol="BTCUSDT")
    assert r.body == []


async def test_stp_over_rest(client: RestClient) -> None:
    await order(client, side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.01", price="60001")

    async def buy_against_own_sell(mode: str) -> Any:
        return await order(
            client,
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price="60001",
            selfTradePreventionMode=mode,
        )

    r = await buy_against_own_sell("EXPIRE_TAKER")
    assert r.body["status"] == "EXPIRED_IN_MATCH"
    assert r.body["preventedMatches"][0]["preventedMatchId"] == 1
    assert r.body["preventedQuantity"] == "0.01000000"
    r = await buy_against_own_sell("TRANSFER_ALL")
    assert r.code == -1130
    info = await client.public("GET", "/api/v3/exchangeInfo", symbol="BTCUSDT")
    assert "TRANSFER" in info.body["symbols"][0]["allowedSelfTradePreventionModes"]
    r = await buy_against_own_sell("TRANSFER")
    assert r.body["status"] == "EXPIRED_IN_MATCH" and r.body["selfTradePreventionMode"] == "TRANSFER"


async def test_full_answer_shows_the_order_as_its_own_matching_left_it(
    client: RestClient, server: MockExchangeServer
) -> None:
    """The order takes the 0.25 ask at 60005 and rests the rest; that trade sets off a
    take-profit sell which then trades 0.1 with the resting remainder, in the same command.
    The answer reports the placement (executedQty equal to the sum of its fills); the
    stop's trade reaches the user stream, and order queries show it."""
    server.control.place_order(
        "market-maker", "BTCUSDT", "SELL", "TAKE_PROFIT", quantity="0.1", stop_price="60005"
    )
    r = await order(
        client,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.5",
        price="60005",
        newOrderRespType="FULL",
    )
    assert r.status == 200, r.body
    assert [f["qty"] for f in r.body["fills"]] == ["0.25000000"]
    assert (r.body["executedQty"], r.body["status"]) == ("0.25000000", "PARTIALLY_FILLED")
    assert r.body["cummulativeQuoteQty"] == "15001.25000000"
    now = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", orderId=r.body["orderId"])
    assert now.body["executedQty"] == "0.35000000"
