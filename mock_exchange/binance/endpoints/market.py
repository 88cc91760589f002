"""Public market data: ping, time, exchangeInfo, depth, trades, klines, tickers."""

from __future__ import annotations

import re
from typing import Any

from mock_exchange.engine import MatchingEngine, SymbolStatus
from mock_exchange.engine.market_data import KLINE_INTERVALS_US

from .. import errors as err
from .. import formatting as F
from ..auth import Security
from ..params import Params
from ..service import Request
from . import Endpoint

HOUR_US = 3_600_000_000


def symbol_engine(req: Request, name: str = "symbol") -> MatchingEngine:
    """The engine of the mandatory ``symbol`` parameter (``-1121`` if there is none)."""
    return req.exchange.engine(req.params.mandatory(name))


def symbol_list(req: Request) -> list[MatchingEngine] | None:
    """``symbol`` (one), ``symbols`` (JSON array) or neither (None: every symbol)."""
    one = req.params.optional("symbol")
    many = req.params.json_list("symbols")
    if one is not None and many is not None:
        raise err.bad_combination()
    if one is not None:
        return [req.exchange.engine(one)]
    if many is None:
        return None
    if len(set(many)) != len(many):
        raise err.duplicate_symbols()
    return [req.exchange.engine(name) for name in many]


#: What ``symbolStatus`` may ask for (Binance documents these three, on every endpoint).
_STATUS_FILTERS = {s.value: s for s in (SymbolStatus.TRADING, SymbolStatus.HALT, SymbolStatus.BREAK)}


def wanted_status(req: Request) -> SymbolStatus | None:
    """The ``symbolStatus`` parameter, if sent (``-1122`` if it is not one of the three)."""
    raw = req.params.optional("symbolStatus")
    if raw is None:
        return None
    status = _STATUS_FILTERS.get(raw)
    if status is None:
        raise err.invalid_symbol_status()
    return status


def check_symbol_status(req: Request, engines: list[MatchingEngine]) -> None:
    wanted = wanted_status(req)
    if wanted is not None and any(e.cfg.status is not wanted for e in engines):
        raise err.symbol_status_mismatch()


def ticker_engines(req: Request) -> tuple[list[MatchingEngine], bool]:
    """The symbols a ticker endpoint reports on, and whether it answers with one object.

    ``symbolStatus``: a single ``symbol`` with another status is an error (``-1220``);
    from ``symbols`` or from all symbols, the others are left out.
    """
    engines = symbol_list(req)
    wanted = wanted_status(req)
    single = req.params.peek("symbol") is not None
    if engines is None:
        engines = list(req.exchange.engines.values())
    if wanted is not None:
        if single:
            if engines[0].cfg.status is not wanted:
                raise err.symbol_status_mismatch()
        else:
            engines = [e for e in engines if e.cfg.status is wanted]
    return engines, single


def ping(req: Request) -> Any:
    req.done()
    return {}


