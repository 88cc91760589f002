"""The Binance REST client: throttled, signed, timed out, and typed in its failures.

One ``BinanceRestClient`` per connector, on the connector's own ``aiohttp.ClientSession``.
Every request goes through the same steps:

1. **Throttle.** The ``AsyncThrottler`` books the request's weight (``binance_constants``)
   and waits for its slot. An endpoint without a registered cost is refused here, before
   anything is sent (``ConfigurationError``).
2. **Sign** (signed endpoints only). The ``timestamp`` is the ``TimeSynchronizer``'s server
   time, and the clock is synced first when it has no fresh sample. Signing happens *after*
   the throttle wait, so a queued request never carries a stale timestamp.
3. **Send** with a per-request timeout (orders and cancels get their own, longer one).
   Parameters travel in the query string for GET and DELETE and in a form body for POST,
   exactly as they were signed.
4. **Learn** from the answer: the ``X-MBX-USED-WEIGHT-*``/``X-MBX-ORDER-COUNT-*`` headers
   correct the throttler; 429 blocks every request until ``Retry-After`` has passed; 418
   (IP ban) blocks everything until the ban ends.
5. **Raise a typed error** for anything but a 2xx: ``error_from_response`` turns Binance's
   ``{code, msg}`` and the HTTP status into a class from ``connector.core.errors``
   (``ERROR_CLASSES`` is the table). No answer at all is a ``TransportError``; a timeout is
   a ``RequestTimeout``: both say whether the outcome is unknown.
6. **-1021** (timestamp outside ``recvWindow``): resync the clock and retry exactly once.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
from yarl import URL

from connector.core.deadline import with_deadline
from connector.core.errors import (
    AuthenticationError,
    BadRequest,
    ConnectorError,
    ExchangeError,
    FilterFailure,
    InvalidTimestamp,
    IPBanned,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    RequestInfo,
    RequestTimeout,
    ServerError,
    TransportError,
)
from connector.core.order_book_tracker import Backoff
from connector.core.throttler import (
    AsyncThrottler,
    RateLimit,
    RateLimiter,
    RateLimitKind,
    interval_header_suffix,
)
from connector.core.time_synchronizer import TimeSynchronizer

from . import binance_constants as CONSTANTS
from .binance_auth import BinanceAuth, ParamValue, encode_params

logger = logging.getLogger(__name__)

#: Binance error code → exception class (§4). Codes not listed map by HTTP status, then to
#: ``ExchangeError``. -2011 is special-cased in ``error_class_for``: only "Unknown order
#: sent." means the order does not exist; a cancel refused for its restrictions does not.
ERROR_CLASSES: Mapping[int, type[ExchangeError]] = {
    -1000: ServerError,  # "An unknown error occurred while processing the request."
    -1001: ServerError,  # "Internal error; unable to process your request."
    -1002: AuthenticationError,
    -1003: RateLimited,
    -1006: ServerError,  # "Execution status unknown."
    -1007: ServerError,  # backend timeout: "execution status unknown"
    -1008: ServerError,  # server busy
    -1013: OrderRejected,  # FilterFailure when the message names a filter
    -1015: RateLimited,  # too many new orders
    -1021: InvalidTimestamp,
    -1022: AuthenticationError,
    -2010: OrderRejected,
    -2013: OrderNotFound,
    -2014: AuthenticationError,
    -2015: AuthenticationError,
}

#: The least time kept clear of a rate-limit window boundary (``window_guard_s``).
MIN_WINDOW_GUARD_S = 0.05

#: Extra wait after a ban's announced end, for the error in our server-time estimate.
BAN_MARGIN_S = 0.5
#: Assumed ban length when a 418 says neither ``Retry-After`` nor an end time.
DEFAULT_BAN_S = 120.0

_BANNED_UNTIL_RE = re.compile(r"banned until (\d{10,16})")


def error_class_for(http_status: int | None, code: int | None, msg: str) -> type[ExchangeError]:
    """Pick the exception class for one Binance error answer."""
    if http_status == 418:
        return IPBanned
    if http_status == 429:
        return RateLimited
    if code == CONSTANTS.UNKNOWN_ORDER_CODE:
        return OrderNotFound if msg == CONSTANTS.UNKNOWN_ORDER_MESSAGE else ExchangeError
    if code == CONSTANTS.FILTER_FAILURE_CODE and msg.startswith("Filter failure:"):
        return FilterFailure
    if code is not None and code in ERROR_CLASSES:
        return ERROR_CLASSES[code]
    if http_status is not None and http_status >= 500:
        return ServerError
    if http_status == 401:
        return AuthenticationError
    if code is not None and -1199 <= code <= -1100:
        return BadRequest
    return ExchangeError


def banned_until_s(msg: str) -> float | None:
    """The end of an IP ban in epoch seconds, from "IP banned until 1700000000000"."""
    match = _BANNED_UNTIL_RE.search(msg)
    if match is None:
        return None
    value = int(match.group(1))
    return value / 1_000_000 if value > 10**14 else value / 1000


def ws_end_reason(msg: aiohttp.WSMessage, ws: aiohttp.ClientWebSocketResponse) -> str | None:
    """Why a received WebSocket frame ends the connection (a close or an error), or None
    for a frame that does not (text, binary, ping/pong)."""
    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
        return f"closed by the server ({ws.close_code})"
    if msg.type is aiohttp.WSMsgType.ERROR:
        return f"connection error: {ws.exception()!r}"
    return None


class ReconnectPacer:
    """When a stream may (re)connect: at once the first time, then after ``backoff.delay(n)``
    for the n-th attempt. The count starts over only once a connection has stayed up for
    ``backoff.maximum`` seconds, so a stream that drops right after each connect keeps
    backing off (no reconnect storm). Shared by the market and user stream data sources."""

    def __init__(
        self, backoff: Backoff, clock: Callable[[], float], sleep: Callable[[float], Awaitable[object]]
    ) -> None:
        self._backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._attempt = 0
        self._up_since: float | None = None

    async def wait_for_attempt(self) -> None:
        """Sleep until the next connection attempt is due."""
        up_since, self._up_since = self._up_since, None
        if up_since is not None and self._clock() - up_since >= self._backoff.maximum:
            self._attempt = 1  # the last connection stayed up a good while: start over
        if self._attempt:
            await self._sleep(self._backoff.delay(self._attempt))
        self._attempt += 1

    def connected(self) -> None:
        """The stream is up (subscribed): its time up counts from now."""
        self._up_since = self._clock()


def error_from_response(
    http_status: int | None,
    payload: object,
    *,
    request: RequestInfo | None = None,
    retry_after: float | None = None,
) -> ExchangeError:
    """A typed exception for a Binance error answer (HTTP status + decoded body)."""
    probe = ExchangeError.from_payload(http_status, payload)
    cls = error_class_for(http_status, probe.code, probe.msg)
    error = cls(probe.msg, code=probe.code, http_status=http_status, retry_after=retry_after, request=request)
    if isinstance(error, IPBanned):
        error.banned_until = banned_until_s(error.msg)
    return error


def _answer_shape(
    method: str, path: str, params: Mapping[str, ParamValue]
) -> type[dict[str, Any]] | type[list[Any]]:
    """What a success answer to this request is: a JSON array or a JSON object."""
    if (method, path) in CONSTANTS.LIST_ANSWERS:
        return list
    if path == CONSTANTS.TICKER_PRICE_PATH and "symbol" not in params:
        return list
    return dict


#: The longest wait a ``Retry-After`` can impose: Binance's longest IP ban, three days.
MAX_RETRY_AFTER_S = 3 * 86_400.0


def _retry_after(headers: Mapping[str, str], now_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: Binance sends seconds; HTTP also
    allows a date (a proxy's answer), read against ``now_s`` (epoch seconds, server time).
    Never more than ``MAX_RETRY_AFTER_S`` (an absurd value must not stop requests for good)."""
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw)  # float ok: seconds
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000": no zone given; HTTP dates are GMT
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - now_s
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER_S)


