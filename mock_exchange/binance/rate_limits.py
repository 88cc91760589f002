"""Request weight, raw request, connection and order-count limits, with 429s that escalate
to a 418 ban.

Sans-I/O: every method takes ``now_us``. Windows are fixed and aligned to the clock, as
Binance's are (the 1-minute weight counter resets at the start of each minute), which is
what the ``X-MBX-USED-WEIGHT-1M`` header reports.

Weight is per IP and shared by REST and the WebSocket API; ``RAW_REQUESTS`` counts REST
requests only, and WebSocket API connection attempts have their own ``CONNECTIONS`` limit
(which the WebSocket API's exchangeInfo publishes instead). Order counts are per account
and count *unfilled* orders: an order's first fill takes it off the count again
(``order_filled``). A request refused with 429
is not counted, but it is a *violation*: an IP that keeps sending after a 429 (more than
``ban_after_violations`` refusals in one window) is banned for ``ban_seconds``, doubling
with each further ban up to three days, and gets 418 with ``Retry-After`` until then.
Whoever must act on a ban (the WebSocket API disconnects the IP's sessions) listens on
``on_ban``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mock_exchange.config import RateLimitConfig

from . import errors as err

MINUTE_US = 60_000_000
FIVE_MIN_US = 300_000_000
TEN_S_US = 10_000_000
DAY_US = 86_400_000_000
MAX_BAN_S = 3 * 86_400


@dataclass
class _Window:
    length_us: int
    index: int = -1
    count: int = 0

    def current(self, now_us: int) -> int:
        idx = now_us // self.length_us
        if idx != self.index:
            self.index = idx
            self.count = 0
        return self.count

    def add(self, now_us: int, n: int) -> int:
        self.current(now_us)
        self.count += n
        return self.count

    def seconds_left(self, now_us: int) -> int:
        return _seconds_until((now_us // self.length_us + 1) * self.length_us, now_us)


def _seconds_until(until_us: int, now_us: int) -> int:
    """Whole seconds from ``now_us`` to ``until_us``, rounded up, at least 1 (``Retry-After``)."""
    return max(1, -(-(until_us - now_us) // 1_000_000))


@dataclass
class _IpState:
    weight: _Window = field(default_factory=lambda: _Window(MINUTE_US))
    raw: _Window = field(default_factory=lambda: _Window(FIVE_MIN_US))
    connections: _Window = field(default_factory=lambda: _Window(FIVE_MIN_US))
    stream_connections: _Window = field(default_factory=lambda: _Window(FIVE_MIN_US))
    violations: _Window = field(default_factory=lambda: _Window(MINUTE_US))
    banned_until_us: int = 0
    bans: int = 0


@dataclass
class _AccountState:
    orders_10s: _Window = field(default_factory=lambda: _Window(TEN_S_US))
    orders_1d: _Window = field(default_factory=lambda: _Window(DAY_US))


def _too_many_connections(limit: int, window: _Window, now_us: int) -> err.BinanceError:
    return err.BinanceError(
        -1034,
        f"Too many connection attempts from IP; current limit is {limit} per '5 MINUTE'.",
        429,
        retry_after=window.seconds_left(now_us),
    )


def _still_banned(st: _IpState, now_us: int) -> err.BinanceError:
    return err.banned(st.banned_until_us // 1000, _seconds_until(st.banned_until_us, now_us))


class RateLimiter:
    def __init__(self, cfg: RateLimitConfig) -> None:
        self.cfg = cfg
        self._ips: dict[str, _IpState] = {}
        self._accounts: dict[int, _AccountState] = {}
        #: Called with the IP each time an IP is banned.
        self.on_ban: list[Callable[[str], None]] = []

    def _ip(self, ip: str) -> _IpState:
        st = self._ips.get(ip)
        if st is None:
            st = self._ips[ip] = _IpState()
        return st

    def _acct(self, account_id: int) -> _AccountState:
        st = self._accounts.get(account_id)
        if st is None:
            st = self._accounts[account_id] = _AccountState()
        return st

    # ------------------------------------------------------------------ requests

    def admit(self, ip: str, weight: int, now_us: int, *, raw: bool = True) -> None:
        """Refuse the request (429/418) if the IP is banned or would exceed its limits
        (``raw``: it is a REST request, so ``RAW_REQUESTS`` applies too)."""
        self.check_ban(ip, now_us)
        st = self._ip(ip)
        cfg = self.cfg
        over_weight = st.weight.current(now_us) + weight > cfg.request_weight_per_minute
        over_raw = raw and st.raw.current(now_us) + 1 > cfg.raw_requests_per_5m
        if not (over_weight or over_raw):
            return
        ban = self._count_violation(ip, st, now_us)
        if ban is not None:
            raise ban
        if over_weight:
            raise err.too_much_weight(
                cfg.request_weight_per_minute, "1 MINUTE", st.weight.seconds_left(now_us)
            )
        raise err.BinanceError(
            -1003,
            f"Too many requests; current limit is {cfg.raw_requests_per_5m} requests per 5 MINUTE.",
            429,
            retry_after=st.raw.seconds_left(now_us),
        )

    def violation(self, ip: str, now_us: int) -> err.BinanceError:
        """Count a refused request (an injected 429) and return the answer: 429, or 418 once
        the IP keeps going past ``ban_after_violations``."""
        st = self._ip(ip)
        if st.banned_until_us > now_us:
            return _still_banned(st, now_us)
        ban = self._count_violation(ip, st, now_us)
        if ban is not None:
            return ban
        cfg = self.cfg
        return err.too_much_weight(cfg.request_weight_per_minute, "1 MINUTE", st.weight.seconds_left(now_us))

    def _count_violation(self, ip: str, st: _IpState, now_us: int) -> err.BinanceError | None:
        """Count one refused request; past ``ban_after_violations``, ban the IP (each ban
        twice as long as the last, up to three days) and return the 418."""
        cfg = self.cfg
        if st.violations.add(now_us, 1) <= cfg.ban_after_violations:
            return None
        seconds = min(cfg.ban_seconds * 2**st.bans, MAX_BAN_S)
        self._ban(ip, st, seconds, now_us)
        return err.banned(st.banned_until_us // 1000, seconds)

    def _ban(self, ip: str, st: _IpState, seconds: int, now_us: int) -> None:
        st.bans += 1
        st.banned_until_us = now_us + seconds * 1_000_000
        for listener in self.on_ban:
            listener(ip)

    def charge(self, ip: str, weight: int, now_us: int, *, raw: bool = True) -> None:
        st = self._ip(ip)
        st.weight.add(now_us, weight)
        if raw:
            st.raw.add(now_us, 1)

    def admit_connection(self, ip: str, now_us: int) -> None:
        """Count a WebSocket API connection attempt: 429 ``-1034`` past the ``CONNECTIONS``
        limit (a violation, like any 429), 418 while the IP is banned."""
        self.check_ban(ip, now_us)
        st = self._ip(ip)
        limit = self.cfg.ws_api_connections_per_5m
        if st.connections.current(now_us) + 1 <= limit:
            st.connections.add(now_us, 1)
            return
        ban = self._count_violation(ip, st, now_us)
        if ban is not None:
            raise ban
        raise _too_many_connections(limit, st.connections, now_us)

    def admit_stream_connection(self, ip: str, now_us: int) -> None:
        """Count a market/user-data stream connection attempt: 429 ``-1034`` past the
        limit. The streams are not the API: no ban applies to them and a refusal here is
        no violation."""
        st = self._ip(ip)
        limit = self.cfg.stream_connections_per_5m
        if st.stream_connections.current(now_us) + 1 > limit:
            raise _too_many_connections(limit, st.stream_connections, now_us)
        st.stream_connections.add(now_us, 1)

    def used_weight(self, ip: str, now_us: int) -> int:
        return self._ip(ip).weight.current(now_us)

    def ban(self, ip: str, seconds: int, now_us: int) -> None:
        """Ban ``ip`` now (fault injection and tests)."""
        self._ban(ip, self._ip(ip), seconds, now_us)

    def check_ban(self, ip: str, now_us: int) -> None:
        """418 if ``ip`` is banned: checked before anything else about a request."""
        st = self._ip(ip)
        if st.banned_until_us > now_us:
            raise _still_banned(st, now_us)

    # ------------------------------------------------------------------ orders

    def admit_order(self, account_id: int, now_us: int) -> None:
        """``-1015`` if the account already placed its limit of new orders in a window."""
        st = self._acct(account_id)
        cfg = self.cfg
        if st.orders_10s.current(now_us) >= cfg.orders_per_10s:
            raise err.too_many_orders(cfg.orders_per_10s, "10 SECOND", st.orders_10s.seconds_left(now_us))
        if st.orders_1d.current(now_us) >= cfg.orders_per_day:
            raise err.too_many_orders(cfg.orders_per_day, "1 DAY", st.orders_1d.seconds_left(now_us))

    def count_order(self, account_id: int, now_us: int) -> None:
        st = self._acct(account_id)
        # When the DAY count is exhausted the SECOND count stops incrementing (2025-04).
        if st.orders_1d.current(now_us) < self.cfg.orders_per_day:
            st.orders_10s.add(now_us, 1)
        st.orders_1d.add(now_us, 1)

    def order_filled(self, account_id: int, now_us: int) -> None:
        """An order of ``account_id`` traded for the first time (as maker or taker): the
        unfilled order count drops by one in every interval's *current* window, whenever
        the order was placed, and never below zero (faqs/order_count_decrement.md; the
        FAQ's larger credit for some maker fills is left out: "may be decremented by more")."""
        st = self._accounts.get(account_id)
        if st is None:
            return
        for window in (st.orders_10s, st.orders_1d):
            if window.current(now_us) > 0:
                window.count -= 1

    def order_counts(self, account_id: int, now_us: int) -> tuple[int, int]:
        st = self._acct(account_id)
        return st.orders_10s.current(now_us), st.orders_1d.current(now_us)

    def order_limits(self) -> list[dict[str, object]]:
        """The two ORDERS limits (10 seconds, 1 day) in Binance's ``rateLimits`` shape."""
        cfg = self.cfg
        return [
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": cfg.orders_per_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": cfg.orders_per_day},
        ]

    def order_limits_used(self, account_id: int, now_us: int) -> list[dict[str, object]]:
        """``order_limits`` with each window's ``count`` for ``account_id`` (``rateLimit/order``,
        and the WS API's ``rateLimits``)."""
        counts = self.order_counts(account_id, now_us)
        return [{**limit, "count": n} for limit, n in zip(self.order_limits(), counts, strict=True)]

    def exchange_info_limits(self, *, ws_api: bool = False) -> list[dict[str, object]]:
        """``rateLimits`` as exchangeInfo publishes them: exactly what is enforced. The
        WebSocket API's lists ``CONNECTIONS`` where REST's lists ``RAW_REQUESTS``."""
        cfg = self.cfg
        kind, limit = (
            ("CONNECTIONS", cfg.ws_api_connections_per_5m)
            if ws_api
            else ("RAW_REQUESTS", cfg.raw_requests_per_5m)
        )
        last = {"rateLimitType": kind, "interval": "MINUTE", "intervalNum": 5, "limit": limit}
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": cfg.request_weight_per_minute,
            },
            *self.order_limits(),
            last,
        ]
