"""Run one scenario: a fresh mock exchange, the connector, the timeline, the expectations.

Time is virtual: the mock exchange and the connector share one ``VirtualClock``. Explicit
``advance`` steps move it; ``wait`` steps move it in small slices while the condition is
false (real network I/O to the mock happens in between), up to the step's timeout in
virtual seconds. So a 60-minute listenKey expiry or a 24-hour connection limit costs
milliseconds.

A run does not depend on the machine's speed: virtual time moves only once everything
that can happen at the current instant has happened (``Run.settle``: the event loop has
nothing ready to run and no socket has data waiting; the connector and the mock share
this process and talk over loopback, so what one side wrote is readable by the other at
once), and timers are woken one deadline at a time, each settled before the next. After
every step the harness settles too, so a step's effect (a dropped connection, a
terminated user stream, an injected event, another participant's order) has reached the
connector before the next step starts.

Everything observable is kept for the report: the connector's events, the exchange's wire
traffic, and which step was running when, so a failure can be shown in context.
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import json
import logging
import re
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from mock_exchange.clock import VirtualClock, settle
from mock_exchange.config import parse_config
from mock_exchange.control import ControlError
from mock_exchange.engine import ConfigError
from mock_exchange.faults.plan import Fault
from mock_exchange.server import MockExchangeServer
from mock_exchange.traffic import TrafficEntry

from .driver import ConnectorDriver, DriverEnv, LocalRejection, ObservedEvent
from .driver import show_value as _show
from .spec import (
    PAYLOAD_REF,
    START_US,
    Lines,
    Scenario,
    ScenarioError,
    Step,
    deep_merge,
    default_config,
    mock_fault_spec,
)

T = TypeVar("T")

API_KEY, API_SECRET = "scenario-trader-key", "scenario-trader-secret"
SLICE_S = 0.02  # virtual seconds per slice while waiting
DEFAULT_WAIT_S = 30.0
READY_TIMEOUT_S = 60.0
AFTER_READY_S = 0.1  # virtual seconds between "ready" and the first step


class StepFailed(Exception):
    """A step could not do what it says (a wait timed out, an order was refused...)."""

    def __init__(self, step: Step, message: str) -> None:
        super().__init__(f"{step.where}: {message}")
        self.step = step
        self.message = message


@dataclass
class Failure:
    where: str  # "step 3 (wait)" or "expect.orders.o1.state"
    message: str
    line: int | None
    source: str = ""
    #: Traffic sequence number and event count when the failure was found (report context).
    traffic_seq: int = 0
    event_seq: int = 0


@dataclass
class StepRecord:
    step: Step
    started_us: int
    traffic_seq: int
    event_seq: int
    mono_ns: int = field(default_factory=time.monotonic_ns)


@dataclass
class Result:
    scenario: Scenario
    passed: bool
    failures: list[Failure] = field(default_factory=list)
    events: list[ObservedEvent] = field(default_factory=list)
    traffic: list[TrafficEntry] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    duration_s: float = 0.0  # float ok: wall time of the run
    error: str | None = None  # harness or connector crash, with traceback
    #: One line saying what crashed (the report's summary of ``error``).
    error_message: str | None = None
    #: Warnings and errors the connector logged during the run ("LEVEL logger: message").
    logs: list[str] = field(default_factory=list)
    #: The scenario's order names and the client order ids they stand for (the connector's
    #: orders and, with ``as:``, orders placed on the exchange), for the report.
    order_names: dict[str, str] = field(default_factory=dict)


class _LogCapture(logging.Handler):
    """Keeps the connector's log records of one run for the failure report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def default_driver() -> ConnectorDriver:
    from .drivers.binance import BinanceDriver

    return BinanceDriver()


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def build_config(scenario: Scenario) -> Any:
    """The mock configuration for a scenario: the defaults, its overrides, known keys."""
    setup = scenario.setup
    raw = deep_merge(default_config(), copy.deepcopy(setup.get("config") or {}))
    for account, assets in (setup.get("balances") or {}).items():
        entry = next((a for a in raw["accounts"] if a["name"] == account), None)
        if entry is None:
            raise ScenarioError(
                scenario.path,
                f"setup.balances.{account}",
                f"no account {account!r} (accounts: {', '.join(a['name'] for a in raw['accounts'])})",
                scenario.lines.of("setup", "balances", account),
            )
        entry["balances"] = {asset: str(v) for asset, v in assets.items()}
    books = dict(setup.get("books") or {})
    clear = setup.get("clear_books") or []
    symbols = [s["symbol"] for s in raw["symbols"]]
    if clear is True:  # every default book, also those of symbols setup.config took away
        clear = [b["symbol"] for b in raw.get("books", [])]
    for symbol in books:
        if symbol not in symbols:  # said here, in the file's terms, not the merged config's
            raise ScenarioError(
                scenario.path,
                "setup.books",
                f"unknown symbol {symbol!r} (symbols: {', '.join(symbols)})",
                scenario.lines.of("setup", "books", symbol),
            )
    # clear_books may name default books whose symbols setup.config replaced: no check.
    raw["books"] = [b for b in raw.get("books", []) if b["symbol"] not in books and b["symbol"] not in clear]
    for symbol, book in books.items():
        raw["books"].append(
            {"symbol": symbol, **{k: str(v) if k != "levels" else v for k, v in book.items()}}
        )
    for a in raw["accounts"]:
        if a["name"] == "trader":
            a["api_key"], a["api_secret"] = API_KEY, API_SECRET
    raw.setdefault("timers", {})
    try:
        return parse_config(raw)
    except ConfigError as e:
        raise ScenarioError(scenario.path, "setup", str(e), scenario.lines.of("setup")) from None


