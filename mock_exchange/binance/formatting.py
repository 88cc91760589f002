"""Engine values to Binance JSON, field for field, in Binance's order and spelling.

Decimals are strings with eight places everywhere (a zero is ``"0.00000000"``), ids and
times are integers, ``cummulativeQuoteQty`` keeps Binance's double m. Times are kept in
microseconds by the engine; ``div`` is 1000 for millisecond output (the default) or 1 when
the client asked for microseconds (``X-MBX-TIME-UNIT`` / ``timeUnit``).
"""

from __future__ import annotations

from typing import Any

from mock_exchange.engine import (
    Account,
    Event,
    ExecutionReport,
    ExecutionType,
    Fill,
    Order,
    OrderStatus,
    STPMode,
    SymbolConfig,
    Trade,
)
from mock_exchange.engine.filters import (
    LotSize,
    MaxNumAlgoOrders,
    MaxNumOrders,
    MinNotional,
    Notional,
    PercentPrice,
    PercentPriceBySide,
    PriceFilter,
)
from mock_exchange.engine.market_data import AggTrade, Kline, Ticker24h
from mock_exchange.engine.types import CONDITIONAL_TYPES as CONDITIONAL
from mock_exchange.engine.units import SCALE, format_units

MS = 1000
US = 1
fmt = format_units
ZERO = "0.00000000"

Json = dict[str, Any]


def _expired_extras(o: Order, out: Json) -> None:
    if o.prevented_match_id is not None:
        out["preventedMatchId"] = o.prevented_match_id
        out["preventedQuantity"] = fmt(o.prevented_qty)


def prevented_matches(taker: Order, events: list[Event]) -> list[Json]:
    """The FULL response's ``preventedMatches``: one entry per match self-trade prevention
    stopped while ``taker`` was placed, read from the ``TRADE_PREVENTION`` reports of the
    placement. As in stp_faq.md's scenarios B-F and H: the maker's id and price, and each
    side's expired quantity where that side lost some (``takerPreventedQuantity`` for
    EXPIRE_TAKER/EXPIRE_BOTH/DECREMENT/TRANSFER, ``makerPreventedQuantity`` for
    EXPIRE_MAKER/EXPIRE_BOTH/DECREMENT/TRANSFER). ``makerSymbol`` appears only in the
    TRANSFER example (H), so only for a TRANSFER taker."""
    matches: dict[int, tuple[int, int, int, int]] = {}  # id -> (maker id, price, taker qty, maker qty)
    for e in events:
        if not isinstance(e, ExecutionReport) or e.prevention is None:
            continue
        p = e.prevention
        if p.is_taker and e.order is taker:
            maker_id, taker_qty, maker_qty = p.counter_order_id, p.last_prevented_qty, 0
        elif not p.is_taker and p.counter_order_id == taker.order_id:
            maker_id, taker_qty, maker_qty = e.order.order_id, 0, p.last_prevented_qty
        else:
            continue
        _, _, taker_before, maker_before = matches.get(p.prevented_match_id, (0, 0, 0, 0))
        matches[p.prevented_match_id] = (
            maker_id,
            p.exec_price,
            taker_before + taker_qty,
            maker_before + maker_qty,
        )
    out: list[Json] = []
    for match_id, (maker_id, price, taker_qty, maker_qty) in matches.items():
        match: Json = {"preventedMatchId": match_id}
        if taker.self_trade_prevention_mode is STPMode.TRANSFER:
            match["makerSymbol"] = taker.symbol
        match["makerOrderId"] = maker_id
        match["price"] = fmt(price)
        if taker_qty:
            match["takerPreventedQuantity"] = fmt(taker_qty)
        if maker_qty:
            match["makerPreventedQuantity"] = fmt(maker_qty)
        out.append(match)
    return out


def _strategy(o: Order, out: Json) -> None:
    if o.strategy_id is not None:
        out["strategyId"] = o.strategy_id
    if o.strategy_type is not None:
        out["strategyType"] = o.strategy_type


def order_ack(o: Order, transact_time: int, div: int = MS) -> Json:
    return {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "transactTime": transact_time // div,
    }


