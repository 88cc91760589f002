"""Client-side rate limiting: a sans-I/O ``RateLimiter`` and a thin ``AsyncThrottler``.

Model
=====

* **Pools** (``RateLimit``): a budget of ``limit`` units per ``interval_seconds``. Binance counts
  in *fixed windows aligned to the clock* (the weight of "the current minute", the orders of
  "the current 10 seconds", "the current UTC day"), so a pool is a set of counters keyed by
  window index ``floor(t / interval)``, not a sliding log. With a server-aligned clock (the
  ``TimeSynchronizer``'s), our windows are the server's.
* **Endpoints** (``EndpointLimit``): what one request to ``(method, path)`` costs in each pool.
  A cost may be a callable of the request parameters (``GET /api/v3/depth`` costs more for a
  larger ``limit``). Pools of kind ``RAW_REQUESTS`` are charged 1 per request automatically.
  An endpoint naming an unknown pool is refused when it is registered, and a request for an
  unregistered endpoint is refused when made (``ConfigurationError``), instead of Hummingbot's
  ``AttributeError`` deep inside a request (study 2.7, addition (p)).
* **Reservations.** ``acquire`` books the request's cost, *at call time*, into the earliest
  windows where every pool it uses has room, and returns a ``Reservation`` whose ``ready_at``
  says when it may be sent. Booking at call time is the fairness rule: capacity is handed out
  in call order, so a caller's slot can never be taken by a later caller (Hummingbot polled a
  lock every 0.1 s and whoever woke first won). A later, lighter request may still go first
  when it fits in capacity left over in an earlier window; that cannot delay anyone already
  booked, and it spares GETs from queueing behind an order-count wait (no head-of-line
  blocking).
* **Server corrections.** ``update_from_headers`` raises the current window's counter to what
  the server reports (``X-MBX-USED-WEIGHT-<n><S|M|H|D>``, ``X-MBX-ORDER-COUNT-<n><S|M|H|D>``)
  when the server saw more than we booked (another process on the same IP or account). It
  lowers an order count only when told that no other order of ours was in flight (Binance
  counts unfilled orders, so orders that fill at once leave room); otherwise our own
  requests still in flight might not be in the server's number.
  ``on_rate_limited`` (429) and ``on_banned`` (418) block every request until the given time,
  including those already booked and waiting: they are re-booked, in their original order,
  after the block. A 429 about one kind of limit (Binance's ``-1015``: too many new orders,
  counted per account) blocks only the requests that count in pools of that kind; cancels
  and queries go on.

Complexity: ``acquire`` does O(pools) work per window it has to skip, and every skipped window
was filled by earlier bookings, so the cost is amortised O(pools); expiry pops old windows
from a heap. Nothing scans a log of past requests (Hummingbot's #7621) except a clock step,
which moves each sent request by its own time.

Times are seconds (floats); weights and counts are ints.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any

from .errors import ConfigurationError


class RateLimitKind(StrEnum):
    """What a pool counts; named like Binance's ``rateLimitType`` so pools can be built
    straight from ``exchangeInfo.rateLimits``."""

    REQUEST_WEIGHT = "REQUEST_WEIGHT"  # reported in X-MBX-USED-WEIGHT-<interval>
    ORDERS = "ORDERS"  # reported in X-MBX-ORDER-COUNT-<interval>
    RAW_REQUESTS = "RAW_REQUESTS"  # 1 per request, charged automatically
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A pool: at most ``limit`` units per fixed, clock-aligned window of ``interval_seconds``."""

    limit_id: str
    limit: int
    interval_seconds: float
    kind: RateLimitKind = RateLimitKind.OTHER

    def __post_init__(self) -> None:
        if not self.limit_id:
            raise ConfigurationError("a rate limit needs a non-empty limit_id")
        if self.limit < 1:
            raise ConfigurationError(f"rate limit {self.limit_id}: limit must be >= 1")
        if not self.interval_seconds > 0:
            raise ConfigurationError(f"rate limit {self.limit_id}: interval must be > 0")


#: A cost: a fixed number of units, or a function of the request parameters.
Weight = int | Callable[[Mapping[str, Any]], int]