def build_rate_limiter(
    limits: Iterable[RateLimit] = CONSTANTS.RATE_LIMITS, *, safety_margin: float = 0.05
) -> RateLimiter:
    """The throttler's limiter with ``limits`` (Binance's documented pools by default, or
    those an exchange publishes) and every endpoint this connector uses.

    Building it validates the table: an endpoint naming an unknown pool raises
    ``ConfigurationError`` here, at start-up.
    """
    pools = tuple(limits)
    return RateLimiter(pools, CONSTANTS.endpoint_limits(pools), safety_margin=safety_margin)


def carry_over(old: RateLimiter, new: RateLimiter, now: float) -> None:
    """Give ``new`` what ``old`` knows: the current windows' usage, any 429/418 block, and
    the requests still waiting, booked again in their call order."""
    waiting, tickets = old.hand_over_waiting()
    headers = {}
    for pool in new.limits:
        if pool.kind in (RateLimitKind.REQUEST_WEIGHT, RateLimitKind.ORDERS) and pool in old.limits:
            prefix = (
                "X-MBX-USED-WEIGHT-" if pool.kind is RateLimitKind.REQUEST_WEIGHT else "X-MBX-ORDER-COUNT-"
            )
            headers[prefix + interval_header_suffix(pool.interval_seconds)] = str(
                old.used(pool.limit_id, now)
            )
    new.update_from_headers(headers, now)
    if old.is_banned(now):
        new.on_banned(None, now, until=old.blocked_until)
    elif old.blocked_until > now:
        new.on_rate_limited(old.blocked_until - now, now)
    orders_blocked = old.kind_blocked_until(RateLimitKind.ORDERS)
    if orders_blocked > now:
        new.on_rate_limited(orders_blocked - now, now, kind=RateLimitKind.ORDERS)
    new.take_waiting(waiting, tickets, now)