def order_result(o: Order, transact_time: int, div: int = MS) -> Json:
    out = order_ack(o, transact_time, div)
    out["price"] = fmt(o.price)
    out["origQty"] = fmt(o.orig_qty)
    out["executedQty"] = fmt(o.executed_qty)
    out["origQuoteOrderQty"] = fmt(o.orig_quote_qty)
    out["cummulativeQuoteQty"] = fmt(o.cumulative_quote)
    out["status"] = o.status.value
    out["timeInForce"] = o.time_in_force.value
    out["type"] = o.type.value
    out["side"] = o.side.value
    if o.type in CONDITIONAL:
        out["stopPrice"] = fmt(o.stop_price)
    out["workingTime"] = o.working_time // div if o.working_time >= 0 else -1
    out["selfTradePreventionMode"] = o.self_trade_prevention_mode.value
    _strategy(o, out)
    # A placement response carries the order's prevented quantity, never a top-level
    # ``preventedMatchId`` (stp_faq.md scenarios D, E, H; SBE NewOrderResultResponse).
    if o.prevented_qty:
        out["preventedQuantity"] = fmt(o.prevented_qty)
    if o.expiry_reason is not None and o.status in (OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH):
        out["expiryReason"] = o.expiry_reason.value
    return out


def fill(f: Fill) -> Json:
    return {
        "price": fmt(f.price),
        "qty": fmt(f.qty),
        "commission": fmt(f.commission),
        "commissionAsset": f.commission_asset,
        "tradeId": f.trade_id,
    }


def order_full(
    o: Order, fills: list[Fill], transact_time: int, div: int = MS, events: list[Event] | None = None
) -> Json:
    """RESULT plus ``fills`` and, when self-trade prevention fired during the placement
    (``events`` are the placement's), ``preventedMatches``."""
    out = order_result(o, transact_time, div)
    out["fills"] = [fill(f) for f in fills]
    prevented = prevented_matches(o, events) if events else []
    if prevented:
        out["preventedMatches"] = prevented
    return out


def order_query(o: Order, div: int = MS) -> Json:
    """The shape of GET /order, openOrders and allOrders."""
    out: Json = {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "price": fmt(o.price),
        "origQty": fmt(o.orig_qty),
        "executedQty": fmt(o.executed_qty),
        "cummulativeQuoteQty": fmt(o.cumulative_quote),
        "status": o.status.value,
        "timeInForce": o.time_in_force.value,
        "type": o.type.value,
        "side": o.side.value,
        "stopPrice": fmt(o.stop_price),
        "icebergQty": ZERO,
        "time": o.time // div,
        "updateTime": o.update_time // div,
        "isWorking": o.is_working,
        "workingTime": o.working_time // div if o.working_time >= 0 else -1,
        "origQuoteOrderQty": fmt(o.orig_quote_qty),
        "selfTradePreventionMode": o.self_trade_prevention_mode.value,
    }
    _strategy(o, out)
    _expired_extras(o, out)
    if o.expiry_reason is not None:
        out["expiryReason"] = o.expiry_reason.value
    return out


def cancel_report(o: Order, cancel_client_order_id: str, transact_time: int, div: int = MS) -> Json:
    out: Json = {
        "symbol": o.symbol,
        "origClientOrderId": o.client_order_id,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_order_id,
        "transactTime": transact_time // div,
        "price": fmt(o.price),
        "origQty": fmt(o.orig_qty),
        "executedQty": fmt(o.executed_qty),
        "origQuoteOrderQty": fmt(o.orig_quote_qty),
        "cummulativeQuoteQty": fmt(o.cumulative_quote),
        "status": o.status.value,
        "timeInForce": o.time_in_force.value,
        "type": o.type.value,
        "side": o.side.value,
    }
    if o.type in CONDITIONAL:
        out["stopPrice"] = fmt(o.stop_price)
    out["selfTradePreventionMode"] = o.self_trade_prevention_mode.value
    _strategy(o, out)
    return out


# ------------------------------------------------------------------ trades


def public_trade(t: Trade, div: int = MS) -> Json:
    return {
        "id": t.trade_id,
        "price": fmt(t.price),
        "qty": fmt(t.qty),
        "quoteQty": fmt(t.quote_qty),
        "time": t.time // div,
        "isBuyerMaker": t.is_buyer_maker,
        "isBestMatch": True,
    }


