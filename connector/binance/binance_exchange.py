"""``BinanceExchange``: the Binance Spot connector façade.

It composes the exchange-neutral core (``ClientOrderTracker``, ``EventBus``,
``OrderBookTracker``, ``AsyncThrottler``, ``TimeSynchronizer``, ``TradingRule``) with the
Binance layer (REST client, market-stream and user-stream data sources), and runs a few
independent supervisors, each with its own backoff, so that one failing stream never tears
down the others (study W9):

* **trading rules**: ``exchangeInfo`` (rules and the symbol map) and the account's commission
  rates, at start and every ``trading_rules_interval_s``;
* **order books**: an ``OrderBookTracker`` fed by ``BinanceAPIOrderBookDataSource``
  (``@depth@100ms`` + ``@trade``, sequence-checked, resynced on gap/reconnect/crossed book,
  and on a silent stream that the exchange's book has moved past: ``market_stall_check_s``);
* **user stream**: ``BinanceAPIUserStreamDataSource`` events applied to orders and balances
  as they arrive;
* **reconciliation**: one pass (balances, open orders, orders' status by client id, missing
  fills) runs when something *happened*: the user stream (re)connected, a create or cancel
  had an unknown outcome, a terminal status waits for fills, tracking states were restored.
  While such orders remain unsettled the pass repeats with a backoff; otherwise only a slow
  safety poll (``order_status_poll_interval_s``) remains. No per-order polling (W6). A fill
  the user stream missed (its cumulative amount runs ahead of the fills) is fetched at once.

Requests are paced by the limits the exchange publishes in ``exchangeInfo.rateLimits``
(Binance's documented values until then), corrected by the ``X-MBX-USED-WEIGHT-*`` and
``X-MBX-ORDER-COUNT-*`` headers; a 429 holds every request for ``Retry-After``, a 418 until
the ban ends (plus a margin). Signed requests carry the server time (``GET /api/v3/time``,
resynced when stale and after a ``-1021``, which is retried once).

Public API
==========

Lifecycle: ``await start()`` / ``await stop()`` or ``async with BinanceExchange(...)``;
``ready``, ``status_dict`` (part → bool), ``not_ready_reasons`` (part → why),
``await wait_until_ready()``, ``await check_network()``.

Trading (``trading_required=True``, the default):

* ``buy(pair, amount, order_type=LIMIT, price=None)`` / ``sell(...)`` return the client
  order id at once; the order is sent in the background. ``quote_amount=`` instead of
  ``amount`` places a MARKET order by quote amount (``quoteOrderQty``; its ``amount``
  stays 0, and ``executed_amount_base`` says what it bought). Amount and price are
  quantised (step truncated, price rounded to the side's advantage), then anything the
  exchange would refuse for the symbol's rules raises ``InvalidOrder`` *synchronously*,
  before anything is tracked or sent; ``NotReady`` before the rules are loaded.
  ``client_order_id=`` may name the order (``^[a-zA-Z0-9-_]{1,36}$``); otherwise ids are
  ``<client_order_id_prefix><B|S>...``.
* ``await wait_for_created(id)`` returns the ``InFlightOrder`` once the exchange acknowledged
  it (raises the failure if it was refused); ``await wait_until_done(id)`` returns the
  terminal ``OrderState``.
* ``await cancel(pair, id)`` → ``CancellationResult``; ``await cancel_all(timeout_s)`` → one
  ``CancellationResult`` per active order this connector submitted (the timeout runs on the
  injected clock). A cancel whose outcome is unknown is settled by reconciliation, and sent
  again if the order is still open. Cancelling an order declared lost still sends it.
* ``get_order(id)``, ``in_flight_orders``, ``tracking_states`` / ``restore_tracking_states``.
* ``quantize_order_price``, ``quantize_order_amount``, ``get_fee``, ``trading_rules``,
  ``supported_order_types()``, ``await all_trading_pairs()``.
* Balances: ``get_balance(asset)`` (total), ``get_available_balance(asset)``,
  ``get_all_balances()``; ``await update_balances()``.
* ``await update_order_status()`` runs one reconciliation pass now.

Market data: ``order_books``, ``get_order_book(pair)``, ``is_order_book_synced(pair)``,
``await wait_until_order_book_synced(pair)``, ``order_book_tracker`` (sync state, counters),
``get_best_bid``/``get_best_ask``/``get_mid_price``/``get_price(pair, is_buy)``,
``get_price_for_volume``, ``get_volume_for_price``, ``get_last_trade_price``,
``await get_last_traded_prices(pairs)`` (REST).

Events (``exchange.events``, an ``EventBus``; listeners are strong references)
==============================================================================

For every order this connector resolves, in this order::

    OrderCreated -> OrderFilled* -> exactly one of
                    OrderCompleted | OrderCancelled | OrderExpired | OrderFailed

* ``OrderCreated`` (``BuyOrderCreated``/``SellOrderCreated``) once, when the exchange first
  shows the order exists (the create response, a user-stream event or a fill), so a fill
  that overtakes the create response still comes after ``OrderCreated``.
* ``OrderFilled`` once per trade id, whichever source reported it first (user stream, the
  FULL create response, ``myTrades``).
* Exactly one terminal event, after the fills it accounts for; its executed amounts equal
  the sum of the fills. ``OrderExpired`` (an IOC/MARKET remainder, possibly after fills) is
  never reported as ``OrderFailed``. ``OrderFailed`` means refused by the exchange, or
  declared lost after repeated authoritative not-found answers (``OrderLost``); a timeout or
  5xx never fails an order.
* ``OrderAnomaly`` reports what the contract cannot express (a fill after the terminal
  event, a status contradicting it, a terminal event forced while fills were missing).
* Also: ``BalanceUpdated``, ``StreamStatusChanged`` (user/market stream up or down, and why),
  ``ReconciliationCompleted``.

Usage (against ``mock-exchange serve``)
=======================================

::

    import asyncio
    from decimal import Decimal

    from connector.binance import BinanceEndpoints, BinanceExchange, OrderFilled, OrderType

    async def main() -> None:
        exchange = BinanceExchange(
            api_key="K", api_secret="S",                     # as given to `serve`
            trading_pairs=["BTC-USDT"],
            endpoints=BinanceEndpoints.local("127.0.0.1", 8090),
        )
        async with exchange:
            await asyncio.wait_for(exchange.wait_until_ready(), 10)
            print("best bid/ask", exchange.get_best_bid("BTC-USDT"), exchange.get_best_ask("BTC-USDT"))
            exchange.events.subscribe(OrderFilled, lambda e: print("filled", e.amount, "@", e.price))
            order_id = exchange.buy("BTC-USDT", Decimal("0.001"), OrderType.MARKET)
            print(order_id, await exchange.wait_until_done(order_id))      # OrderState.FILLED
            resting = exchange.sell("BTC-USDT", Decimal("0.001"), OrderType.LIMIT, Decimal("70000"))
            await exchange.wait_for_created(resting)
            print(await exchange.cancel_all(timeout_s=5))                  # [CancellationResult(...)]
            await exchange.update_balances()
            print("BTC", exchange.get_balance("BTC"), "USDT", exchange.get_available_balance("USDT"))

    asyncio.run(main())
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from types import TracebackType
from typing import Any

import aiohttp

from connector.core.client_order_tracker import ClientOrderTracker
from connector.core.data_types import (
    ZERO,
    ZERO_FEE,
    OrderState,
    OrderType,
    TradeFee,
    TradeType,
    check_decimal,
)
from connector.core.errors import (
    ConfigurationError,
    ConnectorError,
    InvalidOrder,
    InvalidOrderReason,
    NotReady,
    OrderNotFound,
    OrderNotTracked,
    OrderRejected,
    RequestInfo,
    TransportError,
)
from connector.core.events import BalanceUpdated, ConnectorEvent, EventBus
from connector.core.in_flight_order import InFlightOrder, OrderUpdate, TradeUpdate
from connector.core.order_book import OrderBook, OrderBookQueryResult
from connector.core.order_book_message import OrderBookTradeMessage
from connector.core.order_book_tracker import Backoff, OrderBookTracker
from connector.core.throttler import AsyncThrottler, RateLimit
from connector.core.time_synchronizer import TimeSynchronizer
from connector.core.trading_rule import (
    TradingRule,
    estimate_fee,
    quantize_amount,
    quantize_price,
    rule_for,
    validate_order,
)

from . import binance_constants as CONSTANTS
from .binance_api_order_book_data_source import BinanceAPIOrderBookDataSource, check_stream_count
from .binance_api_user_stream_data_source import (
    BinanceAPIUserStreamDataSource,
    UserStreamConnected,
    UserStreamDisconnected,
)
from .binance_auth import BinanceAuth, ParamValue
from .binance_constants import BinanceEndpoints
from .binance_utils import (
    ClientOrderIdFactory,
    SymbolMapper,
    parse_exchange_info,
    rate_limits_from_exchange_info,
    validate_client_order_id,
)
from .binance_web_utils import BinanceRestClient, OrderFlight, build_rate_limiter, carry_over, decimal

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

#: How many times reconciliation re-sends a cancel whose outcome was unknown and which has
#: not taken effect, before the order goes back to its previous state.
MAX_CANCEL_RETRIES = 2

#: Unreadable user-stream events ask for at most one reconciliation per this many seconds
#: (a format change would otherwise run pass after pass, spending the request weight).
UNREADABLE_EVENT_RECONCILE_S = 5.0

#: Used by ``get_fee`` until the account's commission rates are known (Binance's base rate).
DEFAULT_FEE_RATE = Decimal("0.001")


# ---------------------------------------------------------------------------------------------
# Values and events specific to this façade


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStatusChanged(ConnectorEvent):
    """A stream went up or down. ``stream`` is ``"user_stream"`` or ``"market_stream"``."""

    stream: str
    connected: bool
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationCompleted(ConnectorEvent):
    """A reconciliation pass finished. ``complete`` is False if some request failed (another
    pass is then scheduled); ``trigger`` says what asked for it."""

    trigger: str
    orders_checked: int
    complete: bool


@dataclass(frozen=True, slots=True)
class CancellationResult:
    """The answer to one cancel: ``success`` means the order ended ``CANCELED``.

    ``state`` is the order's state when the result was made; ``error`` is the cancel
    request's error, if it had one (a cancel of an order that had just filled gives
    ``success=False``, ``state=FILLED`` and no ``OrderFailed``). For an order declared lost
    the cancel is still sent; ``success`` then says the exchange cancelled it, while
    ``state`` stays ``FAILED`` (its terminal event was published already).
    """

    client_order_id: str
    success: bool
    state: OrderState | None
    error: ConnectorError | None = None


class NetworkStatus(StrEnum):
    CONNECTED = "CONNECTED"
    NOT_CONNECTED = "NOT_CONNECTED"


@dataclass(slots=True)
class _Balance:
    total: Decimal
    available: Decimal
    updated_ms: int  # exchange time of the newest information (REST updateTime, stream u/T)
    rest_ms: int = -1  # updateTime of the last REST snapshot applied: it includes older deltas
    streamed_at: float = -math.inf  # local time the stream last set it


_ORDER_TIME_FIELDS = ("updateTime", "transactTime", "workingTime", "time")


def _commission(data: Mapping[str, Any], asset_key: str, amount_key: str) -> TradeFee:
    """The commission one fill reports: ``data[amount_key]`` of the asset ``data[asset_key]``
    (no fee when no asset is named)."""
    asset = data.get(asset_key)
    return TradeFee.of(str(asset), decimal(data[amount_key], amount_key)) if asset else ZERO_FEE


def _check_trading_pairs(trading_pairs: object) -> None:
    """``ConfigurationError`` unless every pair is written ``BASE-QUOTE``: a connector
    configured otherwise would start and never become ready."""
    if isinstance(trading_pairs, str):
        raise ConfigurationError(
            f"trading_pairs must be a list of pairs such as ['BTC-USDT'], got the string {trading_pairs!r}"
        )
    for pair in trading_pairs:  # type: ignore[attr-defined]
        base, dash, quote = pair.partition("-") if isinstance(pair, str) else ("", "", "")
        if not (base and dash and quote) or "-" in quote:
            raise ConfigurationError(f"trading pair {pair!r} is not written BASE-QUOTE (e.g. 'BTC-USDT')")


def _check_rounded_to_zero(rule: TradingRule, given: Decimal, quantized: Decimal, *, is_price: bool) -> None:
    """A positive value that quantizing turns into 0 is *below the minimum* (the caller can
    fix that by asking for more), not an invalid value: say so, naming the bound."""
    if quantized != 0 or not given.is_finite() or given <= 0:
        return
    if is_price:
        limit = max(rule.min_price, rule.min_price_increment)
        reason, what = InvalidOrderReason.BELOW_MIN_PRICE, "price"
    else:
        limit = max(rule.min_order_size, rule.min_base_amount_increment)
        reason, what = InvalidOrderReason.BELOW_MIN_SIZE, "amount"
    raise InvalidOrder(
        reason,
        f"{what} {given} is below the minimum {limit}",
        trading_pair=rule.trading_pair,
        value=given,
        limit=limit,
    )


class BinanceExchange:
    """Binance Spot connector. See the module docstring for the API and the event contract.

    ``clock`` (seconds) and ``sleep`` are injectable so tests can run every timer on a
    virtual clock; ``events`` may be shared with other components. Network timeouts
    (``request_timeout_s``, ``order_request_timeout_s``) are real time: they bound I/O.

    Tunables: ``recv_window_ms`` (signed requests), ``trading_rules_interval_s``,
    ``order_status_poll_interval_s`` (the safety poll; ``None`` disables it),
    ``fills_wait_timeout_s`` (how long a terminal status waits for missing fills before it is
    resolved with ``fills_complete=False``), ``lost_order_count_limit`` and
    ``lost_order_min_age_s`` (when not-found answers make an order lost: this long after the
    create request last went out; by default 15 s or the recvWindow, whichever is longer),
    ``resolved_order_ttl_s`` (how long ``get_order`` still finds a resolved order),
    ``stream_backoff``/``rest_backoff``/``reconcile_backoff``, ``heartbeat_s`` (WebSocket
    pings), ``market_stall_check_s`` (the silent-stream watchdog; ``None`` disables it),
    ``throttle_safety_margin`` (fraction of every rate limit kept unused).
    """

    name = "binance"

    def __init__(
        self,
        *,
        api_key: str = "",
        api_secret: str = "",
        trading_pairs: Iterable[str] = (),
        endpoints: BinanceEndpoints | None = None,
        trading_required: bool = True,
        client_order_id_prefix: str = CONSTANTS.DEFAULT_CLIENT_ORDER_ID_PREFIX,
        recv_window_ms: int = CONSTANTS.DEFAULT_RECV_WINDOW_MS,
        request_timeout_s: float = 5.0,
        order_request_timeout_s: float = 10.0,
        trading_rules_interval_s: float = 1800.0,
        order_status_poll_interval_s: float | None = 300.0,
        fills_wait_timeout_s: float = 30.0,
        lost_order_count_limit: int = 2,
        lost_order_min_age_s: float | None = None,
        resolved_order_ttl_s: float = 120.0,
        stream_backoff: Backoff | None = None,
        rest_backoff: Backoff | None = None,
        reconcile_backoff: Backoff | None = None,
        heartbeat_s: float = 30.0,
        market_stall_check_s: float | None = 30.0,
        throttle_safety_margin: float = 0.05,
        events: EventBus | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not isinstance(api_key, str) or not isinstance(api_secret, str):
            raise ConfigurationError("api_key and api_secret must be strings")
        if trading_required and not (api_key and api_secret):
            raise ValueError("trading_required needs api_key and api_secret")
        _check_trading_pairs(trading_pairs)
        for name, seconds in (
            ("request_timeout_s", request_timeout_s),
            ("order_request_timeout_s", order_request_timeout_s),
            ("heartbeat_s", heartbeat_s),
        ):
            if not (isinstance(seconds, int | float) and 0 < seconds < math.inf):
                raise ConfigurationError(f"{name} must be a positive number of seconds, got {seconds!r}")
        self.endpoints = endpoints or BinanceEndpoints.production()
        self.trading_required = trading_required
        self._trading_pairs = list(dict.fromkeys(trading_pairs))
        check_stream_count(len(self._trading_pairs))
        self._clock = clock
        self._sleep = sleep
        self._request_timeout_s = request_timeout_s
        self._order_request_timeout_s = order_request_timeout_s
        self._rules_interval_s = trading_rules_interval_s
        self._poll_interval_s = order_status_poll_interval_s
        self._fills_wait_timeout_s = fills_wait_timeout_s
        self._stream_backoff = stream_backoff or Backoff(initial=0.5, factor=2.0, maximum=30.0)
        self._rest_backoff = rest_backoff or Backoff(initial=1.0, factor=2.0, maximum=60.0)
        self._reconcile_backoff = reconcile_backoff or Backoff(initial=1.0, factor=2.0, maximum=10.0)
        self._heartbeat_s = heartbeat_s
        self._market_stall_check_s = market_stall_check_s

        self.events = events if events is not None else EventBus()
        self.order_tracker = ClientOrderTracker(
            self.events,
            clock=clock,
            lost_order_count_limit=lost_order_count_limit,
            # By default, past the time the exchange may still execute a create: its
            # timestamp + recvWindow.
            lost_order_min_age_s=(
                max(15.0, recv_window_ms / 1000) if lost_order_min_age_s is None else lost_order_min_age_s
            ),
            cached_order_ttl_s=resolved_order_ttl_s,
        )
        self.time_synchronizer = TimeSynchronizer(clock=clock)
        self._throttle_safety_margin = throttle_safety_margin
        self.throttler = AsyncThrottler(
            build_rate_limiter(safety_margin=throttle_safety_margin),
            clock=self.time_synchronizer.time,
            sleep=sleep,
        )
        self._auth: BinanceAuth | None = None
        if api_key and api_secret:
            self._auth = BinanceAuth(
                api_key, api_secret, self.time_synchronizer.time_ms, recv_window_ms=recv_window_ms
            )
        self._ids = ClientOrderIdFactory(client_order_id_prefix, clock=clock)
        self._symbols = SymbolMapper()
        self._rules: dict[str, TradingRule] = {}
        self._fee_rates: dict[str, tuple[Decimal, Decimal]] = {}  # pair → (maker, taker)
        self._account_fee_rates: tuple[Decimal, Decimal] | None = None
        self._balances: dict[str, _Balance] = {}
        self._balances_loaded = False

        self._session: aiohttp.ClientSession | None = None
        self._rest: BinanceRestClient | None = None
        self._ob_source: BinanceAPIOrderBookDataSource | None = None
        self._ob_tracker: OrderBookTracker | None = None
        self._user_stream: BinanceAPIUserStreamDataSource | None = None
        self._running = False
        self._rules_ready = asyncio.Event()
        self._supervisors: list[asyncio.Task[None]] = []
        self._order_tasks: set[asyncio.Task[Any]] = set()
        self._creating: dict[str, asyncio.Task[Any]] = {}  # create request in flight
        self._cancel_unknown: set[str] = set()  # cancel sent, outcome unknown
        self._withdrawn: set[str] = set()  # create cancelled by cancel() before it went out
        self._order_flights: list[OrderFlight] = []  # kept across restarts (BinanceRestClient)
        self._fill_fetches: set[str] = set()  # myTrades request in flight for these orders
        self._market_stream_was_up = False  # since start: a later "connected" is a reconnect
        self._cancel_retries: dict[str, int] = {}  # cancels re-sent after an unknown outcome
        self._reconcile_wanted = asyncio.Event()
        self._reconcile_triggers: list[str] = []
        self._reconcile_lock = asyncio.Lock()
        self._reconcile_timer: asyncio.Task[None] | None = None
        self._unreadable_pass_at = -math.inf  # when the last pass for an unreadable event was asked
        self._unreadable_pass_due = False  # a later such pass is scheduled (it covers new ones)
        self._retry_attempt = 0
        self._errors: dict[str, str] = {}  # part → last error, for not_ready_reasons
        self._progress = asyncio.Event()  # set when a readiness part may have changed

    # =========================================================================== lifecycle

    async def start(self) -> None:
        """Open the session and start every supervisor. Returns at once: use
        ``wait_until_ready`` to wait for the data."""
        if self._running:
            return
        self._running = True
        self._market_stream_was_up = False
        # After a stop, what was known before it is stale: the books resync from a new
        # snapshot and the balances are read again before ``ready``.
        self._ob_tracker = None
        self._ob_source = None
        self._balances_loaded = False
        self._session = aiohttp.ClientSession()
        self._rest = BinanceRestClient(
            self._session,
            self.endpoints.rest_url,
            throttler=self.throttler,
            time_synchronizer=self.time_synchronizer,
            auth=self._auth,
            clock=self._clock,
            sleep=self._sleep,
            timeout_s=self._request_timeout_s,
            order_timeout_s=self._order_request_timeout_s,
            order_flights=self._order_flights,
        )
        self._spawn("trading-rules", self._trading_rules_loop)
        self._spawn("order-books", self._order_books_loop)
        if self.trading_required:
            assert self._auth is not None
            self._user_stream = BinanceAPIUserStreamDataSource(
                session=self._session,
                ws_api_url=self.endpoints.ws_api_url,
                auth=self._auth,
                resync_time=self._resync_time,
                backoff=self._stream_backoff,
                sleep=self._sleep,
                clock=self._clock,
                heartbeat_s=self._heartbeat_s,
                reply_timeout_s=self._request_timeout_s,
                blocked_for=self.rest.blocked_for,
                on_rate_limited=self.rest.absorb_rate_limit,
            )
            self._spawn("user-stream", self._user_stream_loop)
            self._spawn("reconciliation", self._reconcile_loop)
            self.request_reconciliation("start")

    async def stop(self) -> None:
        """Cancel every task, then close the session. Orders stay tracked: persist
        ``tracking_states`` to resume them after a restart."""
        if not self._running:
            return
        self._running = False
        tasks = [*self._supervisors, *self._order_tasks]
        if self._reconcile_timer is not None:
            tasks.append(self._reconcile_timer)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # A create task cancelled before it ever ran (``buy`` then ``stop`` in one go) did
        # nothing, not even its own bookkeeping: its request never went out.
        for client_id in list(self._creating):
            del self._creating[client_id]
            self._create_stopped(client_id)
        # A cancel cut short (its answer, or the query after a -2011, never came) leaves its
        # order PENDING_CANCEL: the reconciliation after the next start settles it.
        for order in self.order_tracker.active_orders.values():
            if order.is_pending_cancel:
                self._cancel_unknown.add(order.client_order_id)
        self._supervisors.clear()
        self._order_tasks.clear()
        self._reconcile_timer = None
        self._unreadable_pass_due = False  # its task was cancelled above
        if self._ob_tracker is not None:
            await self._ob_tracker.stop()
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._rest = None

    async def __aenter__(self) -> BinanceExchange:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _spawn(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        self._supervisors.append(asyncio.create_task(self._supervise(name, body), name=f"binance-{name}"))

    async def _supervise(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """Run ``body`` forever; an unexpected crash restarts it after a backoff (the other
        supervisors are unaffected)."""
        failures = 0
        while True:
            try:
                await body()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self._errors[name] = f"crashed: {exc!r}"
                logger.exception("%s supervisor crashed; restarting", name)
                await self._sleep(self._rest_backoff.delay(failures))

    @property
    def rest(self) -> BinanceRestClient:
        if self._rest is None:
            raise NotReady("the connector is not started")
        return self._rest

    # =========================================================================== readiness

    @property
    def status_dict(self) -> dict[str, bool]:
        """Each part of the connector and whether it is ready."""
        status = {
            "symbols_mapping_initialized": self._symbols.ready,
            "trading_rule_initialized": bool(self._rules),
            "order_books_initialized": self._order_books_ready(),
        }
        if self.trading_required:
            status["server_time_synchronized"] = self.time_synchronizer.has_samples
            status["account_balance"] = self._balances_loaded
            status["user_stream_initialized"] = self._user_stream is not None and self._user_stream.connected
        return status

    def _order_books_ready(self) -> bool:
        tracker = self._ob_tracker
        if not self._running or tracker is None or not tracker.is_ready:
            return False
        return len(tracker.trading_pairs) == len(self._trading_pairs)  # every pair is valid

    @property
    def ready(self) -> bool:
        return self._running and all(self.status_dict.values())

    @property
    def not_ready_reasons(self) -> dict[str, str]:
        """For each part that is not ready, why (the last error when there was one)."""
        reasons: dict[str, str] = {}
        started = "" if self._running else "the connector is not started; "
        for part, ok in self.status_dict.items():
            if ok:
                continue
            if part in ("symbols_mapping_initialized", "trading_rule_initialized"):
                detail = self._errors.get("trading-rules", "exchangeInfo not loaded yet")
            elif part == "order_books_initialized":
                detail = self._order_books_reason()
            elif part == "server_time_synchronized":
                detail = "no server time sample yet"
            elif part == "account_balance":
                detail = self._errors.get("balances", "balances not loaded yet")
            else:
                source = self._user_stream
                detail = (source.last_error if source is not None else None) or "not subscribed yet"
            reasons[part] = started + detail
        return reasons

    def _order_books_reason(self) -> str:
        tracker = self._ob_tracker
        if tracker is None:
            return self._errors.get("order-books", "waiting for the trading rules")
        unknown = [p for p in self._trading_pairs if p not in tracker.trading_pairs]
        parts = [f"{p}: not a valid trading pair" for p in unknown]
        for pair in tracker.trading_pairs:
            if not tracker.is_synced(pair):
                problem = tracker.last_problem(pair)
                parts.append(
                    f"{pair}: {tracker.sync_state(pair).value}" + (f" ({problem})" if problem else "")
                )
        source = self._ob_source
        if source is not None and not source.connected and source.last_error:
            parts.append(f"market stream: {source.last_error}")
        return "; ".join(parts) or "not synced yet"

    async def wait_until_ready(self) -> None:
        """Return once ``ready`` (wrap in ``asyncio.timeout``). Woken by the parts' own
        progress (rules loaded, books synced, balances loaded, streams up), never by polling."""
        while True:
            self._progress.clear()
            if self.ready:
                return
            waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._progress.wait())]
            tracker = self._ob_tracker
            if tracker is not None and not tracker.is_ready:
                waiters.append(asyncio.ensure_future(tracker.wait_until_ready()))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)

    async def check_network(self) -> NetworkStatus:
        """``GET /api/v3/ping``: can the REST API be reached?"""
        try:
            await self.rest.request("GET", CONSTANTS.PING_PATH)
        except ConnectorError as exc:
            logger.info("network check failed: %s", exc)
            return NetworkStatus.NOT_CONNECTED
        return NetworkStatus.CONNECTED

    # =========================================================================== trading rules

    @property
    def trading_pairs(self) -> tuple[str, ...]:
        return tuple(self._trading_pairs)

    @property
    def trading_rules(self) -> Mapping[str, TradingRule]:
        return dict(self._rules)

    @staticmethod
    def supported_order_types() -> list[OrderType]:
        return list(CONSTANTS.SUPPORTED_ORDER_TYPES)

    async def update_trading_rules(self) -> None:
        """Fetch ``exchangeInfo``: rules and the symbol map. Malformed symbols are skipped."""
        payload = await self.rest.request("GET", CONSTANTS.EXCHANGE_INFO_PATH)
        if not isinstance(payload, dict):
            raise TransportError(f"unexpected exchangeInfo answer {payload!r:.100}")
        info = parse_exchange_info(payload)
        self._symbols.update(info.symbols.values())
        self._rules = info.rules
        self._adopt_rate_limits(rate_limits_from_exchange_info(payload))
        self._rules_ready.set()
        self._progress.set()
        await self._track_pairs_now_valid()

    async def _track_pairs_now_valid(self) -> None:
        """Start the books of configured pairs that were not tradable when the order books
        started (a symbol in BREAK or HALT then) and are now: without this, such a pair
        never got a book and the connector never became ready."""
        tracker = self._ob_tracker
        if tracker is None:
            return  # not started yet: ``_order_books_loop`` takes every valid pair
        for pair in self._trading_pairs:
            if pair in self._rules and pair not in tracker.trading_pairs:
                logger.info("%s is tradable now: tracking its order book", pair)
                await tracker.add_trading_pair(pair)
                self._progress.set()

    def _adopt_rate_limits(self, published: tuple[RateLimit, ...]) -> None:
        """Pace requests by the limits the exchange publishes, not by hard-coded ones
        (Hummingbot #5491). Usage so far and any 429/418 block carry over."""
        if not published or set(published) == set(self.throttler.limiter.limits):
            return
        try:
            limiter = build_rate_limiter(published, safety_margin=self._throttle_safety_margin)
        except ConfigurationError as exc:
            logger.error("ignoring the published rate limits: %s", exc)
            return
        carry_over(self.throttler.limiter, limiter, self.time_synchronizer.time())
        self.throttler.limiter = limiter
        logger.info("pacing requests by the published limits: %s", [(p.limit_id, p.limit) for p in published])

    async def all_trading_pairs(self) -> list[str]:
        """Every pair this connector could trade (TRADING and SPOT); ``[]`` if exchangeInfo
        cannot be fetched (the error is logged)."""
        if not self._rules:
            try:
                await self.update_trading_rules()
            except (ConnectorError, ValueError) as exc:
                logger.warning("cannot list trading pairs: %s", exc)
                return []
        return sorted(self._rules)

    async def _update_fee_rates(self) -> None:
        """Commission rates per traded pair (``GET /api/v3/account/commission``): standard,
        tax and special rates add up (the BNB discount is not modelled)."""
        for pair in self._trading_pairs:
            symbol = self._symbols.symbol_by_pair.get(pair)
            if symbol is None:
                continue
            data = await self.rest.request("GET", CONSTANTS.COMMISSION_PATH, {"symbol": symbol}, signed=True)
            maker = taker = ZERO
            for key in ("standardCommission", "taxCommission", "specialCommission"):
                part = data.get(key) if isinstance(data, dict) else None
                if isinstance(part, dict):
                    maker += decimal(part.get("maker", "0"), f"{key}.maker")
                    taker += decimal(part.get("taker", "0"), f"{key}.taker")
            self._fee_rates[pair] = (maker, taker)

    async def _trading_rules_loop(self) -> None:
        failures = 0
        while True:
            try:
                await self.update_trading_rules()
                if self.trading_required:
                    await self._update_fee_rates()
                self._errors.pop("trading-rules", None)
                failures = 0
                delay = self._rules_interval_s
            except (ConnectorError, ValueError) as exc:
                failures += 1
                self._errors["trading-rules"] = f"last attempt failed: {exc}"
                logger.warning("trading rules update failed: %s", exc)
                delay = self._rest_backoff.delay(failures)
            await self._sleep(delay)

    async def _resync_time(self) -> None:
        await self.rest.ensure_time_synced(force=True)

    # =========================================================================== order books

    async def _order_books_loop(self) -> None:
        await self._rules_ready.wait()
        assert self._session is not None
        if self._ob_tracker is not None:  # a restart (of the connector or of this supervisor)
            await self._ob_tracker.stop()
        pairs = [p for p in self._trading_pairs if p in self._rules]
        self._ob_source = BinanceAPIOrderBookDataSource(
            pairs,
            rest=self.rest,
            session=self._session,
            stream_url=self.endpoints.stream_url,
            symbols=self._symbols,
            backoff=self._stream_backoff,
            sleep=self._sleep,
            clock=self._clock,
            heartbeat_s=self._heartbeat_s,
            connect_timeout_s=self._request_timeout_s,
            on_connection_change=lambda up, why: self._stream_changed("market_stream", up, why),
            stall_check_s=self._market_stall_check_s,
        )
        self._ob_tracker = OrderBookTracker(self._ob_source, backoff=self._stream_backoff, sleep=self._sleep)
        await self._ob_tracker.start()
        self._progress.set()

    def _stream_changed(self, stream: str, connected: bool, reason: str) -> None:
        self._progress.set()
        self.events.publish(
            StreamStatusChanged(timestamp=self._clock(), stream=stream, connected=connected, reason=reason)
        )
        if stream == "market_stream" and connected:
            if self._market_stream_was_up and self._running:
                self._run_order_task(self._refresh_last_trades())
            self._market_stream_was_up = True

    async def _refresh_last_trades(self) -> None:
        """Trades made while the market stream was down never reach it: after a reconnect,
        ask REST for each pair's latest trade. The book keeps whichever trade id is newer,
        so a trade the new stream delivers meanwhile is never overwritten."""
        for pair in list(self._trading_pairs):
            try:
                symbol = self._symbols.symbol(pair)
                rows = await self.rest.request(
                    "GET", CONSTANTS.RECENT_TRADES_PATH, {"symbol": symbol, "limit": 1}
                )
                if not isinstance(rows, list) or not rows:
                    continue
                row = rows[-1]
                trade = OrderBookTradeMessage(
                    trading_pair=pair,
                    trade_id=int(row["id"]),
                    price=decimal(row["price"], "price"),
                    amount=decimal(row["qty"], "qty"),
                    trade_type=TradeType.SELL if row["isBuyerMaker"] else TradeType.BUY,
                    timestamp=int(row["time"]),
                )
            except (ConnectorError, KeyError, TypeError, ValueError) as exc:
                logger.info("could not refresh the last trade of %s: %s", pair, exc)
                continue
            book = self.order_books.get(pair)
            if book is not None:
                book.apply_trade(trade)

    @property
    def order_book_tracker(self) -> OrderBookTracker | None:
        return self._ob_tracker

    @property
    def order_books(self) -> Mapping[str, OrderBook]:
        return {} if self._ob_tracker is None else self._ob_tracker.order_books

    def get_order_book(self, trading_pair: str) -> OrderBook:
        """The pair's book (empty while not synced). ``KeyError`` for an untracked pair;
        ``NotReady`` before ``start()`` has loaded the trading rules (no book exists yet)."""
        if self._ob_tracker is None:
            raise NotReady("order books exist once start() has loaded the trading rules")
        return self.order_books[trading_pair]

    async def wait_until_order_book_synced(self, trading_pair: str) -> None:
        """Return once ``trading_pair``'s book is synced (wrap in ``asyncio.timeout``)."""
        while True:
            self._progress.clear()
            tracker = self._ob_tracker
            if tracker is not None:
                if trading_pair not in tracker.trading_pairs:
                    raise KeyError(f"{trading_pair} is not a tracked trading pair")
                await tracker.wait_until_synced(trading_pair)
                return
            await self._progress.wait()

    def is_order_book_synced(self, trading_pair: str) -> bool:
        tracker = self._ob_tracker
        return (
            self._running
            and tracker is not None
            and trading_pair in tracker.trading_pairs
            and tracker.is_synced(trading_pair)
        )

    def _synced_book(self, trading_pair: str) -> OrderBook | None:
        return self.get_order_book(trading_pair) if self.is_order_book_synced(trading_pair) else None

    def get_best_bid(self, trading_pair: str) -> Decimal | None:
        book = self._synced_book(trading_pair)
        return None if book is None else book.best_bid

    def get_best_ask(self, trading_pair: str) -> Decimal | None:
        book = self._synced_book(trading_pair)
        return None if book is None else book.best_ask

    def get_mid_price(self, trading_pair: str) -> Decimal | None:
        book = self._synced_book(trading_pair)
        return None if book is None else book.mid_price

    def get_price(self, trading_pair: str, is_buy: bool) -> Decimal | None:
        """The price a market order would start at: the best ask to buy, the best bid to
        sell; ``None`` while the book is not synced or that side is empty."""
        return self.get_best_ask(trading_pair) if is_buy else self.get_best_bid(trading_pair)

    def get_price_for_volume(
        self, trading_pair: str, is_buy: bool, volume: Decimal
    ) -> OrderBookQueryResult | None:
        book = self._synced_book(trading_pair)
        return None if book is None else book.get_price_for_volume(is_buy, volume)

    def get_volume_for_price(
        self, trading_pair: str, is_buy: bool, price: Decimal
    ) -> OrderBookQueryResult | None:
        book = self._synced_book(trading_pair)
        return None if book is None else book.get_volume_for_price(is_buy, price)

    def get_last_trade_price(self, trading_pair: str) -> Decimal | None:
        """The last public trade seen on the trade stream (``None`` before the first)."""
        book = self.order_books.get(trading_pair)
        return None if book is None else book.last_trade_price

    async def get_last_traded_prices(self, trading_pairs: Iterable[str]) -> dict[str, Decimal]:
        """Last prices over REST (``GET /api/v3/ticker/price``), for pairs without a stream.
        ``NotReady`` before the trading rules are loaded, ``KeyError`` for a pair the
        exchange does not list."""
        result: dict[str, Decimal] = {}
        for pair in trading_pairs:
            if not self._rules_ready.is_set():
                raise NotReady("trading rules are not loaded yet")
            symbol = self._symbols.symbol_by_pair.get(pair)
            if symbol is None:
                raise KeyError(f"{pair} is not a trading pair of the exchange")
            data = await self.rest.request("GET", CONSTANTS.TICKER_PRICE_PATH, {"symbol": symbol})
            result[pair] = decimal(data["price"], "price")
        return result

    # =========================================================================== fees, quantizing

    def quantize_order_price(
        self, trading_pair: str, price: Decimal, trade_type: TradeType = TradeType.BUY
    ) -> Decimal:
        """The tick-size multiple never worse than ``price`` for the side (down to buy)."""
        return quantize_price(rule_for(self._rules, trading_pair), price, trade_type)

    def quantize_order_amount(
        self, trading_pair: str, amount: Decimal, order_type: OrderType = OrderType.LIMIT
    ) -> Decimal:
        """``amount`` truncated to the step size (LOT_SIZE, and MARKET_LOT_SIZE for MARKET)."""
        return quantize_amount(rule_for(self._rules, trading_pair), amount, order_type)

    def fee_rates(self, trading_pair: str) -> tuple[Decimal, Decimal]:
        """``(maker, taker)`` commission rates for the pair."""
        rates = self._fee_rates.get(trading_pair) or self._account_fee_rates
        return rates if rates is not None else (DEFAULT_FEE_RATE, DEFAULT_FEE_RATE)

    def get_fee(
        self,
        trading_pair: str,
        order_type: OrderType,
        trade_type: TradeType,
        amount: Decimal,
        price: Decimal,
        is_maker: bool | None = None,
    ) -> TradeFee:
        """Estimated commission of a fill, from the account's rates. ``is_maker`` defaults to
        True for LIMIT_MAKER only (a LIMIT order may take or make)."""
        base, _, quote = trading_pair.partition("-")
        maker, taker = self.fee_rates(trading_pair)
        return estimate_fee(
            maker,
            taker,
            trade_type=trade_type,
            is_maker=(order_type is OrderType.LIMIT_MAKER) if is_maker is None else is_maker,
            amount=amount,
            price=price,
            base_asset=base,
            quote_asset=quote,
        )

    # =========================================================================== orders: API

    @property
    def in_flight_orders(self) -> dict[str, InFlightOrder]:
        """Active (unresolved) orders by client order id."""
        return self.order_tracker.active_orders

    def get_order(self, client_order_id: str) -> InFlightOrder | None:
        """An order this connector tracks (active, lost or recently resolved)."""
        return self.order_tracker.fetch_order(client_order_id)

    @property
    def tracking_states(self) -> dict[str, dict[str, Any]]:
        """JSON-safe state of unresolved and lost orders; persist it to resume after a restart."""
        return self.order_tracker.tracking_states

    def restore_tracking_states(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        """Resume orders saved by ``tracking_states``: they are reconciled with the exchange
        (status by client id, fills missed while down from ``myTrades``)."""
        tracked = set(self.order_tracker.active_orders)
        self.order_tracker.restore_tracking_states(states)
        active = self.order_tracker.active_orders
        for order in (active[c] for c in states if c in active and c not in tracked):
            # Whether a create or cancel the saving process had in flight took effect is
            # unknown here (it may have gone out after the save): reconciliation settles it,
            # through the lost-order rules for a create the exchange never received.
            order.mark_creation_outcome_unknown()
            if order.current_state is OrderState.PENDING_CANCEL:
                self._cancel_unknown.add(order.client_order_id)
        self.request_reconciliation("restored tracking states")

    def buy(
        self,
        trading_pair: str,
        amount: Decimal | None = None,
        order_type: OrderType = OrderType.LIMIT,
        price: Decimal | None = None,
        *,
        quote_amount: Decimal | None = None,
        client_order_id: str | None = None,
    ) -> str:
        """Place a buy order; returns its client order id at once. See the module docstring."""
        return self._create(
            TradeType.BUY, trading_pair, amount, order_type, price, quote_amount, client_order_id
        )

    def sell(
        self,
        trading_pair: str,
        amount: Decimal | None = None,
        order_type: OrderType = OrderType.LIMIT,
        price: Decimal | None = None,
        *,
        quote_amount: Decimal | None = None,
        client_order_id: str | None = None,
    ) -> str:
        """Place a sell order; returns its client order id at once. See the module docstring."""
        return self._create(
            TradeType.SELL, trading_pair, amount, order_type, price, quote_amount, client_order_id
        )

    async def wait_for_created(self, client_order_id: str) -> InFlightOrder:
        """The order, once the exchange acknowledged it. Raises its failure if it was refused
        (e.g. ``OrderRejected``) and ``OrderNotTracked`` for an unknown id."""
        order = self._tracked(client_order_id)
        await order.wait_until_created()
        return order

    async def wait_until_done(self, client_order_id: str) -> OrderState:
        """The order's terminal state, once reached."""
        return await self._tracked(client_order_id).wait_until_done()

    async def cancel(self, trading_pair: str, client_order_id: str) -> CancellationResult:
        """Cancel one order (by client order id) and interpret the answer.

        ``success`` is True once the order is CANCELED. A cancel whose outcome is unknown
        (timeout, 5xx) returns ``success=False`` with the error; the order stays
        ``PENDING_CANCEL`` and reconciliation settles it (watch the events). An order whose
        create request has not gone out yet (held by a rate-limit block or ban, or to be
        sent again after a -1021 refusal) is withdrawn instead: it fails at once as never
        sent (``OrderFailed``, ``TransportError`` with ``request_sent=False``) and the
        result says FAILED.
        """
        order = self._tracked(client_order_id)
        if order.trading_pair != trading_pair:
            raise OrderNotTracked(
                f"order {client_order_id} is a {order.trading_pair} order, not {trading_pair}"
            )
        return await self._cancel(order)

    async def cancel_all(self, timeout_s: float) -> list[CancellationResult]:
        """Cancel every active order this connector submitted; one result per order.

        Waits up to ``timeout_s`` for each order to reach a terminal state (a cancel with an
        unknown outcome is settled by reconciliation meanwhile); orders not CANCELED by then
        are reported with ``success=False``.
        """
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float):
            raise TypeError(f"timeout_s must be a number of seconds, got {timeout_s!r}")
        if timeout_s != timeout_s:
            raise ValueError("timeout_s must be a number of seconds, got NaN")
        orders = list(self.order_tracker.active_orders.values())
        if not orders:
            return []
        errors: dict[str, ConnectorError | None] = {}
        answered: set[str] = set()

        async def cancel_one(order: InFlightOrder) -> None:
            result = await self._cancel(order)
            errors[order.client_order_id] = result.error
            answered.add(order.client_order_id)
            if not order.is_done and (
                order.is_pending_cancel
                or order.awaiting_fills
                or order.client_order_id in self._cancel_unknown
            ):
                await order.wait_until_done()

        tasks: dict[asyncio.Future[Any], str] = {
            self._run_order_task(cancel_one(order)): order.client_order_id for order in orders
        }
        # The deadline runs on the injected clock. A cancel request still in flight at the
        # deadline is not abandoned: it settles in the background (its events come then).
        deadline: asyncio.Future[Any] = asyncio.ensure_future(self._sleep(timeout_s))
        pending = set(tasks)
        try:
            while pending and not deadline.done():
                _, pending = await asyncio.wait({*pending, deadline}, return_when=asyncio.FIRST_COMPLETED)
                pending.discard(deadline)
        finally:
            deadline.cancel()
            for task in pending:
                if tasks[task] in answered:
                    task.cancel()  # only waiting for the order's end: stop waiting
        return [
            CancellationResult(
                order.client_order_id,
                order.current_state is OrderState.CANCELED,
                order.current_state,
                errors.get(order.client_order_id),
            )
            for order in orders
        ]

    def _tracked(self, client_order_id: str) -> InFlightOrder:
        order = self.order_tracker.fetch_order(client_order_id)
        if order is None:
            raise OrderNotTracked(f"order {client_order_id!r} is not tracked by this connector")
        return order

    # =========================================================================== orders: create

    def _create(
        self,
        trade_type: TradeType,
        trading_pair: str,
        amount: Decimal | None,
        order_type: OrderType,
        price: Decimal | None,
        quote_amount: Decimal | None,
        client_order_id: str | None,
    ) -> str:
        if not self.trading_required:
            raise NotReady("this connector was created with trading_required=False")
        if not self._running:
            raise NotReady("the connector is not started")
        if not self._rules:
            raise NotReady("trading rules are not loaded yet")
        rule = rule_for(self._rules, trading_pair)
        order_type = OrderType(order_type)
        params: dict[str, ParamValue] = {
            "symbol": self._symbols.symbol(trading_pair),
            "side": trade_type.value,
            "type": order_type.value,
        }
        if quote_amount is not None:
            if amount is not None:
                raise ValueError("give either amount or quote_amount, not both")
            quote = self._check_quote_order(rule, order_type, quote_amount)
            order_amount, order_price = ZERO, None
            params["quoteOrderQty"] = quote
        else:
            if amount is None:
                raise InvalidOrder(
                    InvalidOrderReason.INVALID_AMOUNT, "an amount is required", trading_pair=trading_pair
                )
            order_price = None
            if order_type.is_limit_type and price is not None:
                order_price = quantize_price(rule, price, trade_type)
                _check_rounded_to_zero(rule, price, order_price, is_price=True)
            order_amount = quantize_amount(rule, amount, order_type)
            _check_rounded_to_zero(rule, amount, order_amount, is_price=False)
            # A MARKET order's notional is the exchange's to judge, by its average price,
            # which the connector does not see (see ``validate_order``).
            validate_order(rule, order_type, trade_type, order_amount, order_price)
            params["quantity"] = order_amount
            if order_price is not None:
                params["price"] = order_price
            if order_type is OrderType.LIMIT:
                params["timeInForce"] = "GTC"
        self._check_open_order_count(rule)
        if client_order_id is None:
            client_order_id = self._ids.new_id(trade_type, trading_pair)
        elif not isinstance(client_order_id, str):
            raise TypeError(f"client_order_id must be a str, got {client_order_id!r}")
        elif not validate_client_order_id(client_order_id):
            raise ValueError(
                f"client order id {client_order_id!r} does not match {CONSTANTS.CLIENT_ORDER_ID_RE.pattern}"
            )
        params["newClientOrderId"] = client_order_id
        params["newOrderRespType"] = "FULL"
        order = InFlightOrder(
            client_order_id=client_order_id,
            trading_pair=trading_pair,
            order_type=order_type,
            trade_type=trade_type,
            amount=order_amount,
            creation_timestamp=self._clock(),
            price=order_price,
        )
        self.order_tracker.start_tracking_order(order)  # raises on a duplicate id
        self._creating[client_order_id] = self._run_order_task(self._place_order(order, params))
        return client_order_id

    def _check_open_order_count(self, rule: TradingRule) -> None:
        """MAX_NUM_ORDERS, as far as this connector can tell: its own orders on the pair that
        are open or still being placed. (Orders of other sessions are unknown here; the
        exchange counts them too and refuses what this check lets through.)"""
        limit = rule.max_num_orders
        if limit is None:
            return
        pair = rule.trading_pair
        open_here = sum(1 for o in self.order_tracker.active_orders.values() if o.trading_pair == pair)
        if open_here >= limit:
            raise InvalidOrder(
                InvalidOrderReason.TOO_MANY_OPEN_ORDERS,
                f"{open_here} orders open or being placed on {pair}; MAX_NUM_ORDERS allows {limit}",
                trading_pair=pair,
                value=Decimal(open_here),
            )

    @staticmethod
    def _check_quote_order(rule: TradingRule, order_type: OrderType, quote_amount: Decimal) -> Decimal:
        pair = rule.trading_pair
        if order_type is not OrderType.MARKET:
            raise InvalidOrder(
                InvalidOrderReason.UNSUPPORTED_ORDER_TYPE,
                "quote_amount is only for MARKET orders",
                trading_pair=pair,
            )
        if not rule.supports_quote_market_orders:
            raise InvalidOrder(
                InvalidOrderReason.UNSUPPORTED_ORDER_TYPE,
                "market orders by quote amount are not allowed on this symbol",
                trading_pair=pair,
            )
        try:
            check_decimal(quote_amount, "quote_amount")
        except ValueError as exc:
            raise InvalidOrder(InvalidOrderReason.INVALID_AMOUNT, str(exc), trading_pair=pair) from None
        if quote_amount <= 0:
            raise InvalidOrder(
                InvalidOrderReason.INVALID_AMOUNT,
                f"quote amount {quote_amount} is not positive",
                trading_pair=pair,
            )
        step = rule.min_quote_amount_increment
        quote = quote_amount if step == 0 else (quote_amount / step).to_integral_value(ROUND_DOWN) * step
        if quote <= 0:  # positive, but less than one quote step: below any minimum notional
            raise InvalidOrder(
                InvalidOrderReason.BELOW_MIN_NOTIONAL,
                f"quote amount {quote_amount} is less than one quote step ({step})",
                trading_pair=pair,
                value=quote_amount,
                limit=step,
            )
        if rule.apply_min_notional_to_market and quote < rule.min_notional_size:
            raise InvalidOrder(
                InvalidOrderReason.BELOW_MIN_NOTIONAL,
                f"quote amount {quote} is below the minimum notional {rule.min_notional_size}",
                trading_pair=pair,
                value=quote,
                limit=rule.min_notional_size,
            )
        high = rule.max_notional_size
        if rule.apply_max_notional_to_market and high is not None and quote > high:
            raise InvalidOrder(
                InvalidOrderReason.ABOVE_MAX_NOTIONAL,
                f"quote amount {quote} is above the maximum notional {high}",
                trading_pair=pair,
                value=quote,
                limit=high,
            )
        return quote

    def _run_order_task(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._order_tasks.add(task)  # strong reference until done
        task.add_done_callback(self._order_task_done)
        return task

    def _order_task_done(self, task: asyncio.Task[Any]) -> None:
        self._order_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("order task failed", exc_info=task.exception())

    def _create_stopped(self, client_id: str) -> None:
        """The connector stopped during a create: in flight (outcome unknown, reconciled
        after the next start) or never sent (the order fails, nothing happened)."""
        order = self.order_tracker.active_orders.get(client_id)
        if order is not None and order.sent_timestamp is not None:
            error = TransportError("the connector stopped while the create request was in flight")
        else:
            error = TransportError(
                "not sent: the connector stopped before the create went out", request_sent=False
            )
        self.order_tracker.process_order_failure(client_id, error)

    def _create_withdrawn(self, client_id: str) -> None:
        self._withdrawn.discard(client_id)
        error = TransportError(
            "not sent: withdrawn by a cancel before the create request went out", request_sent=False
        )
        self.order_tracker.process_order_failure(client_id, error)

    async def _place_order(self, order: InFlightOrder, params: Mapping[str, ParamValue]) -> None:
        client_id = order.client_order_id
        try:
            data = await self.rest.request(
                "POST",
                CONSTANTS.ORDER_PATH,
                params,
                signed=True,
                on_send=functools.partial(self.order_tracker.process_create_sent, client_id),
                on_refused=functools.partial(
                    self.order_tracker.process_create_refused_before_retry, client_id
                ),
            )
        except asyncio.CancelledError:
            if client_id in self._withdrawn:
                self._create_withdrawn(client_id)
            else:
                self._create_stopped(client_id)
            raise
        except Exception as exc:
            error = exc if isinstance(exc, ConnectorError) else TransportError(f"unexpected error: {exc!r}")
            self.order_tracker.process_order_failure(client_id, error)
            if error.outcome_unknown:
                logger.warning(
                    "create of %s has an unknown outcome (%s); reconciling by client id", client_id, error
                )
                self.request_reconciliation("create outcome unknown")
            elif order.acknowledged:
                # The exchange said NEW before this answer said no: the order exists.
                logger.warning(
                    "create of %s answered %s after the exchange acknowledged it; reconciling",
                    client_id,
                    error,
                )
                self.request_reconciliation("create refused after acknowledgement")
            else:
                logger.info("create of %s refused: %s", client_id, error)
            return
        finally:
            self._creating.pop(client_id, None)
        try:
            self._apply_order_response(order, data, fills=data.get("fills", ()))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            logger.error("unexpected create response for %s (%r): %.300s", client_id, exc, data)
            self.order_tracker.process_order_failure(
                client_id, TransportError(f"unparseable create response: {exc!r}")
            )
            self.request_reconciliation("unparseable create response")

    # =========================================================================== orders: cancel

    async def _cancel(self, order: InFlightOrder) -> CancellationResult:
        client_id = order.client_order_id
        create = self._creating.get(client_id)
        if create is not None and order.sent_timestamp is None:
            # The create is still waiting to go out (a rate-limit block or ban, the clock
            # sync): withdraw it, so the order fails as never sent, now. Waiting would hold
            # this cancel for the whole block, then place the order anyway.
            self._withdrawn.add(client_id)

            def settle(_: asyncio.Future[Any]) -> None:
                # On the task itself, so that it runs even if this cancel is cancelled.
                self._creating.pop(client_id, None)
                if client_id in self._withdrawn:  # cancelled before it ever ran: nothing done
                    self._create_withdrawn(client_id)

            create.add_done_callback(settle)
            create.cancel()
            await asyncio.wait([create])
            return self._result(order)
        if create is not None and not order.acknowledged:
            # Let the create answer first: a cancel that overtakes it would find nothing.
            # Unless the exchange acknowledges the order meanwhile (the user stream's NEW
            # can come long before a slow create answer): then a cancel will find it.
            acknowledged = asyncio.ensure_future(_created_or_settled(order))
            try:
                # (not ``await create``: our cancellation stays ours)
                await asyncio.wait([create, acknowledged], return_when=asyncio.FIRST_COMPLETED)
            finally:
                acknowledged.cancel()
        if order.is_lost:
            return await self._cancel_lost(order)
        if order.is_done:
            return self._result(order)
        self.order_tracker.process_cancel_requested(client_id)
        params = self._order_params(order)
        try:
            data = await self.rest.request("DELETE", CONSTANTS.ORDER_PATH, params, signed=True)
        except asyncio.CancelledError:
            self._cancel_unknown.add(client_id)
            self.request_reconciliation("cancel abandoned")
            raise
        except OrderNotFound as exc:
            # -2011 "Unknown order sent.": already closed (filled, expired...) or never
            # created. Ask before concluding anything.
            await self._after_unknown_order(order, exc)
            return self._result(order, exc)
        except ConnectorError as exc:
            self.order_tracker.process_cancel_failure(client_id, exc)
            if exc.outcome_unknown:
                self._cancel_unknown.add(client_id)
                self.request_reconciliation("cancel outcome unknown")
            logger.warning("cancel of %s failed: %s", client_id, exc)
            return self._result(order, exc)
        self._cancel_unknown.discard(client_id)
        try:
            self._apply_order_response(order, data)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            logger.error("unexpected cancel response for %s (%r): %.300s", client_id, exc, data)
            self.request_reconciliation("unparseable cancel response")
        if self._missing_fills(order, data):
            await self._fetch_fills(order)
        return self._result(order)

    async def _after_unknown_order(self, order: InFlightOrder, cancel_error: ConnectorError) -> None:
        client_id = order.client_order_id
        try:
            data = await self._query_order(order)
        except OrderNotFound as exc:
            self.order_tracker.process_cancel_failure(client_id, cancel_error)
            self.order_tracker.process_order_not_found(client_id, authoritative=True, reason=exc)
            return
        except ConnectorError as exc:
            self.order_tracker.process_cancel_failure(client_id, cancel_error)
            logger.warning("status of %s unknown after -2011 (%s); reconciling", client_id, exc)
            self.request_reconciliation("status unknown after -2011")
            return
        state = CONSTANTS.ORDER_STATE.get(str(data.get("status")))
        if state is None or not state.is_terminal:
            self.order_tracker.process_cancel_failure(client_id, cancel_error)
        self._apply_order_response(order, data)
        if self._missing_fills(order, data):
            await self._fetch_fills(order)

    @staticmethod
    def _result(order: InFlightOrder, error: ConnectorError | None = None) -> CancellationResult:
        state = order.current_state
        return CancellationResult(order.client_order_id, state is OrderState.CANCELED, state, error)

    # =========================================================================== orders: REST data

    def _order_params(self, order: InFlightOrder) -> dict[str, ParamValue]:
        """What names ``order`` to ``GET``/``DELETE /api/v3/order``: its client order id."""
        symbol = self._symbols.symbol(order.trading_pair)
        return {"symbol": symbol, "origClientOrderId": order.client_order_id}

    async def _query_order(self, order: InFlightOrder) -> dict[str, Any]:
        data = await self.rest.request("GET", CONSTANTS.ORDER_PATH, self._order_params(order), signed=True)
        if not isinstance(data, dict):
            raise TransportError(f"unexpected order answer {data!r:.100}")
        return data

    def _apply_order_response(
        self, order: InFlightOrder, data: Mapping[str, Any], *, fills: Iterable[Mapping[str, Any]] = ()
    ) -> None:
        """Apply an order as REST shows it (create/cancel response, GET order, openOrders),
        then the fills of a FULL create response."""
        exchange_id = str(data["orderId"])
        status = str(data.get("status"))
        state = CONSTANTS.ORDER_STATE.get(status)
        timestamp = next((int(data[k]) for k in _ORDER_TIME_FIELDS if isinstance(data.get(k), int)), 0)
        if state is None:
            logger.warning("order %s: unknown status %r, ignored", order.client_order_id, status)
        else:
            self.order_tracker.process_order_update(
                OrderUpdate(
                    client_order_id=order.client_order_id,
                    trading_pair=order.trading_pair,
                    update_timestamp=timestamp,
                    new_state=state,
                    exchange_order_id=exchange_id,
                    executed_amount_base=decimal(data["executedQty"], "executedQty"),
                    executed_amount_quote=decimal(data["cummulativeQuoteQty"], "cummulativeQuoteQty"),
                    error=OrderRejected(f"the exchange reported the order {status}")
                    if state is OrderState.FAILED
                    else None,
                )
            )
        for fill in fills:
            price = decimal(fill["price"], "price")
            qty = decimal(fill["qty"], "qty")
            self.order_tracker.process_trade_update(
                TradeUpdate(
                    trade_id=str(fill["tradeId"]),
                    client_order_id=order.client_order_id,
                    exchange_order_id=exchange_id,
                    trading_pair=order.trading_pair,
                    fill_timestamp=timestamp,
                    fill_price=price,
                    fill_base_amount=qty,
                    fill_quote_amount=price * qty,
                    fee=_commission(fill, "commissionAsset", "commission"),
                    is_maker=False,  # fills in a create response are the taker side
                )
            )
        if order.is_done:
            self._cancel_unknown.discard(order.client_order_id)

    @staticmethod
    def _missing_fills(order: InFlightOrder, data: Mapping[str, Any] | None = None) -> bool:
        """The exchange reports more executed than the fills received (late fills count).
        ``data`` is the exchange's order, needed for a resolved order: it no longer takes
        updates, so its own record of the exchange's amount stops moving."""
        received = order.executed_amount_base + sum(
            (t.fill_base_amount for t in order.late_fills.values()), ZERO
        )
        reported = order.exchange_executed_amount_base
        if data is not None and isinstance(data.get("executedQty"), str):
            reported = max(reported, decimal(data["executedQty"], "executedQty"))
        return reported > received

    async def _fetch_fills(self, order: InFlightOrder) -> bool:
        """Fetch the order's trades (``myTrades`` by orderId, paged with ``fromId`` until a
        short page: an order may have more trades than one answer holds); duplicates are
        ignored by trade id. Returns False if a request failed."""
        if order.exchange_order_id is None:
            return False
        page_size = CONSTANTS.MY_TRADES_PAGE_LIMIT
        params: dict[str, Any] = {
            "symbol": self._symbols.symbol(order.trading_pair),
            "orderId": order.exchange_order_id,
            "limit": page_size,
        }
        while True:
            try:
                trades = await self.rest.request("GET", CONSTANTS.MY_TRADES_PATH, params, signed=True)
            except ConnectorError as exc:
                logger.warning("fills of %s unavailable: %s", order.client_order_id, exc)
                return False
            self._process_fills(order, trades)
            if len(trades) < page_size:
                return True
            params["fromId"] = max(int(trade["id"]) for trade in trades) + 1

    def _process_fills(self, order: InFlightOrder, trades: list[dict[str, Any]]) -> None:
        for trade in trades:
            price = decimal(trade["price"], "price")
            self.order_tracker.process_trade_update(
                TradeUpdate(
                    trade_id=str(trade["id"]),
                    client_order_id=order.client_order_id,
                    exchange_order_id=str(trade["orderId"]),
                    trading_pair=order.trading_pair,
                    fill_timestamp=int(trade["time"]),
                    fill_price=price,
                    fill_base_amount=decimal(trade["qty"], "qty"),
                    fill_quote_amount=decimal(trade["quoteQty"], "quoteQty"),
                    fee=_commission(trade, "commissionAsset", "commission"),
                    is_maker=bool(trade.get("isMaker", False)),
                )
            )

    # =========================================================================== reconciliation

    def request_reconciliation(self, trigger: str) -> None:
        """Ask for a reconciliation pass as soon as possible (coalesced)."""
        if trigger not in self._reconcile_triggers:
            self._reconcile_triggers.append(trigger)
        self._reconcile_wanted.set()

    async def update_order_status(self) -> bool:
        """Run one reconciliation pass now; returns False if some request failed."""
        return await self._reconcile_once("manual")

    def _unsettled(self) -> bool:
        """Orders whose state depends on a reconciliation that has not succeeded yet."""
        return any(
            o.creation_outcome_unknown or o.awaiting_fills or o.client_order_id in self._cancel_unknown
            for o in self.order_tracker.active_orders.values()
            if o.client_order_id not in self._creating
        )

    async def _reconcile_loop(self) -> None:
        await self._rules_ready.wait()
        while True:
            await self._reconcile_wanted.wait()
            self._reconcile_wanted.clear()
            trigger = ", ".join(self._reconcile_triggers) or "periodic"
            self._reconcile_triggers.clear()
            await self._reconcile_once(trigger)

    def _schedule_next_pass(self, complete: bool) -> None:
        """After a pass: retry soon (with backoff) while something is unsettled or a request
        failed; otherwise only the slow safety poll, if configured."""
        if not self._running:
            return
        if not complete or self._unsettled():
            self._retry_attempt += 1
            self._schedule_reconciliation(self._reconcile_backoff.delay(self._retry_attempt), "retry")
        else:
            self._retry_attempt = 0
            if self._poll_interval_s is not None:
                self._schedule_reconciliation(self._poll_interval_s, "periodic")

    def _schedule_reconciliation(self, delay: float, trigger: str) -> None:
        if self._reconcile_timer is not None:
            self._reconcile_timer.cancel()

        async def later() -> None:
            await self._sleep(delay)
            self.request_reconciliation(trigger)

        self._reconcile_timer = asyncio.create_task(later(), name="binance-reconcile-timer")

    async def _reconcile_once(self, trigger: str) -> bool:
        """Balances, then every active and lost order: its status (open orders per symbol,
        else by client order id), then any fills still missing."""
        async with self._reconcile_lock:
            complete = True
            checked = 0
            try:
                try:
                    await self.update_balances()  # a malformed answer is a TransportError
                except ConnectorError as exc:
                    complete = False
                    self._errors["balances"] = f"last attempt failed: {exc}"
                    logger.warning("balance update failed: %s", exc)
                if self._rules:
                    checked, orders_ok = await self._reconcile_orders()
                    complete = complete and orders_ok
                self.order_tracker.force_resolve_awaiting_fills(older_than_s=self._fills_wait_timeout_s)
            except Exception:
                # An answer no branch expected (or a bug) fails this pass, never the retries:
                # the next pass is scheduled below like after any failed request.
                complete = False
                logger.exception("reconciliation pass (%s) failed", trigger)
            self._schedule_next_pass(complete)
            self.events.publish(
                ReconciliationCompleted(
                    timestamp=self._clock(), trigger=trigger, orders_checked=checked, complete=complete
                )
            )
            return complete

    async def _reconcile_orders(self) -> tuple[int, bool]:
        tracker = self.order_tracker
        orders = [o for o in tracker.all_updatable_orders.values() if o.client_order_id not in self._creating]
        by_pair: dict[str, list[InFlightOrder]] = {}
        for order in orders:
            by_pair.setdefault(order.trading_pair, []).append(order)
        ok = True
        for pair, group in by_pair.items():
            symbol = self._symbols.symbol_by_pair.get(pair)
            if symbol is None:
                logger.warning("cannot reconcile %s orders: unknown trading pair", pair)
                ok = False
                continue
            open_orders: dict[str, dict[str, Any]] | None
            try:
                listed = await self.rest.request(
                    "GET", CONSTANTS.OPEN_ORDERS_PATH, {"symbol": symbol}, signed=True
                )
                open_orders = {str(o["clientOrderId"]): o for o in listed}
            except (ConnectorError, KeyError, TypeError) as exc:
                logger.warning("open orders of %s unavailable: %s", pair, exc)
                open_orders = None
                ok = False
            for order in group:
                ok = await self._reconcile_order(order, open_orders) and ok
        return len(orders), ok

    async def _reconcile_order(
        self, order: InFlightOrder, open_orders: dict[str, dict[str, Any]] | None
    ) -> bool:
        client_id = order.client_order_id
        data = None if open_orders is None else open_orders.get(client_id)
        if data is None:
            try:
                data = await self._query_order(order)
            except OrderNotFound as exc:
                self.order_tracker.process_order_not_found(client_id, authoritative=True, reason=exc)
                return True
            except ConnectorError as exc:
                logger.warning("status of %s unavailable: %s", client_id, exc)
                return False
        try:
            self._apply_order_response(order, data)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            logger.error("unexpected order data for %s (%r): %.300s", client_id, exc, data)
            return False
        ok = True
        if self._missing_fills(order, data):
            ok = await self._fetch_fills(order)
        state = CONSTANTS.ORDER_STATE.get(str(data.get("status")))
        still_open = state is not None and not state.is_terminal
        if client_id in self._cancel_unknown and still_open and not order.is_done:
            # The cancel's answer was lost and the order is still open: it has not taken effect.
            # The caller wanted it cancelled, so send it again (a cancel is safe to repeat: a
            # second one that finds the order gone gets -2011, which is checked); after
            # ``MAX_CANCEL_RETRIES`` the order goes back to its previous state.
            self._cancel_unknown.discard(client_id)
            retries = self._cancel_retries.get(client_id, 0)
            if retries < MAX_CANCEL_RETRIES:
                self._cancel_retries[client_id] = retries + 1
                logger.info("cancel of %s did not take effect yet; sending it again", client_id)
                await self._cancel(order)
            else:
                self._cancel_retries.pop(client_id, None)
                self.order_tracker.process_cancel_failure(
                    client_id, ConnectorError("the cancel did not take effect: the order is still open")
                )
        if order.is_done:
            self._cancel_retries.pop(client_id, None)
        if order.is_lost and still_open:
            # A lost order that exists after all: it is untracked exposure. Cancel it.
            logger.warning("lost order %s is open on the exchange; cancelling it", client_id)
            await self._cancel_lost(order)
        return ok

    async def _cancel_lost(self, order: InFlightOrder) -> CancellationResult:
        """Cancel an order declared lost: "lost" means not found, not proven absent, so it may
        still rest on the book. Success publishes no second terminal event (the exchange's
        CANCELED shows up as an ``OrderAnomaly``); ``success`` says the exchange cancelled it."""
        try:
            data = await self.rest.request(
                "DELETE", CONSTANTS.ORDER_PATH, self._order_params(order), signed=True
            )
        except ConnectorError as exc:
            logger.warning("cancel of lost order %s failed: %s", order.client_order_id, exc)
            return CancellationResult(order.client_order_id, False, order.current_state, exc)
        self._apply_order_response(order, data)
        cancelled = data.get("status") == "CANCELED"
        return CancellationResult(order.client_order_id, cancelled, order.current_state)

    # =========================================================================== balances

    def get_balance(self, asset: str) -> Decimal:
        """Total (free + locked) balance of ``asset``; zero if unknown."""
        balance = self._balances.get(asset)
        return ZERO if balance is None else balance.total

    def get_available_balance(self, asset: str) -> Decimal:
        """Free balance of ``asset``; zero if unknown."""
        balance = self._balances.get(asset)
        return ZERO if balance is None else balance.available

    def get_all_balances(self) -> dict[str, Decimal]:
        return {asset: b.total for asset, b in self._balances.items()}

    async def update_balances(self) -> None:
        """``GET /api/v3/account``. Assets the user stream reported more recently than the
        answer's ``updateTime`` keep their streamed value (a slow REST answer never
        overwrites newer information)."""
        asked_at = self._clock()
        data = await self.rest.request("GET", CONSTANTS.ACCOUNT_PATH, signed=True)
        # Read the whole answer before applying any of it: a malformed one changes nothing.
        try:
            updated_ms = int(data["updateTime"])
            entries = [
                (str(e["asset"]), decimal(e["free"], "free"), decimal(e["locked"], "locked"))
                for e in data["balances"]
            ]
            rates = data.get("commissionRates")
            fee_rates = (
                (decimal(rates["maker"], "maker"), decimal(rates["taker"], "taker"))
                if isinstance(rates, dict)
                else None
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise TransportError(
                f"unreadable account answer: {exc!r}",
                request=RequestInfo("GET", CONSTANTS.ACCOUNT_PATH),
            ) from exc
        seen = set()
        for asset, free, locked in entries:
            seen.add(asset)
            self._set_balance(asset, free + locked, free, updated_ms, rest_asked_at=asked_at)
        for asset in [
            a
            for a, b in self._balances.items()
            if a not in seen and not self._newer_than(b, updated_ms, asked_at)
        ]:
            self._set_balance(asset, ZERO, ZERO, updated_ms, rest_asked_at=asked_at)
            del self._balances[asset]
        if fee_rates is not None:
            self._account_fee_rates = fee_rates
        self._balances_loaded = True
        self._errors.pop("balances", None)
        self._progress.set()

    @staticmethod
    def _newer_than(balance: _Balance, rest_ms: int, asked_at: float) -> bool:
        """Whether ``balance`` may hold more than a REST snapshot with ``updateTime`` rest_ms
        that was asked for at ``asked_at``: it is newer, or as new and streamed after the
        request left (in one exchange millisecond the snapshot may predate the event)."""
        if balance.updated_ms != rest_ms:
            return balance.updated_ms > rest_ms
        return balance.streamed_at >= asked_at

    def _set_balance(
        self,
        asset: str,
        total: Decimal,
        available: Decimal,
        updated_ms: int,
        *,
        rest_asked_at: float | None = None,
    ) -> None:
        """Take an absolute balance unless it is older than what we know. At equal times
        the stream's value is taken (events are in order, so the later one saw at least as
        much); a REST snapshot's only if it was asked for after the stream set the value.
        ``rest_asked_at``: the balance comes from a REST snapshot asked for then."""
        current = self._balances.get(asset)
        from_rest = rest_asked_at is not None
        if current is not None:
            if updated_ms < current.updated_ms:
                return  # older than what we know
            if rest_asked_at is not None and self._newer_than(current, updated_ms, rest_asked_at):
                return
        rest_ms = updated_ms if from_rest else (-1 if current is None else current.rest_ms)
        streamed_at = (
            self._clock() if not from_rest else (-math.inf if current is None else current.streamed_at)
        )
        if current is not None and current.total == total and current.available == available:
            current.updated_ms = updated_ms
            current.rest_ms = rest_ms
            current.streamed_at = streamed_at
            return
        self._balances[asset] = _Balance(total, available, updated_ms, rest_ms, streamed_at)
        self.events.publish(
            BalanceUpdated(
                timestamp=self._clock(),
                asset=asset,
                total=total,
                available=available,
                update_timestamp=updated_ms,
            )
        )

    # =========================================================================== user stream

    async def _user_stream_loop(self) -> None:
        await self._rules_ready.wait()  # events name symbols: the map must be loaded
        source = self._user_stream
        assert source is not None
        async with contextlib.aclosing(source.listen_for_user_stream()) as stream:
            async for item in stream:
                if isinstance(item, UserStreamConnected):
                    self._stream_changed("user_stream", True, "subscribed")
                    self.request_reconciliation("user stream connected")
                elif isinstance(item, UserStreamDisconnected):
                    self._stream_changed("user_stream", False, item.reason)
                else:
                    try:
                        self._process_user_event(item)
                    except Exception:  # one bad event must never stall the stream (W14)
                        logger.exception("user stream: cannot process event %.300s", item)
                        self._reconcile_for_unreadable_event()

    def _reconcile_for_unreadable_event(self) -> None:
        """What an unreadable event said (a fill, a balance) is lost: ask REST instead. At
        most one such pass per ``UNREADABLE_EVENT_RECONCILE_S``: an event arriving sooner
        is covered by one pass scheduled for the end of that interval, never dropped."""
        if self._unreadable_pass_due:
            return
        wait = self._unreadable_pass_at + UNREADABLE_EVENT_RECONCILE_S - self._clock()
        if wait <= 0:
            self._unreadable_pass_at = self._clock()
            self.request_reconciliation("unreadable user stream event")
            return
        self._unreadable_pass_due = True

        async def later() -> None:
            await self._sleep(wait)
            self._unreadable_pass_due = False
            self._unreadable_pass_at = self._clock()
            self.request_reconciliation("unreadable user stream event")

        self._run_order_task(later())

    def _process_user_event(self, event: Mapping[str, Any]) -> None:
        event_type = event.get("e")
        if event_type == CONSTANTS.EXECUTION_REPORT_EVENT_TYPE:
            self._on_execution_report(event)
        elif event_type == CONSTANTS.ACCOUNT_POSITION_EVENT_TYPE:
            updated_ms = int(event.get("u") or event["E"])
            for entry in event["B"]:
                free = decimal(entry["f"], "f")
                locked = decimal(entry["l"], "l")
                self._set_balance(str(entry["a"]), free + locked, free, updated_ms)
        elif event_type == CONSTANTS.BALANCE_UPDATE_EVENT_TYPE:
            asset = str(event["a"])
            delta = decimal(event["d"], "d")
            changed_ms = int(event.get("T") or event["E"])
            current = self._balances.get(asset)
            # The stream is ordered, so every delta is new to the stream-derived balance; only
            # a REST snapshot taken at or after it already contains it. (The absolute
            # ``outboundAccountPosition`` that follows it makes the result exact anyway.)
            if current is None or changed_ms > current.rest_ms:
                total = (current.total if current else ZERO) + delta
                available = (current.available if current else ZERO) + delta
                newest = changed_ms if current is None else max(current.updated_ms, changed_ms)
                self._set_balance(asset, total, available, newest)
        else:
            logger.debug("user stream: ignoring %s event", event_type)

    def _on_execution_report(self, event: Mapping[str, Any]) -> None:
        execution_type = event["x"]
        # On a cancel, ``c`` is the cancel request's id and ``C`` the order's own id.
        client_id = event["C"] if execution_type == "CANCELED" and event.get("C") else event["c"]
        trading_pair = self._symbols.pair_by_symbol.get(str(event["s"]))
        exchange_id = str(event["i"])
        order = self.order_tracker.fetch_order(str(client_id), exchange_id)
        if trading_pair is None or order is None:
            return  # not an order of this connector (another client on the same account)
        timestamp = int(event.get("T") or event["E"])
        if execution_type == "TRADE":
            price = decimal(event["L"], "L")
            qty = decimal(event["l"], "l")
            quote = decimal(event["Y"], "Y") if event.get("Y") else price * qty
            self.order_tracker.process_trade_update(
                TradeUpdate(
                    trade_id=str(event["t"]),
                    client_order_id=order.client_order_id,
                    exchange_order_id=exchange_id,
                    trading_pair=trading_pair,
                    fill_timestamp=timestamp,
                    fill_price=price,
                    fill_base_amount=qty,
                    fill_quote_amount=quote,
                    fee=_commission(event, "N", "n"),
                    is_maker=bool(event.get("m", False)),
                )
            )
        status = str(event["X"])
        state = CONSTANTS.ORDER_STATE.get(status)
        if state is None:
            logger.warning(
                "order %s: unknown status %r in executionReport, skipped", order.client_order_id, status
            )
            return
        self.order_tracker.process_order_update(
            OrderUpdate(
                client_order_id=order.client_order_id,
                trading_pair=trading_pair,
                update_timestamp=timestamp,
                new_state=state,
                exchange_order_id=exchange_id,
                executed_amount_base=decimal(event["z"], "z"),
                executed_amount_quote=decimal(event["Z"], "Z"),
                error=OrderRejected(f"rejected by the exchange: {event.get('r')}")
                if state is OrderState.FAILED
                else None,
            )
        )
        if order.is_done:
            self._cancel_unknown.discard(order.client_order_id)
        elif self._missing_fills(order):
            # A TRADE report was lost (or is late): the exchange's cumulative amount is ahead
            # of the fills. Fetch them now rather than wait for a safety poll.
            self._fetch_missing_fills_soon(order)

    def _fetch_missing_fills_soon(self, order: InFlightOrder) -> None:
        client_id = order.client_order_id
        if client_id in self._fill_fetches or not self._running:
            return
        self._fill_fetches.add(client_id)

        async def fetch() -> None:
            try:
                ok = await self._fetch_fills(order)
            finally:
                self._fill_fetches.discard(client_id)
            if not ok:
                self.request_reconciliation("missing fills")

        self._run_order_task(fetch())


async def _created_or_settled(order: InFlightOrder) -> None:
    """Return once ``order`` is acknowledged or done (a failure is not raised here)."""
    with contextlib.suppress(ConnectorError):
        await order.wait_until_created()
