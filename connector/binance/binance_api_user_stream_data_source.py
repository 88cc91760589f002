"""The Binance user data stream, over the WebSocket API (``binance-spot-api.md`` §6.1).

The listenKey REST endpoints are gone (410 since 2026-02-20, Hummingbot #8035); the current
mechanism is one WebSocket API connection and one signed request,
``userDataStream.subscribe.signature`` (``apiKey`` + ``timestamp``, HMAC over the sorted
parameters). Events then arrive wrapped as ``{"subscriptionId": N, "event": {...}}``.

``listen_for_user_stream()`` is an async generator that runs until it is closed and yields:

* ``UserStreamConnected`` once a subscription is confirmed (``status == 200``), after every
  (re)connection. The consumer reconciles on it: whatever happened while the stream was
  down is only visible over REST.
* each unwrapped event payload (``executionReport``, ``outboundAccountPosition``,
  ``balanceUpdate``, ...) as a ``dict``, in stream order;
* ``UserStreamDisconnected`` when a confirmed subscription is lost: a close, an error frame,
  a heartbeat timeout, ``eventStreamTerminated`` or ``serverShutdown``.

It reconnects by itself with exponential backoff (``Backoff``, injectable ``sleep``). A
refused subscription is raised as a typed error inside the loop, logged, kept in
``last_error`` and retried after the backoff; a ``-1021`` refusal first resyncs the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import aiohttp

from connector.core.deadline import with_deadline
from connector.core.errors import (
    ConnectorError,
    ExchangeError,
    InvalidTimestamp,
    RequestInfo,
    RequestTimeout,
    TransportError,
)
from connector.core.order_book_tracker import Backoff

from . import binance_constants as CONSTANTS
from .binance_auth import BinanceAuth
from .binance_web_utils import ReconnectPacer, error_from_response, ws_end_reason

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class UserStreamConnected:
    """A subscription is live: events from now on will arrive."""

    subscription_id: int


@dataclass(frozen=True, slots=True)
class UserStreamDisconnected:
    """The subscription was lost: events may be missed until the next ``UserStreamConnected``."""

    reason: str


UserStreamItem: TypeAlias = UserStreamConnected | UserStreamDisconnected | dict[str, Any]

_SUBSCRIBE = RequestInfo("WS", CONSTANTS.USER_STREAM_SUBSCRIBE_METHOD)


def _retry_after(error: object) -> float | None:
    """Seconds to wait, from a WebSocket API error's ``data``: ``retryAfter`` (epoch ms)
    less ``serverTime`` (epoch ms), both the server's."""
    data = error.get("data") if isinstance(error, dict) else None
    if not isinstance(data, dict):
        return None
    retry, now = data.get("retryAfter"), data.get("serverTime")
    if not isinstance(retry, int) or not isinstance(now, int):
        return None
    return max(0.0, (retry - now) / 1000)