def my_trade(t: Trade, is_buyer: bool, div: int = MS) -> Json:
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "orderId": t.buyer_order_id if is_buyer else t.seller_order_id,
        "orderListId": -1,
        "price": fmt(t.price),
        "qty": fmt(t.qty),
        "quoteQty": fmt(t.quote_qty),
        "commission": fmt(t.buyer_commission if is_buyer else t.seller_commission),
        "commissionAsset": t.buyer_commission_asset if is_buyer else t.seller_commission_asset,
        "time": t.time // div,
        "isBuyer": is_buyer,
        "isMaker": t.is_buyer_maker == is_buyer,
        "isBestMatch": True,
    }


def agg_trade(a: AggTrade, div: int = MS) -> Json:
    return {
        "a": a.agg_id,
        "p": fmt(a.price),
        "q": fmt(a.qty),
        "f": a.first_trade_id,
        "l": a.last_trade_id,
        "T": a.time // div,
        "m": a.is_buyer_maker,
        "M": True,
    }


def kline_row(k: Kline, div: int = MS) -> list[Any]:
    return [
        k.open_time // div,
        fmt(k.open),
        fmt(k.high),
        fmt(k.low),
        fmt(k.close),
        fmt(k.volume),
        k.close_time // div,
        fmt(k.quote_volume),
        k.trades,
        fmt(k.taker_buy_volume),
        fmt(k.taker_buy_quote_volume),
        "0",
    ]


def percent(change: int, base: int) -> str:
    """Price change percent with three decimals, as Binance prints it."""
    if not base:
        return "0.000"
    thousandths = change * 100_000 // base if change >= 0 else -((-change) * 100_000 // base)
    sign = "-" if thousandths < 0 else ""
    thousandths = abs(thousandths)
    return f"{sign}{thousandths // 1000}.{thousandths % 1000:03d}"


def ticker_24h(symbol: str, t: Ticker24h, best: tuple[int, int, int, int], full: bool, div: int = MS) -> Json:
    bid, bid_qty, ask, ask_qty = best
    if not full:
        return {
            "symbol": symbol,
            "openPrice": fmt(t.open),
            "highPrice": fmt(t.high),
            "lowPrice": fmt(t.low),
            "lastPrice": fmt(t.last),
            "volume": fmt(t.volume),
            "quoteVolume": fmt(t.quote_volume),
            "openTime": t.open_time // div,
            "closeTime": t.close_time // div,
            "firstId": t.first_id,
            "lastId": t.last_id,
            "count": t.count,
        }
    change = t.last - t.open
    wavg = t.quote_volume * SCALE // t.volume if t.volume else 0
    return {
        "symbol": symbol,
        "priceChange": fmt(change),
        "priceChangePercent": percent(change, t.open),
        "weightedAvgPrice": fmt(wavg),
        "prevClosePrice": fmt(t.prev_close),
        "lastPrice": fmt(t.last),
        "lastQty": fmt(t.last_qty),
        "bidPrice": fmt(bid),
        "bidQty": fmt(bid_qty),
        "askPrice": fmt(ask),
        "askQty": fmt(ask_qty),
        "openPrice": fmt(t.open),
        "highPrice": fmt(t.high),
        "lowPrice": fmt(t.low),
        "volume": fmt(t.volume),
        "quoteVolume": fmt(t.quote_volume),
        "openTime": t.open_time // div,
        "closeTime": t.close_time // div,
        "firstId": t.first_id,
        "lastId": t.last_id,
        "count": t.count,
    }


#: The fields of a FULL rolling-window ticker (``GET /api/v3/ticker``), in Binance's order:
#: the 24 h ticker's without the previous close, the last quantity and the best prices.
_WINDOW_FULL = (
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
)


def ticker_window(symbol: str, t: Ticker24h, full: bool, div: int = MS) -> Json:
    """A rolling-window ticker: ``ticker_24h`` over the window, without the book's fields."""
    row = ticker_24h(symbol, t, (0, 0, 0, 0), full, div)
    return {key: row[key] for key in _WINDOW_FULL} if full else row