def server_time(req: Request) -> Any:
    req.done()
    return {"serverTime": req.now_us // req.div}


def exchange_info(req: Request) -> Any:
    p = req.params
    one = p.peek("symbol")
    many = p.peek("symbols")
    perms_raw = p.optional("permissions")
    status = wanted_status(req)
    show_sets = p.boolean("showPermissionSets", True)
    if (one is not None or many is not None) and (perms_raw is not None or status is not None):
        raise err.bad_combination()
    engines = symbol_list(req)
    req.done()
    if engines is None:
        engines = list(req.exchange.engines.values())
        if perms_raw is not None:
            wanted = set(p.json_list("permissions") or []) if perms_raw.startswith("[") else {perms_raw}
            engines = [e for e in engines if any(wanted & set(group) for group in e.cfg.permission_sets)]
        if status is not None:
            engines = [e for e in engines if e.cfg.status is status]
    return {
        "timezone": "UTC",
        "serverTime": req.now_us // req.div,
        "rateLimits": req.service.limiter.exchange_info_limits(ws_api=req.surface == "ws"),
        "exchangeFilters": [],
        "symbols": [F.symbol_info(e.cfg, show_sets) for e in engines],
    }


def depth_weight(p: Params) -> int:
    try:
        limit = int(p.peek("limit") or 100)
    except ValueError:
        limit = 100
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def depth(req: Request) -> Any:
    eng = symbol_engine(req)
    limit = req.params.long("limit")
    check_symbol_status(req, [eng])
    req.done()
    if limit is None:
        limit = 100
    if limit < 1:
        raise err.invalid_param("limit")
    limit = min(limit, 5000)
    req.service.before_snapshot(eng.symbol)
    return F.depth_snapshot(*eng.snapshot(limit))


def recent_trades(req: Request) -> Any:
    eng = symbol_engine(req)
    limit = req.params.int_in("limit", 1, 1000, 500)
    req.done()
    return [F.public_trade(t, req.div) for t in eng.data.recent(limit)]


def historical_trades(req: Request) -> Any:
    eng = symbol_engine(req)
    limit = req.params.int_in("limit", 1, 1000, 500)
    from_id = req.params.long("fromId")
    req.done()
    return [F.public_trade(t, req.div) for t in eng.data.historical(from_id, limit)]


def agg_trades(req: Request) -> Any:
    eng = symbol_engine(req)
    p = req.params
    from_id = p.long("fromId")
    start = p.time_us("startTime")
    end = p.end_time_us()
    limit = p.int_in("limit", 1, 1000, 500)
    req.done()
    # "fromId cannot be used together with startTime and endTime" (web-socket-api.md);
    # the time window itself has had no limit since 2022-12-05 (CHANGELOG).
    if from_id is not None and (start is not None or end is not None):
        raise err.bad_combination()
    rows = eng.data.agg_trades(from_id=from_id, start_time=start, end_time=end, limit=limit)
    return [F.agg_trade(a, req.div) for a in rows]


def klines(req: Request) -> Any:
    eng = symbol_engine(req)
    p = req.params
    interval = p.mandatory("interval")
    if interval not in KLINE_INTERVALS_US:
        raise err.bad_interval()
    start = p.time_us("startTime")
    end = p.end_time_us()
    tz = p.optional("timeZone")
    limit = p.int_in("limit", 1, 1000, 500)
    req.done()
    offset_us = 0
    if tz is not None:
        m = _TIME_ZONE.fullmatch(tz)
        if m is None:
            raise err.invalid_param("timeZone")
        sign = -1 if tz.startswith("-") else 1
        offset_us = sign * (int(m.group(1)) * 60 + int(m.group(2) or 0)) * 60_000_000
        if not -12 * HOUR_US <= offset_us <= 14 * HOUR_US:
            raise err.invalid_param("timeZone")
    rows = eng.data.klines(
        interval, start_time=start, end_time=end, limit=limit, now=req.now_us, offset_us=offset_us
    )
    return [F.kline_row(k, req.div) for k in rows]


def avg_price(req: Request) -> Any:
    eng = symbol_engine(req)
    req.done()
    mins = 5
    price = eng.data.avg_price(mins, req.now_us)
    last = eng.data.trades[-1].time if eng.data.trades else req.now_us
    return {"mins": mins, "price": F.fmt(price), "closeTime": last // req.div}


def _many_weight(one: int, many: int) -> Any:
    def weight(p: Params) -> int:
        return one if p.peek("symbol") is not None else many

    return weight


def ticker_price(req: Request) -> Any:
    engines, single = ticker_engines(req)
    req.done()
    rows = [{"symbol": e.symbol, "price": F.fmt(e.data.last_price)} for e in engines]
    return rows[0] if single else rows


def _best(eng: MatchingEngine) -> tuple[int, int, int, int]:
    bid = eng.book.best_bid()
    ask = eng.book.best_ask()
    return (
        bid.price if bid else 0,
        bid.total if bid else 0,
        ask.price if ask else 0,
        ask.total if ask else 0,
    )


def book_ticker(req: Request) -> Any:
    engines, single = ticker_engines(req)
    req.done()
    rows = []
    for e in engines:
        bid, bid_qty, ask, ask_qty = _best(e)
        rows.append(
            {
                "symbol": e.symbol,
                "bidPrice": F.fmt(bid),
                "bidQty": F.fmt(bid_qty),
                "askPrice": F.fmt(ask),
                "askQty": F.fmt(ask_qty),
            }
        )
    return rows[0] if single else rows


def ticker_24h_weight(p: Params) -> int:
    if p.peek("symbol") is not None:
        return 2
    raw = p.peek("symbols")
    if raw is None:
        return 80
    n = raw.count(",") + 1
    return 2 if n <= 20 else 40 if n <= 100 else 80


def _ticker_type(req: Request) -> bool:
    """``type``: FULL (the default, True) or MINI (False); ``-1139`` otherwise."""
    kind = req.params.optional("type") or "FULL"
    if kind not in ("FULL", "MINI"):
        raise err.invalid_ticker_type()
    return kind == "FULL"


def ticker_24h(req: Request) -> Any:
    engines, single = ticker_engines(req)
    full = _ticker_type(req)
    req.done()
    rows = [F.ticker_24h(e.symbol, e.data.ticker(req.now_us), _best(e), full, req.div) for e in engines]
    return rows[0] if single else rows


#: ``timeZone`` of klines: hours, or hours and minutes (``-1:00``, ``05:45``, ``8``), ASCII digits.
_TIME_ZONE = re.compile(r"[+-]?([0-9]{1,2})(?::([0-9]{2}))?")

_WINDOW_UNITS_US = {"m": 60_000_000, "h": HOUR_US, "d": 24 * HOUR_US}
_WINDOW_MAX = {"m": 59, "h": 23, "d": 7}


def window_size_us(raw: str | None) -> int:
    """``windowSize``: 1m-59m, 1h-23h or 1d-7d, one unit only (default 1d)."""
    if raw is None:
        return 24 * HOUR_US
    number, unit = raw[:-1], raw[-1:]
    digits = number.isascii() and number.isdigit()  # "²" and "١" are digits to str.isdigit
    if unit not in _WINDOW_UNITS_US or not digits or not 1 <= int(number) <= _WINDOW_MAX[unit]:
        raise err.invalid_param("windowSize")
    return int(number) * _WINDOW_UNITS_US[unit]


def rolling_ticker_weight(p: Params) -> int:
    """4 per symbol, and 200 once there are more than 50."""
    raw = p.peek("symbols")
    n = raw.count(",") + 1 if raw is not None and p.peek("symbol") is None else 1
    return 200 if n > 50 else 4 * n


def rolling_ticker(req: Request) -> Any:
    """``GET /api/v3/ticker``: statistics over ``windowSize``, from the minute that long ago
    (the open time starts on a minute) up to now."""
    p = req.params
    if p.peek("symbol") is None and p.peek("symbols") is None:
        raise err.one_of("symbol", "symbols")
    engines, single = ticker_engines(req)
    span = window_size_us(p.optional("windowSize"))
    full = _ticker_type(req)
    req.done()
    rows = [
        F.ticker_window(e.symbol, e.data.rolling_ticker(req.now_us, span), full, req.div) for e in engines
    ]
    return rows[0] if single else rows


def reference_price(req: Request) -> Any:
    """``GET /api/v3/referencePrice``: the mock sets no reference prices, so every symbol
    answers as one whose reference price "has never been set" (and its stream sends
    ``"r": null``)."""
    symbol_engine(req)
    req.done()
    raise err.no_reference_price()


NONE = Security.NONE
ENDPOINTS = [
    Endpoint("GET", "/api/v3/ping", "ping", NONE, 1, ping),
    Endpoint("GET", "/api/v3/time", "time", NONE, 1, server_time),
    Endpoint("GET", "/api/v3/exchangeInfo", "exchangeInfo", NONE, 20, exchange_info),
    Endpoint("GET", "/api/v3/depth", "depth", NONE, depth_weight, depth),
    Endpoint("GET", "/api/v3/trades", "trades.recent", NONE, 25, recent_trades),
    Endpoint("GET", "/api/v3/historicalTrades", "trades.historical", NONE, 25, historical_trades),
    Endpoint("GET", "/api/v3/aggTrades", "trades.aggregate", NONE, 4, agg_trades),
    Endpoint("GET", "/api/v3/klines", "klines", NONE, 2, klines),
    Endpoint("GET", "/api/v3/uiKlines", "uiKlines", NONE, 2, klines),
    Endpoint("GET", "/api/v3/avgPrice", "avgPrice", NONE, 2, avg_price),
    Endpoint("GET", "/api/v3/ticker/price", "ticker.price", NONE, _many_weight(2, 4), ticker_price),
    Endpoint("GET", "/api/v3/ticker/bookTicker", "ticker.book", NONE, _many_weight(2, 4), book_ticker),
    Endpoint("GET", "/api/v3/ticker/24hr", "ticker.24hr", NONE, ticker_24h_weight, ticker_24h),
    Endpoint("GET", "/api/v3/ticker", "ticker", NONE, rolling_ticker_weight, rolling_ticker),
    Endpoint("GET", "/api/v3/referencePrice", "referencePrice", NONE, 2, reference_price),
]
