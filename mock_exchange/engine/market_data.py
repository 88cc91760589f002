"""Public market data derived from trades: history, aggregate trades, klines and tickers.

One ``MarketData`` per symbol, fed every trade in engine order. Trades are kept in a list
ordered by id (and therefore by time, because the exchange clock never goes backwards), so
range queries are bisections. The average price that filters consult on every order is
kept incrementally in per-minute buckets.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from .types import Trade
from .units import SCALE

US_PER_MS = 1000
US_PER_MIN = 60_000_000

#: Kline intervals Binance accepts (case-sensitive), in microseconds. ``1M`` is calendar
#: months and is handled separately.
KLINE_INTERVALS_US: dict[str, int] = {
    "1s": 1_000_000,
    "1m": 60_000_000,
    "3m": 180_000_000,
    "5m": 300_000_000,
    "15m": 900_000_000,
    "30m": 1_800_000_000,
    "1h": 3_600_000_000,
    "2h": 7_200_000_000,
    "4h": 14_400_000_000,
    "6h": 21_600_000_000,
    "8h": 28_800_000_000,
    "12h": 43_200_000_000,
    "1d": 86_400_000_000,
    "3d": 259_200_000_000,
    "1w": 604_800_000_000,
    "1M": 0,
}


@dataclass(slots=True)
class Kline:
    open_time: int
    close_time: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote_volume: int
    trades: int
    taker_buy_volume: int
    taker_buy_quote_volume: int
    first_trade_id: int
    last_trade_id: int


@dataclass(slots=True)
class AggTrade:
    agg_id: int
    price: int
    qty: int
    first_trade_id: int
    last_trade_id: int
    time: int
    is_buyer_maker: bool


@dataclass(slots=True)
class Ticker24h:
    open_time: int
    close_time: int
    open: int
    high: int
    low: int
    last: int
    last_qty: int
    prev_close: int
    volume: int
    quote_volume: int
    first_id: int
    last_id: int
    count: int


def _month_start(us: int) -> int:
    import datetime as dt

    d = dt.datetime.fromtimestamp(us // 1_000_000, tz=dt.UTC)
    start = dt.datetime(d.year, d.month, 1, tzinfo=dt.UTC)
    return int(start.timestamp()) * 1_000_000


def _next_month(start_us: int) -> int:
    import datetime as dt

    d = dt.datetime.fromtimestamp(start_us // 1_000_000, tz=dt.UTC)
    y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return int(dt.datetime(y, m, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000


#: Weekly klines open on Monday 00:00: the epoch was a Thursday, its first Monday 4 days on.
_WEEK_PHASE_US = 4 * 86_400_000_000


def kline_window(interval: str, t: int, offset_us: int = 0) -> tuple[int, int]:
    """(open time, close time) in µs of the ``interval`` kline that contains time ``t``.

    ``offset_us`` is the request's ``timeZone``: intervals are cut in that zone. The close
    time is the last microsecond of the interval (Binance's ``open + interval - 1 ms`` in
    milliseconds). Weeks start on Monday and months on the 1st, like Binance's.
    """
    local = t + offset_us
    step = KLINE_INTERVALS_US[interval]
    if not step:  # 1M: calendar months
        start = _month_start(local)
        return start - offset_us, _next_month(start) - offset_us - 1
    phase = _WEEK_PHASE_US if interval == "1w" else 0
    start = (local - phase) // step * step + phase - offset_us
    return start, start + step - 1


class MarketData:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.trades: list[Trade] = []
        self._times: list[int] = []
        self.last_price = 0
        self.last_qty = 0
        # minute index -> [sum qty, sum quote]: for the average price filters use.
        self._minutes: dict[int, list[int]] = {}
        self._avg_cache: tuple[int, int, int] = (-1, -1, 0)  # (minute, mins, value)

    # ------------------------------------------------------------------ recording

    def record(self, trade: Trade) -> None:
        self.trades.append(trade)
        self._times.append(trade.time)
        self.last_price = trade.price
        self.last_qty = trade.qty
        minute = trade.time // US_PER_MIN
        bucket = self._minutes.get(minute)
        if bucket is None:
            self._minutes[minute] = [trade.qty, trade.quote_qty]
        else:
            bucket[0] += trade.qty
            bucket[1] += trade.quote_qty
        self._avg_cache = (-1, -1, 0)

    def assume_last_price(self, price: int) -> None:
        """Take ``price`` as the last price while nothing has traded (a listed symbol's
        history from before the exchange opened); ignored once there are trades."""
        if not self.trades:
            self.last_price = price
            self._avg_cache = (-1, -1, 0)

    # ------------------------------------------------------------------ queries

    def avg_price(self, mins: int, now: int) -> int:
        """Volume-weighted average over the last ``mins`` minutes; the last price if none."""
        minute = now // US_PER_MIN
        cm, cmins, cval = self._avg_cache
        if cm == minute and cmins == mins:
            return cval
        qty = quote = 0
        get = self._minutes.get
        for m in range(minute - mins + 1, minute + 1):
            b = get(m)
            if b is not None:
                qty += b[0]
                quote += b[1]
        value = quote * SCALE // qty if qty else self.last_price
        self._avg_cache = (minute, mins, value)
        return value

    def recent(self, limit: int) -> list[Trade]:
        return self.trades[-limit:] if limit else []

    def historical(self, from_id: int | None, limit: int) -> list[Trade]:
        if from_id is None:
            return self.recent(limit)
        if not self.trades:
            return []
        start = from_id - self.trades[0].trade_id
        start = max(start, 0)
        return self.trades[start : start + limit]

    def _range(self, start_time: int | None, end_time: int | None) -> tuple[int, int]:
        lo = 0 if start_time is None else bisect.bisect_left(self._times, start_time)
        hi = len(self._times) if end_time is None else bisect.bisect_right(self._times, end_time)
        return lo, hi

    def agg_trades(
        self,
        *,
        from_id: int | None,
        start_time: int | None,
        end_time: int | None,
        limit: int,
    ) -> list[AggTrade]:
        """Aggregate trades: consecutive fills of one taker order at one price."""
        if from_id is not None:
            # Agg ids are dense and ascending with trade ids; find the first trade of from_id.
            idx = bisect.bisect_left([t.agg_trade_id for t in self.trades], from_id)
            lo, hi = idx, len(self.trades)
        elif start_time is None and end_time is None:
            lo, hi = 0, len(self.trades)
        else:
            lo, hi = self._range(start_time, end_time)
        out: list[AggTrade] = []
        current: AggTrade | None = None
        for t in self.trades[lo:hi]:
            if current is not None and t.agg_trade_id == current.agg_id:
                current.qty += t.qty
                current.last_trade_id = t.trade_id
                continue
            current = AggTrade(
                t.agg_trade_id, t.price, t.qty, t.trade_id, t.trade_id, t.time, t.is_buyer_maker
            )
            out.append(current)
        if from_id is None and start_time is None:
            return out[-limit:]  # the most recent (up to ``end_time``, if given)
        return out[:limit]

    def klines(
        self,
        interval: str,
        *,
        start_time: int | None,
        end_time: int | None,
        limit: int,
        now: int,
        offset_us: int = 0,
    ) -> list[Kline]:
        """Klines oldest first, one per interval from the first trade's to the current one.

        An interval without trades is a flat kline at the previous close with no volume
        (as Binance answers). Klines are identified by their open time: ``start_time`` /
        ``end_time`` (inclusive) select the klines whose open time lies between them, and
        each selected kline covers its whole interval, whatever the bounds. Without
        ``start_time`` the last ``limit`` klines are returned, else the first ``limit``.
        """
        if not self.trades or (start_time is not None and start_time > now):
            return []  # nothing has traded, or the first kline asked for would open later
        lo = kline_window(interval, self._times[0], offset_us)[0]
        hi = kline_window(interval, now if end_time is None else min(end_time, now), offset_us)[0]
        if start_time is not None:
            open_time, close_time = kline_window(interval, start_time, offset_us)
            lo = max(lo, open_time if open_time >= start_time else close_time + 1)
        opens: list[int] = []
        if start_time is not None:
            t = lo
            while t <= hi and len(opens) < limit:
                opens.append(t)
                t = kline_window(interval, t, offset_us)[1] + 1
        else:
            t = hi
            while t >= lo and len(opens) < limit:
                opens.append(t)
                t = kline_window(interval, t - 1, offset_us)[0]
            opens.reverse()
        if not opens:
            return []
        span_end = kline_window(interval, opens[-1], offset_us)[1]
        traded = {k.open_time: k for k in self._traded_klines(interval, opens[0], span_end, offset_us)}
        before = bisect.bisect_left(self._times, opens[0]) - 1
        close = self.trades[before].price if before >= 0 else 0
        out: list[Kline] = []
        for open_time in opens:
            k = traded.get(open_time)
            if k is None:
                close_time = kline_window(interval, open_time, offset_us)[1]
                k = Kline(open_time, close_time, close, close, close, close, 0, 0, 0, 0, 0, -1, -1)
            close = k.close
            out.append(k)
        return out

    def _traded_klines(self, interval: str, start: int, end: int, offset_us: int) -> list[Kline]:
        """The klines of the trades between ``start`` and ``end`` (inclusive, µs)."""
        lo, hi = self._range(start, end)
        out: list[Kline] = []
        current: Kline | None = None
        for t in self.trades[lo:hi]:
            if current is None or t.time > current.close_time:
                open_time, close_time = kline_window(interval, t.time, offset_us)
                current = Kline(
                    open_time,
                    close_time,
                    t.price,
                    t.price,
                    t.price,
                    t.price,
                    0,
                    0,
                    0,
                    0,
                    0,
                    t.trade_id,
                    t.trade_id,
                )
                out.append(current)
            current.high = max(current.high, t.price)
            current.low = min(current.low, t.price)
            current.close = t.price
            current.volume += t.qty
            current.quote_volume += t.quote_qty
            current.trades += 1
            current.last_trade_id = t.trade_id
            if not t.is_buyer_maker:  # the taker bought
                current.taker_buy_volume += t.qty
                current.taker_buy_quote_volume += t.quote_qty
        return out

    def rolling_ticker(self, now: int, window_us: int) -> Ticker24h:
        """Binance's rolling-window statistics: from the minute ``window_us`` ago (the open
        time starts on a minute, so the window is up to 59,999 ms wider) up to now."""
        open_time = (now - window_us) // US_PER_MIN * US_PER_MIN
        return self.ticker(now, now - open_time)

    def ticker(self, now: int, window_us: int = 86_400_000_000) -> Ticker24h:
        open_time = now - window_us
        lo, hi = self._range(open_time, now)
        window = self.trades[lo:hi]
        prev_close = self.trades[lo - 1].price if lo > 0 else 0
        if not window:
            return Ticker24h(
                open_time,
                now,
                prev_close or self.last_price,
                prev_close or self.last_price,
                prev_close or self.last_price,
                self.last_price,
                0,
                prev_close,
                0,
                0,
                -1,
                -1,
                0,
            )
        high = max(t.price for t in window)
        low = min(t.price for t in window)
        return Ticker24h(
            open_time,
            now,
            window[0].price,
            high,
            low,
            window[-1].price,
            window[-1].qty,
            prev_close,
            sum(t.qty for t in window),
            sum(t.quote_qty for t in window),
            window[0].trade_id,
            window[-1].trade_id,
            len(window),
        )