class Run:
    """One execution of a scenario (use ``run_scenario``)."""

    def __init__(self, scenario: Scenario, driver: ConnectorDriver) -> None:
        self.s = scenario
        self.driver = driver
        self.clock = VirtualClock(start_us=START_US)
        self.server: MockExchangeServer | None = None
        self.aliases: dict[str, str] = {}  # order alias -> client order id
        self.exchange_aliases: dict[str, tuple[str, str, int]] = {}  # alias -> (account, symbol, order id)
        self.exchange_client_ids: dict[str, str] = {}  # alias -> client order id on the exchange
        self.fault_names: dict[str, int] = {}
        #: Faults armed without ``may_not_fire``: (where, line, fault), to check they fired.
        self.armed: list[tuple[str, int | None, Fault]] = []
        #: The connector's trading pairs (``setup.connector.trading_pairs``), once started.
        self.trading_pairs: list[str] = []
        self.errors: dict[str, str] = {}  # order alias -> local rejection reason
        self._quiet = 0
        self.result = Result(scenario, passed=False)

    # ------------------------------------------------------------------ time

    def _activity(self) -> tuple[int, int]:
        """The last traffic sequence number and the event count: how far the run has got."""
        traffic = self.server.service.traffic.last_seq if self.server else 0
        return traffic, len(self.driver.events)

    def _ready(self) -> bool:
        return self.driver.status().get("ready", False)

    def _rest_in_flight(self) -> bool:
        """A REST request the exchange is working on (one a fault holds on purpose, a
        delay or a hang, does not count: time may jump past it)."""
        return self.server is not None and self.server.service.rest_busy > 0

    def _now_us(self) -> int:
        """Virtual time as the clock's sleepers count it (without the clock's own skew)."""
        return self.clock.now_us() - self.clock.skew_us

    async def settle(self) -> None:
        """Let everything that can happen at this virtual instant happen, without moving
        time (``mock_exchange.clock.settle``)."""
        await settle()

    async def _slice(self, end_us: int, *, idle_to_end: bool = False) -> None:
        """One step of virtual time: a short slice while things happen; when everything
        has been quiet for a few slices, a jump to the next timer that is due (so idle
        minutes cost one iteration instead of thousands)."""
        before = self._activity()
        await self.settle()
        now = self._now_us()
        step_us = min(int(SLICE_S * 1_000_000), end_us - now)
        if self._activity() == before and not self._rest_in_flight():
            self._quiet += 1
        else:
            self._quiet = 0
        if self._quiet >= 3:
            deadline = self.clock.next_deadline_us()
            if deadline is None:
                if idle_to_end:  # letting time pass, and nothing is scheduled: skip to the end
                    step_us = end_us - now
            elif deadline > now + step_us:
                step_us = min(deadline - now, end_us - now)
        # The clock wakes the sleepers one deadline at a time and settles after each, so
        # what a timer sets off is handled at its own instant.
        await self.clock.advance(_seconds(max(step_us, 0)))

    async def pump(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass, with real I/O in between (0: settle)."""
        end = self._now_us() + int(seconds * 1_000_000)
        if seconds <= 0:
            await self.settle()
            return
        while self._now_us() < end:
            await self._slice(end, idle_to_end=True)
        await self.settle()

    async def until(
        self,
        condition: Callable[[], bool],
        timeout: float,
        step: Step | None,
        what: str,
        observed: Callable[[], str] | None = None,
    ) -> None:
        """Move virtual time until ``condition`` holds; on timeout the step fails, saying
        what it waited for and (``observed``) what there was instead."""
        end = self._now_us() + int(timeout * 1_000_000)
        self._quiet = 0
        while not condition():
            if self._now_us() >= end:
                message = f"timed out after {timeout:g} s (virtual) waiting for {what}"
                if observed is not None:
                    message += f"; {observed()}"
                raise StepFailed(step, message) if step else TimeoutError(message)
            await self._slice(end)

    async def _await(self, call: Coroutine[Any, Any, T], timeout: float, step: Step, what: str) -> T:
        """Await ``call`` while virtual time moves; the step fails if it has not returned
        after ``timeout`` (virtual) seconds."""
        task = asyncio.ensure_future(call)
        await self.until(task.done, timeout, step, what)
        return task.result()

    async def _driver_call(self, call: Coroutine[Any, Any, T], timeout: float, step: Step, name: str) -> T:
        """Await a driver query within ``timeout`` (virtual) seconds; what it raises fails
        the step, naming the query."""

        async def query() -> T:
            try:
                return await call
            except Exception as e:
                raise StepFailed(step, f"{name} raised {type(e).__name__}: {e}") from None

        return await self._await(query(), timeout, step, f"{name} to return")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        config = build_config(self.s)
        self.server = MockExchangeServer(config, clock=self.clock)
        await self.server.start()
        self.server.service.traffic.enabled = True
        # Armed before the connector starts, so its start-up requests can be faulted.
        for i, spec in enumerate(self.s.setup.get("faults") or []):
            try:
                fault = self.server.control.add_fault(mock_fault_spec(spec))
            except ControlError as e:
                raise ScenarioError(
                    self.s.path, f"setup.faults[{i}]", str(e), self.s.lines.of("setup", "faults", i)
                ) from None
            if "name" in spec:
                self.fault_names[spec["name"]] = fault.id
            if not spec.get("may_not_fire", False):
                self.armed.append((f"setup.faults[{i}]", self.s.lines.of("setup", "faults", i), fault))
        # The harness's own options; the rest are the driver's.
        options = dict(self.s.setup.get("connector") or {})
        pairs = options.pop("trading_pairs", ["BTC-USDT"])
        self.trading_pairs = list(pairs)
        wait_ready = options.pop("wait_ready", True)
        validate = getattr(self.driver, "validate_options", None)
        if validate is not None and (problem := validate(options)):
            raise ScenarioError(
                self.s.path, "setup.connector", problem, self.s.lines.of("setup", "connector")
            )
        self._check_event_patterns()
        env = DriverEnv(
            self.server.rest_url,
            self.server.stream_url,
            self.server.ws_api_url,
            API_KEY,
            API_SECRET,
            list(pairs),
            lambda: self.clock.now_us() / 1_000_000,
            self.clock.sleep,
            options,
        )
        await self.driver.start(env)
        if wait_ready:
            await self.until(
                self._ready, READY_TIMEOUT_S, None, "the connector to become ready", self._readiness
            )
            # Every run starts on a rate-limit window boundary (40 s into a minute), where a
            # connector may hold a request back for a moment (the Binance connector's window
            # guard): the first step comes a little later, as it would after a real start-up.
            await self.pump(AFTER_READY_S)

    async def stop(self) -> None:
        try:
            await self.driver.stop()
        finally:
            if self.server is not None:
                await self.server.stop()

    # ------------------------------------------------------------------ steps

    def _order_id(self, step: Step, alias: str) -> str:
        if alias not in self.aliases:
            raise StepFailed(step, f"no order named {alias!r} was placed earlier")
        return self.aliases[alias]

    async def run_step(self, step: Step) -> None:
        """Run one step, then settle: what the step caused (a request sent, a connection
        dropped, a stream terminated, an event injected, an order placed by someone else)
        has been delivered and handled before the next step starts. Virtual time does not
        move for that; only ``advance``, ``wait`` and the steps that wait for the connector
        let it pass."""
        await self._run_step(step)
        await self.settle()

    async def _run_step(self, step: Step) -> None:
        a = step.args
        assert self.server is not None
        control = self.server.control
        kind = step.kind
        try:
            if kind in ("buy", "sell"):
                alias = a["order"]
                try:
                    cid = self.driver.place(
                        kind.upper(),
                        a["pair"],
                        a["type"],
                        _dec(a["amount"]) if "amount" in a else None,
                        _dec(a["price"]) if "price" in a else None,
                        _dec(a["quote_amount"]) if "quote_amount" in a else None,
                    )
                except LocalRejection as e:
                    self.errors[alias] = e.reason
                    if "expect_error" not in a:
                        detail = str(e) if str(e).startswith(e.reason) else f"{e.reason}: {e}"
                        raise StepFailed(step, f"the connector refused the order: {detail}") from None
                    if a["expect_error"] not in (e.reason, True):
                        raise StepFailed(
                            step, f"expected local rejection {a['expect_error']!r}, got {e.reason!r}: {e}"
                        ) from None
                    return
                if "expect_error" in a:
                    raise StepFailed(
                        step,
                        f"expected the connector to refuse the order ({a['expect_error']}), "
                        "but it was accepted for sending",
                    )
                self.aliases[alias] = cid
            elif kind == "cancel":
                cid = self._order_id(step, a["order"])
                success = await self._await(
                    self.driver.cancel(cid), DEFAULT_WAIT_S, step, "the cancel to return"
                )
                if a.get("expect_error") is True and success:
                    raise StepFailed(step, "expected the cancel to report a failure, but it succeeded")
                if a.get("expect_error") is False and not success:
                    raise StepFailed(step, "expected the cancel to succeed, but it reported a failure")
            elif kind == "check_network":
                timeout = float(a.get("timeout", DEFAULT_WAIT_S))  # float ok: seconds
                status = await self._driver_call(self.driver.check_network(), timeout, step, kind)
                if status != a["expect"]:
                    raise StepFailed(step, f"check_network: expected {a['expect']}, got {status}")
            elif kind == "all_trading_pairs":
                timeout = float(a.get("timeout", DEFAULT_WAIT_S))  # float ok: seconds
                pairs = await self._driver_call(self.driver.all_trading_pairs(), timeout, step, kind)
                if sorted(pairs) != sorted(a["expect"]):
                    missing = sorted(set(a["expect"]) - set(pairs))
                    extra = sorted(set(pairs) - set(a["expect"]))
                    raise StepFailed(
                        step,
                        f"all_trading_pairs: expected {sorted(a['expect'])}, got {sorted(pairs)}"
                        + (f" (missing {missing})" if missing else "")
                        + (f" (unexpected {extra})" if extra else ""),
                    )
            elif kind == "cancel_all":
                timeout_s = float(a.get("timeout", 10))  # float ok: seconds
                cancel_all = self.driver.cancel_all(timeout_s)
                results = await self._await(cancel_all, timeout_s + 5, step, "cancel_all to return")
                want = a.get("expect")
                if want is not None:
                    got = {alias: results.get(cid) for alias, cid in self.aliases.items() if cid in results}
                    if got != want:
                        raise StepFailed(step, f"cancel_all results: expected {want}, got {got}")
            elif kind == "exchange_order":
                order = control.place_order(
                    a["account"],
                    a["symbol"],
                    a["side"],
                    a.get("type", "LIMIT"),
                    quantity=a.get("quantity"),
                    price=a.get("price"),
                    quote_order_qty=a.get("quote_quantity"),
                    time_in_force=a.get("time_in_force"),
                    client_order_id=a.get("client_order_id"),
                    stp=a.get("stp"),
                )
                if "as" in a:
                    self.exchange_aliases[a["as"]] = (a["account"], a["symbol"], order["orderId"])
                    self.exchange_client_ids[a["as"]] = str(order["clientOrderId"])
            elif kind == "exchange_cancel":
                if "order" in a:
                    if a["order"] in self.exchange_aliases:
                        account, symbol, oid = self.exchange_aliases[a["order"]]
                        control.cancel_order(account, symbol, oid)
                    else:
                        control.cancel_order(
                            a["account"], a["symbol"], None, self._order_id(step, a["order"])
                        )
                else:
                    control.cancel_order(
                        a["account"], a["symbol"], a.get("order_id"), a.get("client_order_id")
                    )
            elif kind == "deposit":
                control.deposit(a["account"], a["asset"], a["amount"])
            elif kind == "withdraw":
                control.withdraw(a["account"], a["asset"], a["amount"])
            elif kind == "fault":
                fault = control.add_fault(mock_fault_spec(a))
                if "name" in a:
                    self.fault_names[a["name"]] = fault.id
                if not a.get("may_not_fire", False):
                    self.armed.append((step.where, step.line, fault))
            elif kind == "remove_fault":
                if a["name"] not in self.fault_names:
                    raise StepFailed(step, f"no fault named {a['name']!r}")
                control.remove_fault(self.fault_names.pop(a["name"]))
            elif kind == "clear_faults":
                control.clear_faults()
            elif kind == "disconnect":
                control.disconnect(a.get("surface", "all"), a.get("stream"))
            elif kind == "shutdown_notice":
                control.shutdown_notice(a.get("surface", "all"))
            elif kind == "stall":
                control.stall(float(a["seconds"]), a.get("surface", "all"), a.get("stream"))  # float ok
            elif kind == "terminate_user_stream":
                control.terminate_user_data(a.get("account", "trader"))
            elif kind == "inject_user_event":
                if not control.inject_user_event(
                    a.get("account", "trader"), self._substitute(step, a["payload"])
                ):
                    raise StepFailed(step, "nobody is subscribed to that account's user data")
            elif kind == "inject_stream":
                if not control.inject_stream_message(a["stream"], self._substitute(step, a["payload"])):
                    raise StepFailed(step, f"nobody is subscribed to {a['stream']}")
            elif kind == "skew":
                control.skew(int(a["ms"]))
            elif kind == "advance":
                await self.pump(float(a["seconds"]))  # float ok: seconds
            elif kind == "wait":
                await self.wait(step)
            elif kind == "restart_connector":
                await self._restart(step)
            elif kind == "clear_book":
                control.clear_book(a["symbol"])
            elif kind == "seed_book":
                control.seed_book(
                    a["symbol"], a["account"], a["mid"], int(a["levels"]), a["spacing"], a["quantity"]
                )
            elif kind == "check":
                # The step's own "step N (check)" heads the report: name only the field here.
                failures = self.check(a, "check", ("steps", step.index - 1, "check"))
                if failures:
                    raise StepFailed(step, "; ".join(f"{f.where}: {f.message}" for f in failures))
        except ControlError as e:
            raise StepFailed(step, str(e)) from None

    async def _restart(self, step: Step) -> None:
        """Stop the connector, run ``while_down`` and let ``down_for`` pass, start it again.
        Stopping, and becoming ready once started again, may each take ``timeout`` virtual
        seconds (default ``READY_TIMEOUT_S``); the time spent down is not counted."""
        a = step.args
        down_for = float(a.get("down_for", 0))  # float ok: seconds
        timeout = float(a.get("timeout", READY_TIMEOUT_S))  # float ok: seconds
        inner: list[Step] = a.get("while_down_steps", [])
        stopped, back = asyncio.Event(), asyncio.Event()

        async def while_down() -> None:
            stopped.set()
            for sub in inner:
                await self.run_step(sub)
            if down_for:
                await self.pump(down_for)
            back.set()

        restart = asyncio.ensure_future(self.driver.restart(while_down))
        try:
            # The driver may need virtual time to pass while it stops...
            await self.until(
                lambda: stopped.is_set() or restart.done(), timeout, step, "the connector to stop"
            )
            # ...while it is down, the while_down steps and down_for move time themselves...
            if not restart.done() and not back.is_set():
                returned = asyncio.ensure_future(back.wait())
                await asyncio.wait((restart, returned), return_when=asyncio.FIRST_COMPLETED)
                returned.cancel()

            # ...and while it starts again and gets ready.
            def up() -> bool:
                if not restart.done():
                    return False
                return restart.cancelled() or restart.exception() is not None or self._ready()

            await self.until(up, timeout, step, "the restarted connector to become ready", self._readiness)
            restart.result()  # what the restart (or a while_down step) raised
        finally:
            if not restart.done():
                restart.cancel()
                await asyncio.gather(restart, return_exceptions=True)

    def _readiness(self) -> str:
        """What is not ready in the connector, and why (for time-outs waiting for ready)."""
        try:
            status = self.driver.status()
        except Exception as e:
            return f"the connector's status is not available ({_one_line(e)})"
        not_ready = [part for part, ok in status.items() if not ok]
        if not not_ready:
            return "the connector is ready"
        reasons: dict[str, str] = {}
        explain = getattr(self.driver, "not_ready_reasons", None)  # optional in drivers
        if explain is not None:
            try:
                reasons = explain()
            except Exception as e:
                reasons = {"(reasons)": f"not available ({_one_line(e)})"}
        why = "; ".join(f"{part}: {reason}" for part, reason in reasons.items())
        return f"not ready: {', '.join(not_ready)}" + (f" (why: {why})" if why else "")

    def _substitute(self, step: Step, value: Any) -> Any:
        """Replace ``"${o1.order_id}"`` / ``"${o1.client_order_id}"`` in an injected payload
        with the named order's exchange order id (an integer) or client order id."""
        if isinstance(value, dict):
            return {k: self._substitute(step, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(step, v) for v in value]
        if isinstance(value, str) and (m := PAYLOAD_REF.fullmatch(value)):
            alias, what = m.groups()
            cid = self._order_id(step, alias)
            if what == "client_order_id":
                return cid
            row = self._exchange_order(cid)
            if row is None:
                raise StepFailed(step, f"order {alias} is not on the exchange (yet), so {value} has no value")
            return row["orderId"]
        return value

    async def wait(self, step: Step) -> None:
        a = step.args
        until = a["until"]
        timeout = float(a.get("timeout", DEFAULT_WAIT_S))  # float ok: seconds
        d = self.driver
        cond: Callable[[], bool]
        observed: Callable[[], str] = lambda: f"connector status: {d.status()}"  # noqa: E731
        if until == "ready":
            cond, what, observed = self._ready, "the connector to be ready", self._readiness
        elif until == "book_synced":
            pair = a.get("pair", "BTC-USDT")
            cond, what = (lambda: d.status().get(f"book:{pair}", False)), f"the {pair} book to be synced"
        elif until == "user_stream_connected":
            cond, what = (lambda: d.status().get("user_stream", False)), "the user stream to be connected"
        elif until == "order_state":
            cid = self._order_id(step, a["order"])

            def cond() -> bool:
                view = d.order(cid)
                return view is not None and view.state == a["state"]

            def observed() -> str:
                view = d.order(cid)
                return "the connector does not track it" if view is None else f"it is {view.state}"

            what = f"order {a['order']} to be {a['state']}"
        elif until == "event":
            event_cid = self._order_id(step, a["order"]) if "order" in a else None
            count = int(a.get("count", 1))

            def cond() -> bool:
                return (
                    sum(
                        1
                        for e in d.events
                        if e.name == a["event"] and (event_cid is None or e.client_order_id == event_cid)
                    )
                    >= count
                )

            what = f"{count} {a['event']} event(s)" + (f" for order {a['order']}" if event_cid else "")

            def observed() -> str:
                seen = [e.name for e in d.events if event_cid is None or e.client_order_id == event_cid]
                return f"events seen: {', '.join(seen[-12:]) or 'none'}"
        elif until == "balance":
            asset = a["asset"]

            def cond() -> bool:
                total, available = d.balances().get(asset, (Decimal(0), Decimal(0)))
                return ("total" not in a or total == _dec(a["total"])) and (
                    "available" not in a or available == _dec(a["available"])
                )

            what = f"{asset} balance {a.get('total', '?')} total / {a.get('available', '?')} available"

            def observed() -> str:
                total, available = d.balances().get(asset, (Decimal(0), Decimal(0)))
                return f"it is {total} total / {available} available"
        else:  # no_open_orders
            cond, what = (lambda: not d.open_orders()), "no open orders"

            def observed() -> str:
                open_ids = d.open_orders()
                return f"{len(open_ids)} open: {_listing(open_ids)}"

        await self.until(cond, timeout, step, what, observed)

    # ------------------------------------------------------------------ expectations

    def _check_event_patterns(self) -> None:
        """``connector_events``/``no_connector_events`` name events and fields the driver
        records (when it says which): a misspelt field matches no event, which would make
        ``no_connector_events`` pass whatever happened."""
        fields_of = getattr(self.driver, "event_fields", None)
        if fields_of is None:
            return
        known: dict[str, frozenset[str]] = fields_of()
        places: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [("expect", self.s.expect, ("expect",))]
        for step in self.s.steps:
            if step.kind == "check":
                places.append((step.where, step.args, ("steps", step.index - 1, "check")))
        for where, expect, path in places:
            for key in ("connector_events", "no_connector_events"):
                for j, raw in enumerate(expect.get(key) or []):
                    pattern = _event_pattern(raw)
                    name, line = pattern["name"], self.s.lines.of(*path, key, j)
                    if name not in known:
                        problem = (
                            f"{key}[{j}]: {name!r} is not an event the connector records here "
                            f"(known: {', '.join(sorted(known))})"
                        )
                        raise ScenarioError(self.s.path, where, problem, line)
                    unknown = sorted(set(pattern) - {"name"} - known[name])
                    if unknown:
                        problem = (
                            f"{key}[{j}]: {name} has no field {unknown[0]!r} "
                            f"(its fields: {', '.join(sorted(known[name]))})"
                        )
                        raise ScenarioError(self.s.path, where, problem, line)

    def unfired_faults(self) -> list[Failure]:
        """A fault that never fired means the scenario did not test what it describes (a
        misspelt path, a method the connector never uses): a failure, unless the fault says
        ``may_not_fire: true``."""
        failures = []
        assert self.server is not None
        still_armed = {id(f) for f in self.server.service.faults.faults}
        for where, line, fault in self.armed:
            if fault.fired:
                continue
            if fault.seen:
                matched = f"; it matched {fault.seen} time(s) but never fired"
            else:
                matched = "; it matched nothing"
            if id(fault) not in still_armed:
                matched += " before it was removed"
            failures.append(
                Failure(
                    where,
                    f"fault #{fault.id} ({_describe_fault(fault)}) never fired{matched}. A fault "
                    "that never fires tests nothing: check its fields, or give it "
                    "'may_not_fire: true' if that is expected",
                    line,
                    "",
                    *self._activity(),
                )
            )
        return failures

    def check(self, expect: dict[str, Any], where: str, path: tuple[Any, ...]) -> list[Failure]:
        out: list[Failure] = []
        d = self.driver
        assert self.server is not None
        control = self.server.control

        def fail(sub: str, message: str, *sub_path: Any) -> None:
            full = (*path, *sub_path)
            out.append(
                Failure(
                    f"{where}.{sub}" if sub else where,
                    message,
                    self.s.lines.of(*full),
                    self.s.source_of(*full),
                    *self._activity(),
                )
            )

        order_events: dict[str, list[str]] = {}
        for e in d.events:
            if e.client_order_id is not None and e.name.startswith("Order"):
                order_events.setdefault(e.client_order_id, []).append(e.name)
        for alias, names in (expect.get("events") or {}).items():
            cid = self.aliases.get(alias)
            got = order_events.get(cid, []) if cid else []
            if not _match_sequence(names, got):
                fail(f"events.{alias}", f"expected {names}, got {_sequence(got)}", "events", alias)
        for name in expect.get("no_events") or []:
            hits = [e for e in d.events if e.name == name]
            if hits:
                fail("no_events", f"{name} happened: {hits[0]}", "no_events")
        for alias, want in (expect.get("orders") or {}).items():
            cid = self.aliases.get(alias)
            view = d.order(cid) if cid else None
            if view is None:
                fail(f"orders.{alias}", "the connector does not know this order", "orders", alias)
                continue
            for key, value in want.items():
                if key == "state" and view.state != value:
                    fail(
                        f"orders.{alias}.state",
                        f"expected {value}, got {view.state}"
                        + (f" ({view.failure})" if view.failure else ""),
                        "orders",
                        alias,
                        "state",
                    )
                elif key in ("executed", "executed_quote") and getattr(view, key) != _dec(value):
                    fail(
                        f"orders.{alias}.{key}",
                        f"expected {value}, got {getattr(view, key)}",
                        "orders",
                        alias,
                        key,
                    )
                elif key == "fills" and view.fills != int(value):
                    fail(
                        f"orders.{alias}.fills",
                        f"expected {value} fills, got {view.fills}",
                        "orders",
                        alias,
                        key,
                    )
                elif key == "fee":
                    want_fee = {k: _dec(v) for k, v in value.items()}
                    if view.fee != want_fee:
                        fail(
                            f"orders.{alias}.fee",
                            f"expected {_show(want_fee)}, got {_show(view.fee)}",
                            "orders",
                            alias,
                            key,
                        )
                elif key == "exchange_status":
                    exchange = self._exchange_order(cid)
                    if exchange is None:
                        fail(f"orders.{alias}.{key}", "the exchange has no such order", "orders", alias, key)
                    elif exchange["status"] != value:
                        fail(
                            f"orders.{alias}.exchange_status",
                            f"expected {value}, got {exchange['status']}",
                            "orders",
                            alias,
                            key,
                        )
                elif key == "exchange_id" and view.exchange_order_id != str(value):
                    # The connector's view, as every field but exchange_status; the
                    # exchange's own id is said for context.
                    exchange = self._exchange_order(cid)
                    on_exchange = (
                        "the exchange has no such order"
                        if exchange is None
                        else f"the exchange's order id is {exchange['orderId']}"
                    )
                    recorded = (
                        "the connector has no exchange order id for it"
                        if view.exchange_order_id is None
                        else f"got {view.exchange_order_id}"
                    )
                    fail(
                        f"orders.{alias}.exchange_id",
                        f"expected {value}, {recorded} ({on_exchange})",
                        "orders",
                        alias,
                        key,
                    )
                elif key == "failed_reason" and (view.failure is None or value not in view.failure):
                    fail(
                        f"orders.{alias}.failed_reason",
                        f"expected a failure mentioning {value!r}, got {view.failure!r}",
                        "orders",
                        alias,
                        key,
                    )
        balances = d.balances()
        for asset, want in (expect.get("balances") or {}).items():
            total, available = balances.get(asset, (Decimal(0), Decimal(0)))
            if "total" in want and total != _dec(want["total"]):
                fail(f"balances.{asset}.total", f"expected {want['total']}, got {total}", "balances", asset)
            if "available" in want and available != _dec(want["available"]):
                fail(
                    f"balances.{asset}.available",
                    f"expected {want['available']}, got {available}",
                    "balances",
                    asset,
                )

        def ask(get: Callable[[], Any], sub: str, *sub_path: Any) -> Any:
            """A control query for a name the scenario gave; an unknown name is a failure
            at its line (never a traceback)."""
            try:
                return get()
            except ControlError as e:
                fail(sub, str(e), *sub_path)
                return None

        for account, assets in (expect.get("exchange_balances") or {}).items():
            actual = ask(
                partial(control.balances, account),
                f"exchange_balances.{account}",
                "exchange_balances",
                account,
            )
            if actual is None:
                continue
            for asset, want in assets.items():
                row = actual.get(asset, {"free": "0", "locked": "0"})
                for key in ("free", "locked"):
                    if key in want and _dec(row[key]) != _dec(want[key]):
                        fail(
                            f"exchange_balances.{account}.{asset}.{key}",
                            f"expected {want[key]}, got {row[key]}",
                            "exchange_balances",
                            account,
                            asset,
                        )
        if expect.get("balances_match_exchange"):
            actual = control.balances("trader")
            for asset, row in actual.items():
                total = _dec(row["free"]) + _dec(row["locked"])
                mine = balances.get(asset)
                if mine is None or mine[0] != total or mine[1] != _dec(row["free"]):
                    fail(
                        "balances_match_exchange",
                        f"{asset}: exchange has total {_show(total)} / available {row['free']}, "
                        + (
                            "connector has none"
                            if mine is None
                            else f"connector has total {_show(mine[0])} / available {_show(mine[1])}"
                        ),
                        "balances_match_exchange",
                    )
        for account, want in (expect.get("exchange_orders") or {}).items():
            for symbol, spec in want.items():
                rows = ask(
                    partial(control.orders, account, symbol),
                    f"exchange_orders.{account}.{symbol}",
                    "exchange_orders",
                    account,
                    symbol,
                )
                if rows is None:
                    continue
                open_rows = [r for r in rows if r["status"] in ("NEW", "PARTIALLY_FILLED")]
                if isinstance(spec, dict):
                    if "open" in spec and len(open_rows) != spec["open"]:
                        fail(
                            f"exchange_orders.{account}.{symbol}.open",
                            f"expected {spec['open']} open orders, got {len(open_rows)}",
                            "exchange_orders",
                            account,
                            symbol,
                        )
                    if "total" in spec and len(rows) != spec["total"]:
                        fail(
                            f"exchange_orders.{account}.{symbol}.total",
                            f"expected {spec['total']} orders in all, "
                            f"got {len(rows)}: "
                            + _listing([f"{r['clientOrderId']} {r['status']}" for r in rows]),
                            "exchange_orders",
                            account,
                            symbol,
                        )
        pairs = expect.get("book_matches_exchange") or []
        if isinstance(pairs, str):
            pairs = [pairs]
        for pair in pairs:
            if pair not in self.trading_pairs:
                fail("book_matches_exchange", self._not_a_pair(pair), "book_matches_exchange")
                continue
            ex = ask(
                partial(control.book, pair.replace("-", ""), 20),
                "book_matches_exchange",
                "book_matches_exchange",
            )
            if ex is None:
                continue
            want_b = [(_dec(p), _dec(q)) for p, q in ex["bids"]]
            want_a = [(_dec(p), _dec(q)) for p, q in ex["asks"]]
            got_b, got_a = d.book(pair, 20)
            if not d.status().get(f"book:{pair}", False):
                fail(
                    "book_matches_exchange",
                    f"the connector's {pair} book is not synced",
                    "book_matches_exchange",
                )
            elif (got_b, got_a) != (want_b, want_a):
                fail(
                    "book_matches_exchange",
                    f"{pair}: connector bids {got_b[:3]}... asks {got_a[:3]}...; exchange "
                    f"bids {want_b[:3]}... asks {want_a[:3]}...",
                    "book_matches_exchange",
                )
        if "ready" in expect and d.status().get("ready", False) != bool(expect["ready"]):
            fail("ready", f"expected ready={expect['ready']}, status is {d.status()}", "ready")
        for alias, reason in (expect.get("errors") or {}).items():
            if self.errors.get(alias) != reason:
                fail(
                    f"errors.{alias}",
                    f"expected local rejection {reason!r}, got {self.errors.get(alias)!r}",
                    "errors",
                    alias,
                )
        traffic = self.server.service.traffic.entries
        for i, req in enumerate(expect.get("requests") or []):
            method, pattern = req.get("method"), req.get("path")
            surface = req.get("surface", "rest")
            if surface == "rest":  # no method: any method; no path: any path
                n = sum(
                    1
                    for t in traffic
                    if t.surface == "rest"
                    and t.direction == "in"
                    and (method is None or _path_matches(t.text.split(" ", 1)[0].upper(), method.upper()))
                    and (pattern is None or _path_matches(t.text.split(" ", 2)[1].split("?")[0], pattern))
                )
                what = f"{method or '*'} {pattern or '*'}"
            else:
                # A frame's method is matched in its exact case: Binance refuses "subscribe".
                if method is not None and surface == "ws_api":
                    method = method.removeprefix("v3/")  # the API's optional prefix
                n = sum(
                    1
                    for t in traffic
                    if t.surface == surface
                    and t.direction == "in"
                    and (method is None or _path_matches(_frame_method(t.text, surface), method))
                )
                what = f"{surface} frames with method {method or '*'}"
            if not _count_ok(n, req):
                fail(f"requests[{i}]", f"{what}: expected {_bounds(req)}, sent {n}", "requests", i)
        for i, want_c in enumerate(expect.get("connections") or []):
            conns = sorted({t.conn for t in traffic if t.surface == want_c["surface"] and t.conn is not None})
            if not _count_ok(len(conns), want_c):
                fail(
                    f"connections[{i}]",
                    f"{want_c['surface']} connections: expected {_bounds(want_c)}, saw {len(conns)}",
                    "connections",
                    i,
                )
        self._check_metadata(expect, fail)
        return out

    def _not_a_pair(self, pair: str) -> str:
        return (
            f"{pair!r} is not one of the connector's trading pairs "
            f"({', '.join(self.trading_pairs)}; set them in setup.connector.trading_pairs)"
        )

    def _check_metadata(self, expect: dict[str, Any], fail: Callable[..., None]) -> None:
        """Market data, trading rules, status parts and connector (non-order) events."""
        d = self.driver
        for pair, want in (expect.get("market") or {}).items():
            if pair not in self.trading_pairs:
                fail(f"market.{pair}", self._not_a_pair(pair), "market", pair)
                continue
            view = d.market(pair)
            for key, value in want.items():
                if key == "price_for_volume":
                    queries = value if isinstance(value, list) else [value]
                    for j, query in enumerate(queries):
                        sub = ("market", pair, key, j) if isinstance(value, list) else ("market", pair, key)
                        quote = d.price_for_volume(pair, query["side"] == "buy", _dec(query["volume"]))
                        for k in ("price", "vwap", "filled"):
                            if k not in query:
                                continue
                            got = None if quote is None else getattr(quote, k)
                            if not _same_decimal(got, query[k]):
                                fail(
                                    f"market.{pair}.price_for_volume.{k}",
                                    f"{query['side']} {query['volume']}: expected {k} {query[k]}, got {got}"
                                    + (
                                        " (the connector has no answer: book not synced?)"
                                        if quote is None
                                        else ""
                                    ),
                                    *sub,
                                    k,
                                )
                    continue
                got = getattr(view, key)
                if not _same_decimal(got, value):
                    fail(f"market.{pair}.{key}", f"expected {value}, got {got}", "market", pair, key)
        for pair, want in (expect.get("trading_rules") or {}).items():
            rule = d.trading_rule(pair)
            if rule is None:
                fail(
                    f"trading_rules.{pair}", "the connector has no trading rule for it", "trading_rules", pair
                )
                continue
            for key, value in want.items():
                if key not in rule:
                    fail(
                        f"trading_rules.{pair}.{key}",
                        f"the connector's rule has no field {key!r} (fields: {', '.join(sorted(rule))})",
                        "trading_rules",
                        pair,
                        key,
                    )
                    continue
                got = rule[key]
                same = got is value if isinstance(value, bool) or value is None else _same_decimal(got, value)
                if not same:
                    fail(
                        f"trading_rules.{pair}.{key}",
                        f"expected {value}, got {got}",
                        "trading_rules",
                        pair,
                        key,
                    )
        for pair in expect.get("no_trading_rule") or []:
            rule = d.trading_rule(pair)
            if rule is not None:
                fail("no_trading_rule", f"the connector has a rule for {pair}: {rule}", "no_trading_rule")
        if "supported_order_types" in expect:
            got_types = sorted(d.supported_order_types())
            if got_types != sorted(expect["supported_order_types"]):
                fail(
                    "supported_order_types",
                    f"expected {sorted(expect['supported_order_types'])}, got {got_types}",
                    "supported_order_types",
                )
        if "status" in expect:
            status = d.status()
            for key, value in expect["status"].items():
                if key not in status:
                    fail(
                        f"status.{key}",
                        f"the connector's status has no {key!r} (keys: {', '.join(sorted(status))})",
                        "status",
                        key,
                    )
                elif status[key] != value:
                    fail(f"status.{key}", f"expected {value}, status is {status}", "status", key)
        recorded = [e for e in d.events if not e.name.startswith("Order")]
        if "connector_events" in expect:
            patterns = [_event_pattern(p) for p in expect["connector_events"]]
            at = 0
            for j, pattern in enumerate(patterns):
                hit = next(
                    (k for k in range(at, len(recorded)) if _event_matches(recorded[k], pattern)), None
                )
                if hit is None:
                    seen = [str(e) for e in recorded[at:] if e.name == pattern["name"]]
                    since = " after the previous match" if j else ""
                    fail(
                        f"connector_events[{j}]",
                        f"no {_describe_pattern(pattern)}{since}; {pattern['name']} events recorded{since}: "
                        f"{seen[:8] or 'none'}",
                        "connector_events",
                        j,
                    )
                    break
                at = hit + 1
        for j, raw in enumerate(expect.get("no_connector_events") or []):
            pattern = _event_pattern(raw)
            hits = [e for e in recorded if _event_matches(e, pattern)]
            if hits:
                fail(
                    f"no_connector_events[{j}]",
                    f"{_describe_pattern(pattern)} happened: {hits[0]}",
                    "no_connector_events",
                    j,
                )

    def _exchange_order(self, cid: str | None) -> dict[str, Any] | None:
        assert self.server is not None
        if cid is None:
            return None
        for symbol in self.server.service.exchange.engines:
            for row in self.server.control.orders("trader", symbol):
                if row["clientOrderId"] == cid:
                    return row
        return None


def _count_ok(n: int, spec: dict[str, Any]) -> bool:
    if "count" in spec and n != spec["count"]:
        return False
    return n >= spec.get("min", 0) and ("max" not in spec or n <= spec["max"])


def _bounds(spec: dict[str, Any]) -> str:
    if "count" in spec:
        return f"exactly {spec['count']}"
    parts = [f"at least {spec['min']}"] if "min" in spec else []
    parts += [f"at most {spec['max']}"] if "max" in spec else []
    return " and ".join(parts) or "any number"


_METHOD = re.compile(r'"method"\s*:\s*"([^"]*)"')


def _frame_method(text: str, surface: str = "") -> str:
    """The JSON ``method`` of a client WebSocket frame ("" if it has none), without the
    WS API's optional ``v3/`` prefix. The traffic log truncates long frames, so fall back
    to a pattern when the JSON does not parse."""
    try:
        msg = json.loads(text)
    except ValueError:
        m = _METHOD.search(text)
        method: Any = m.group(1) if m else ""
    else:
        method = msg.get("method") if isinstance(msg, dict) else None
    if not isinstance(method, str):
        return ""
    return method.removeprefix("v3/") if surface == "ws_api" else method


def _same_decimal(got: Any, want: Any) -> bool:
    """``want`` from a scenario (a decimal string, or None for "none known") against a value."""
    if want is None or got is None:
        return want is None and got is None
    try:
        return Decimal(str(got)) == Decimal(str(want))
    except ArithmeticError:
        return str(got) == str(want)


def _event_pattern(raw: Any) -> dict[str, Any]:
    return {"name": raw} if isinstance(raw, str) else dict(raw)


def _describe_pattern(pattern: dict[str, Any]) -> str:
    fields = " ".join(f"{k}={v}" for k, v in pattern.items() if k != "name")
    return f"{pattern['name']}" + (f" with {fields}" if fields else "")


def _event_matches(event: ObservedEvent, pattern: dict[str, Any]) -> bool:
    """Name equal; every other field equal to the recorded data's: booleans and None as
    such, numbers as decimals, strings by their string form (a ``*`` makes it a glob)."""
    if event.name != pattern["name"]:
        return False
    for key, want in pattern.items():
        if key == "name":
            continue
        if key not in event.data:
            return False
        got = event.data[key]
        if isinstance(want, bool) or want is None or isinstance(got, bool) or got is None:
            if got is not want and str(got) != str(want):
                return False
        elif isinstance(want, str) and any(ch in want for ch in "*?["):
            if not _path_matches(str(got), want):
                return False
        elif not _same_decimal(got, want):
            return False
    return True


def _path_matches(path: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(path, pattern)


def _describe_fault(fault: Fault) -> str:
    """What a fault matches and does, in one line: ``rest POST /api/v3/order: error 503``."""
    d = fault.describe()
    match = " ".join(
        f"{v}" if k in ("surface", "method", "path") else f"{k}={v}" for k, v in d["match"].items()
    )
    action = d["action"]
    detail = " ".join(str(action[k]) for k in ("status", "seconds") if action.get(k) is not None)
    return f"{match}: {action['kind']}" + (f" {detail}" if detail else "")


def _match_sequence(want: list[str], got: list[str]) -> bool:
    """Exact match, where ``"..."`` in ``want`` stands for any run of events (maybe none)."""
    if "..." not in want:
        return want == got
    cut = want.index("...")
    head, tail = want[:cut], want[cut + 1 :]
    if got[: len(head)] != head:
        return False
    rest = got[len(head) :]
    return any(_match_sequence(tail, rest[i:]) for i in range(len(rest) + 1))


async def run_scenario(
    scenario: Scenario, driver_factory: Callable[[], ConnectorDriver] = default_driver
) -> Result:
    """Run ``scenario`` against a fresh mock; never raises for a scenario failure."""
    driver = driver_factory()
    run = Run(scenario, driver)
    result = run.result
    t0 = time.perf_counter()
    capture = _LogCapture()
    logging.getLogger("connector").addHandler(capture)
    try:
        await run.start()
        for step in scenario.steps:
            result.steps.append(StepRecord(step, run.clock.now_us(), *run._activity()))
            await run.run_step(step)
        await run.pump(0.5)  # let what the last step caused settle
        result.failures = run.check(scenario.expect, "expect", ("expect",))
        result.failures += run.unfired_faults()
    except StepFailed as e:
        result.failures.append(Failure(e.step.where, e.message, e.step.line, e.step.source, *run._activity()))
    except ScenarioError:
        raise
    except TimeoutError as e:
        where = scenario.lines.of("setup")
        result.failures.append(Failure("setup", str(e), where, "", *run._activity()))
    except Exception as e:
        result.error = traceback.format_exc()
        result.error_message = f"the run crashed: {_one_line(e)}"
    finally:
        result.events = list(driver.events)
        result.order_names = {**run.exchange_client_ids, **run.aliases}
        if run.server is not None:  # started (or part-started): record, then stop
            result.traffic = list(run.server.service.traffic.entries)
            try:
                await asyncio.wait_for(run.stop(), 30)
            except Exception as e:
                if result.error is None:
                    result.error = "stopping: " + traceback.format_exc()
                    result.error_message = f"stopping the run crashed: {_one_line(e)}"
        logging.getLogger("connector").removeHandler(capture)
    result.logs = capture.lines
    result.duration_s = time.perf_counter() - t0
    result.passed = not result.failures and result.error is None
    return result


#: How many items of a long list a failure message shows.
LIST_LIMIT = 10


def _listing(items: list[str], limit: int = LIST_LIMIT) -> str:
    """``a, b, c``; a long list is cut after ``limit`` items, with the count of the rest."""
    if not items:
        return "none"
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def _sequence(names: list[str], head: int = 6, tail: int = 4) -> str:
    """An event sequence as a list; a long one keeps its start and its end (where the
    terminal event is) and counts what it leaves out."""
    if len(names) <= head + tail + 1:
        return str(names)
    middle = len(names) - head - tail
    shown = [*map(repr, names[:head]), f"... {middle} more ...", *map(repr, names[-tail:])]
    return "[" + ", ".join(shown) + "]"


def _seconds(us: int) -> float:
    """``us`` microseconds as the seconds ``VirtualClock.advance`` takes: it truncates
    ``seconds * 1e6``, so half a microsecond more keeps a float error from losing one."""
    return (us + 0.5) / 1_000_000


def _one_line(e: BaseException) -> str:
    """``Type: message`` on one line."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def crashed_result(path: Path, doing: str, e: BaseException, scenario: Scenario | None = None) -> Result:
    """The result of a file whose loading or run raised ``e`` outside ``run_scenario``'s
    own handling: an error naming the file, with the traceback for debugging."""
    if scenario is None:  # it did not load: a stand-in named after the file
        name = path.name.removesuffix(".scenario.yaml")
        scenario = Scenario(str(path), name, "", [], {}, [], {}, Lines())
    result = Result(scenario, passed=False)
    result.error = "".join(traceback.format_exception(e))
    result.error_message = f"{path}: crashed while {doing}: {_one_line(e)}"
    return result
