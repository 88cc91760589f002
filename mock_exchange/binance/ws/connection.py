"""One accepted WebSocket, whichever surface: outgoing queue, keepalive, lifetime, limits.

Keepalive follows Binance: the server pings every ``ping_interval`` and drops a connection
that has not answered with a pong echoing the ping's payload within ``pong_timeout``;
client pings are answered with a pong echoing their payload; unsolicited pongs are allowed
but do not keep a connection alive. A connection lives at most
``connection_lifetime``. All timers run on the service clock, so a virtual clock makes a
24-hour lifetime take milliseconds.

Sending never blocks the caller: ``send`` appends to a queue that a writer task drains,
so engine events can be fanned out synchronously, in engine order. A client that stops
reading is disconnected once ``max_queue`` messages are waiting, rather than growing
memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from mock_exchange.clock import call_later

from ..service import ExchangeService

# Close codes.
NORMAL = 1000
GOING_AWAY = 1001
POLICY = 1008
TOO_BIG = 1009

_ID_STR = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")  # Binance's own SDK sends UUIDs with dashes


def valid_request_id(rid: Any) -> bool:
    """A request ``id`` both surfaces accept: null, a signed 64-bit integer, or a string
    matching ``^[a-zA-Z0-9-_]{1,36}$``."""
    if rid is None:
        return True
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return -(2**63) <= rid < 2**63
    return isinstance(rid, str) and bool(_ID_STR.fullmatch(rid))


class WsConnection:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        service: ExchangeService,
        *,
        ip: str,
        max_incoming_per_second: int | None,
        max_queue: int = 100_000,
        surface: str = "stream",
    ) -> None:
        self.id = service.next_connection_id()
        self.surface = surface
        self.traffic = service.traffic
        # Cleared while the connection is stalled (fault injection): nothing is written.
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.ws = ws
        self.service = service
        self.ip = ip
        self.max_incoming = max_incoming_per_second
        self.max_queue = max_queue
        self._queue: deque[str | bytes] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self.close_code: int | None = None
        self.close_reason = ""
        timers = service.config.timers
        self.ping_interval = timers.ping_interval
        self.pong_timeout = timers.pong_timeout
        self.lifetime = timers.connection_lifetime
        now = service.clock.now_us()
        self.connected_us = now
        self.last_pong_us = now
        self._awaiting_pong_since: int | None = None
        self._ping_payload = b""
        self._second = -1
        self._in_second = 0
        self.on_close: list[Callable[[], None]] = []
        self._stall_tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ sending

    @property
    def pending(self) -> int:
        """Messages queued and not yet written to the socket."""
        return len(self._queue)

    def send(self, text: str | bytes) -> None:
        """Queue a message; never blocks. Overflowing the queue closes the connection."""
        if self._closing:
            return
        if self.traffic.enabled:
            self.traffic.record(self.service.now_us(), self.surface, self.id, "out", text)
        self._queue.append(text)
        if len(self._queue) > self.max_queue:
            self._queue.clear()
            self.close_soon(POLICY, "Too many queued messages: client not reading")
            return
        self._wakeup.set()

    async def _writer(self) -> None:
        ws = self.ws
        queue = self._queue
        # Write queued messages as one buffer of frames when aiohttp exposes its transport:
        # one syscall per batch instead of one per message (what lets a subscriber keep up
        # with a busy stream). Falls back to ws.send_str if the internals ever change.
        raw = getattr(ws, "_writer", None)
        transport = getattr(raw, "transport", None)
        protocol = getattr(raw, "protocol", None)
        fast = transport is not None and hasattr(protocol, "_drain_helper") and hasattr(protocol, "_paused")
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self._flowing.wait()
            while queue:
                try:
                    if fast and transport is not None and protocol is not None:
                        if transport.is_closing():
                            return
                        batch = [queue.popleft() for _ in range(min(len(queue), 512))]
                        transport.write(encode_frames(batch))
                        if protocol._paused:
                            await protocol._drain_helper()
                    else:
                        msg = queue.popleft()
                        if isinstance(msg, str):
                            await ws.send_str(msg)
                        else:
                            await ws.send_bytes(msg)
                except (ConnectionError, RuntimeError):
                    return
            if self._closing:
                return

    def stall(self, seconds: float) -> None:
        """Send nothing for ``seconds`` of clock time; the socket stays open and pings and
        pongs go on (a silent stall, the kind a data watchdog has to notice)."""
        self._flowing.clear()
        call_later(self.service.clock, seconds, self._resume, self._stall_tasks)

    def _resume(self) -> None:
        self._flowing.set()
        self._wakeup.set()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (a network failure, not a goodbye)."""
        self._closing = True
        self._queue.clear()
        transport = getattr(getattr(self.ws, "_writer", None), "transport", None)
        if transport is not None:
            transport.abort()
        self._wakeup.set()

    def close_soon(self, code: int = NORMAL, reason: str = "") -> None:
        """Close after what is queued has been sent."""
        if self._closing:
            return
        self._closing = True
        self.close_code, self.close_reason = code, reason
        self._wakeup.set()

    # ------------------------------------------------------------------ timers

    async def _keepalive(self) -> None:
        clock = self.service.clock
        while True:
            await clock.sleep(self.ping_interval)
            now = clock.now_us()
            if self._close_if_pong_overdue(now):
                return
            if self._awaiting_pong_since is None:
                self._awaiting_pong_since = now
            self._ping_payload = str(now // 1000).encode()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.ping(self._ping_payload)

    async def _pong_deadline(self) -> None:
        """Wake when an unanswered ping would time out (the ping loop may be sleeping)."""
        clock = self.service.clock
        while True:
            await clock.sleep(min(self.pong_timeout, self.ping_interval) / 2 or 0.5)
            if self._close_if_pong_overdue(clock.now_us()):
                return

    def _close_if_pong_overdue(self, now: int) -> bool:
        """Close the connection if the last ping has gone unanswered for ``pong_timeout``."""
        since = self._awaiting_pong_since
        if since is None or now - since < int(self.pong_timeout * 1_000_000):
            return False
        self.close_soon(POLICY, "Pong timeout")
        return True

    async def _lifetime(self) -> None:
        await self.service.clock.sleep(self.lifetime)
        self.close_soon(GOING_AWAY, "Connection lifetime reached")

    def _count_incoming(self) -> bool:
        """Count one incoming frame; False if the connection is over its per-second limit."""
        if self.max_incoming is None:
            return True
        second = self.service.clock.now_us() // 1_000_000
        if second != self._second:
            self._second, self._in_second = second, 0
        self._in_second += 1
        return self._in_second <= self.max_incoming

    # ------------------------------------------------------------------ main loop

    async def run(self, on_text: Callable[[str], Awaitable[None]]) -> None:
        """Serve the connection until it closes; ``on_text`` handles each text frame."""
        tasks = [
            asyncio.ensure_future(self._writer()),
            asyncio.ensure_future(self._keepalive()),
            asyncio.ensure_future(self._pong_deadline()),
            asyncio.ensure_future(self._lifetime()),
        ]
        reader = asyncio.ensure_future(self._read(on_text))
        try:
            # The writer ends when the connection is closing and its queue is drained;
            # the reader ends when the peer closes or the socket breaks.
            await asyncio.wait([reader, tasks[0]], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._closing = True
            for t in [*tasks, reader, *self._stall_tasks]:
                t.cancel()
            for t in [*tasks, reader, *self._stall_tasks]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            for cb in self.on_close:
                cb()
            with contextlib.suppress(Exception):
                await self.ws.close(code=self.close_code or NORMAL, message=self.close_reason.encode())

    async def _read(self, on_text: Callable[[str], Awaitable[None]]) -> None:
        ws = self.ws
        async for msg in ws:
            counted = msg.type in (WSMsgType.PING, WSMsgType.PONG, WSMsgType.TEXT, WSMsgType.BINARY)
            if counted and not self._count_incoming():
                # The reason production sends (seen by binance-connector-js and -go users).
                self.close_soon(POLICY, "Too many requests")
                return
            if msg.type is WSMsgType.PING:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.pong(msg.data)
            elif msg.type is WSMsgType.PONG:
                # Only a pong echoing our last ping answers it; unsolicited pongs are allowed
                # but do not keep the connection alive (Binance's rule).
                if msg.data == self._ping_payload:
                    self.last_pong_us = self.service.clock.now_us()
                    self._awaiting_pong_since = None
            elif msg.type is WSMsgType.TEXT:
                if self.traffic.enabled:
                    self.traffic.record(self.service.now_us(), self.surface, self.id, "in", msg.data)
                await on_text(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await on_text(msg.data.decode("utf-8", errors="replace"))
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return
            if self._closing and not self._queue:
                return


_H1 = struct.Struct("!BB").pack
_H2 = struct.Struct("!BBH").pack
_H3 = struct.Struct("!BBQ").pack


def encode_frames(messages: list[str | bytes]) -> bytes:
    """Server-to-client WebSocket frames (RFC 6455 5.2: FIN, unmasked, no compression)."""
    out = bytearray()
    for m in messages:
        if isinstance(m, str):
            data, first = m.encode(), 0x81  # FIN + text
        else:
            data, first = m, 0x82  # FIN + binary
        n = len(data)
        if n < 126:
            out += _H1(first, n)
        elif n < 65536:
            out += _H2(first, 126, n)
        else:
            out += _H3(first, 127, n)
        out += data
    return bytes(out)


def prepare_response() -> web.WebSocketResponse:
    """A WebSocketResponse that leaves pings and pongs to ``WsConnection``."""
    return web.WebSocketResponse(autoping=False, max_msg_size=1 << 20, compress=False)
