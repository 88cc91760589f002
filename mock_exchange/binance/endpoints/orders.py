"""Trading: place, test, query, cancel, cancel-all, open/all orders, cancel-replace."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from mock_exchange.engine import (
    CancelRestriction,
    EngineError,
    NewOrder,
    OrderType,
    PlaceResult,
    Side,
    STPMode,
    SymbolStatus,
    TimeInForce,
)
from mock_exchange.engine.matching import validate_shape

from .. import errors as err
from .. import formatting as F
from ..auth import Security, require_trading
from ..errors import BinanceError
from ..params import Params, check_time_span
from ..service import Request
from . import Endpoint
from .market import symbol_engine


class RespType(StrEnum):
    ACK = "ACK"
    RESULT = "RESULT"
    FULL = "FULL"


class PegPriceType(StrEnum):
    PRIMARY_PEG = "PRIMARY_PEG"
    MARKET_PEG = "MARKET_PEG"


class PegOffsetType(StrEnum):
    PRICE_LEVEL = "PRICE_LEVEL"


class CancelReplaceMode(StrEnum):
    STOP_ON_FAILURE = "STOP_ON_FAILURE"
    ALLOW_FAILURE = "ALLOW_FAILURE"


class RateLimitExceededMode(StrEnum):
    DO_NOTHING = "DO_NOTHING"
    CANCEL_ONLY = "CANCEL_ONLY"


def parse_new_order(req: Request, symbol: str) -> tuple[NewOrder, RespType | None]:
    """The parameters of a new order (POST /order, order.test, cancelReplace)."""
    p = req.params
    side = p.enum("side", Side, err.invalid_side(), required=True)
    otype = p.enum("type", OrderType, err.invalid_order_type(), required=True)
    tif = p.enum("timeInForce", TimeInForce, err.invalid_tif())
    quantity = p.decimal("quantity")
    quote_qty = p.decimal("quoteOrderQty")
    price = p.decimal("price")
    stop_price = p.decimal("stopPrice")
    client_id = p.client_order_id("newClientOrderId")
    resp = p.enum("newOrderRespType", RespType)
    stp = p.enum("selfTradePreventionMode", STPMode)
    strategy_id = p.long("strategyId")
    strategy_type = p.long("strategyType")
    if strategy_type is not None and strategy_type < 1_000_000:
        raise err.bad_strategy_type()
    iceberg = p.decimal("icebergQty")
    trailing = p.long("trailingDelta")
    pegged = _read_peg(p)
    assert side is not None and otype is not None and req.api_key is not None
    if iceberg:
        raise BinanceError(-2010, "Iceberg orders are not supported for this symbol.")
    if trailing is not None:
        raise BinanceError(-2010, "Trailing stop orders are not supported for this symbol.")
    if pegged:
        raise err.pegged_not_supported()
    cmd = NewOrder(
        account_id=req.api_key.account_id,
        symbol=symbol,
        side=side,
        type=otype,
        quantity=quantity,
        quote_order_qty=quote_qty,
        price=price,
        stop_price=stop_price,
        time_in_force=tif,
        new_client_order_id=client_id,
        self_trade_prevention_mode=stp,
        strategy_id=strategy_id,
        strategy_type=strategy_type,
    )
    return cmd, resp


def _read_peg(p: Params) -> bool:
    """Read and validate the pegged-order parameters as Binance documents them
    (``pegPriceType`` PRIMARY_PEG|MARKET_PEG, ``pegOffsetType`` PRICE_LEVEL,
    ``pegOffsetValue`` an integer up to 100); whether any was sent. Every symbol publishes
    ``pegInstructionsAllowed: false``, so a pegged order is then refused."""
    price_type = p.enum("pegPriceType", PegPriceType, err.invalid_peg_price_type())
    offset_type = p.enum("pegOffsetType", PegOffsetType, err.invalid_peg_offset_type())
    offset = p.long("pegOffsetValue")
    if offset is not None and offset > 100:
        raise err.greater_than("pegOffsetValue", "100")
    return price_type is not None or offset_type is not None or offset is not None


def default_resp_type(otype: OrderType) -> RespType:
    """MARKET and LIMIT answer FULL by default; every other type ACK."""
    return RespType.FULL if otype in (OrderType.MARKET, OrderType.LIMIT) else RespType.ACK


def render_placed(result: PlaceResult, resp: RespType | None, div: int) -> Any:
    """The order response; ``transactTime`` is when the engine placed the order (its
    ``time``, which is also its ``workingTime`` and its fills' time), not when the request
    arrived."""
    resp = resp or default_resp_type(result.order.type)
    order = result.answered
    if resp is RespType.ACK:
        return F.order_ack(order, order.time, div)
    if resp is RespType.RESULT:
        return F.order_result(order, order.time, div)
    return F.order_full(order, result.fills, order.time, div, result.events)


def execute_new_order(req: Request, cmd: NewOrder) -> PlaceResult:
    """Send ``cmd`` to the engine, counting it against the account's order limits."""
    limiter = req.service.limiter
    limiter.admit_order(cmd.account_id, req.now_us)
    try:
        result = req.exchange.place_order(cmd)
    except EngineError as e:
        if e.code in (-2010, -1013):
            limiter.count_order(cmd.account_id, req.now_us)
        raise BinanceError.from_engine(e) from None
    limiter.count_order(cmd.account_id, req.now_us)
    req.service.publish(result.events)
    return result


def place_order(req: Request) -> Any:
    eng = symbol_engine(req)
    cmd, resp = parse_new_order(req, eng.symbol)
    req.done()
    assert req.api_key is not None
    require_trading(req.api_key)
    result = execute_new_order(req, cmd)
    return render_placed(result, resp, req.div)


def test_weight(p: Params) -> int:
    return 20 if (p.peek("computeCommissionRates") or "").lower() == "true" else 1


def test_order(req: Request) -> Any:
    eng = symbol_engine(req)
    cmd, _ = parse_new_order(req, eng.symbol)
    compute = req.params.boolean("computeCommissionRates", False)
    req.done()
    req.exchange.test_order(cmd)
    return F.order_commission_rates(req.account) if compute else {}


def _order_ref(
    req: Request, id_name: str = "orderId", client_name: str = "origClientOrderId"
) -> tuple[int | None, str | None]:
    order_id = req.params.long(id_name)
    client_id = req.params.client_order_id(client_name)
    if order_id is None and client_id is None:
        raise err.one_of(client_name, id_name)
    return order_id, client_id


def query_order(req: Request) -> Any:
    eng = symbol_engine(req)
    order_id, client_id = _order_ref(req)
    req.done()
    assert req.api_key is not None
    order = req.exchange.find_order(req.api_key.account_id, eng.symbol, order_id, client_id)
    return F.order_query(order, req.div)


def _cancel_restriction(req: Request) -> CancelRestriction | None:
    return req.params.enum("cancelRestrictions", CancelRestriction, err.invalid_cancel_restrictions())


def cancel_order(req: Request) -> Any:
    eng = symbol_engine(req)
    order_id, client_id = _order_ref(req)
    new_id = req.params.client_order_id("newClientOrderId")
    restriction = _cancel_restriction(req)
    req.done()
    assert req.api_key is not None
    require_trading(req.api_key)
    result = req.exchange.cancel_order(
        req.api_key.account_id,
        eng.symbol,
        order_id,
        client_id,
        new_client_order_id=new_id,
        restriction=restriction,
    )
    req.service.publish(result.events)
    return F.cancel_report(result.order, result.cancel_client_order_id, result.time, req.div)


def cancel_open_orders(req: Request) -> Any:
    eng = symbol_engine(req)
    req.done()
    assert req.api_key is not None
    require_trading(req.api_key)
    results = req.exchange.cancel_open_orders(req.api_key.account_id, eng.symbol)
    out = []
    for r in results:
        req.service.publish(r.events)
        out.append(F.cancel_report(r.order, r.cancel_client_order_id, r.time, req.div))
    return out


def open_orders_weight(p: Params) -> int:
    return 6 if p.peek("symbol") is not None else 80


def open_orders(req: Request) -> Any:
    symbol = req.params.optional("symbol")
    if symbol is not None and symbol not in req.exchange.engines:
        raise err.bad_symbol()
    req.done()
    assert req.api_key is not None
    orders = req.exchange.open_orders(req.api_key.account_id, symbol)
    return [F.order_query(o, req.div) for o in orders]


def all_orders(req: Request) -> Any:
    eng = symbol_engine(req)
    p = req.params
    order_id = p.long("orderId")
    start = p.time_us("startTime")
    end = p.end_time_us()
    limit = p.int_in("limit", 1, 1000, 500)
    req.done()
    check_time_span(start, end, 24)
    assert req.api_key is not None
    orders = req.exchange.all_orders(
        req.api_key.account_id, eng.symbol, order_id=order_id, start_time=start, end_time=end, limit=limit
    )
    return [F.order_query(o, req.div) for o in orders]


def _cancel_replace_prechecks(
    req: Request, cmd: NewOrder, rate_mode: RateLimitExceededMode
) -> BinanceError | None:
    """What cancelReplace evaluates before it cancels anything: "Filters and Order Count
    are evaluated before the processing of the cancellation and order placement occurs"
    (rest-api.md). Raises when the request must fail as a whole, nothing cancelled;
    returns the ``-1015`` when the account is over its unfilled order count but
    ``CANCEL_ONLY`` asks for the cancel anyway (the new order is then not placed)."""
    limiter = req.service.limiter
    account_id = cmd.account_id
    try:
        limiter.admit_order(account_id, req.now_us)
    except BinanceError as e:
        if rate_mode is RateLimitExceededMode.DO_NOTHING:
            raise  # "will only attempt to cancel the order if [...] not exceeded": just the -1015
        return e
    if req.exchange.engine(cmd.symbol).cfg.status is not SymbolStatus.TRADING:
        return None  # a symbol that does not trade: the cancel goes ahead, the new order fails
    # The new order's filters, as order/test checks them. The order being replaced still
    # counts towards MAX_NUM_ORDERS/MAX_NUM_ALGO_ORDERS here: the CHANGELOG entry that
    # introduced cancelReplace says that with MAX_NUM_ORDERS 10 and 10 open orders "both
    # the cancel order placement and new order will fail because of the filter". The
    # request then fails with the filter's own error (the status table has no row for a
    # cancel that failed because of the new order), and the resting order stays open.
    try:
        req.exchange.test_order(cmd)
    except EngineError as e:
        if e.code in (-2010, -1013):  # a refused order counts, as for POST /order
            limiter.count_order(account_id, req.now_us)
        raise
    return None


def cancel_replace(req: Request) -> Any:
    eng = symbol_engine(req)
    p = req.params
    mode = p.enum("cancelReplaceMode", CancelReplaceMode, required=True)
    cancel_id, cancel_client_id = _order_ref(req, "cancelOrderId", "cancelOrigClientOrderId")
    cancel_new_id = p.client_order_id("cancelNewClientOrderId")
    restriction = _cancel_restriction(req)
    rate_mode = (
        p.enum("orderRateLimitExceededMode", RateLimitExceededMode) or RateLimitExceededMode.DO_NOTHING
    )
    cmd, resp = parse_new_order(req, eng.symbol)
    req.done()
    assert req.api_key is not None and mode is not None
    require_trading(req.api_key)
    if not eng.cfg.cancel_replace_allowed:
        raise err.cancel_replace_not_supported()
    validate_shape(cmd)  # a malformed new order fails the request before the cancel
    over_limit = _cancel_replace_prechecks(req, cmd, rate_mode)
    account_id = req.api_key.account_id

    cancel_response: Any
    try:
        c = req.exchange.cancel_order(
            account_id,
            eng.symbol,
            cancel_id,
            cancel_client_id,
            new_client_order_id=cancel_new_id,
            restriction=restriction,
        )
        req.service.publish(c.events)
        cancel_ok = True
        cancel_response = F.cancel_report(c.order, c.cancel_client_order_id, c.time, req.div)
    except EngineError as e:
        cancel_ok = False
        cancel_response = {"code": e.code, "msg": e.msg}

    new_response: Any = None
    new_result = "NOT_ATTEMPTED"
    if not cancel_ok and mode is CancelReplaceMode.STOP_ON_FAILURE:
        if over_limit is None:
            # The new order is not attempted, but it counts towards the order limits anyway.
            req.service.limiter.count_order(account_id, req.now_us)
    elif over_limit is not None:
        new_result = "FAILURE"
        new_response = over_limit.body()
    else:
        try:
            placed = execute_new_order(req, cmd)
            new_result = "SUCCESS"
            new_response = render_placed(placed, resp, req.div)
        except BinanceError as e:
            new_result = "FAILURE"
            new_response = e.body()
    data = {
        "cancelResult": "SUCCESS" if cancel_ok else "FAILURE",
        "newOrderResult": new_result,
        "cancelResponse": cancel_response,
        "newOrderResponse": new_response,
    }
    if cancel_ok and new_result == "SUCCESS":
        return data
    status: int | None = None
    retry_after: int | None = None
    if over_limit is not None and mode is CancelReplaceMode.STOP_ON_FAILURE:
        # CANCEL_ONLY over the limit: the status table answers 429 under STOP_ON_FAILURE,
        # and the usual 409/400 under ALLOW_FAILURE.
        status, retry_after = 429, over_limit.retry_after
    if cancel_ok or new_result == "SUCCESS":
        raise BinanceError(
            -2021, "Order cancel-replace partially failed.", status or 409, data=data, retry_after=retry_after
        )
    raise BinanceError(
        -2022, "Order cancel-replace failed.", status or 400, data=data, retry_after=retry_after
    )


TRADE = Security.TRADE
USER_DATA = Security.USER_DATA
ENDPOINTS = [
    Endpoint(
        "POST", "/api/v3/order", "order.place", TRADE, 1, place_order, places_order=True, free_on_success=True
    ),
    Endpoint("POST", "/api/v3/order/test", "order.test", TRADE, test_weight, test_order),
    Endpoint("GET", "/api/v3/order", "order.status", USER_DATA, 4, query_order),
    Endpoint("DELETE", "/api/v3/order", "order.cancel", TRADE, 1, cancel_order, free_on_success=True),
    Endpoint(
        "DELETE",
        "/api/v3/openOrders",
        "openOrders.cancelAll",
        TRADE,
        1,
        cancel_open_orders,
        free_on_success=True,
    ),
    Endpoint("GET", "/api/v3/openOrders", "openOrders.status", USER_DATA, open_orders_weight, open_orders),
    Endpoint("GET", "/api/v3/allOrders", "allOrders", USER_DATA, 20, all_orders),
    Endpoint(
        "POST",
        "/api/v3/order/cancelReplace",
        "order.cancelReplace",
        TRADE,
        1,
        cancel_replace,
        places_order=True,
        free_on_success=True,
    ),
]