@dataclass(frozen=True, slots=True)
class EndpointLimit:
    """What a request to ``method path`` costs, per pool id."""

    method: str
    path: str
    weights: Mapping[str, Weight] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method.upper(), self.path)


@dataclass(eq=False, slots=True)
class Reservation:
    """Booked capacity for one request. ``ready_at`` may move *later* if the server blocks us
    (429/418) before the request is sent; re-read it after every wait."""

    ticket: int
    label: str
    weights: tuple[tuple[str, int], ...]
    requested_at: float
    ready_at: float
    sent: bool = False
    released: bool = False
    _bookings: list[tuple[_Pool, int, int]] = field(default_factory=list, repr=False)

    def delay(self, now: float) -> float:
        """Seconds still to wait before sending (0 if it may go now)."""
        return max(0.0, self.ready_at - now)


class _Pool:
    """Counters of one ``RateLimit``, per window index."""

    __slots__ = ("capacity", "interval", "limit", "sent", "used", "windows")

    def __init__(self, limit: RateLimit, capacity: int) -> None:
        self.limit = limit
        self.capacity = capacity
        self.interval = float(limit.interval_seconds)  # float ok: seconds
        self.used: dict[int, int] = {}
        self.windows: list[int] = []  # heap of the keys of ``used``
        #: When each sent request went out (its slot's time) and its units, oldest first:
        #: what a clock step moves exactly (see ``shift``).
        self.sent: deque[tuple[float, int]] = deque()

    def index(self, t: float) -> int:
        return math.floor(t / self.interval)

    def next_window_start(self, index: int) -> float:
        start = (index + 1) * self.interval
        while self.index(start) <= index:  # guard against float rounding at the boundary
            start = math.nextafter(start, math.inf)
        return start

    def room(self, index: int) -> int:
        return self.capacity - self.used.get(index, 0)

    def add(self, index: int, units: int) -> None:
        if index not in self.used:
            self.used[index] = 0
            heapq.heappush(self.windows, index)
        self.used[index] += units

    def remove(self, index: int, units: int) -> None:
        if index in self.used:
            self.used[index] = max(0, self.used[index] - units)

    def set_to(self, index: int, units: int) -> None:
        current = self.used.get(index, 0)
        if units > current:
            self.add(index, units - current)
        elif units < current:
            self.used[index] = units

    def raise_to(self, index: int, units: int) -> None:
        current = self.used.get(index, 0)
        if units > current:
            self.add(index, units - current)

    def shift(self, delta: float) -> None:
        """The clock stepped by ``delta`` seconds. Each sent request moves with its own time,
        so steps back and forth (two clocks that disagree) leave the counts as they were;
        a count the server's headers had lowered (unfilled orders) is counted from our
        sends again, which errs on the safe side. The rest of a window's count (raised by
        the headers) moves with the window's middle. Call with no request waiting (their
        bookings are not sends)."""
        from_sends: dict[int, int] = {}
        for t, units in self.sent:
            index = self.index(t)
            from_sends[index] = from_sends.get(index, 0) + units
        extra = {i: n - from_sends.get(i, 0) for i, n in self.used.items() if n > from_sends.get(i, 0)}
        self.sent = deque((t + delta, units) for t, units in self.sent)
        self.used, self.windows = {}, []
        for t, units in self.sent:
            self.add(self.index(t), units)
        for index, units in extra.items():
            self.add(self.index((index + 0.5) * self.interval + delta), units)

    def prune(self, current_index: int) -> None:
        """Forget windows before the previous one. The previous one is kept: a clock step
        back across the boundary can make it current again (``shift``)."""
        windows = self.windows
        while windows and windows[0] < current_index - 1:
            del self.used[heapq.heappop(windows)]
        sent = self.sent
        while sent and self.index(sent[0][0]) < current_index - 1:
            sent.popleft()


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_HEADER_RE = re.compile(r"x-mbx-(used-weight|order-count)-(\d+)([smhd])")
_HEADER_KIND = {"used-weight": RateLimitKind.REQUEST_WEIGHT, "order-count": RateLimitKind.ORDERS}