def depth_snapshot(
    last_update_id: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]], limit: int | None = None
) -> Json:
    """A depth snapshot (REST ``depth``, WS API ``depth``, a partial-book stream), the best
    ``limit`` levels a side if given."""
    if limit is not None:
        bids, asks = bids[:limit], asks[:limit]
    return {"lastUpdateId": last_update_id, "bids": levels(bids), "asks": levels(asks)}


def levels(pairs: list[tuple[int, int]]) -> list[list[str]]:
    return [[fmt(p), fmt(q)] for p, q in pairs]


# ------------------------------------------------------------------ account


def rate_to_bps(rate: int) -> int:
    """A commission rate (units) as the integer ``makerCommission`` (0.001 -> 10)."""
    return rate * 10_000 // SCALE


def _rates(acct: Account) -> Json:
    return {
        "maker": fmt(acct.maker_rate),
        "taker": fmt(acct.taker_rate),
        "buyer": fmt(acct.buyer_rate),
        "seller": fmt(acct.seller_rate),
    }


def _no_discount() -> Json:
    return {"enabledForAccount": False, "enabledForSymbol": False, "discountAsset": "BNB", "discount": ZERO}


def account_info(acct: Account, omit_zero: bool, div: int = MS) -> Json:
    balances = [
        {"asset": asset, "free": fmt(free), "locked": fmt(locked)}
        for asset, (free, locked) in acct.balances.items()
        if not (omit_zero and free == 0 and locked == 0)
    ]
    return {
        "makerCommission": rate_to_bps(acct.maker_rate),
        "takerCommission": rate_to_bps(acct.taker_rate),
        "buyerCommission": rate_to_bps(acct.buyer_rate),
        "sellerCommission": rate_to_bps(acct.seller_rate),
        "commissionRates": _rates(acct),
        "canTrade": acct.can_trade,
        "canWithdraw": acct.can_withdraw,
        "canDeposit": acct.can_deposit,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": acct.update_time // div,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": 100_000_000 + acct.account_id,
    }


def commission_rates(acct: Account, symbol: str) -> Json:
    zeros = {"maker": ZERO, "taker": ZERO, "buyer": ZERO, "seller": ZERO}
    return {
        "symbol": symbol,
        "standardCommission": _rates(acct),
        "specialCommission": dict(zeros),
        "taxCommission": dict(zeros),
        "discount": _no_discount(),
    }


def order_commission_rates(acct: Account) -> Json:
    """What ``order/test`` answers with ``computeCommissionRates=true``."""
    zeros = {"maker": ZERO, "taker": ZERO}
    return {
        "standardCommissionForOrder": {"maker": fmt(acct.maker_rate), "taker": fmt(acct.taker_rate)},
        "specialCommissionForOrder": dict(zeros),
        "taxCommissionForOrder": dict(zeros),
        "discount": _no_discount(),
    }


# ------------------------------------------------------------------ exchangeInfo


