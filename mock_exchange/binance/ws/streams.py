"""Market streams: ``/ws`` (raw) and ``/stream`` (combined), with live SUBSCRIBE control.

Every engine event reaches ``StreamHub._on_events`` synchronously, in engine order. Each
stream message is encoded once per time unit and, for combined connections, wrapped once
(string concatenation, no re-encoding), then queued on every subscribed connection.

Depth diffs (``<symbol>@depth`` every ``depth_slow_interval``, ``<symbol>@depth@100ms``
every ``depth_fast_interval``) are the engine's ``DepthUpdate``s merged per interval: the
first update's ``U``, the last one's ``u``, the final quantity of each level touched. Each
speed has its own buffer, so consecutive messages of one stream always satisfy
``U == previous u + 1``. Before a REST or WS API depth snapshot is taken, the buffers of
that symbol are flushed (``service.snapshot_hooks``): the snapshot's ``lastUpdateId`` is
then the last ``u`` published and the next diff starts at exactly ``lastUpdateId + 1``, which
satisfies the documented procedure, the classic ``U <= L+1 <= u`` check and
python-binance's strict ``U == L+1`` alike, including for a client that snapshots
mid-stream. An interval of 0 publishes every update at once (used by the benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import functools
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from mock_exchange.clock import call_later
from mock_exchange.engine import DepthUpdate, Event, MatchingEngine, Trade
from mock_exchange.engine.market_data import KLINE_INTERVALS_US, Ticker24h, kline_window
from mock_exchange.engine.units import SCALE
from mock_exchange.faults.messages import MessageOutlet
from mock_exchange.faults.plan import Surface

from .. import formatting as F
from ..endpoints.user_stream import ListenKey
from ..errors import BinanceError
from ..rest import dumps, error_response
from ..service import ExchangeService
from .connection import GOING_AWAY, WsConnection, prepare_response, valid_request_id
from .user_data import UserControls, UserDataHub, render_user_event

log = logging.getLogger(__name__)

_SYMBOL = r"[a-z0-9\-_.]{1,30}"
_KLINE = "|".join(re.escape(i) for i in KLINE_INTERVALS_US)
STREAM_RE = re.compile(
    rf"^(?P<symbol>{_SYMBOL})@(?:"
    rf"(?P<trade>trade)|(?P<agg>aggTrade)|(?P<book>bookTicker)|(?P<ticker>ticker)"
    rf"|(?P<mini>miniTicker)|(?P<avg>avgPrice)|ticker_(?P<window>1h|4h|1d)"
    rf"|(?P<ref>referencePrice)|(?P<block>blockTrade)"
    rf"|(?P<depth>depth)(?P<levels>5|10|20)?(?:@(?P<speed>100ms|1000ms))?"
    rf"|kline_(?P<interval>{_KLINE})(?P<tz>@\+08:00)?"  # the one offset Binance documents
    rf")$"
)
ALL_MINI = "!miniTicker@arr"
#: The same stream with its update speed spelled out (python-binance subscribes to this).
ALL_MINI_NAMES = (ALL_MINI, ALL_MINI + "@1000ms")
#: ``!ticker_<window>@arr``: every symbol's rolling-window ticker that changed.
ALL_WINDOW_RE = re.compile(r"^!ticker_(?P<window>1h|4h|1d)@arr$")
#: Rolling-window ticker windows (``<symbol>@ticker_<window>``), in microseconds.
TICKER_WINDOWS_US = {"1h": 3_600_000_000, "4h": 14_400_000_000, "1d": 86_400_000_000}
CONTROL_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


@dataclass(frozen=True)
class StreamSpec:
    name: str
    symbol: str  # upper case, as the engine knows it
    # trade | aggTrade | bookTicker | ticker | miniTicker | avgPrice | depth | partial | kline
    # | windowTicker | referencePrice | blockTrade | allMini | allWindowTicker
    kind: str
    fast: bool = False
    levels: int = 0
    interval: str = ""
    tz_offset_us: int = 0


def parse_stream(name: str) -> StreamSpec | None:
    """A stream name, or None if it is not one (names are lower case, as Binance's are)."""
    if name in ALL_MINI_NAMES:
        return StreamSpec(name, "", "allMini")
    arr = ALL_WINDOW_RE.match(name)
    if arr is not None:
        return StreamSpec(name, "", "allWindowTicker", interval=arr.group("window"))
    m = STREAM_RE.match(name)
    if m is None:
        return None
    symbol = m.group("symbol").upper()
    if m.group("window"):
        return StreamSpec(name, symbol, "windowTicker", interval=m.group("window"))
    if m.group("ref"):
        return StreamSpec(name, symbol, "referencePrice")
    if m.group("block"):
        # Accepted, never sent: the mock has no block trades.
        return StreamSpec(name, symbol, "blockTrade")
    for kind in ("trade", "agg", "book", "ticker", "mini", "avg"):
        if m.group(kind):
            return StreamSpec(
                name,
                symbol,
                {"agg": "aggTrade", "book": "bookTicker", "mini": "miniTicker", "avg": "avgPrice"}.get(
                    kind, kind
                ),
            )
    if m.group("depth"):
        fast = m.group("speed") == "100ms"
        if m.group("levels"):
            return StreamSpec(name, symbol, "partial", fast=fast, levels=int(m.group("levels")))
        return StreamSpec(name, symbol, "depth", fast=fast)
    tz = m.group("tz")
    offset = 0
    if tz:
        hours, minutes = tz[1:].split(":")
        offset = (1 if tz[1] != "-" else -1) * (abs(int(hours)) * 60 + int(minutes)) * 60_000_000
    return StreamSpec(name, symbol, "kline", interval=m.group("interval"), tz_offset_us=offset)


def _depth_kind(fast: bool) -> Callable[[StreamSpec], bool]:
    return lambda spec: spec.kind == "depth" and spec.fast == fast


def _partial_kind(fast: bool) -> Callable[[StreamSpec], bool]:
    return lambda spec: spec.kind == "partial" and spec.fast == fast


#: What ``_push_tickers`` sends.
_TICKER_KINDS = frozenset(
    {"ticker", "miniTicker", "avgPrice", "windowTicker", "referencePrice", "allMini", "allWindowTicker"}
)


def _ticker_kind(spec: StreamSpec) -> bool:
    return spec.kind in _TICKER_KINDS


def _kline_kind(one_second: bool) -> Callable[[StreamSpec], bool]:
    return lambda spec: spec.kind == "kline" and (spec.interval == "1s") == one_second


@dataclass
class DepthBuffer:
    """Depth updates merged since the last flush of one stream speed."""

    first: int = 0
    last: int = 0
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def add(self, du: DepthUpdate) -> None:
        if not self.first:
            self.first = du.first_update_id
        self.last = du.last_update_id
        bids, asks = self.bids, self.asks
        for p, q in du.bids:
            bids[p] = q
        for p, q in du.asks:
            asks[p] = q

    def take(self) -> tuple[int, int, dict[int, int], dict[int, int]]:
        out = (self.first, self.last, self.bids, self.asks)
        self.first = self.last = 0
        self.bids, self.asks = {}, {}
        return out


class StreamConn:
    """A market-stream connection: its subscriptions and how it wants payloads."""

    def __init__(self, conn: WsConnection, combined: bool, div: int) -> None:
        self.conn = conn
        self.combined = combined
        self.div = div
        self.streams: dict[str, StreamSpec | ListenKey] = {}
        self.user_unsubscribes: dict[str, Callable[[], None]] = {}
        #: Where messages go, and what ``stream`` faults may do to them.
        self.outlet: MessageOutlet[str] = MessageOutlet(conn.send, disconnect=conn.abort, stall=conn.stall)

    def send_payload(self, stream: str, payload: Any) -> None:
        """Queue one message of ``stream``: wrapped as ``{"stream","data"}`` if combined."""
        self.conn.send(dumps({"stream": stream, "data": payload}) if self.combined else dumps(payload))


class StreamHub:
    def __init__(self, service: ExchangeService, user_data: UserDataHub) -> None:
        self.service = service
        self.user_data = user_data
        self.timers = service.config.timers
        self.subs: dict[str, set[StreamConn]] = {}
        self.specs: dict[str, StreamSpec] = {}
        self.conns: set[StreamConn] = set()
        # (symbol, fast) -> buffer, kept only while someone subscribes to that stream.
        self.depth: dict[tuple[str, bool], DepthBuffer] = {}
        self.book_tops: dict[str, tuple[int, int, int, int]] = {}
        self.kline_open: dict[str, int] = {}
        #: Array stream -> symbol -> what it last sent for it (arrays send only changes).
        self.arr_sent: dict[str, dict[str, tuple[int, ...]]] = {}
        self._fmt_cache: dict[int, str] = {}
        self._delayed: set[asyncio.Task[None]] = set()
        #: Set whenever subscriptions change or a depth buffer fills: parked timers re-check.
        self._timers_wake = asyncio.Event()
        self._keys_active = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        service.hub.subscribe(self._on_events)
        service.snapshot_hooks.append(self.flush_symbol)
        service.listen_keys.on_close.append(self._listen_key_closed)
        service.listen_keys.on_create.append(lambda lk: self._keys_active.set())

    # ================================================================== lifecycle

    async def start(self) -> None:
        t = self.timers
        every = self._every
        self._tasks = [
            asyncio.ensure_future(
                every(
                    t.depth_fast_interval,
                    lambda: self._flush_depth(True),
                    lambda: self._subscribed(_depth_kind(True)),
                    lambda: self._depth_pending(True),
                )
            ),
            asyncio.ensure_future(
                every(
                    t.depth_slow_interval,
                    lambda: self._flush_depth(False),
                    lambda: self._subscribed(_depth_kind(False)),
                    lambda: self._depth_pending(False),
                )
            ),
            asyncio.ensure_future(
                every(
                    t.depth_fast_interval,
                    lambda: self._push_partials(True),
                    lambda: self._subscribed(_partial_kind(True)),
                )
            ),
            asyncio.ensure_future(
                every(
                    t.depth_slow_interval,
                    lambda: self._push_partials(False),
                    lambda: self._subscribed(_partial_kind(False)),
                )
            ),
            asyncio.ensure_future(
                every(t.ticker_interval, self._push_tickers, lambda: self._subscribed(_ticker_kind))
            ),
            asyncio.ensure_future(
                every(
                    t.kline_interval,
                    lambda: self._push_klines(False),
                    lambda: self._subscribed(_kline_kind(False)),
                )
            ),
            asyncio.ensure_future(
                every(1.0, lambda: self._push_klines(True), lambda: self._subscribed(_kline_kind(True)))
            ),
            asyncio.ensure_future(self._every_key_second()),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._delayed]:
            task.cancel()
        for task in [*self._tasks, *self._delayed]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.close_all()

    def close_all(self) -> None:
        for sc in list(self.conns):
            sc.conn.close_soon(GOING_AWAY, "Server shutting down")

    def shutdown_notice(self) -> None:
        now = self.service.now_us()
        for sc in list(self.conns):
            sc.send_payload("!serverShutdown", {"e": "serverShutdown", "E": now // sc.div})

    async def _every(
        self,
        seconds: float,
        fn: Callable[[], None],
        active: Callable[[], bool],
        busy: Callable[[], bool] | None = None,
    ) -> None:
        """Run ``fn`` every ``seconds`` of clock time while ``active()`` (someone listens to
        what it sends), on a grid that starts when it becomes active. While it is active
        but not ``busy()`` (nothing to send, e.g. no depth change since the last flush) it
        skips its ticks: it parks until there is work, then waits for the next grid tick.

        A parked timer sets no clock deadline, so an idle server, or a quiet market on a
        virtual clock jumping ahead, costs nothing."""
        if seconds <= 0:
            return  # 0: the work happens inline as events arrive
        clock = self.service.clock
        interval = max(1, round(seconds * 1_000_000))
        tick: int | None = None  # the next grid time (µs) while active
        while True:
            if not active():
                tick = None
                await self._park(active)
                continue
            if busy is not None and not busy():
                await self._park(lambda: busy() or not active())
                continue
            now = clock.now_us()
            if tick is None:
                tick = now + interval
            elif tick <= now:  # ticks skipped while there was nothing to do
                tick += ((now - tick) // interval + 1) * interval
            await clock.sleep((tick - now) / 1_000_000)
            tick += interval
            try:
                fn()
            except Exception:  # a timer must never die silently; keep serving
                log.exception("stream timer failed")

    async def _park(self, until: Callable[[], bool]) -> None:
        """Wait until ``until()``, re-checked whenever subscriptions or depth buffers change."""
        wake = self._timers_wake
        while True:
            wake.clear()
            if until():
                return
            await wake.wait()

    async def _every_key_second(self) -> None:
        """Expire listen keys once a second of clock time while any exists."""
        sleep = self.service.clock.sleep
        while True:
            await self._keys_active.wait()
            await sleep(1.0)
            try:
                self._expire_listen_keys()
            except Exception:  # a timer must never die silently; keep serving
                log.exception("stream timer failed")

    def _subscribed(self, kind: Callable[[StreamSpec], bool]) -> bool:
        return any(kind(spec) for spec in self.specs.values())

    def _depth_pending(self, fast: bool) -> bool:
        return any(buf.first for (_, speed), buf in self.depth.items() if speed == fast)

    # ================================================================== connections

    async def handle(self, request: web.Request) -> web.StreamResponse:
        combined = request.path.startswith("/stream")
        names: list[str] = []
        if combined:
            raw = _streams_param(request.rel_url.raw_query_string)
            if raw:
                names = [n for n in raw.split("/") if n]
        else:
            tail = request.match_info.get("tail", "")
            names = [unquote(n) for n in tail.split("/") if n]
        unit = request.query.get("timeUnit")
        div = F.US if unit in ("MICROSECOND", "microsecond") else F.MS
        if len(names) > self.timers.max_streams_per_connection:
            raise web.HTTPBadRequest(text="Too many streams requested")
        ip = request.remote or "127.0.0.1"
        try:
            self.service.limiter.admit_stream_connection(ip, self.service.wall_us())
        except BinanceError as e:
            return error_response(e)
        ws = prepare_response()
        await ws.prepare(request)
        conn = WsConnection(
            ws,
            self.service,
            ip=ip,
            max_incoming_per_second=self.timers.max_incoming_per_second,
        )
        sc = StreamConn(conn, combined, div)
        self.conns.add(sc)
        for name in names:
            self._subscribe(sc, name, strict=False)

        async def on_text(text: str) -> None:
            reply = self._control(sc, text)
            if reply is not None:
                conn.send(reply)

        conn.on_close.append(lambda: self._drop(sc))
        await conn.run(on_text)
        return ws

    def _drop(self, sc: StreamConn) -> None:
        for name in list(sc.streams):
            self._unsubscribe(sc, name)
        self.conns.discard(sc)

    def _subscribe(self, sc: StreamConn, name: str, *, strict: bool) -> bool:
        if name in sc.streams:
            return True
        spec = parse_stream(name)
        if spec is None:
            lk = self._listen_key(name)
            if lk is None:
                return not strict
            sc.streams[name] = lk
            sc.user_unsubscribes[name] = self.user_data.subscribe(
                lk.account_id,
                functools.partial(self._user_event, sc, name),
                UserControls(
                    terminate=sc.conn.abort,
                    disconnect=sc.conn.abort,
                    stall=sc.conn.stall,
                    raw=functools.partial(sc.send_payload, name),
                ),
            )
            return True
        sc.streams[name] = spec
        self.specs[name] = spec
        self.subs.setdefault(name, set()).add(sc)
        self._timers_wake.set()
        if spec.kind == "depth":
            self.depth.setdefault((spec.symbol, spec.fast), DepthBuffer())
        return True

    def _unsubscribe(self, sc: StreamConn, name: str) -> None:
        target = sc.streams.pop(name, None)
        if target is None:
            return
        if isinstance(target, ListenKey):
            unsub = sc.user_unsubscribes.pop(name, None)
            if unsub:
                unsub()
            return
        subs = self.subs.get(name)
        if subs is not None:
            subs.discard(sc)
            if not subs:
                del self.subs[name]
                self.specs.pop(name, None)
                # Per-stream state starts afresh for the next subscriber: no stale
                # "closed" kline from an earlier subscription, a full first ticker array.
                self.kline_open.pop(name, None)
                self.arr_sent.pop(name, None)
                if target.kind == "bookTicker":
                    # The top sent last is unknown to the next subscriber: it is not a
                    # reason to hold back the next change that happens to restore it.
                    self.book_tops.pop(target.symbol, None)
                self._timers_wake.set()
                if target.kind == "depth" and not any(
                    s.kind == "depth" and s.symbol == target.symbol and s.fast == target.fast
                    for s in self.specs.values()
                ):
                    self.depth.pop((target.symbol, target.fast), None)

    def _listen_key(self, name: str) -> ListenKey | None:
        if not self.service.config.legacy_listen_key:
            return None
        return self.service.listen_keys.get(name, self.service.now_us())

    # ------------------------------------------------------------------ control messages

    def _control(self, sc: StreamConn, text: str) -> str | None:
        try:
            req = json.loads(text)
        except json.JSONDecodeError as e:
            return _error(3, f"Invalid JSON: expected value at line {e.lineno} column {e.colno}", None)
        if not isinstance(req, dict):
            return _error(2, "Invalid request: expected a JSON object", None)
        rid = req.get("id")
        if "id" not in req or not valid_request_id(rid):
            return _error(2, "Invalid request: request ID must be an unsigned integer", None)
        method = req.get("method")
        if method is None:
            return _error(2, f"Invalid request: missing field `method` at line 1 column {len(text)}", rid)
        if method not in CONTROL_METHODS:
            return _error(
                2,
                f"Invalid request: unknown variant `{method}`, expected one of `SUBSCRIBE`, "
                f"`UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` "
                f"at line 1 column {len(text)}",
                rid,
            )
        params = req.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return _error(2, "Invalid request: params must be an array of stream names", rid)
            if method == "SUBSCRIBE":
                new = [p for p in params if p not in sc.streams]
                if len(sc.streams) + len(new) > self.timers.max_streams_per_connection:
                    return _error(4, "Too many subscriptions", rid)
                bad = [p for p in new if parse_stream(p) is None and self._listen_key(p) is None]
                if bad:  # the words Binance's servers answer (seen in clients' logs)
                    return _error(2, "Invalid request: invalid stream", rid)
                for p in new:
                    self._subscribe(sc, p, strict=True)
            else:
                for p in params:
                    self._unsubscribe(sc, p)
            return dumps({"result": None, "id": rid})
        if method == "LIST_SUBSCRIPTIONS":
            if params not in ([], None):
                return _error(2, "Invalid request: too many parameters", rid)
            return dumps({"result": list(sc.streams), "id": rid})
        if not isinstance(params, list) or not params:
            return _error(2, "Invalid request: property name must be a string", rid)
        prop = params[0]
        if not isinstance(prop, str):
            return _error(2, "Invalid request: property name must be a string", rid)
        if prop != "combined":
            return dumps({"code": 0, "msg": "Unknown property", "id": rid})
        if method == "GET_PROPERTY":
            if len(params) != 1:
                return _error(2, "Invalid request: too many parameters", rid)
            return dumps({"result": sc.combined, "id": rid})
        if len(params) != 2:
            return _error(
                2,
                "Invalid request: too many parameters"
                if len(params) > 2
                else "Invalid request: missing value",
                rid,
            )
        if not isinstance(params[1], bool):
            return dumps({"code": 1, "msg": "Invalid value type: expected Boolean", "id": rid})
        sc.combined = params[1]
        return dumps({"result": None, "id": rid})

    # ================================================================== publishing

    def _publish(self, name: str, build: Callable[[int], Any]) -> None:
        """Queue one message on every subscriber of ``name``; ``build(div)`` returns the
        payload (or its JSON text), called once per time unit in use."""
        subs = self.subs.get(name)
        if not subs:
            return
        raw_by_div: dict[int, str] = {}
        wrapped_by_div: dict[int, str] = {}
        faulty = Surface.STREAM in self.service.faults.active
        for sc in subs:
            div = sc.div
            raw = raw_by_div.get(div)
            if raw is None:
                built = build(div)
                raw = raw_by_div[div] = built if isinstance(built, str) else dumps(built)
            if sc.combined:
                msg = wrapped_by_div.get(div)
                if msg is None:
                    msg = wrapped_by_div[div] = f'{{"stream":"{name}","data":{raw}}}'
            else:
                msg = raw
            if faulty or sc.outlet.held is not None:
                self._deliver(sc, name, msg)
            else:
                sc.conn.send(msg)

    def _deliver(self, sc: StreamConn, name: str, msg: str) -> None:
        """Send one stream message through the fault plan."""
        spec = self.specs.get(name)
        fault = self.service.faults.take(
            Surface.STREAM, f"{name} to #{sc.conn.id}", stream=name, symbol=spec.symbol if spec else None
        )
        sc.outlet.deliver(fault, msg, self._later)

    def _later(self, seconds: float, fn: Callable[[], None]) -> None:
        call_later(self.service.clock, seconds, fn, self._delayed)

    def _connections(self, stream: str | None) -> list[WsConnection]:
        """Every stream connection, or those subscribed to ``stream`` (a glob)."""
        return [
            sc.conn
            for sc in self.conns
            if stream is None or any(fnmatch.fnmatchcase(n, stream) for n in sc.streams)
        ]

    def disconnect_all(self, stream: str | None = None) -> int:
        """Drop every stream connection (or those subscribed to ``stream``, a glob) at once."""
        hit = self._connections(stream)
        for conn in hit:
            conn.abort()
        return len(hit)

    def stall_all(self, seconds: float, stream: str | None = None) -> int:
        hit = self._connections(stream)
        for conn in hit:
            conn.stall(seconds)
        return len(hit)

    def _on_events(self, events: list[Event]) -> None:
        if not self.subs:
            return
        touched: dict[str, None] = {}
        agg: list[Trade] = []
        for event in events:
            if isinstance(event, Trade):
                self._on_trade(event)
                if agg and agg[-1].agg_trade_id != event.agg_trade_id:
                    self._publish_agg(agg)
                    agg = []
                agg.append(event)
            elif isinstance(event, DepthUpdate):
                touched[event.symbol] = None
                for fast in (True, False):
                    buf = self.depth.get((event.symbol, fast))
                    if buf is not None:
                        if not buf.first:  # a parked depth timer has work now
                            self._timers_wake.set()
                        buf.add(event)
        if agg:
            self._publish_agg(agg)
        for symbol in touched:
            if self.timers.depth_fast_interval <= 0:
                self._flush_one(symbol, True)
            if self.timers.depth_slow_interval <= 0:
                self._flush_one(symbol, False)
            self._book_ticker(symbol)

    def _on_trade(self, t: Trade) -> None:
        name = t.symbol.lower() + "@trade"
        if name not in self.subs:
            return
        self._publish(
            name,
            lambda div: {
                "e": "trade",
                "E": t.time // div,
                "s": t.symbol,
                "t": t.trade_id,
                "p": F.fmt(t.price),
                "q": F.fmt(t.qty),
                "T": t.time // div,
                "m": t.is_buyer_maker,
                "M": True,
            },
        )

    def _publish_agg(self, trades: list[Trade]) -> None:
        first = trades[0]
        name = first.symbol.lower() + "@aggTrade"
        if name not in self.subs:
            return
        qty = sum(t.qty for t in trades)
        self._publish(
            name,
            lambda div: {
                "e": "aggTrade",
                "E": first.time // div,
                "s": first.symbol,
                "a": first.agg_trade_id,
                "p": F.fmt(first.price),
                "q": F.fmt(qty),
                "f": first.trade_id,
                "l": trades[-1].trade_id,
                "T": first.time // div,
                "m": first.is_buyer_maker,
                "M": True,
            },
        )

    def _engine(self, symbol: str) -> MatchingEngine | None:
        return self.service.exchange.engines.get(symbol)

    def _book_ticker(self, symbol: str) -> None:
        name = symbol.lower() + "@bookTicker"
        if name not in self.subs:
            return
        eng = self._engine(symbol)
        if eng is None:
            return
        bid, ask = eng.book.best_bid(), eng.book.best_ask()
        top = (
            bid.price if bid else 0,
            bid.total if bid else 0,
            ask.price if ask else 0,
            ask.total if ask else 0,
        )
        if self.book_tops.get(symbol) == top:
            return
        self.book_tops[symbol] = top
        uid = eng.update_id
        self._publish(
            name,
            lambda div: {
                "u": uid,
                "s": symbol,
                "b": F.fmt(top[0]),
                "B": F.fmt(top[1]),
                "a": F.fmt(top[2]),
                "A": F.fmt(top[3]),
            },
        )

    # ------------------------------------------------------------------ depth

    def flush_symbol(self, symbol: str) -> None:
        """Publish what is batched for ``symbol`` now (called before a snapshot)."""
        self._flush_one(symbol, True)
        self._flush_one(symbol, False)

    def _flush_depth(self, fast: bool) -> None:
        for symbol, speed in list(self.depth):
            if speed == fast:
                self._flush_one(symbol, fast)

    def _flush_one(self, symbol: str, fast: bool) -> None:
        buf = self.depth.get((symbol, fast))
        if buf is None or not buf.first:
            return
        first, last, bids, asks = buf.take()
        now = self.service.now_us()
        # The hottest message there is: built as a string directly (same bytes as dumps).
        tail = (
            f',"s":"{symbol}","U":{first},"u":{last},"b":[{self._levels_json(bids)}],'
            f'"a":[{self._levels_json(asks)}]}}'
        )
        low = symbol.lower()
        # The 1000 ms stream also answers to its speed spelled out (Binance's own Python
        # connector subscribes to ``@depth@1000ms`` by default).
        for name in (low + "@depth@100ms",) if fast else (low + "@depth", low + "@depth@1000ms"):
            self._publish(name, lambda div: f'{{"e":"depthUpdate","E":{now // div}' + tail)

    def _levels_json(self, levels: dict[int, int]) -> str:
        """``["price","qty"],...`` with formatted numbers memoised (levels repeat a lot)."""
        cache = self._fmt_cache
        if len(cache) > 200_000:
            cache.clear()
        parts = []
        for p, q in levels.items():
            ps = cache.get(p)
            if ps is None:
                ps = cache[p] = F.fmt(p)
            qs = cache.get(q)
            if qs is None:
                qs = cache[q] = F.fmt(q)
            parts.append(f'["{ps}","{qs}"]')
        return ",".join(parts)

    def _push_partials(self, fast: bool) -> None:
        for name, spec in list(self.specs.items()):
            if spec.kind != "partial" or spec.fast != fast:
                continue
            eng = self._engine(spec.symbol)
            if eng is None:
                continue
            # No flush of the diff streams' buffers here: that would change their cadence
            # (a 100 ms partial book would make ``@depth`` a 100 ms stream).
            payload = F.depth_snapshot(*eng.snapshot(spec.levels))
            self._publish(name, functools.partial(_constant, payload))

    # ------------------------------------------------------------------ tickers and klines

    def _push_tickers(self) -> None:
        now = self.service.now_us()
        minis: dict[str, list[Callable[[int], dict[str, Any]]]] = {}  # array stream -> rows
        arrays = [name for name in ALL_MINI_NAMES if name in self.subs]
        for symbol, eng in self.service.exchange.engines.items():
            low = symbol.lower()
            want_full, want_mini, want_avg = (
                low + "@ticker" in self.subs,
                low + "@miniTicker" in self.subs,
                low + "@avgPrice" in self.subs,
            )
            if not (want_full or want_mini or want_avg or arrays):
                continue
            t = eng.data.ticker(now)

            def mini(div: int, t: Any = t, symbol: str = symbol) -> dict[str, Any]:
                return {
                    "e": "24hrMiniTicker",
                    "E": now // div,
                    "s": symbol,
                    "c": F.fmt(t.last),
                    "o": F.fmt(t.open),
                    "h": F.fmt(t.high),
                    "l": F.fmt(t.low),
                    "v": F.fmt(t.volume),
                    "q": F.fmt(t.quote_volume),
                }

            for array in arrays:
                if self._changed(array, symbol, t):
                    minis.setdefault(array, []).append(mini)
            if want_mini:
                self._publish(low + "@miniTicker", mini)
            if want_full:
                bid, ask = eng.book.best_bid(), eng.book.best_ask()

                def full(
                    div: int, t: Any = t, symbol: str = symbol, bid: Any = bid, ask: Any = ask
                ) -> dict[str, Any]:
                    change = t.last - t.open
                    wavg = t.quote_volume * 100_000_000 // t.volume if t.volume else 0
                    return {
                        "e": "24hrTicker",
                        "E": now // div,
                        "s": symbol,
                        "p": F.fmt(change),
                        "P": F.percent(change, t.open),
                        "w": F.fmt(wavg),
                        "x": F.fmt(t.prev_close),
                        "c": F.fmt(t.last),
                        "Q": F.fmt(t.last_qty),
                        "b": F.fmt(bid.price if bid else 0),
                        "B": F.fmt(bid.total if bid else 0),
                        "a": F.fmt(ask.price if ask else 0),
                        "A": F.fmt(ask.total if ask else 0),
                        "o": F.fmt(t.open),
                        "h": F.fmt(t.high),
                        "l": F.fmt(t.low),
                        "v": F.fmt(t.volume),
                        "q": F.fmt(t.quote_volume),
                        "O": t.open_time // div,
                        "C": t.close_time // div,
                        "F": t.first_id,
                        "L": t.last_id,
                        "n": t.count,
                    }

                self._publish(low + "@ticker", full)
            if want_avg:
                price = eng.data.avg_price(5, now)
                last_time = eng.data.trades[-1].time if eng.data.trades else now

                def avg(div: int, symbol: str = symbol, price: int = price, lt: int = last_time) -> Any:
                    return {
                        "e": "avgPrice",
                        "E": now // div,
                        "s": symbol,
                        "i": "5m",
                        "w": F.fmt(price),
                        "T": lt // div,
                    }

                self._publish(low + "@avgPrice", avg)
        for array, rows in minis.items():
            self._publish(array, functools.partial(_array, rows))
        self._push_window_tickers(now)
        self._push_reference_prices(now)

    def _changed(self, array: str, symbol: str, t: Ticker24h) -> bool:
        """Whether ``symbol``'s ticker ``t`` differs from what ``array`` last sent (and
        remember it as sent)."""
        state = (t.last, t.open, t.high, t.low, t.volume, t.quote_volume, t.count)
        sent = self.arr_sent.setdefault(array, {})
        if sent.get(symbol) == state:
            return False
        sent[symbol] = state
        return True

    def _push_window_tickers(self, now: int) -> None:
        """``<symbol>@ticker_<window>`` and ``!ticker_<window>@arr``: statistics from the
        minute ``window`` ago (the open time starts on a minute) up to now."""
        for window, span in TICKER_WINDOWS_US.items():
            array = f"!ticker_{window}@arr"
            want_array = array in self.subs
            rows: list[Callable[[int], dict[str, Any]]] = []
            for symbol, eng in self.service.exchange.engines.items():
                name = f"{symbol.lower()}@ticker_{window}"
                want_one = name in self.subs
                if not (want_one or want_array):
                    continue
                t = eng.data.rolling_ticker(now, span)
                build = functools.partial(_window_ticker, window, symbol, t, now)
                if want_one:
                    self._publish(name, build)
                if want_array and self._changed(array, symbol, t):
                    rows.append(build)
            if rows:
                self._publish(array, functools.partial(_array, rows))

    def _push_reference_prices(self, now: int) -> None:
        """``<symbol>@referencePrice``: the mock models no reference prices, and Binance
        sends ``"r": null`` for a symbol without one."""
        for symbol in self.service.exchange.engines:
            name = f"{symbol.lower()}@referencePrice"
            if name in self.subs:
                payload = {"e": "referencePrice", "s": symbol, "r": None, "t": now}
                self._publish(name, functools.partial(_timestamped, payload, "t"))

    def _push_klines(self, one_second: bool) -> None:
        now = self.service.now_us()
        for name, spec in list(self.specs.items()):
            if spec.kind != "kline" or (spec.interval == "1s") != one_second:
                continue
            eng = self._engine(spec.symbol)
            if eng is None:
                continue
            start, _ = kline_window(spec.interval, now, spec.tz_offset_us)
            previous = self.kline_open.get(name)
            self.kline_open[name] = start
            if previous is not None and previous != start:
                self._push_kline(name, spec, eng, previous, closed=True, now=now)
            self._push_kline(name, spec, eng, start, closed=False, now=now)

    def _push_kline(
        self,
        name: str,
        spec: StreamSpec,
        eng: MatchingEngine,
        start: int,
        *,
        closed: bool,
        now: int,
    ) -> None:
        """The kline that opens at ``start`` (its trades so far; its open price if none)."""
        close = kline_window(spec.interval, start, spec.tz_offset_us)[1]
        rows = eng.data.klines(
            spec.interval,
            start_time=start,
            end_time=start,
            limit=1,
            now=now,
            offset_us=spec.tz_offset_us,
        )
        k = rows[0] if rows else None
        last = eng.data.last_price
        self._publish(
            name,
            lambda div: {
                "e": "kline",
                "E": now // div,
                "s": spec.symbol,
                "k": {
                    "t": start // div,
                    "T": close // div,
                    "s": spec.symbol,
                    "i": spec.interval,
                    "f": k.first_trade_id if k else -1,
                    "L": k.last_trade_id if k else -1,
                    "o": F.fmt(k.open if k else last),
                    "c": F.fmt(k.close if k else last),
                    "h": F.fmt(k.high if k else last),
                    "l": F.fmt(k.low if k else last),
                    "v": F.fmt(k.volume if k else 0),
                    "n": k.trades if k else 0,
                    "x": closed,
                    "q": F.fmt(k.quote_volume if k else 0),
                    "V": F.fmt(k.taker_buy_volume if k else 0),
                    "Q": F.fmt(k.taker_buy_quote_volume if k else 0),
                    "B": "0",
                },
            },
        )

    # ------------------------------------------------------------------ legacy user data

    def _user_event(self, sc: StreamConn, name: str, event: Event) -> None:
        payload = render_user_event(event, sc.div)
        if payload is not None:
            sc.send_payload(name, payload)

    def inject(self, stream: str, payload: Any) -> int:
        """Send ``payload`` on ``stream`` as if the exchange had produced it (fault injection)."""
        delivered = len(self.subs.get(stream, ()))
        self._publish(stream, functools.partial(_constant, payload))
        return delivered

    def _listen_key_closed(self, lk: ListenKey, expired: bool) -> None:
        now = self.service.now_us()
        for sc in list(self.conns):
            if lk.key not in sc.streams:
                continue
            if expired:
                sc.send_payload(lk.key, {"e": "listenKeyExpired", "E": now // sc.div, "listenKey": lk.key})
            self._unsubscribe(sc, lk.key)

    def _expire_listen_keys(self) -> None:
        keys = self.service.listen_keys
        keys.expire_due(self.service.now_us())
        if not keys.by_key:
            self._keys_active.clear()


def _window_ticker(window: str, symbol: str, t: Ticker24h, now: int, div: int) -> dict[str, Any]:
    """A rolling-window ticker payload (``1hTicker``, ``4hTicker``, ``1dTicker``)."""
    change = t.last - t.open
    return {
        "e": f"{window}Ticker",
        "E": now // div,
        "s": symbol,
        "p": F.fmt(change),
        "P": F.percent(change, t.open),
        "o": F.fmt(t.open),
        "h": F.fmt(t.high),
        "l": F.fmt(t.low),
        "c": F.fmt(t.last),
        "w": F.fmt(t.quote_volume * SCALE // t.volume if t.volume else 0),
        "v": F.fmt(t.volume),
        "q": F.fmt(t.quote_volume),
        "O": t.open_time // div,
        "C": now // div,
        "F": t.first_id,
        "L": t.last_id,
        "n": t.count,
    }


def _array(builds: list[Callable[[int], dict[str, Any]]], div: int) -> list[dict[str, Any]]:
    return [build(div) for build in builds]


def _timestamped(payload: dict[str, Any], key: str, div: int) -> dict[str, Any]:
    """``payload`` with its µs time at ``key`` in the subscriber's time unit."""
    return {**payload, key: payload[key] // div}


def _constant(payload: Any, div: int) -> Any:
    return payload


def _error(code: int, msg: str, rid: Any) -> str:
    return dumps({"error": {"code": code, "msg": msg}, "id": rid})


def _streams_param(raw_query: str) -> str | None:
    """The ``streams`` query parameter, percent-decoded but with ``+`` kept: a kline
    stream's ``@+08:00`` reaches the mock unencoded from clients that build the URL by
    hand (form decoding would turn it into a space)."""
    for part in raw_query.split("&"):
        key, _, value = part.partition("=")
        if unquote(key) == "streams":
            return unquote(value)
    return None
