"""Binance market data for the ``OrderBookTracker``: one ``/ws`` connection, REST snapshots.

The stream contract is ``connector.core.order_book_tracker_data_source``'s; this module only
speaks Binance:

* One WebSocket to ``<stream_url>/ws``. After connecting, one ``SUBSCRIBE`` names
  ``<symbol>@depth@100ms`` and ``<symbol>@trade`` for every pair. ``StreamConnected(pairs)`` is
  yielded when that request is acknowledged (``{"result": null, "id": N}``), so the tracker
  asks for snapshots only once the diffs it will need are flowing. Pairs added later get
  their own ``SUBSCRIBE`` and their own ``StreamConnected``.
* Diffs and trades go through ``binance_order_book``'s factories; a malformed or unknown
  message is logged and skipped (a skipped diff shows up as a gap, and the book resyncs).
* A close, an error frame, a heartbeat timeout or a ``serverShutdown`` notice yields
  ``StreamDisconnected`` for every pair; the data source then reconnects by itself after an
  exponential backoff (``Backoff``, injectable ``sleep``), independently of every other
  stream of the connector (W9).
* Snapshots are ``GET /api/v3/depth?limit=1000`` through the shared, throttled REST client.
* **A silent stream is noticed.** Ping/pong proves the socket is alive, not that data flows,
  and a quiet market legitimately sends no diffs. So a watchdog (every ``stall_check_s`` of
  the injected clock) asks the exchange, with a cheap ``GET /api/v3/depth?limit=5``, where
  each *silent* pair's book stands. If the exchange is ahead of the last update id this
  source has seen, that id is remembered; if one interval later the stream still has not
  delivered it, the stream is stalled: the connection is closed, which resyncs every book
  through the normal reconnect path. Two strikes, so diffs merely in flight never count.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp

from connector.core.errors import ConfigurationError, ConnectorError
from connector.core.order_book_message import MalformedMessage, OrderBookSnapshotMessage
from connector.core.order_book_tracker import Backoff
from connector.core.order_book_tracker_data_source import (
    DataSourceEvent,
    OrderBookTrackerDataSource,
    StreamConnected,
    StreamDisconnected,
)

from . import binance_constants as CONSTANTS
from .binance_order_book import (
    UnknownSymbol,
    diff_message_from_exchange,
    snapshot_message_from_exchange,
    trade_message_from_exchange,
)
from .binance_utils import SymbolMapper
from .binance_web_utils import BinanceRestClient, ReconnectPacer, ws_end_reason

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
ConnectionListener = Callable[[bool, str], None]


class BinanceAPIOrderBookDataSource(OrderBookTrackerDataSource):
    """Binance depth diffs and trades over one ``/ws`` connection, snapshots over REST."""

    def __init__(
        self,
        trading_pairs: Iterable[str],
        *,
        rest: BinanceRestClient,
        session: aiohttp.ClientSession,
        stream_url: str,
        symbols: SymbolMapper,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        heartbeat_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        on_connection_change: ConnectionListener | None = None,
        stall_check_s: float | None = 30.0,
    ) -> None:
        super().__init__(trading_pairs)
        check_stream_count(len(self._trading_pairs))
        self._rest = rest
        self._session = session
        self._url = stream_url.rstrip("/") + CONSTANTS.WS_PATH
        self._symbols = symbols
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._clock = clock
        self._heartbeat_s = heartbeat_s
        self._connect_timeout_s = connect_timeout_s
        self._on_connection_change = on_connection_change
        self._stall_check_s = stall_check_s
        #: Highest update id known per pair (from diffs and snapshots), and when a diff last came.
        self._known_update_id: dict[str, int] = {}
        self._last_diff_at: dict[str, float] = {}
        self.stalls_detected = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._request_ids = itertools.count(1)
        #: SUBSCRIBE request id → the pairs it covers, until acknowledged.
        self._pending: dict[int, frozenset[str]] = {}
        self.connected = False
        self.last_error: str | None = None
        self.connections = 0  # successful connections, for observability and tests

    # -- snapshots --------------------------------------------------------------------------

    async def get_snapshot(self, trading_pair: str) -> OrderBookSnapshotMessage:
        symbol = self._symbols.symbol(trading_pair)
        data = await self._rest.request(
            "GET", CONSTANTS.DEPTH_PATH, {"symbol": symbol, "limit": CONSTANTS.SNAPSHOT_DEPTH_LIMIT}
        )
        snapshot = snapshot_message_from_exchange(data, int(self._clock() * 1000), trading_pair)
        self._saw_update_id(trading_pair, snapshot.update_id)
        return snapshot

    def _saw_update_id(self, trading_pair: str, update_id: int) -> None:
        if update_id > self._known_update_id.get(trading_pair, -1):
            self._known_update_id[trading_pair] = update_id

    # -- the stream -------------------------------------------------------------------------

    async def listen_for_subscriptions(self) -> AsyncGenerator[DataSourceEvent, None]:
        pacer = ReconnectPacer(self._backoff, self._clock, self._sleep)
        while True:
            await pacer.wait_for_attempt()
            try:
                ws = await self._session.ws_connect(
                    self._url,
                    heartbeat=self._heartbeat_s,
                    # A short close handshake: a stalled server may never answer it.
                    timeout=aiohttp.ClientWSTimeout(ws_close=min(self._connect_timeout_s, 2.0)),
                )
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self.last_error = f"connect failed: {exc!r}"
                logger.warning("market stream: %s", self.last_error)
                continue
            reason = "connection closed"
            self._ws = ws
            self.connections += 1
            stalled: list[str] = []
            watchdog = (
                asyncio.create_task(self._watchdog(ws, stalled), name="binance-market-stream-watchdog")
                if self._stall_check_s
                else None
            )
            try:
                if self._trading_pairs:
                    await self._subscribe(frozenset(self._trading_pairs))
                while True:
                    msg = await ws.receive()
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        events, stop = self._on_text(msg.data)
                        for event in events:
                            if isinstance(event, StreamConnected):
                                pacer.connected()
                                self._set_connected(True, "subscribed")
                            yield event
                        if stop:
                            reason = stop
                            break
                    elif (ended := ws_end_reason(msg, ws)) is not None:
                        reason = ended
                        break
            except (aiohttp.ClientError, OSError, ConnectionError) as exc:
                reason = f"connection failed: {exc!r}"
            finally:
                self._ws = None
                self._pending.clear()
                if watchdog is not None:
                    watchdog.cancel()
                    await asyncio.gather(watchdog, return_exceptions=True)
                with contextlib.suppress(Exception):
                    await ws.close()
            if stalled:
                reason = stalled[0]
            self.last_error = reason
            self._set_connected(False, reason)
            logger.info("market stream disconnected: %s; reconnecting", reason)
            yield StreamDisconnected(None, reason)

    def _set_connected(self, connected: bool, reason: str) -> None:
        changed = connected != self.connected
        self.connected = connected
        if changed and self._on_connection_change is not None:
            self._on_connection_change(connected, reason)

    def _streams(self, pairs: Iterable[str]) -> list[str]:
        names = []
        for pair in pairs:
            symbol = self._symbols.symbol(pair).lower()
            names.append(symbol + CONSTANTS.DIFF_STREAM_SUFFIX)
            names.append(symbol + CONSTANTS.TRADE_STREAM_SUFFIX)
        return names

    async def _subscribe(self, pairs: frozenset[str]) -> None:
        ws = self._ws
        if ws is None or not pairs:
            return
        request_id = next(self._request_ids)
        self._pending[request_id] = pairs
        await ws.send_str(
            json.dumps({"method": "SUBSCRIBE", "params": self._streams(sorted(pairs)), "id": request_id})
        )

    def _on_text(self, text: str) -> tuple[list[DataSourceEvent], str | None]:
        """Parse one frame: the events to yield, and a reason to reconnect (or None)."""
        try:
            msg: Any = json.loads(text)
        except ValueError:
            logger.warning("market stream: ignoring a frame that is not JSON: %.200s", text)
            return [], None
        if isinstance(msg, dict) and "stream" in msg and "data" in msg:
            msg = msg["data"]  # combined-stream wrapper
        if not isinstance(msg, dict):
            logger.warning("market stream: ignoring unexpected frame %.200s", text)
            return [], None
        if "id" in msg and ("result" in msg or "error" in msg or "code" in msg):
            return self._on_reply(msg)
        event_type = msg.get("e")
        try:
            if event_type == CONSTANTS.DIFF_EVENT_TYPE:
                diff = diff_message_from_exchange(msg, self._symbols.pair_by_symbol)
                self._saw_update_id(diff.trading_pair, diff.update_id)
                self._last_diff_at[diff.trading_pair] = self._clock()
                return [diff], None
            if event_type == CONSTANTS.TRADE_EVENT_TYPE:
                return [trade_message_from_exchange(msg, self._symbols.pair_by_symbol)], None
        except UnknownSymbol:
            return [], None  # a pair just unsubscribed, or one this connector does not know
        except MalformedMessage as exc:
            logger.warning("market stream: skipping a malformed %s message: %s", event_type, exc)
            return [], None
        if event_type == CONSTANTS.SERVER_SHUTDOWN_EVENT_TYPE:
            return [], "server shutting down"
        return [], None

    def _on_reply(self, msg: dict[str, Any]) -> tuple[list[DataSourceEvent], str | None]:
        """A reply to SUBSCRIBE/UNSUBSCRIBE: the events to yield, and a reason to reconnect.

        A refused SUBSCRIBE leaves its pairs without diffs on a socket that looks healthy,
        so it ends the connection: the reconnect (paced by the backoff) subscribes again.
        """
        request_id = msg.get("id")
        pairs = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if "result" in msg and "error" not in msg and "code" not in msg:
            if pairs is None:
                return [], None
            live = frozenset(p for p in pairs if p in self._trading_pairs)
            return ([StreamConnected(live)] if live else []), None
        refused = f"subscription refused: {msg!r:.200}"
        logger.error("market stream: %s", refused)
        if pairs is None:
            return [], None  # not a SUBSCRIBE of ours (an UNSUBSCRIBE, or a stray id)
        return [], refused

    async def _watchdog(self, ws: aiohttp.ClientWebSocketResponse, stalled: list[str]) -> None:
        """Close ``ws`` when a silent pair's book moved on the exchange and the stream did not
        deliver it within one more interval (module docstring)."""
        assert self._stall_check_s is not None
        interval = self._stall_check_s
        suspects: dict[str, int] = {}  # pair → an update id the exchange had, not yet seen here
        connected_at = self._clock()
        while True:
            await self._sleep(interval)
            now = self._clock()
            for pair in list(self._trading_pairs):
                known = self._known_update_id.get(pair)
                if (
                    known is None
                    or now - max(self._last_diff_at.get(pair, connected_at), connected_at) < interval
                ):
                    suspects.pop(pair, None)
                    continue
                suspect = suspects.get(pair)
                if suspect is not None and known < suspect:
                    stalled.append(f"stalled: no {pair} diffs for {interval:g} s while the exchange moved on")
                    self.stalls_detected += 1
                    logger.warning("market stream: %s; reconnecting", stalled[-1])
                    await ws.close()
                    return
                try:
                    data = await self._rest.request(
                        "GET", CONSTANTS.DEPTH_PATH, {"symbol": self._symbols.symbol(pair), "limit": 5}
                    )
                    latest = int(data["lastUpdateId"])
                except (ConnectorError, KeyError, TypeError, ValueError) as exc:
                    logger.info("market stream watchdog: %s probe failed: %s", pair, exc)
                    continue
                if latest > self._known_update_id.get(pair, known):
                    suspects[pair] = latest
                else:
                    suspects.pop(pair, None)

    # -- runtime (un)subscription -----------------------------------------------------------

    async def subscribe_to_trading_pair(self, trading_pair: str) -> None:
        if trading_pair in self._trading_pairs:
            return
        check_stream_count(len(self._trading_pairs) + 1)
        self._trading_pairs.append(trading_pair)
        await self._subscribe(frozenset({trading_pair}))

    async def unsubscribe_from_trading_pair(self, trading_pair: str) -> None:
        if trading_pair not in self._trading_pairs:
            return
        self._trading_pairs.remove(trading_pair)
        ws = self._ws
        if ws is not None:
            request_id = next(self._request_ids)
            await ws.send_str(
                json.dumps(
                    {"method": "UNSUBSCRIBE", "params": self._streams([trading_pair]), "id": request_id}
                )
            )


def check_stream_count(pairs: int) -> None:
    """One connection carries every pair's two streams: refuse more than Binance allows
    (its SUBSCRIBE would be refused on every reconnect)."""
    streams = pairs * CONSTANTS.STREAMS_PER_PAIR
    if streams > CONSTANTS.MAX_STREAMS_PER_CONNECTION:
        raise ConfigurationError(
            f"{pairs} trading pairs need {streams} market streams; one connection carries at most "
            f"{CONSTANTS.MAX_STREAMS_PER_CONNECTION}"
        )