def _filter_json(f: object) -> Json:
    if isinstance(f, PriceFilter):
        return {
            "filterType": "PRICE_FILTER",
            "minPrice": fmt(f.min_price),
            "maxPrice": fmt(f.max_price),
            "tickSize": fmt(f.tick_size),
        }
    if isinstance(f, LotSize):  # and MARKET_LOT_SIZE, its subclass
        return {
            "filterType": f.filter_type,
            "minQty": fmt(f.min_qty),
            "maxQty": fmt(f.max_qty),
            "stepSize": fmt(f.step_size),
        }
    if isinstance(f, MinNotional):
        return {
            "filterType": "MIN_NOTIONAL",
            "minNotional": fmt(f.min_notional),
            "applyToMarket": f.apply_to_market,
            "avgPriceMins": f.avg_price_mins,
        }
    if isinstance(f, Notional):
        return {
            "filterType": "NOTIONAL",
            "minNotional": fmt(f.min_notional),
            "applyMinToMarket": f.apply_min_to_market,
            "maxNotional": fmt(f.max_notional),
            "applyMaxToMarket": f.apply_max_to_market,
            "avgPriceMins": f.avg_price_mins,
        }
    if isinstance(f, PercentPrice):
        return {
            "filterType": "PERCENT_PRICE",
            "multiplierUp": fmt(f.multiplier_up, 4),
            "multiplierDown": fmt(f.multiplier_down, 4),
            "avgPriceMins": f.avg_price_mins,
        }
    if isinstance(f, PercentPriceBySide):
        return {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": fmt(f.bid_multiplier_up, 4),
            "bidMultiplierDown": fmt(f.bid_multiplier_down, 4),
            "askMultiplierUp": fmt(f.ask_multiplier_up, 4),
            "askMultiplierDown": fmt(f.ask_multiplier_down, 4),
            "avgPriceMins": f.avg_price_mins,
        }
    if isinstance(f, MaxNumOrders):
        return {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": f.max_num_orders}
    if isinstance(f, MaxNumAlgoOrders):
        return {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": f.max_num_algo_orders}
    raise TypeError(f)


def symbol_info(cfg: SymbolConfig, show_permission_sets: bool = True) -> Json:
    filters: list[Json] = []
    for kind, idx in cfg.filter_order:
        filters.append(_filter_json(cfg.filters[idx]) if kind == "rule" else dict(cfg.extra_filters[idx]))
    out: Json = {
        "symbol": cfg.symbol,
        "status": cfg.status.value,
        "baseAsset": cfg.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": cfg.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(cfg.order_types),
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": cfg.quote_order_qty_market_allowed,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": cfg.cancel_replace_allowed,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": filters,
        "permissions": [],
        # ``showPermissionSets=false`` keeps the field but leaves it empty.
        "permissionSets": cfg.permission_sets if show_permission_sets else [],
        "defaultSelfTradePreventionMode": cfg.default_stp_mode.value,
        "allowedSelfTradePreventionModes": [m.value for m in cfg.allowed_stp_modes],
    }
    return out


# ------------------------------------------------------------------ user data events


def execution_report(r: ExecutionReport, event_time: int, div: int = MS) -> Json:
    """The ``executionReport`` payload, with Binance's c/C semantics on cancels."""
    o = r.order
    is_cancel = r.cancel_client_order_id is not None
    out: Json = {
        "e": "executionReport",
        "E": event_time // div,
        "s": o.symbol,
        "c": r.cancel_client_order_id if is_cancel else o.client_order_id,
        "S": o.side.value,
        "o": o.type.value,
        "f": o.time_in_force.value,
        "q": fmt(o.orig_qty),
        "p": fmt(o.price),
        "P": fmt(o.stop_price),
        "F": ZERO,
        "g": -1,
        "C": o.client_order_id if is_cancel else "",
        "x": r.execution_type.value,
        "X": r.status.value,
        "r": "NONE",
        "i": o.order_id,
        "l": fmt(r.last_qty),
        "z": fmt(r.executed_qty),
        "L": fmt(r.last_price),
        "n": fmt(r.commission) if r.commission_asset is not None else "0",
        "N": r.commission_asset,
        "T": r.time // div,
        "t": r.trade_id,
        "I": r.execution_id,
        "w": r.is_working,
        "m": r.is_maker,
        # "Ignore", but Binance's samples set it on trades (faqs/market_orders_faq.md).
        "M": r.execution_type is ExecutionType.TRADE,
        "O": o.time // div,
        "Z": fmt(r.cumulative_quote),
        "Y": fmt(r.last_quote),
        "Q": fmt(o.orig_quote_qty),
    }
    if r.working_time >= 0:
        out["W"] = r.working_time // div
    out["V"] = o.self_trade_prevention_mode.value
    if o.strategy_id is not None:
        out["j"] = o.strategy_id
    if o.strategy_type is not None:
        out["J"] = o.strategy_type
    p = r.prevention
    if p is not None:
        out["v"] = p.prevented_match_id
        out["A"] = fmt(p.prevented_qty)
        out["B"] = fmt(p.last_prevented_qty)
        out["u"] = p.trade_group_id
        out["U"] = p.counter_order_id
        out["Cs"] = o.symbol
        out["pl"] = fmt(p.exec_qty)
        out["pL"] = fmt(p.exec_price)
        out["pY"] = fmt(p.exec_quote)
    if r.expiry_reason is not None:
        out["eR"] = r.expiry_reason.value
    return out