Params = Mapping[str, ParamValue]


@dataclass(eq=False)
class OrderFlight:
    """One order placement between the throttler and its answer (compared by identity).
    Left without an answer (a timeout, a dropped connection, a cancelled task), it may
    still execute until its timestamp + recvWindow: it stays counted as in flight until
    ``until`` (local time)."""

    overlapped: bool
    answered: bool = False
    until: float | None = None


class BinanceRestClient:
    """Typed access to Binance's REST API for one connector.

    ``session`` is owned by the caller (the connector closes it). ``auth`` may be ``None``
    for a market-data-only client; a signed request then raises ``AuthenticationError``.
    ``timeout_s`` bounds reads; ``order_timeout_s`` bounds POST/DELETE of orders (Binance's
    own backend timeout is 10 s, after which it answers -1007).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        rest_url: str,
        *,
        throttler: AsyncThrottler,
        time_synchronizer: TimeSynchronizer,
        auth: BinanceAuth | None = None,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        timeout_s: float = 5.0,
        order_timeout_s: float = 10.0,
        order_flights: list[OrderFlight] | None = None,
    ) -> None:
        self._session = session
        self._base = rest_url.rstrip("/")
        self.throttler = throttler
        self.time_synchronizer = time_synchronizer
        self.auth = auth
        self._clock = clock
        self._sleep = sleep
        self.timeout_s = timeout_s
        self.order_timeout_s = order_timeout_s
        self._sync_lock = asyncio.Lock()
        #: The server-time offset the throttler's bookings were made with (see ``_add_sample``).
        self._booked_offset_ms = time_synchronizer.offset_ms
        #: Order placements between the throttler and their answer (see _order_flight_starts);
        #: pass the same list to the client of a restarted connector, since one left
        #: unanswered may still execute.
        self._order_flights: list[OrderFlight] = order_flights if order_flights is not None else []
        #: Requests actually sent (after the throttle), for observability and tests.
        self.requests_sent = 0

    # -- time -------------------------------------------------------------------------------

    async def sync_time(self) -> None:
        """Take one server-time sample (``GET /api/v3/time``)."""
        before = self._clock()
        data = await self.request("GET", CONSTANTS.SERVER_TIME_PATH)
        after = self._clock()
        server_ms = data.get("serverTime") if isinstance(data, dict) else None
        if not isinstance(server_ms, int):
            raise TransportError(
                f"unexpected /time answer {data!r:.100}",
                request=RequestInfo("GET", CONSTANTS.SERVER_TIME_PATH),
            )
        self._add_sample(before, server_ms, after)

    def _add_sample(self, before: float, server_ms: int, after: float) -> None:
        """Record a server-time sample. The throttler runs on the estimated server time, so
        when the estimate moves by more than the window guard absorbs (a clock step, the
        first sync), its bookings move with it: orders already sent then count in the
        exchange's windows, not in the ones the old estimate put them in."""
        sync = self.time_synchronizer
        sync.add_sample(before, server_ms, after)
        delta_ms = sync.offset_ms - self._booked_offset_ms
        if abs(delta_ms) >= MIN_WINDOW_GUARD_S * 1000:
            self.throttler.shift_clock(delta_ms / 1000)
            self._booked_offset_ms = sync.offset_ms

    async def ensure_time_synced(self, *, force: bool = False) -> None:
        """Sync the clock if it has no fresh sample (or ``force``); concurrent callers share
        one request."""
        if not force and not self.time_synchronizer.resync_due():
            return
        async with self._sync_lock:
            if force or self.time_synchronizer.resync_due():
                if force:
                    self.time_synchronizer.invalidate()
                await self.sync_time()

    # -- requests ---------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        signed: bool = False,
        timeout_s: float | None = None,
        on_send: Callable[[], None] | None = None,
        on_refused: Callable[[], None] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer, or raise a typed error.

        A signed request rejected with -1021 is retried exactly once, after a clock resync.
        If that resync fails, the -1021 is raised: the request was refused, so nothing
        executed, whatever went wrong with ``/time``. ``on_send`` is called each time the
        request actually goes out (after any wait for the rate limiter), ``on_refused``
        when a -1021 refusal leaves it to be sent again.
        """
        method = method.upper()
        try:
            return await self._request_once(method, path, params, signed, timeout_s, on_send)
        except InvalidTimestamp as refused:
            if not signed:
                raise
            logger.info("%s %s: timestamp rejected (-1021); resyncing the clock and retrying", method, path)
            if on_refused is not None:
                on_refused()
            try:
                await self.ensure_time_synced(force=True)
            except ConnectorError as exc:
                raise refused from exc
            return await self._request_once(method, path, params, signed, timeout_s, on_send)

    async def _request_once(
        self,
        method: str,
        path: str,
        params: Params | None,
        signed: bool,
        timeout_s: float | None,
        on_send: Callable[[], None] | None = None,
    ) -> Any:
        info = RequestInfo(method, path)
        params = dict(params or {})
        if signed:
            if self.auth is None:
                raise AuthenticationError(
                    "this client has no API key: signed requests are impossible", request=info
                )
            try:
                await self.ensure_time_synced()
            except ConnectorError as exc:
                if not exc.outcome_unknown:
                    raise
                # A 5xx or timeout of ``/time`` says nothing about this request, which was
                # never sent: its outcome is known.
                raise TransportError(
                    f"not sent: the clock sync before it failed ({exc})", request=info, request_sent=False
                ) from exc
        # Throttle on the unsigned parameters (weights depend on e.g. ``limit``, ``symbol``).
        async with self.throttler.acquire(method, path, params):
            # Counted from the moment the throttler lets it go (no await in between), so an
            # order answer arriving meanwhile knows this one may not be in its count.
            flight = (
                self._order_flight_starts() if method == "POST" and path == CONSTANTS.ORDER_PATH else None
            )
            try:
                await self._guard_window_edges(method, path, params)
                if signed:
                    assert self.auth is not None
                    text = self.auth.signed_query(params)
                    headers = self.auth.headers()
                else:
                    text = encode_params(params)
                    headers = {}
                if timeout_s is None:
                    is_order = path in (CONSTANTS.ORDER_PATH, CONSTANTS.OPEN_ORDERS_PATH) and method != "GET"
                    timeout_s = self.order_timeout_s if is_order else self.timeout_s
                if on_send is not None:
                    on_send()
                sent_at = self._clock()
                shape = _answer_shape(method, path, params)
                data = await self._send(method, path, text, headers, timeout_s, info, flight, shape)
            finally:
                if flight is not None:
                    if flight.answered:
                        self._order_flights.remove(flight)
                    else:
                        window_s = self.auth.recv_window_ms / 1000 if self.auth is not None else 60.0
                        flight.until = self._clock() + window_s + 1.0
        if path == CONSTANTS.ORDER_PATH and method != "GET":
            self._sample_transact_time(sent_at, data)
        return data

    def _order_flight_starts(self) -> OrderFlight:
        """A new order placement in flight, marking any other one as overlapped (and itself,
        if there was one, or one left unanswered that may still execute). Only an answer to
        an order that flew alone vouches for the exact order count
        (``RateLimiter.update_from_headers``)."""
        now = self._clock()
        self._order_flights[:] = [f for f in self._order_flights if f.until is None or f.until > now]
        flight = OrderFlight(overlapped=bool(self._order_flights))
        for other in self._order_flights:
            other.overlapped = True
        self._order_flights.append(flight)
        return flight

    def _sample_transact_time(self, sent_at: float, data: Any) -> None:
        """An order placement or cancel answer carries the engine's ``transactTime``, read
        inside this round trip: a server-time sample as good as a ``GET /time``. Orders are
        when an offset error costs most (fixed order-count windows on the server's clock,
        study W7), and a clock step too small for -1021 would otherwise go unnoticed until
        the next periodic resync, and then be outvoted by older samples."""
        transact_ms = data.get("transactTime") if isinstance(data, dict) else None
        if isinstance(transact_ms, int) and not isinstance(transact_ms, bool):
            self._add_sample(sent_at, transact_ms, self._clock())

    def absorb_rate_limit(self, error: ExchangeError) -> None:
        """Pace every later request by a 418 or 429 answer, from REST or the WebSocket API.

        A 418 ban holds everything until the ban's end (in server time, which we only
        estimate, so plus a margin: a request landing early would extend the ban). A 429
        holds everything for its Retry-After, except -1015 (the account's new-order count),
        which holds only new orders: cancels and queries count request weight, per IP.
        """
        retry_after = error.retry_after
        if isinstance(error, IPBanned):
            wait = retry_after if retry_after is not None else DEFAULT_BAN_S
            if error.banned_until is not None:
                wait = max(wait, error.banned_until - self.time_synchronizer.time())
            self.throttler.on_banned(wait + BAN_MARGIN_S)
            logger.error("IP banned by Binance (%s); every request waits until the ban ends", error)
        elif error.http_status == 429:
            orders_only = error.code == -1015
            if retry_after is None:
                # Binance always says; without it, wait out the current minute (the request
                # weight's window), not the throttler's 1 s default: a 429 answered again
                # and again is what Binance escalates to a ban.
                retry_after = 60.0 - self.time_synchronizer.time() % 60.0
            self.throttler.on_rate_limited(retry_after, kind=RateLimitKind.ORDERS if orders_only else None)
            logger.warning(
                "rate limited by Binance (%s); %s back off %s s",
                error,
                "new orders" if orders_only else "all requests",
                retry_after,
            )

    def blocked_for(self) -> float:
        """Seconds until requests of every kind may go out again (0 if they may now)."""
        limiter = self.throttler.limiter
        return max(0.0, limiter.blocked_until - self.throttler.now())

    def window_guard_s(self) -> float:
        """How wrong our server-time estimate may be: half the last sync's round trip, plus
        a margin, and never less than ``MIN_WINDOW_GUARD_S``."""
        round_trip = self.time_synchronizer.last_round_trip_s or 0.0
        return max(MIN_WINDOW_GUARD_S, round_trip / 2 + 0.02)

    async def _guard_window_edges(self, method: str, path: str, params: Mapping[str, ParamValue]) -> None:
        """Binance counts in fixed windows on *its* clock, which we only estimate. A request
        sent within the estimate's error of a window boundary may be counted on the other
        side of it: so just after a boundary, wait until the exchange has surely crossed it
        too; just before one, also count the request in the next window."""
        guard = self.window_guard_s()
        limiter = self.throttler.limiter
        weights = limiter.weights_for(method, path, params)
        intervals = {pool.limit_id: pool.interval_seconds for pool in limiter.limits}
        now = self.time_synchronizer.time()
        wait = 0.0
        for limit_id in weights:
            into_window = now % intervals[limit_id]
            if into_window < guard:
                wait = max(wait, guard - into_window)
        if wait > 0:
            await self._sleep(wait)
            now = self.time_synchronizer.time()
        for limit_id, units in weights.items():
            interval = intervals[limit_id]
            to_boundary = interval - now % interval
            if to_boundary < guard:
                phantom = limiter.reserve(
                    {limit_id: units}, now, start=now + to_boundary, label=f"{method} {path} (edge)"
                )
                limiter.mark_sent(phantom)

    async def _exchange(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str], timeout_s: float
    ) -> tuple[int, Any, str]:
        """One HTTP round trip: (status, headers, body text)."""
        backstop = aiohttp.ClientTimeout(total=max(60.0, 4 * timeout_s), sock_connect=timeout_s)
        async with self._session.request(
            method,
            URL(url, encoded=True),  # sent exactly as signed
            data=data,
            headers=headers,
            timeout=backstop,
        ) as response:
            # Binance answers UTF-8 JSON; anything else (a proxy's error page in another
            # charset) must still become a typed error, not a UnicodeDecodeError.
            body = (await response.read()).decode("utf-8", errors="replace")
            return response.status, response.headers, body

    async def _send(
        self,
        method: str,
        path: str,
        text: str,
        headers: dict[str, str],
        timeout_s: float,
        info: RequestInfo,
        order_flight: OrderFlight | None = None,
        shape: type[dict[str, Any]] | type[list[Any]] = dict,
    ) -> Any:
        url = self._base + path
        data: bytes | None = None
        if method == "POST":
            data = text.encode()
            headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        elif text:
            url = f"{url}?{text}"
        self.requests_sent += 1
        # The deadline runs on the injected sleep (connector.core.deadline), so under a
        # virtual clock a request timeout is virtual time like every other timer; aiohttp's
        # own real-time limits are only a backstop for a socket that never completes.
        try:
            status, response_headers, body = await with_deadline(
                self._exchange(method, url, data, headers, timeout_s), timeout_s, self._sleep
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise TransportError(
                f"could not connect within {timeout_s} s: {exc!r}", request=info, request_sent=False
            )
        except TimeoutError:
            raise RequestTimeout(f"no answer within {timeout_s} s", request=info)
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"could not connect: {exc}", request=info, request_sent=False)
        except aiohttp.ClientError as exc:
            raise TransportError(f"connection failed: {exc!r}", request=info, request_sent=True)
        except RuntimeError as exc:
            if not self._session.closed:
                raise
            # The connector stopped (its session closed) while this request waited to go out.
            raise TransportError(f"not sent: the session is closed ({exc})", request=info, request_sent=False)

        if order_flight is not None:
            order_flight.answered = True
        self.throttler.update_from_headers(
            response_headers, exact_orders=order_flight is not None and not order_flight.overlapped
        )
        try:
            payload: Any = json.loads(body) if body else None
        except ValueError:
            payload = body
        if 200 <= status < 300:
            if payload is None or isinstance(payload, str):
                raise TransportError(f"unparseable answer (HTTP {status}): {body[:100]!r}", request=info)
            if not isinstance(payload, shape):
                # Not the answer this request has (a proxy's, a gateway's): what happened
                # is as unknown as with no answer at all.
                want = "an array" if shape is list else "an object"
                raise TransportError(
                    f"unexpected answer (HTTP {status}): not {want}: {body[:100]!r}", request=info
                )
            return payload
        retry_after = _retry_after(response_headers, self.time_synchronizer.time())
        error = error_from_response(status, payload, request=info, retry_after=retry_after)
        self.absorb_rate_limit(error)
        raise error


def decimal(value: object, name: str) -> Decimal:
    """Parse a Binance decimal string, raising ``ValueError`` with the field's name."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a decimal string, got {value!r}")
    try:
        result = Decimal(value)
    except ArithmeticError:
        raise ValueError(f"{name} is not a decimal: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{name} is not finite: {value!r}")
    return result
