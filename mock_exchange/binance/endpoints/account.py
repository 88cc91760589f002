"""Account data: balances, commission rates, trade history, order rate limits."""

from __future__ import annotations

from typing import Any

from .. import errors as err
from .. import formatting as F
from ..auth import Security
from ..params import Params, check_time_span
from ..service import Request
from . import Endpoint
from .market import symbol_engine


def account(req: Request) -> Any:
    omit_zero = req.params.boolean("omitZeroBalances", False)
    req.done()
    return F.account_info(req.account, omit_zero, req.div)


def commission(req: Request) -> Any:
    eng = symbol_engine(req)
    req.done()
    return F.commission_rates(req.account, eng.symbol)


def my_trades_weight(p: Params) -> int:
    return 5 if p.peek("orderId") is not None else 20


#: The parameter combinations myTrades accepts besides ``symbol`` (and ``limit``).
ALLOWED_TRADE_QUERIES = frozenset(
    {
        frozenset(),
        frozenset({"orderId"}),
        frozenset({"startTime"}),
        frozenset({"endTime"}),
        frozenset({"fromId"}),
        frozenset({"startTime", "endTime"}),
        frozenset({"orderId", "fromId"}),
    }
)


def my_trades(req: Request) -> Any:
    eng = symbol_engine(req)
    p = req.params
    order_id = p.long("orderId")
    start = p.time_us("startTime")
    end = p.end_time_us()
    from_id = p.long("fromId")
    limit = p.int_in("limit", 1, 1000, 500)
    req.done()
    given = frozenset(
        name
        for name, v in (("orderId", order_id), ("startTime", start), ("endTime", end), ("fromId", from_id))
        if v is not None
    )
    if given not in ALLOWED_TRADE_QUERIES:
        raise err.bad_combination()
    check_time_span(start, end, 24)
    assert req.api_key is not None
    rows = req.exchange.my_trades(
        req.api_key.account_id,
        eng.symbol,
        order_id=order_id,
        start_time=start,
        end_time=end,
        from_id=from_id,
        limit=limit,
    )
    return [F.my_trade(t, is_buyer, req.div) for t, is_buyer in rows]


def order_rate_limits(req: Request) -> Any:
    req.done()
    assert req.api_key is not None
    return req.service.limiter.order_limits_used(req.api_key.account_id, req.now_us)


USER_DATA = Security.USER_DATA
ENDPOINTS = [
    Endpoint("GET", "/api/v3/account", "account.status", USER_DATA, 20, account),
    Endpoint("GET", "/api/v3/account/commission", "account.commission", USER_DATA, 20, commission),
    Endpoint("GET", "/api/v3/myTrades", "myTrades", USER_DATA, my_trades_weight, my_trades),
    Endpoint("GET", "/api/v3/rateLimit/order", "account.rateLimits.orders", USER_DATA, 40, order_rate_limits),
]