def interval_header_suffix(interval_seconds: float) -> str:
    """``60 -> "1M"``, ``10 -> "10S"``, ``86400 -> "1D"``: Binance's header suffix."""
    for letter, unit in (("D", 86400), ("H", 3600), ("M", 60), ("S", 1)):
        if interval_seconds >= unit and interval_seconds % unit == 0:
            return f"{int(interval_seconds // unit)}{letter}"
    raise ValueError(f"no header suffix for an interval of {interval_seconds} s")


class RateLimiter:
    """Sans-I/O rate limiter: every method takes ``now`` and returns values; it never sleeps.

    Typical use (``AsyncThrottler`` does exactly this)::

        res = limiter.acquire("POST", "/api/v3/order", now)
        # wait res.delay(now) seconds, re-checking res.ready_at after each wait, then:
        limiter.mark_sent(res)            # or limiter.release(res) if abandoned

    ``safety_margin`` (0 <= m < 1) keeps that fraction of every pool unused, as headroom for
    clock skew and for requests this client does not see.
    """

    def __init__(
        self,
        limits: Iterable[RateLimit],
        endpoints: Iterable[EndpointLimit] = (),
        *,
        safety_margin: float = 0.0,
        default_retry_after_s: float = 1.0,
        default_ban_s: float = 120.0,
    ) -> None:
        if not 0 <= safety_margin < 1:
            raise ConfigurationError(f"safety_margin must be in [0, 1), got {safety_margin}")
        self._pools: dict[str, _Pool] = {}
        for limit in limits:
            if limit.limit_id in self._pools:
                raise ConfigurationError(f"rate limit {limit.limit_id!r} is defined twice")
            capacity = max(1, math.floor(limit.limit * (1 - safety_margin)))
            self._pools[limit.limit_id] = _Pool(limit, capacity)
        self._raw_pools = [p for p in self._pools.values() if p.limit.kind is RateLimitKind.RAW_REQUESTS]
        self._endpoints: dict[tuple[str, str], EndpointLimit] = {}
        for endpoint in endpoints:
            self.register_endpoint(endpoint)
        self._default_retry_after_s = default_retry_after_s
        self._default_ban_s = default_ban_s
        self._blocked_until = -math.inf
        #: Blocks that hold only requests counting in pools of one kind (``on_rate_limited``).
        self._kind_blocked: dict[RateLimitKind, float] = {}
        self._banned_until = -math.inf
        self._tickets: Iterator[int] = itertools.count(1)
        # Booked but not yet sent, in call order: re-booked after a 429/418.
        self._waiting: dict[int, Reservation] = {}

    # -- configuration ------------------------------------------------------------------------

    @property
    def limits(self) -> tuple[RateLimit, ...]:
        return tuple(p.limit for p in self._pools.values())

    def register_endpoint(self, endpoint: EndpointLimit) -> None:
        """Declare an endpoint's cost. Refuses unknown pool ids and negative fixed weights."""
        for limit_id, weight in endpoint.weights.items():
            if limit_id not in self._pools:
                known = ", ".join(sorted(self._pools)) or "none"
                raise ConfigurationError(
                    f"endpoint {endpoint.method} {endpoint.path} uses unknown rate limit "
                    f"{limit_id!r} (known: {known})"
                )
            if isinstance(weight, int) and weight < 0:
                raise ConfigurationError(
                    f"endpoint {endpoint.method} {endpoint.path}: negative weight for {limit_id}"
                )
        self._endpoints[endpoint.key] = endpoint

    def weights_for(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> dict[str, int]:
        """The cost of one request per pool id, raw-request pools included."""
        endpoint = self._endpoints.get((method.upper(), path))
        if endpoint is None:
            raise ConfigurationError(
                f"no rate limit is registered for {method.upper()} {path}; register it with "
                f"register_endpoint() so its weight is counted"
            )
        costs: dict[str, int] = {}
        for limit_id, weight in endpoint.weights.items():
            units = weight(params or {}) if callable(weight) else weight
            if units < 0:
                raise ConfigurationError(f"{method} {path}: negative weight for {limit_id}")
            costs[limit_id] = units
        for pool in self._raw_pools:
            costs.setdefault(pool.limit.limit_id, 1)
        return costs

    def capacity(self, limit_id: str) -> int:
        return self._pool(limit_id).capacity

    def used(self, limit_id: str, now: float) -> int:
        """Units counted in ``limit_id``'s current window."""
        pool = self._pool(limit_id)
        return pool.used.get(pool.index(now), 0)

    @property
    def blocked_until(self) -> float:
        """No request may be sent before this time (``-inf`` when not blocked)."""
        return self._blocked_until

    def kind_blocked_until(self, kind: RateLimitKind) -> float:
        """No request counting in a pool of ``kind`` may be sent before this time."""
        return self._kind_blocked.get(kind, -math.inf)

    def is_banned(self, now: float) -> bool:
        return now < self._banned_until

    # -- acquiring ----------------------------------------------------------------------------

    def acquire(
        self, method: str, path: str, now: float, params: Mapping[str, Any] | None = None
    ) -> Reservation:
        """Book one request to a registered endpoint. See ``reserve``."""
        weights = self.weights_for(method, path, params)
        return self.reserve(weights, now, label=f"{method.upper()} {path}")

    def reserve(
        self, weights: Mapping[str, int], now: float, *, start: float | None = None, label: str = ""
    ) -> Reservation:
        """Book ``weights`` (pool id -> units) in the earliest windows with room, at or after
        ``start`` (default ``now``) and any server-imposed block. ``now`` is the current
        time: windows before it are forgotten, later ones kept. Raises
        ``ConfigurationError`` for unknown pools or a cost larger than a pool's whole window."""
        costs = tuple((limit_id, units) for limit_id, units in weights.items() if units)
        for limit_id, units in costs:
            pool = self._pool(limit_id)
            if units > pool.capacity:
                raise ConfigurationError(
                    f"{label or 'request'} costs {units} in {limit_id}, more than its "
                    f"capacity of {pool.capacity} per window: it could never be sent"
                )
        self._forget_sent(now)
        reservation = Reservation(
            ticket=next(self._tickets),
            label=label,
            weights=costs,
            requested_at=now,
            ready_at=now,
        )
        self._book(reservation, max(now if start is None else start, self._held_until(costs)), now)
        self._waiting[reservation.ticket] = reservation
        return reservation

    def _held_until(self, costs: Iterable[tuple[str, int]]) -> float:
        """The end of every block that holds a request with these costs."""
        held = self._blocked_until
        for limit_id, _ in costs:
            held = max(held, self._kind_blocked.get(self._pools[limit_id].limit.kind, -math.inf))
        return held

    def mark_sent(self, reservation: Reservation) -> None:
        """The request is going out now: its booking is final."""
        reservation.sent = True
        self._waiting.pop(reservation.ticket, None)
        for pool, _, units in reservation._bookings:
            pool.sent.append((reservation.ready_at, units))

    def release(self, reservation: Reservation) -> None:
        """The request will not be sent (cancelled while waiting): give its capacity back."""
        if reservation.sent or reservation.released:
            return
        reservation.released = True
        self._waiting.pop(reservation.ticket, None)
        self._unbook(reservation)

    # -- server feedback ----------------------------------------------------------------------

    def update_from_headers(
        self, headers: Mapping[str, str], now: float, *, exact_orders: bool = False
    ) -> None:
        """Raise current-window counters to the server's ``X-MBX-USED-WEIGHT-*`` and
        ``X-MBX-ORDER-COUNT-*`` values (header names are matched case-insensitively).

        With ``exact_orders`` the order counts are taken as they are, lower ones included:
        the caller vouches that no other order request of ours was in flight while this
        one was, so the server's count holds every order of ours sent so far. Binance
        counts *unfilled* orders (an order's first fill takes it off), which only the
        server knows; without this, orders that fill at once would pace us as if they
        rested. Requests booked and still waiting in the window are kept on top.

        A value reported just after a window boundary for the previous window is attributed
        to the new one; that overestimates for at most one window, which is the safe side.
        """
        for name, value in headers.items():
            match = _HEADER_RE.fullmatch(name.lower())
            if match is None:
                continue
            try:
                units = int(str(value).strip())
            except ValueError:
                continue
            kind = _HEADER_KIND[match.group(1)]
            interval = int(match.group(2)) * _UNIT_SECONDS[match.group(3)]
            for pool in self._pools.values():
                if pool.limit.kind is kind and pool.interval == interval:
                    index = pool.index(now)
                    pool.prune(index)
                    if exact_orders and kind is RateLimitKind.ORDERS:
                        pool.set_to(index, units + self._waiting_units(pool, index))
                    else:
                        pool.raise_to(index, units)

    def on_rate_limited(
        self, retry_after_s: float | None, now: float, *, kind: RateLimitKind | None = None
    ) -> None:
        """HTTP 429: send nothing (queued requests included) for ``retry_after_s`` seconds
        (``default_retry_after_s`` if the server gave no ``Retry-After``). With ``kind``,
        only requests that count in a pool of that kind wait (a 429 for too many orders
        says nothing about request weight)."""
        delay = self._default_retry_after_s if retry_after_s is None else retry_after_s
        self._block(now + max(0.0, delay), now, kind)

    def on_banned(self, retry_after_s: float | None, now: float, *, until: float | None = None) -> None:
        """HTTP 418: the IP is banned. Send nothing, queued requests included, until
        ``until`` (absolute, same clock as ``now``) or ``now + retry_after_s``, or for
        ``default_ban_s`` if neither is known."""
        if until is None:
            delay = self._default_ban_s if retry_after_s is None else retry_after_s
            until = now + max(0.0, delay)
        self._banned_until = max(self._banned_until, until)
        self._block(until, now)

    def shift_clock(self, delta: float, now: float) -> None:
        """The clock this limiter runs on stepped by ``delta`` seconds (a corrected estimate
        of the server's time): what was booked at old time ``t`` happened at ``t + delta``.
        Counters and blocks move with it, and requests still waiting are booked again from
        ``now`` (on the new clock), in call order. Without this, requests counted in the
        server's next window would still be booked in our previous one."""
        if not delta:
            return
        waiting = list(self._waiting.values())
        for reservation in waiting:
            self._unbook(reservation)
        for pool in self._pools.values():
            pool.shift(delta)
        self._blocked_until += delta
        self._banned_until += delta
        self._kind_blocked = {kind: until + delta for kind, until in self._kind_blocked.items()}
        for reservation in waiting:
            self._book(reservation, max(now, self._held_until(reservation.weights)), now)

    def hand_over_waiting(self) -> tuple[list[Reservation], Iterator[int]]:
        """Give up the requests still waiting (their bookings removed), in call order, with
        the ticket sequence, for a limiter that replaces this one (``take_waiting``)."""
        waiting = sorted(self._waiting.values(), key=lambda r: r.ticket)
        for reservation in waiting:
            self._unbook(reservation)
        self._waiting.clear()
        return waiting, self._tickets

    def take_waiting(self, waiting: list[Reservation], tickets: Iterator[int], now: float) -> None:
        """Book ``waiting`` (from ``hand_over_waiting``) here, in their call order, so that
        sending them, blocks and clock steps reach them; costs in pools this limiter does
        not have are dropped. Tickets continue the old sequence."""
        self._tickets = tickets
        for reservation in waiting:
            reservation.weights = tuple(
                (limit_id, min(units, self._pools[limit_id].capacity))
                for limit_id, units in reservation.weights
                if limit_id in self._pools
            )
            self._waiting[reservation.ticket] = reservation
            self._book(reservation, max(now, self._held_until(reservation.weights)), now)

    # -- internals ----------------------------------------------------------------------------

    def _waiting_units(self, pool: _Pool, index: int) -> int:
        """What requests booked and not yet sent hold in ``pool``'s window ``index``."""
        return sum(
            units
            for reservation in self._waiting.values()
            for booked_pool, booked_index, units in reservation._bookings
            if booked_pool is pool and booked_index == index
        )

    def _pool(self, limit_id: str) -> _Pool:
        try:
            return self._pools[limit_id]
        except KeyError:
            known = ", ".join(sorted(self._pools)) or "none"
            raise ConfigurationError(f"unknown rate limit {limit_id!r} (known: {known})") from None

    def _book(self, reservation: Reservation, start: float, now: float) -> None:
        pools = [(self._pools[limit_id], units) for limit_id, units in reservation.weights]
        for pool, _ in pools:
            pool.prune(pool.index(now))
        t = start
        moved = True
        while moved:
            moved = False
            for pool, units in pools:
                index = pool.index(t)
                if pool.room(index) < units:
                    t = pool.next_window_start(index)
                    moved = True
        bookings = []
        for pool, units in pools:
            index = pool.index(t)
            pool.add(index, units)
            bookings.append((pool, index, units))
        reservation._bookings = bookings
        reservation.ready_at = t

    def _unbook(self, reservation: Reservation) -> None:
        for pool, index, units in reservation._bookings:
            pool.remove(index, units)
        reservation._bookings = []

    def _block(self, until: float, now: float, kind: RateLimitKind | None = None) -> None:
        if kind is None:
            if until <= self._blocked_until:
                return
            self._blocked_until = until
        else:
            if until <= self._kind_blocked.get(kind, -math.inf):
                return
            self._kind_blocked[kind] = until
        # Re-book everything still waiting whose slot falls inside the block, in call order.
        # Unbook them all first, so that an earlier caller never sees a later one's old slot.
        moved = [
            r
            for r in self._waiting.values()
            if r.ready_at < until
            and (kind is None or any(self._pools[lid].limit.kind is kind for lid, _ in r.weights))
        ]
        for reservation in moved:
            self._unbook(reservation)
        for reservation in moved:
            self._book(reservation, max(until, self._held_until(reservation.weights)), now)

    def _forget_sent(self, now: float) -> None:
        # Callers of the bare sans-I/O API may never call mark_sent: drop reservations whose
        # time has long passed, oldest first, so the waiting list stays bounded.
        horizon = now - max((p.interval for p in self._pools.values()), default=0.0)
        waiting = self._waiting
        while waiting:
            ticket, reservation = next(iter(waiting.items()))
            if reservation.ready_at >= horizon:
                break
            del waiting[ticket]


class AsyncThrottler:
    """``async with throttler.acquire(method, path, params):`` waits for the rate limiter.

    The clock and the sleep function are injected, so tests run on a fake clock with no real
    waiting. Use a server-aligned clock (``TimeSynchronizer.time``) so that the fixed windows
    line up with Binance's.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.limiter = limiter
        self._clock = clock
        self._sleep = sleep

    def acquire(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> _ThrottledRequest:
        """An async context manager that books the request on entry and waits until it may
        be sent. The booking is made when the ``async with`` is entered."""
        return _ThrottledRequest(self, method, path, params)

    async def wait(self, reservation: Reservation) -> None:
        """Sleep until ``reservation`` may be sent, following any re-booking, then mark it sent.
        If cancelled while waiting, its capacity is given back."""
        try:
            while True:
                delay = reservation.delay(self._clock())
                if delay <= 0:
                    break
                await self._sleep(delay)
        except BaseException:
            self.limiter.release(reservation)
            raise
        self.limiter.mark_sent(reservation)

    def now(self) -> float:
        """The time on the limiter's clock."""
        return self._clock()

    def update_from_headers(self, headers: Mapping[str, str], *, exact_orders: bool = False) -> None:
        self.limiter.update_from_headers(headers, self._clock(), exact_orders=exact_orders)

    def on_rate_limited(self, retry_after_s: float | None, *, kind: RateLimitKind | None = None) -> None:
        self.limiter.on_rate_limited(retry_after_s, self._clock(), kind=kind)

    def on_banned(self, retry_after_s: float | None, *, until: float | None = None) -> None:
        self.limiter.on_banned(retry_after_s, self._clock(), until=until)

    def shift_clock(self, delta: float) -> None:
        """The clock stepped by ``delta`` seconds (call it after the step): see
        ``RateLimiter.shift_clock``. Waiting requests follow their new slot."""
        self.limiter.shift_clock(delta, self._clock())


class _ThrottledRequest:
    def __init__(
        self,
        throttler: AsyncThrottler,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
    ) -> None:
        self._throttler = throttler
        self._method = method
        self._path = path
        self._params = params

    async def __aenter__(self) -> Reservation:
        throttler = self._throttler
        reservation = throttler.limiter.acquire(self._method, self._path, throttler._clock(), self._params)
        await throttler.wait(reservation)
        return reservation

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None