class BinanceAPIUserStreamDataSource:
    """Subscribes to the account's user data stream and yields its events."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        ws_api_url: str,
        auth: BinanceAuth,
        resync_time: Callable[[], Awaitable[None]],
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        heartbeat_s: float = 30.0,
        reply_timeout_s: float = 10.0,
        blocked_for: Callable[[], float] | None = None,
        on_rate_limited: Callable[[ExchangeError], None] | None = None,
    ) -> None:
        """``blocked_for`` says how many seconds every request must still wait (an IP ban or
        a 429 seen anywhere): connecting is a request too. ``on_rate_limited`` is told of a
        418/429 answer to the subscription, so every other request waits as well."""
        self._session = session
        self._url = ws_api_url
        self._auth = auth
        self._resync_time = resync_time
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._clock = clock
        self._heartbeat_s = heartbeat_s
        self._reply_timeout_s = reply_timeout_s
        self._request_ids = itertools.count(1)
        self._blocked_for = blocked_for
        self._on_rate_limited = on_rate_limited
        self.connected = False
        self.last_error: str | None = None
        self.connections = 0  # confirmed subscriptions, for observability and tests

    async def listen_for_user_stream(self) -> AsyncGenerator[UserStreamItem, None]:
        pacer = ReconnectPacer(self._backoff, self._clock, self._sleep)
        while True:
            await pacer.wait_for_attempt()
            if self._blocked_for is not None and (wait := self._blocked_for()) > 0:
                logger.info("user stream: requests are held for %.1f s (ban or 429); waiting", wait)
                await self._sleep(wait)
            try:
                ws = await self._session.ws_connect(
                    self._url,
                    heartbeat=self._heartbeat_s,
                    timeout=aiohttp.ClientWSTimeout(ws_close=self._reply_timeout_s),
                )
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self.last_error = f"connect failed: {exc!r}"
                logger.warning("user stream: %s", self.last_error)
                continue
            reason: str | None = None
            try:
                try:
                    subscription_id = await self._subscribe(ws)
                except (ConnectorError, aiohttp.ClientError, OSError) as exc:
                    self.last_error = f"subscription failed: {exc}"
                    logger.warning("user stream: %s", self.last_error)
                    continue
                pacer.connected()
                self.connected = True
                self.connections += 1
                self.last_error = None
                reason = "connection closed"
                yield UserStreamConnected(subscription_id)
                while True:
                    msg = await ws.receive()
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        payload, stop = self._on_text(msg.data)
                        if payload is not None:
                            yield payload
                        if stop is not None:
                            reason = stop
                            break
                    elif (ended := ws_end_reason(msg, ws)) is not None:
                        reason = ended
                        break
            except (aiohttp.ClientError, OSError, ConnectionError) as exc:
                reason = f"connection failed: {exc!r}"
            finally:
                self.connected = False
                with contextlib.suppress(Exception):
                    await ws.close()
            if reason is not None:
                self.last_error = reason
                logger.info("user stream disconnected: %s; reconnecting", reason)
                yield UserStreamDisconnected(reason)

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> int:
        request_id = f"uds-{next(self._request_ids)}"
        request = {
            "id": request_id,
            "method": CONSTANTS.USER_STREAM_SUBSCRIBE_METHOD,
            "params": self._auth.ws_signed_params(),
        }
        await ws.send_str(json.dumps(request))

        async def reply_to_request() -> dict[str, Any]:
            while True:
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    raise TransportError(
                        f"connection lost before the reply ({msg.type.name})", request=_SUBSCRIBE
                    )
                try:
                    reply = json.loads(msg.data)
                except ValueError:
                    continue
                if isinstance(reply, dict) and reply.get("id") == request_id:
                    return reply

        try:
            reply = await with_deadline(reply_to_request(), self._reply_timeout_s, self._sleep)
        except TimeoutError:
            raise RequestTimeout(f"no reply within {self._reply_timeout_s} s", request=_SUBSCRIBE)
        status = reply.get("status")
        result = reply.get("result")
        if status == 200 and isinstance(result, dict) and isinstance(result.get("subscriptionId"), int):
            return int(result["subscriptionId"])
        error = error_from_response(
            status if isinstance(status, int) else None,
            reply.get("error"),
            request=_SUBSCRIBE,
            retry_after=_retry_after(reply.get("error")),
        )
        if isinstance(error, InvalidTimestamp):
            await self._resync_time()
        if error.http_status in (418, 429) and self._on_rate_limited is not None:
            self._on_rate_limited(error)
        raise error

    def _on_text(self, text: str) -> tuple[dict[str, Any] | None, str | None]:
        """One frame → (the event payload to yield or None, a reason to reconnect or None)."""
        try:
            msg: Any = json.loads(text)
        except ValueError:
            logger.warning("user stream: ignoring a frame that is not JSON: %.200s", text)
            return None, None
        if not isinstance(msg, dict):
            logger.warning("user stream: ignoring unexpected frame %.200s", text)
            return None, None
        if "id" in msg and "status" in msg:
            if msg.get("status") != 200:
                logger.warning("user stream: request %s failed: %.200s", msg.get("id"), text)
            return None, None
        event = msg.get("event")
        if not isinstance(event, dict):
            logger.warning("user stream: ignoring a frame without an event: %.200s", text)
            return None, None
        event_type = event.get("e")
        if event_type == CONSTANTS.STREAM_TERMINATED_EVENT_TYPE:
            return None, "the exchange terminated the event stream"
        if event_type == CONSTANTS.SERVER_SHUTDOWN_EVENT_TYPE:
            return None, "server shutting down"
        return event, None
