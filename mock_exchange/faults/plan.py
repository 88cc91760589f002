"""What can go wrong, when: the fault plan.

A ``FaultPlan`` is an ordered list of ``Fault`` rules. Each rule matches traffic at the
protocol boundary of one surface (a REST request, a WS API request, a market-stream
message, a user-data event), optionally narrowed by method, path, stream, account or
event, and fires for the next ``times`` matches (after skipping ``after`` of them), or on
each match with a ``probability`` drawn from the plan's seeded RNG. The first rule that
fires decides what happens to that piece of traffic; the engine never knows.

Rules are plain data (``Fault.from_spec`` reads the JSON/YAML form the control API and
scenario files use), so a test, a scenario file and a person with curl describe faults the
same way.

Realism limits, stated once: a delay holds one message or response, not the whole socket
(except ``stall``); ``close`` drops the TCP connection without an HTTP response; ``hang``
holds the request until the client gives up or the server stops.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar


class Surface(StrEnum):
    REST = "rest"
    WS_API = "ws_api"
    STREAM = "stream"
    USER_DATA = "user_data"


#: Every field a fault spec may have (the control API's JSON and the scenario step's form).
FAULT_FIELDS = frozenset(
    {
        "surface",
        "method",
        "path",
        "stream",
        "account",
        "event",
        "execution_type",
        "symbol",
        "action",
        "seconds",
        "status",
        "code",
        "msg",
        "times",
        "after",
        "probability",
        "label",
        "body",
    }
)


class Kind(StrEnum):
    # Requests (REST, WS API).
    DELAY = "delay"  # wait `seconds`, then handle normally
    ERROR = "error"  # answer {code,msg} with `status`; nothing executes
    EXECUTE_THEN_ERROR = "execute_then_error"  # execute, then answer the error (unknown outcome)
    EXECUTE_THEN_DELAY = "execute_then_delay"  # execute now, deliver the (by then stale) answer later
    HANG = "hang"  # never answer; nothing executes
    EXECUTE_THEN_HANG = "execute_then_hang"  # execute, never answer (client times out)
    CLOSE = "close"  # drop the connection; nothing executes
    EXECUTE_THEN_CLOSE = "execute_then_close"  # execute, then drop the connection
    RATE_LIMIT = "rate_limit"  # 429 -1003 with Retry-After; repeated ones escalate to a 418 ban
    BAN = "ban"  # ban the client IP now: 418 until `seconds` pass
    # A depth request (REST GET /api/v3/depth, WS API ``depth``) answers the book as it was
    # when the fault was added; the fault matches only depth requests.
    STALE_SNAPSHOT = "stale_snapshot"
    RESPOND = "respond"  # answer with a given `body` and `status` (default 200); nothing executes
    # Messages (market streams, user data).
    DROP = "drop"
    DUPLICATE = "duplicate"
    # Hold this message and send it after the next one. A firing while a message is held
    # (``times`` > 1 on consecutive messages) just lets the held one out after this one.
    REORDER = "reorder"
    DISCONNECT = "disconnect"  # close the connection instead of sending
    STALL = "stall"  # the socket stays open but sends nothing for `seconds`
    TERMINATE = "terminate"  # user data: end the subscription with eventStreamTerminated


REQUEST_KINDS = frozenset(
    {
        Kind.DELAY,
        Kind.ERROR,
        Kind.EXECUTE_THEN_ERROR,
        Kind.EXECUTE_THEN_DELAY,
        Kind.HANG,
        Kind.EXECUTE_THEN_HANG,
        Kind.CLOSE,
        Kind.EXECUTE_THEN_CLOSE,
        Kind.RATE_LIMIT,
        Kind.BAN,
        Kind.STALE_SNAPSHOT,
        Kind.RESPOND,
    }
)
MESSAGE_KINDS = frozenset(
    {
        Kind.DELAY,
        Kind.DROP,
        Kind.DUPLICATE,
        Kind.REORDER,
        Kind.DISCONNECT,
        Kind.STALL,
        Kind.TERMINATE,
    }
)


_E = TypeVar("_E", bound=StrEnum)

#: The ``Match`` fields besides ``surface``: optional globs on facts about the traffic.
MATCH_FIELDS = ("method", "path", "stream", "account", "event", "execution_type", "symbol")
#: The facts each surface knows about what passes through it: a rule narrowed by any
#: other field could never match, so it is refused when it is added.
SURFACE_FIELDS: dict[Surface, tuple[str, ...]] = {
    Surface.REST: ("method", "path", "account", "symbol"),
    Surface.WS_API: ("method", "account", "symbol"),
    Surface.STREAM: ("stream", "symbol"),
    Surface.USER_DATA: ("account", "event", "execution_type", "symbol"),
}
#: The longest delay, stall or ban a fault may ask for: a week (Binance bans for 3 days at most).
MAX_FAULT_SECONDS = 7 * 86_400


class FaultSpecError(ValueError):
    """A fault description is malformed; the message names the field."""


@dataclass
class Match:
    surface: Surface
    #: REST: HTTP method and path (glob). WS API: method name (glob), e.g. "order.place".
    method: str | None = None
    path: str | None = None
    #: Market streams: stream name (glob), e.g. "btcusdt@depth*".
    stream: str | None = None
    #: Account name: REST/WS API requests authenticated as it; its user-data events.
    account: str | None = None
    #: User data: event type (glob on ``e``), e.g. "executionReport"; and execution type
    #: (``x``), e.g. "TRADE".
    event: str | None = None
    execution_type: str | None = None
    #: Symbol (REST/WS API ``symbol`` parameter; streams and events by their symbol).
    symbol: str | None = None

    def matches(self, surface: Surface, **facts: str | None) -> bool:
        if surface is not self.surface:
            return False
        for name in MATCH_FIELDS:
            want = getattr(self, name)
            if want is None:
                continue
            got = facts.get(name)
            if got is None or not fnmatch.fnmatchcase(got, want):
                return False
        return True


@dataclass
class Action:
    kind: Kind
    seconds: float = 0.0  # float ok: a duration, not money
    status: int = 503
    code: int = -1007
    msg: str | None = None
    #: For ``respond``: the answer's JSON body (REST) or ``result`` (WS API), any JSON value.
    body: Any = None


@dataclass
class Fault:
    match: Match
    action: Action
    #: Fire this many times, then retire (None: every match).
    times: int | None = 1
    #: Let this many matches pass untouched first.
    after: int = 0
    #: Fire on a match with this probability (the plan's seeded RNG decides).
    probability: float = 1.0  # float ok: a probability
    #: Numbered by the plan it is added to (1, 2, ...; 0 until then), so a fresh server
    #: numbers its faults the same way whatever ran before in the process.
    id: int = 0
    label: str = ""
    seen: int = 0
    fired: int = 0
    #: For ``stale_snapshot``: the book captured when the fault was added.
    captured: tuple[int, list[tuple[int, int]], list[tuple[int, int]]] | None = None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def describe(self) -> dict[str, Any]:
        m = {k: v for k, v in vars(self.match).items() if v is not None}
        a: dict[str, Any] = {"kind": self.action.kind.value}
        if self.action.kind in (Kind.DELAY, Kind.EXECUTE_THEN_DELAY, Kind.STALL, Kind.BAN):
            a["seconds"] = self.action.seconds
        if self.action.kind in (Kind.ERROR, Kind.EXECUTE_THEN_ERROR):
            a.update(status=self.action.status, code=self.action.code)
            if self.action.msg:
                a["msg"] = self.action.msg
        if self.action.kind is Kind.RESPOND:
            a.update(status=self.action.status, body=self.action.body)
        return {
            "id": self.id,
            "label": self.label,
            "match": m,
            "action": a,
            "times": self.times,
            "after": self.after,
            "probability": self.probability,
            "seen": self.seen,
            "fired": self.fired,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any], where: str = "fault") -> Fault:
        """Build a fault from its JSON/YAML form::

        {"surface": "rest", "method": "POST", "path": "/api/v3/order",
         "action": "execute_then_error", "status": 503, "code": -1007,
         "times": 1, "after": 0, "probability": 1.0, "label": "..."}

        ``respond`` takes ``body`` (required, any JSON value) and ``status`` (default 200).
        """
        if not isinstance(spec, dict):
            raise FaultSpecError(f"{where}: expected a mapping, got {type(spec).__name__}")
        known = FAULT_FIELDS
        for key in spec:
            if key not in known:
                raise FaultSpecError(f"{where}.{key}: unknown field (known: {', '.join(sorted(known))})")

        def choice(key: str, enum: type[_E]) -> _E:
            try:
                return enum(str(spec.get(key)))
            except ValueError:
                raise FaultSpecError(
                    f"{where}.{key}: must be one of {', '.join(m.value for m in enum)}, got {spec.get(key)!r}"
                ) from None

        surface = choice("surface", Surface)
        kind = choice("action", Kind)
        allowed = REQUEST_KINDS if surface in (Surface.REST, Surface.WS_API) else MESSAGE_KINDS
        if kind not in allowed:
            raise FaultSpecError(
                f"{where}.action: {kind.value!r} does not apply to surface {surface.value!r}"
            )
        if kind is Kind.TERMINATE and surface is not Surface.USER_DATA:
            raise FaultSpecError(f"{where}.action: 'terminate' applies to user_data only")

        def num(key: str, default: Any, kind_: type) -> Any:
            value = spec.get(key, default)
            if value is None and default is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FaultSpecError(f"{where}.{key}: expected a number, got {value!r}")
            if kind_ is int and not isinstance(value, int):
                raise FaultSpecError(f"{where}.{key}: expected an integer, got {value!r}")
            if not math.isfinite(value):
                raise FaultSpecError(f"{where}.{key}: expected a finite number, got {value!r}")
            return value

        seconds = num("seconds", 0, float)
        if kind in (Kind.DELAY, Kind.EXECUTE_THEN_DELAY, Kind.STALL, Kind.BAN) and seconds <= 0:
            raise FaultSpecError(f"{where}.seconds: {kind.value} needs a positive number of seconds")
        if seconds > MAX_FAULT_SECONDS:
            raise FaultSpecError(f"{where}.seconds: at most {MAX_FAULT_SECONDS} (a week), got {seconds!r}")
        probability = num("probability", 1.0, float)
        if not 0 < probability <= 1:
            raise FaultSpecError(f"{where}.probability: must be in (0, 1], got {probability!r}")
        times = None if "times" in spec and spec["times"] is None else num("times", 1, int)
        if times is not None and times < 1:
            raise FaultSpecError(f"{where}.times: must be at least 1 (or null for every match)")
        after = num("after", 0, int)
        if after < 0:
            raise FaultSpecError(f"{where}.after: must not be negative")
        strings = {}
        for key in MATCH_FIELDS:
            value = spec.get(key)
            if value is not None and not isinstance(value, str):
                raise FaultSpecError(f"{where}.{key}: expected a string, got {value!r}")
            if value is not None and key not in SURFACE_FIELDS[surface]:
                raise FaultSpecError(
                    f"{where}.{key}: the {surface.value!r} surface is never matched by {key} "
                    f"(it matches by {', '.join(SURFACE_FIELDS[surface])})"
                )
            strings[key] = value
        if surface is Surface.REST and strings["method"] is not None:
            strings["method"] = strings["method"].upper()  # HTTP methods: any case
        if surface is Surface.WS_API and strings["method"] is not None:
            strings["method"] = strings["method"].removeprefix("v3/")  # requests are matched without it
        if kind is Kind.STALE_SNAPSHOT:
            # It answers depth requests only: the match is narrowed to them.
            method, path = ("GET", "/api/v3/depth") if surface is Surface.REST else ("depth", None)
            if strings["method"] not in (None, method) or strings["path"] not in (None, path):
                where_to = f"{method} {path}" if path else f"the {method!r} method"
                raise FaultSpecError(
                    f"{where}: 'stale_snapshot' answers depth requests ({where_to}) only; "
                    "leave out method and path"
                )
            strings["method"], strings["path"] = method, path
            if strings["symbol"] is None:
                raise FaultSpecError(f"{where}: 'stale_snapshot' needs the 'symbol' whose book it replays")
        msg = spec.get("msg")
        if msg is not None and not isinstance(msg, str):
            raise FaultSpecError(f"{where}.msg: expected a string")
        status = num("status", 200 if kind is Kind.RESPOND else 503, int)
        if not 100 <= status <= 599:
            raise FaultSpecError(f"{where}.status: must be an HTTP status (100-599), got {status!r}")
        code = num("code", -1007, int)
        body: Any = None
        if kind is Kind.RESPOND:
            if "body" not in spec:
                raise FaultSpecError(f"{where}.body: 'respond' needs the answer's body (any JSON value)")
            try:
                body = json.loads(json.dumps(spec["body"], allow_nan=False))  # a private copy
            except (TypeError, ValueError) as e:
                raise FaultSpecError(f"{where}.body: not a JSON value ({e})") from None
        elif "body" in spec:
            raise FaultSpecError(f"{where}.body: only the 'respond' action takes a body")
        label = spec.get("label", "")
        if not isinstance(label, str):
            raise FaultSpecError(f"{where}.label: expected a string, got {label!r}")
        return cls(
            match=Match(surface, **strings),
            action=Action(kind, float(seconds), status, code, msg, body),  # float ok: seconds
            times=times,
            after=after,
            probability=float(probability),  # float ok: a probability
            label=str(label),
        )


class FaultPlan:
    """The active faults. Consulted at every protocol boundary; cheap when empty."""

    def __init__(self, seed: int = 0) -> None:
        self.faults: list[Fault] = []
        self.rng = random.Random(seed)
        #: Surfaces that currently have rules: the fast path skips matching otherwise.
        self.active: set[Surface] = set()
        #: Every firing, in order: (fault id, surface, what it hit).
        self.log: list[tuple[int, str, str]] = []
        #: Called on every firing (the service records it in the traffic log).
        self.on_fire: Callable[[Fault, str, str], None] | None = None
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> Fault:
        fault.id = next(self._ids)
        self.faults.append(fault)
        self.active.add(fault.match.surface)
        return fault

    def remove(self, fault_id: int) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        self._refresh()
        return len(self.faults) != before

    def clear(self) -> None:
        self.faults.clear()
        self.active.clear()

    def _refresh(self) -> None:
        self.active = {f.match.surface for f in self.faults if not f.exhausted}

    def take(self, surface: Surface, describe: str = "", **facts: str | None) -> Fault | None:
        """The fault that fires for this piece of traffic, if any (and count it)."""
        if surface not in self.active:
            return None
        for fault in self.faults:
            if fault.exhausted or not fault.match.matches(surface, **facts):
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            if fault.probability < 1 and self.rng.random() >= fault.probability:
                continue
            fault.fired += 1
            self.log.append((fault.id, surface.value, describe))
            if self.on_fire is not None:
                self.on_fire(fault, surface.value, describe)
            if fault.times is not None and fault.fired >= fault.times:
                self._refresh()
            return fault
        return None
