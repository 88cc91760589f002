"""Placement responses when self-trade prevention fires, field for field as stp_faq.md's
scenarios show the taker's output (B, D, E, F, H) and the SBE schema's RESULT shape."""

from __future__ import annotations

from typing import Any

from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.rest.test_orders import order
from tests.support.rest_client import RestClient

#: Inside the seeded book's spread (best bid 59995, best ask 60005): the trader's own.
OWN_ASK = "60001"


async def own_sell(client: RestClient, qty: str, price: str = OWN_ASK) -> int:
    r = await order(client, side="SELL", type="LIMIT", timeInForce="GTC", quantity=qty, price=price)
    assert r.status == 200 and r.body["status"] == "NEW", r.body
    order_id: int = r.body["orderId"]
    return order_id


async def buy(client: RestClient, qty: str, price: str, mode: str, **params: Any) -> Any:
    r = await order(
        client,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity=qty,
        price=price,
        selfTradePreventionMode=mode,
        **params,
    )
    assert r.status == 200, r.body
    return r.body


async def test_expire_maker_lists_every_prevented_maker(client: RestClient) -> None:
    # Scenario B: the makers expire, the taker rests; no preventedQuantity of its own.
    first = await own_sell(client, "0.01", "60001")
    second = await own_sell(client, "0.02", "60002")
    body = await buy(client, "0.05", "60002", "EXPIRE_MAKER")
    assert body["status"] == "NEW" and body["fills"] == []
    assert body["preventedMatches"] == [
        {
            "preventedMatchId": 1,
            "makerOrderId": first,
            "price": "60001.00000000",
            "makerPreventedQuantity": "0.01000000",
        },
        {
            "preventedMatchId": 2,
            "makerOrderId": second,
            "price": "60002.00000000",
            "makerPreventedQuantity": "0.02000000",
        },
    ]
    assert "preventedQuantity" not in body and "preventedMatchId" not in body


async def test_expire_both_reports_both_quantities(client: RestClient) -> None:
    # Scenario D: both expire; the taker's own prevented quantity is at the top level.
    maker = await own_sell(client, "0.01")
    body = await buy(client, "0.03", OWN_ASK, "EXPIRE_BOTH")
    assert body["status"] == "EXPIRED_IN_MATCH" and body["fills"] == []
    assert body["preventedMatches"] == [
        {
            "preventedMatchId": 1,
            "makerOrderId": maker,
            "price": "60001.00000000",
            "takerPreventedQuantity": "0.03000000",
            "makerPreventedQuantity": "0.01000000",
        }
    ]
    assert body["preventedQuantity"] == "0.03000000" and "preventedMatchId" not in body


async def test_expire_taker_and_the_result_shape(client: RestClient) -> None:
    # Scenario E for FULL; RESULT (SBE NewOrderResultResponse) has preventedQuantity but
    # no preventedMatches. The order query keeps preventedMatchId (scenario C).
    maker = await own_sell(client, "0.01")
    body = await buy(client, "0.01", OWN_ASK, "EXPIRE_TAKER")
    assert body["status"] == "EXPIRED_IN_MATCH"
    assert body["preventedMatches"] == [
        {
            "preventedMatchId": 1,
            "makerOrderId": maker,
            "price": "60001.00000000",
            "takerPreventedQuantity": "0.01000000",
        }
    ]
    assert body["preventedQuantity"] == "0.01000000" and "preventedMatchId" not in body
    result = await buy(client, "0.01", OWN_ASK, "EXPIRE_TAKER", newOrderRespType="RESULT")
    assert result["preventedQuantity"] == "0.01000000"
    assert "preventedMatches" not in result and "preventedMatchId" not in result and "fills" not in result
    q = await client.signed("GET", "/api/v3/order", symbol="BTCUSDT", orderId=result["orderId"])
    assert (q.body["preventedMatchId"], q.body["preventedQuantity"]) == (2, "0.01000000")


async def test_market_order_with_expire_maker(client: RestClient, server: MockExchangeServer) -> None:
    # Scenario F: the only maker is the taker's own; it expires, the market order too.
    server.control.clear_book("BTCUSDT")
    maker = await own_sell(client, "0.01")
    r = await order(
        client, side="BUY", type="MARKET", quantity="0.01", selfTradePreventionMode="EXPIRE_MAKER"
    )
    assert r.body["status"] == "EXPIRED" and r.body["fills"] == []
    assert r.body["preventedMatches"] == [
        {
            "preventedMatchId": 1,
            "makerOrderId": maker,
            "price": "60001.00000000",
            "makerPreventedQuantity": "0.01000000",
        }
    ]
    assert "preventedQuantity" not in r.body


async def test_transfer_decrements_both_and_names_the_maker_symbol(client: RestClient) -> None:
    # Scenario H (same account here, so TRANSFER acts as DECREMENT).
    maker = await own_sell(client, "0.03")
    body = await buy(client, "0.01", OWN_ASK, "TRANSFER")
    assert body["status"] == "EXPIRED_IN_MATCH"
    assert body["preventedMatches"] == [
        {
            "preventedMatchId": 1,
            "makerSymbol": "BTCUSDT",
            "makerOrderId": maker,
            "price": "60001.00000000",
            "takerPreventedQuantity": "0.01000000",
            "makerPreventedQuantity": "0.01000000",
        }
    ]
    assert body["preventedQuantity"] == "0.01000000"


async def test_no_prevention_no_prevented_fields(client: RestClient) -> None:
    body = await buy(client, "0.01", "60005", "EXPIRE_BOTH")  # the market maker's ask
    assert body["status"] == "FILLED" and len(body["fills"]) == 1
    assert not {"preventedMatches", "preventedQuantity", "preventedMatchId"} & set(body)
