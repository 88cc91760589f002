"""Bad input never produces a 500 or a traceback, and a refused request changes nothing."""

from __future__ import annotations

import random
from urllib.parse import quote

from mock_exchange.binance.endpoints import all_endpoints
from mock_exchange.server import MockExchangeServer
from tests.support.rest_client import RestClient

NAMES = [
    "symbol",
    "symbols",
    "side",
    "type",
    "timeInForce",
    "quantity",
    "quoteOrderQty",
    "price",
    "stopPrice",
    "newClientOrderId",
    "orderId",
    "origClientOrderId",
    "limit",
    "fromId",
    "startTime",
    "endTime",
    "interval",
    "newOrderRespType",
    "selfTradePreventionMode",
    "cancelRestrictions",
    "cancelReplaceMode",
    "cancelOrderId",
    "recvWindow",
    "type",
    "omitZeroBalances",
    "permissions",
    "symbolStatus",
    "timeZone",
    "strategyType",
    "computeCommissionRates",
    "listenKey",
    "icebergQty",
    "trailingDelta",
]
VALUES = [
    "",
    "BTCUSDT",
    "btcusdt",
    "BUY",
    "SELL",
    "LIMIT",
    "MARKET",
    "LIMIT_MAKER",
    "STOP_LOSS",
    "GTC",
    "IOC",
    "FOK",
    "0",
    "-1",
    "1",
    "0.001",
    "1e5",
    "NaN",
    "Infinity",
    "99999999999999999999999",
    "0.000000001",
    "60000",
    "59000.00",
    '["BTCUSDT"]',
    "[",
    "{}",
    "null",
    "true",
    "ümlaut",
    "a" * 40,
    "1m",
    "FULL",
    "ACK",
    "EXPIRE_BOTH",
    "ONLY_NEW",
    "ALLOW_FAILURE",
    "\x00",
    "%",
    "9" * 30,
    "-0.5",
    " 1",
    "1 ",
    "1,000",
]


def state(server: MockExchangeServer) -> object:
    ex = server.service.exchange
    return (
        {a.account_id: {k: tuple(v) for k, v in a.balances.items()} for a in ex.ledger.accounts.values()},
        {s: (e.update_id, len(e.orders), e.next_trade_id) for s, e in ex.engines.items()},
    )


async def test_random_garbage_never_breaks_the_server(client: RestClient, server: MockExchangeServer) -> None:
    rng = random.Random(1234)
    endpoints = all_endpoints()
    for i in range(500):
        ep = rng.choice(endpoints)
        params = {rng.choice(NAMES): rng.choice(VALUES) for _ in range(rng.randint(0, 6))}
        before = state(server)
        if ep.security.signed and rng.random() < 0.8:
            r = await client.signed(ep.method, ep.path, **params)
        else:
            query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())
            r = await client.raw(ep.method, ep.path, query=query)
        assert r.status < 500, (i, ep.path, params, r.status, r.body)
        if r.status >= 400:
            assert isinstance(r.body, dict) and isinstance(r.body.get("code"), int), r.body
            assert isinstance(r.body.get("msg"), str) and "Traceback" not in r.body["msg"]
            if r.status != 409:  # 409: cancelReplace's half that succeeded did change state
                assert state(server) == before, (ep.path, params, r.body)


async def test_raw_malformed_requests(client: RestClient) -> None:
    assert (await client.raw("GET", "/api/v3/depth", query="symbol=BTCUSDT&&&")).status == 200
    for query in ("%zz=1", "=&&=", "symbol", "a=%E0%A4%A", "symbol=BTC%00USDT"):
        r = await client.raw("GET", "/api/v3/depth", query=query)
        assert 400 <= r.status < 500 and isinstance(r.body, dict), (query, r.body)
    r = await client.raw(
        "POST", "/api/v3/order", body="\xff\xfe garbage", headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status == 400 and r.code is not None
