"""Scenario files: the format, its validation, and errors that point at the line.

A scenario is one YAML document, written the way a bug report reads::

    name: Market order fills across two levels
    description: ...
    tags: [orders]
    setup:                      # optional: what the exchange looks like at the start
      config: {...}             # mock configuration overrides (rate_limits, timers, ...)
      balances: {trader: {BTC: "1", USDT: "10000"}}
      books: {BTCUSDT: {account: market-maker, mid: "60000", levels: 5, spacing: "5", quantity: "0.25"}}
      connector: {trading_pairs: [BTC-USDT], ...driver options}
    steps:                      # the timeline
      - buy: {order: o1, pair: BTC-USDT, type: MARKET, amount: "0.3"}
      - wait: {order: o1, event: OrderCompleted}
    expect:                     # what must be observed at the end
      events: {o1: [OrderCreated, OrderFilled, OrderFilled, OrderCompleted]}

``load_scenario`` validates everything before anything runs; a problem is reported as
``ScenarioError`` naming the file, the step (or section), the field, and the line.
The step and expectation vocabularies are the tables ``STEP_FIELDS`` / ``EXPECT_FIELDS``
(docs/scenarios.md describes each). Validation is meant to leave nothing for the runner
to trip over: every value has its type checked (``STEP_FIELD_TYPES`` for steps; the
expectation and setup checkers below), every key is one the runner reads, every order
or fault name is defined by an earlier step, and the mock configuration ``setup`` makes
is built once, on a throwaway exchange, so its problems are found at their line too.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import functools
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import yaml

from mock_exchange.binance.endpoints import UNMODELLED, UNMODELLED_WS_METHODS, all_endpoints
from mock_exchange.binance.ws.streams import CONTROL_METHODS
from mock_exchange.binance.ws.ws_api import SESSION_METHODS
from mock_exchange.config import build_exchange, parse_config
from mock_exchange.engine import ConfigError, Exchange, OrderStatus, STPMode, TimeInForce
from mock_exchange.engine.units import parse_units
from mock_exchange.faults.plan import FAULT_FIELDS, Fault, FaultSpecError

# ----------------------------------------------------------------------------- vocabulary


#: step name -> (required fields, optional fields). A step is a one-key mapping.
STEP_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "buy": ({"order", "pair", "type"}, {"amount", "price", "quote_amount", "expect_error"}),
    "sell": ({"order", "pair", "type"}, {"amount", "price", "quote_amount", "expect_error"}),
    "cancel": ({"order"}, {"expect_error"}),
    "cancel_all": (set(), {"timeout", "expect"}),
    "exchange_order": (
        {"account", "symbol", "side"},
        {"type", "quantity", "price", "quote_quantity", "time_in_force", "client_order_id", "as", "stp"},
    ),
    "exchange_cancel": ({"account", "symbol"}, {"order_id", "client_order_id", "order"}),
    "deposit": ({"account", "asset", "amount"}, set()),
    "withdraw": ({"account", "asset", "amount"}, set()),
    "fault": (set(), {"name", "may_not_fire", *FAULT_FIELDS}),
    "remove_fault": ({"name"}, set()),
    "clear_faults": (set(), set()),
    "disconnect": (set(), {"surface", "stream"}),
    "stall": ({"seconds"}, {"surface", "stream"}),
    "shutdown_notice": (set(), {"surface"}),
    "terminate_user_stream": (set(), {"account"}),
    "inject_user_event": ({"payload"}, {"account"}),
    "inject_stream": ({"stream", "payload"}, set()),
    "skew": ({"ms"}, set()),
    "advance": ({"seconds"}, set()),
    "wait": (
        set(),
        {"until", "order", "event", "state", "count", "pair", "asset", "total", "available", "timeout"},
    ),
    "restart_connector": (set(), {"down_for", "while_down", "timeout"}),
    "clear_book": ({"symbol"}, set()),
    "seed_book": ({"symbol", "account", "mid", "levels", "spacing", "quantity"}, set()),
    "check": (set(), set()),  # takes an `expect`-shaped mapping: validated separately
    "check_network": ({"expect"}, {"timeout"}),
    "all_trading_pairs": ({"expect"}, {"timeout"}),
}
#: A trading pair as the connector names it (``BTC-USDT``).
PAIR = re.compile(r"[A-Z0-9]+-[A-Z0-9]+")
#: Steps that may be written with a scalar (``advance: 5``): the field it stands for.
SCALAR_STEPS = {"advance": "seconds", "skew": "ms"}
#: The longest duration one field may give (``advance``, a timeout, a stall): a virtual day.
MAX_SECONDS = 86_400
#: `wait: {until: ...}` conditions.
WAIT_UNTIL = {
    "ready",
    "book_synced",
    "user_stream_connected",
    "order_state",
    "event",
    "balance",
    "no_open_orders",
}

EXPECT_FIELDS = {
    "events",
    "no_events",
    "orders",
    "balances",
    "exchange_balances",
    "balances_match_exchange",
    "exchange_orders",
    "book_matches_exchange",
    "requests",
    "ready",
    "errors",
    "connections",
    "market",
    "trading_rules",
    "no_trading_rule",
    "supported_order_types",
    "status",
    "connector_events",
    "no_connector_events",
}
#: ``requests``/``connections``: which traffic is counted.
REQUEST_SURFACES = ("rest", "stream", "ws_api")
CONNECTION_SURFACES = ("stream", "ws_api")
MARKET_FIELDS = {"last_trade_price", "best_bid", "best_ask", "mid_price", "price_for_volume"}
PRICE_FOR_VOLUME_FIELDS = {"side", "volume", "price", "vwap", "filled"}
NETWORK_STATUSES = ("CONNECTED", "NOT_CONNECTED")
ORDER_EXPECT_FIELDS = {
    "state",
    "executed",
    "executed_quote",
    "fee",
    "fills",
    "exchange_id",
    "exchange_status",
    "failed_reason",
}
EVENT_NAMES = {
    "OrderCreated",
    "OrderFilled",
    "OrderCompleted",
    "OrderCancelled",
    "OrderExpired",
    "OrderFailed",
    "OrderAnomaly",
    "BalanceUpdated",
}
ORDER_STATES = {
    "PENDING_CREATE",
    "OPEN",
    "PARTIALLY_FILLED",
    "PENDING_CANCEL",
    "FILLED",
    "CANCELED",
    "EXPIRED",
    "FAILED",
}
SETUP_FIELDS = {"config", "balances", "books", "connector", "clear_books", "faults"}


class ScenarioError(ValueError):
    """A scenario file is malformed. ``str()`` names file, place, field and line."""

    def __init__(self, path: str, where: str, message: str, line: int | None = None) -> None:
        self.path, self.where, self.message, self.line = path, where, message, line
        loc = f"{path}:{line}" if line else path
        super().__init__(f"{loc}: {where}: {message}")


# ----------------------------------------------------------------------------- YAML with lines


class Lines:
    """Line numbers of every node, by path (``("steps", 3, "buy", "amount")``)."""

    def __init__(self) -> None:
        self.by_path: dict[tuple[Any, ...], int] = {}

    def of(self, *path: Any) -> int | None:
        while path:
            if path in self.by_path:
                return self.by_path[path]
            path = path[:-1]
        return self.by_path.get((), None)


_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _to_python(
    node: yaml.Node, path: tuple[Any, ...], lines: Lines, inside: frozenset[int] = frozenset()
) -> Any:
    """The node as plain data (mappings, lists, scalars), recording every node's line.

    Only plain YAML: a tag PyYAML's safe loader cannot build (``!foo``), a tagged
    collection (``!!set``, ``!!omap``), a list or mapping as a key, a merge key (``<<``)
    and an alias inside itself are errors at their line, never a traceback."""
    line = node.start_mark.line + 1
    lines.by_path[path] = line
    where = ".".join(map(str, path)) or "document"
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        plain = _MAP if isinstance(node, yaml.MappingNode) else _SEQ
        if node.tag != plain:
            raise ScenarioError("", where, f"the tag {_tag(node)!r} is not supported: write plain YAML", line)
        if id(node) in inside:
            raise ScenarioError("", where, "an alias refers to a node that contains it", line)
        inside = inside | {id(node)}
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError(
                    "", where, "a key must be a name or a number, not a list or a mapping", key_line
                )
            if key_node.tag == _MERGE:
                raise ScenarioError(
                    "", where, "merge keys ('<<') are not supported: write the fields out", key_line
                )
            key = _scalar(key_node, where)
            if key in out:
                raise ScenarioError(
                    "",
                    ".".join(map(str, (*path, key))) or "document",
                    f"{key!r} is given twice",
                    key_line,
                )
            out[key] = _to_python(value_node, (*path, key), lines, inside)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, (*path, i), lines, inside) for i, v in enumerate(node.value)]
    return _scalar(node, where)


def _tag(node: yaml.Node) -> str:
    return str(node.tag).replace("tag:yaml.org,2002:", "!!")


def _scalar(node: yaml.Node, where: str) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as e:  # a tag the safe loader does not know, such as !foo
        problem = getattr(e, "problem", None) or str(e)
        raise ScenarioError("", where, f"not valid YAML: {problem}", node.start_mark.line + 1) from None
    except Exception:  # a standard tag on a value it does not fit: !!int abc, !!bool maybe
        raise ScenarioError(
            "", where, f"not valid YAML: {node.value!r} is not a valid {_tag(node)}", node.start_mark.line + 1
        ) from None
    finally:
        loader.dispose()


def load_yaml(text: str, path: str) -> tuple[Any, Lines]:
    lines = Lines()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ScenarioError(
            path, "document", f"not valid YAML: {getattr(e, 'problem', e)}", mark.line + 1 if mark else None
        ) from None
    if node is None:
        raise ScenarioError(path, "document", "the file is empty")
    try:
        return _to_python(node, (), lines), lines
    except ScenarioError as e:
        raise ScenarioError(path, e.where, e.message, e.line) from None


# ----------------------------------------------------------------------------- the model


@dataclass
class Step:
    index: int  # 1-based, as a person counts
    kind: str
    #: The step's mapping (scalars such as ``advance: 5`` are normalised during validation).
    args: Any
    line: int | None
    source: str = ""

    @property
    def where(self) -> str:
        return f"step {self.index} ({self.kind})"


@dataclass
class Scenario:
    path: str
    name: str
    description: str
    tags: list[str]
    setup: dict[str, Any]
    steps: list[Step]
    expect: dict[str, Any]
    lines: Lines
    source_lines: list[str] = field(default_factory=list)
    #: For scenarios that test the harness itself: "validate" means loading must fail.
    xfail: str | None = None

    @property
    def id(self) -> str:
        return Path(self.path).name.removesuffix(".scenario.yaml")

    def source_of(self, *path: Any, context: int = 0) -> str:
        line = self.lines.of(*path)
        if not line or not self.source_lines:
            return ""
        lo, hi = max(1, line - context), min(len(self.source_lines), line + context)
        return "\n".join(f"{n:>4} | {self.source_lines[n - 1]}" for n in range(lo, hi + 1))


# ----------------------------------------------------------------------------- validation


class _Checker:
    def __init__(self, path: str, lines: Lines) -> None:
        self.path, self.lines = path, lines
        #: The connector's trading pairs (``setup.connector.trading_pairs``), once known.
        self.trading_pairs: list[str] = ["BTC-USDT"]
        #: The exchange's accounts and symbols, once ``setup`` has been checked.
        self.accounts: list[str] | None = None
        self.symbols: list[str] | None = None

    def fail(self, where: str, message: str, *node_path: Any) -> NoReturn:
        raise ScenarioError(self.path, where, message, self.lines.of(*node_path))

    def mapping(
        self, value: Any, where: str, *node_path: Any, what: str = "", shape: str = "a mapping"
    ) -> dict[str, Any]:
        """``value`` must be a mapping; ``what`` names the field, ``shape`` what it takes."""
        if not isinstance(value, dict):
            self.fail(where, f"{what + ': ' if what else ''}expected {shape}, {_got(value)}", *node_path)
        out: dict[str, Any] = value
        return out

    def fields(
        self,
        value: dict[str, Any],
        allowed: set[str] | frozenset[str],
        where: str,
        *node_path: Any,
        required: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        for key in value:
            if key not in allowed:
                hint = f" (known: {', '.join(sorted(allowed))})" if allowed else ""
                self.fail(where, f"unknown field {key!r}{hint}", *node_path, key)
        for key in sorted(required):
            if key not in value:
                self.fail(where, f"missing required field {key!r}", *node_path)

    # Each value check below names the field as ``label`` (by default the last element
    # of ``node_path``, quoted: ``'amount'``) and reports at that node's line.

    def amount(self, value: Any, where: str, *node_path: Any, label: str = "") -> Decimal:
        """A decimal number, written as a string ("0.01"); a whole number may be bare."""
        label = label or _label(node_path)
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(where, f'{label} must be a decimal string like "0.01", got {value!r}', *node_path)
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or not str(value).strip():
            self.fail(where, f"{label}: {value!r} is not a decimal number", *node_path)
        return number

    def units(self, value: Any, where: str, *node_path: Any, label: str = "") -> None:
        """An amount the mock keeps in 1e-8 units: non-negative, at most 8 decimals."""
        label = label or _label(node_path)
        self.amount(value, where, *node_path, label=label)
        try:
            parse_units(str(value))
        except ValueError:
            self.fail(where, f"{label}: {value!r} is not a non-negative decimal with <= 8 places", *node_path)

    def positive_amount(self, value: Any, where: str, *node_path: Any, label: str = "") -> None:
        label = label or _label(node_path)
        self.units(value, where, *node_path, label=label)
        if Decimal(str(value)) <= 0:
            self.fail(where, f"{label} must be positive, got {value!r}", *node_path)

    def name(self, value: Any, where: str, *node_path: Any, label: str = "") -> str:
        """A name (an order, account, asset, symbol, stream...): a non-empty string."""
        if not (isinstance(value, str) and value.strip()):
            self.fail(
                where, f"{label or _label(node_path)} must be a non-empty string, got {value!r}", *node_path
            )
        out: str = value
        return out

    def pair(self, value: Any, where: str, *node_path: Any, label: str = "") -> str:
        """A trading pair as the connector names it: BASE-QUOTE."""
        label = label or _label(node_path)
        if not (isinstance(value, str) and PAIR.fullmatch(value)):
            self.fail(
                where,
                f"{label}: {value!r} is not a trading pair of the form BASE-QUOTE (e.g. BTC-USDT)",
                *node_path,
            )
        out: str = value
        return out

    def seconds(self, value: Any, where: str, *node_path: Any, label: str = "", zero: bool = False) -> None:
        """A number of (virtual) seconds: an integer or a decimal number, not a string, and
        at most ``MAX_SECONDS`` (a virtual day costs seconds of real time)."""
        label = label or _label(node_path)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
            or (value == 0 and not zero)
        ):
            need = "a number of seconds >= 0" if zero else "a positive number of seconds"
            self.fail(where, f"{label} must be {need}, got {value!r}", *node_path)
        if value > MAX_SECONDS:
            self.fail(
                where,
                f"{label} must be at most {MAX_SECONDS} seconds (a virtual day, about 6 s of real "
                f"time), got {value!r}",
                *node_path,
            )

    def whole(self, value: Any, where: str, *node_path: Any, label: str = "", minimum: int | None = 0) -> int:
        """A whole number (not a string, not a boolean), at least ``minimum``."""
        label = label or _label(node_path)
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            need = "a whole number" + (f" >= {minimum}" if minimum is not None else "")
            self.fail(where, f"{label} must be {need}, got {value!r}", *node_path)
        out: int = value
        return out

    def boolean(self, value: Any, where: str, *node_path: Any, label: str = "") -> None:
        if not isinstance(value, bool):
            self.fail(where, f"{label or _label(node_path)} must be true or false, got {value!r}", *node_path)

    def one_of(self, value: Any, allowed: Iterable[str], where: str, *node_path: Any, label: str = "") -> str:
        allowed = list(allowed)
        if not (isinstance(value, str) and value in allowed):
            self.fail(
                where,
                f"{label or _label(node_path)} must be one of {', '.join(allowed)}, got {value!r}",
                *node_path,
            )
        out: str = value
        return out

    def json(self, value: Any, where: str, *node_path: Any, label: str = "", obj: bool = False) -> None:
        """A JSON value (``obj``: a JSON object) to send as it is."""
        label = label or _label(node_path)
        if obj and not isinstance(value, dict):
            self.fail(
                where, f"{label}: expected a JSON object (a mapping), got {type(value).__name__}", *node_path
            )
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            self.fail(where, f"{label}: not a JSON value ({e})", *node_path)

    def name_list(
        self, value: Any, where: str, *node_path: Any, what: str, shape: str, pairs: bool = False
    ) -> list[str]:
        """A list of names (``pairs``: of trading pairs), each given once."""
        if not isinstance(value, list):
            self.fail(where, f"{what}: expected {shape}, {_got(value)}", *node_path)
        seen: set[str] = set()
        for i, item in enumerate(value):
            at = (*node_path, i)
            (self.pair if pairs else self.name)(item, where, *at, label=f"{what}[{i}]")
            if item in seen:
                self.fail(where, f"{what}[{i}]: {item!r} is given twice", *at)
            seen.add(item)
        out: list[str] = value
        return out


def _label(node_path: tuple[Any, ...]) -> str:
    return repr(node_path[-1]) if node_path else "the value"


def _got(value: Any) -> str:
    """``got list``, or for a scalar ``got str 'OrderFailed'``."""
    scalar = value is None or isinstance(value, str | int | float | bool)
    return f"got {type(value).__name__}" + (f" {value!r}" if scalar else "")


#: A fault's fields the harness reads itself (the rest go to the mock's control API):
#: ``name`` (for ``remove_fault``) and ``may_not_fire`` (no failure if it never fires).
HARNESS_FAULT_FIELDS = frozenset({"name", "may_not_fire"})


def mock_fault_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A scenario's fault as the mock's control API takes it."""
    return {k: v for k, v in spec.items() if k not in HARNESS_FAULT_FIELDS}


def _check_fault(c: _Checker, spec: Any, where: str, *path: Any) -> None:
    """A fault spec (plus the harness's ``name`` and ``may_not_fire``), validated as the
    control API would."""
    spec = c.mapping(spec, where, *path)
    c.fields(spec, {*HARNESS_FAULT_FIELDS, *FAULT_FIELDS}, where, *path)
    if "name" in spec:
        c.name(spec["name"], where, *path, "name")
    if "may_not_fire" in spec:
        c.boolean(spec["may_not_fire"], where, *path, "may_not_fire", label="may_not_fire")
    for key in ("path", "method"):
        if why := _unknown_target(spec.get("surface"), key, spec.get(key)):
            c.fail(where, f"{key}: {why}", *path, key)
    try:
        Fault.from_spec(mock_fault_spec(spec), where="fault")
    except FaultSpecError as e:
        field_name = str(e).split(":")[0].removeprefix("fault.")
        c.fail(where, str(e), *path, field_name)


#: Steps that cannot run while the connector is down (``restart_connector.while_down``).
CONNECTOR_STEPS = {"buy", "sell", "cancel", "cancel_all", "wait", "restart_connector", "check"}
#: What each condition of ``wait`` reads, besides ``until`` and ``timeout``.
WAIT_FIELDS: dict[str, set[str]] = {
    "ready": set(),
    "book_synced": {"pair"},
    "user_stream_connected": set(),
    "order_state": {"order", "state"},
    "event": {"event", "order", "count"},
    "balance": {"asset", "total", "available"},
    "no_open_orders": set(),
}
SOCKET_SURFACES = ("stream", "ws_api", "all")
EXCHANGE_ORDER_TYPES = ("LIMIT", "LIMIT_MAKER", "MARKET")
#: How the value of each step field is checked (a tuple: one of these strings); fields not
#: listed here (``type`` and ``expect_error`` of buy/sell, ``expect``, ``while_down``, the
#: conditions of ``wait``, a fault's fields) are checked by ``_check_step`` itself.
STEP_FIELD_TYPES: dict[str, dict[str, str | tuple[str, ...]]] = {
    "buy": {"order": "name", "pair": "name", "amount": "amount", "price": "amount", "quote_amount": "amount"},
    "cancel": {"order": "name", "expect_error": "bool"},
    "cancel_all": {"timeout": "seconds"},
    "exchange_order": {
        "account": "name",
        "symbol": "name",
        "side": ("BUY", "SELL"),
        "type": EXCHANGE_ORDER_TYPES,
        "quantity": "amount",
        "price": "amount",
        "quote_quantity": "amount",
        "time_in_force": tuple(m.value for m in TimeInForce),
        "client_order_id": "name",
        "as": "name",
        "stp": tuple(m.value for m in STPMode),
    },
    "exchange_cancel": {
        "account": "name",
        "symbol": "name",
        "order_id": "id",
        "client_order_id": "name",
        "order": "name",
    },
    "deposit": {"account": "name", "asset": "name", "amount": "positive_amount"},
    "remove_fault": {"name": "name"},
    "disconnect": {"surface": SOCKET_SURFACES, "stream": "name"},
    "stall": {"seconds": "seconds", "surface": SOCKET_SURFACES, "stream": "name"},
    "shutdown_notice": {"surface": SOCKET_SURFACES},
    "terminate_user_stream": {"account": "name"},
    "inject_user_event": {"payload": "json_object", "account": "name"},
    "inject_stream": {"stream": "name", "payload": "json"},
    "skew": {"ms": "ms"},
    "advance": {"seconds": "seconds"},
    "wait": {
        "order": "name",
        "count": "count",
        "pair": "pair",
        "asset": "name",
        "total": "amount",
        "available": "amount",
        "timeout": "seconds",
    },
    "restart_connector": {"down_for": "seconds_or_zero", "timeout": "seconds"},
    "clear_book": {"symbol": "name"},
    "seed_book": {
        "symbol": "name",
        "account": "name",
        "mid": "units",
        "levels": "count",
        "spacing": "units",
        "quantity": "units",
    },
    "check_network": {"timeout": "seconds"},
    "all_trading_pairs": {"timeout": "seconds"},
}
#: Steps whose ``account`` / ``symbol`` name one of the exchange's (setup makes them known).
EXCHANGE_NAME_STEPS = {
    "exchange_order",
    "exchange_cancel",
    "deposit",
    "withdraw",
    "terminate_user_stream",
    "inject_user_event",
    "clear_book",
    "seed_book",
}
STEP_FIELD_TYPES["sell"] = STEP_FIELD_TYPES["buy"]
STEP_FIELD_TYPES["withdraw"] = STEP_FIELD_TYPES["deposit"]


def _check_value(c: _Checker, kind: str | tuple[str, ...], value: Any, where: str, *path: Any) -> None:
    if isinstance(kind, tuple):
        c.one_of(value, kind, where, *path)
    elif kind == "name":
        c.name(value, where, *path)
    elif kind == "pair":
        c.pair(value, where, *path)
    elif kind == "amount":
        c.amount(value, where, *path)
    elif kind == "units":
        c.units(value, where, *path)
    elif kind == "positive_amount":
        c.positive_amount(value, where, *path)
    elif kind == "seconds":
        c.seconds(value, where, *path)
    elif kind == "seconds_or_zero":
        c.seconds(value, where, *path, zero=True)
    elif kind in ("count", "id"):
        c.whole(value, where, *path, minimum=1)
    elif kind == "ms":
        ms = c.whole(value, where, *path, label="'ms' (milliseconds)", minimum=None)
        if abs(ms) > MAX_SECONDS * 1000:
            c.fail(where, f"'ms' must be at most {MAX_SECONDS * 1000} (a day) either way, got {ms}", *path)
    elif kind == "bool":
        c.boolean(value, where, *path)
    elif kind == "json":
        c.json(value, where, *path)
    elif kind == "json_object":
        c.json(value, where, *path, obj=True)
    else:  # pragma: no cover - a mistake in the table above
        raise AssertionError(kind)


def _check_step(c: _Checker, step: Step, where: str = "", path: tuple[Any, ...] = ()) -> None:
    """One step: its fields, each field's value, and what the step needs together.
    ``where``/``path`` place a step nested in ``restart_connector.while_down``."""
    where = where or step.where
    path = path or ("steps", step.index - 1, step.kind)
    if step.kind == "check":
        check = c.mapping(
            step.args, where, *path, what="check", shape="a mapping of expectations (as in expect)"
        )
        if not check:
            c.fail(where, "check: name at least one expectation (the fields of expect)", *path)
        _check_expect(c, check, where, *path)
        return
    if step.kind in SCALAR_STEPS and not isinstance(step.args, dict):  # `advance: 5`
        step.args = {SCALAR_STEPS[step.kind]: step.args}
    args = c.mapping(step.args, where, *path)
    required, optional = STEP_FIELDS[step.kind]
    c.fields(args, required | optional, where, *path, required=required)
    for key, kind in STEP_FIELD_TYPES.get(step.kind, {}).items():
        if key in args:
            _check_value(c, kind, args[key], where, *path, key)
    if step.kind in EXCHANGE_NAME_STEPS:
        if c.accounts is not None and "account" in args and args["account"] not in c.accounts:
            c.fail(
                where,
                f"'account': no account named {args['account']!r} (accounts: {', '.join(c.accounts)})",
                *path,
                "account",
            )
        if c.symbols is not None and "symbol" in args and args["symbol"] not in c.symbols:
            c.fail(
                where,
                f"'symbol': unknown symbol {args['symbol']!r} (symbols: {', '.join(c.symbols)})",
                *path,
                "symbol",
            )
    if step.kind in ("buy", "sell"):
        if not (isinstance(args["type"], str) and args["type"] in EXCHANGE_ORDER_TYPES):
            c.fail(where, f"'type' must be LIMIT, LIMIT_MAKER or MARKET, got {args['type']!r}", *path, "type")
        if args["type"] != "MARKET" and "price" not in args:
            c.fail(where, f"a {args['type']} order needs a 'price'", *path)
        if "amount" not in args and "quote_amount" not in args:
            c.fail(where, "give 'amount' (base) or 'quote_amount' (MARKET by quote)", *path)
        if "amount" in args and "quote_amount" in args:
            c.fail(where, "give either 'amount' (base) or 'quote_amount' (MARKET by quote), not both", *path)
        if "expect_error" in args and not (
            args["expect_error"] is True or (isinstance(args["expect_error"], str) and args["expect_error"])
        ):
            c.fail(
                where,
                "'expect_error' must be the reason the connector refuses the order (e.g. "
                f"BELOW_MIN_NOTIONAL) or true for any reason, got {args['expect_error']!r}",
                *path,
                "expect_error",
            )
    if step.kind == "exchange_cancel":
        given = [key for key in ("order_id", "client_order_id", "order") if key in args]
        if len(given) != 1:
            c.fail(
                where,
                "give exactly one of 'order_id', 'client_order_id' or 'order' (a name)"
                + (f", got {' and '.join(map(repr, given))}" if given else ""),
                *path,
            )
    if step.kind == "fault":
        _check_fault(c, args, where, *path)
    if step.kind == "cancel_all" and "expect" in args:
        want = c.mapping(
            args["expect"],
            where,
            *path,
            "expect",
            what="expect",
            shape="a mapping of order name to whether its cancel succeeds, e.g. {o1: true, o2: false}",
        )
        for alias, ok in want.items():
            c.name(alias, where, *path, "expect", alias, label="an order name")
            c.boolean(ok, where, *path, "expect", alias, label=f"expect.{alias}")
    if step.kind == "check_network" and args["expect"] not in NETWORK_STATUSES:
        c.fail(
            where,
            f"'expect' must be one of {', '.join(NETWORK_STATUSES)}, got {args['expect']!r}",
            *path,
            "expect",
        )
    if step.kind == "all_trading_pairs":
        if not isinstance(args["expect"], list):
            c.fail(
                where, "'expect' must be a list of trading pairs, e.g. [BTC-USDT, ETH-USDT]", *path, "expect"
            )
        c.name_list(args["expect"], where, *path, "expect", what="expect", shape="a list", pairs=True)
    if step.kind == "restart_connector" and "while_down" in args:
        inner = args["while_down"]
        if not isinstance(inner, list):
            c.fail(where, "'while_down' must be a list of steps", *path, "while_down")
        parsed = []
        for j, raw in enumerate(inner):
            sub_where = f"{where} while_down[{j + 1}]"
            if isinstance(raw, str) and raw in STEP_FIELDS:
                raw = {raw: {}}
            if not isinstance(raw, dict) or len(raw) != 1:
                c.fail(sub_where, "each step is a mapping with exactly one key", *path, "while_down", j)
            ((sub_kind, sub_args),) = raw.items()
            if sub_kind not in STEP_FIELDS or sub_kind in CONNECTOR_STEPS:
                c.fail(
                    sub_where,
                    f"{sub_kind!r} cannot run while the connector is down (exchange-side steps "
                    "only: exchange_order, exchange_cancel, deposit, withdraw, fault, advance, ...)",
                    *path,
                    "while_down",
                    j,
                )
            sub = Step(
                step.index,
                sub_kind,
                sub_args if sub_args is not None else {},
                c.lines.of(*path, "while_down", j),
            )
            _check_step(c, sub, sub_where, (*path, "while_down", j, sub_kind))
            parsed.append(sub)
        args["while_down_steps"] = parsed
    if step.kind == "wait":
        _check_wait(c, args, where, *path)


def _check_wait(c: _Checker, args: dict[str, Any], where: str, *path: Any) -> None:
    until = args.get("until")
    if until is None:
        until = args["until"] = (
            "order_state"
            if "state" in args
            else "event"
            if "event" in args
            else "balance"
            if "asset" in args
            else None
        )
    if not (isinstance(until, str) and until in WAIT_UNTIL):
        c.fail(
            where,
            f"'until' must be one of {', '.join(sorted(WAIT_UNTIL))} (or give order+state, "
            f"event, or asset), got {until!r}",
            *path,
        )
    if until == "order_state" and (
        "order" not in args or not (isinstance(args.get("state"), str) and args["state"] in ORDER_STATES)
    ):
        c.fail(
            where,
            f"waiting for an order state needs 'order' and a 'state' in {sorted(ORDER_STATES)}"
            + (f", got state {args['state']!r}" if "state" in args else ""),
            *path,
        )
    if until == "event" and not (isinstance(args.get("event"), str) and args["event"] in EVENT_NAMES):
        c.fail(where, f"'event' must be one of {', '.join(sorted(EVENT_NAMES))}", *path, "event")
    if until == "balance" and not ("asset" in args and ("total" in args or "available" in args)):
        c.fail(where, "waiting for a balance needs 'asset' and 'total' and/or 'available'", *path)
    pair = args.get("pair", DEFAULT_PAIRS[0])
    if until == "book_synced" and pair not in c.trading_pairs:
        c.fail(
            where,
            f"'pair': {pair!r} is not one of the connector's trading pairs ({', '.join(c.trading_pairs)}; "
            "set them in setup.connector.trading_pairs)",
            *path,
            "pair",
        )
    takes = WAIT_FIELDS[until]
    for key in args:
        if key not in takes | {"until", "timeout"}:
            c.fail(
                where,
                f"{key!r} does not apply when waiting for {until} (it reads "
                + (", ".join(repr(k) for k in sorted(takes)) + " and " if takes else "")
                + "'timeout')",
                *path,
                key,
            )


#: What each expectation takes, for "expected ..." messages.
EXPECT_SHAPES = {
    "events": "a mapping of order name to its events, e.g. {o1: [OrderCreated, OrderCompleted]}",
    "no_events": "a list of event names, e.g. [OrderFailed]",
    "orders": "a mapping of order name to fields, e.g. {o1: {state: FILLED}}",
    "balances": 'a mapping of asset to {total, available}, e.g. {BTC: {total: "1"}}',
    "exchange_balances": 'a mapping of account to assets, e.g. {trader: {BTC: {free: "1", locked: "0"}}}',
    "exchange_orders": "a mapping of account to symbols, e.g. {trader: {BTCUSDT: {open: 1, total: 1}}}",
    "book_matches_exchange": "a trading pair or a list of them, e.g. BTC-USDT",
    "errors": "a mapping of order name to the reason it was refused, e.g. {o1: BELOW_MIN_NOTIONAL}",
    "requests": "a list of {method, path, count|min|max}",
    "connections": "a list of {surface, count|min|max}",
    "market": 'a mapping of trading pair to fields, e.g. {BTC-USDT: {best_bid: "59995"}}',
    "trading_rules": 'a mapping of trading pair to rule fields, e.g. {BTC-USDT: {min_order_size: "0.00001"}}',
    "no_trading_rule": "a list of trading pairs, e.g. [BNB-USDT]",
    "supported_order_types": "a list of names, e.g. [LIMIT, MARKET]",
    "status": "a mapping of status part to true or false, e.g. {user_stream_initialized: true}",
}
#: Expectations that compare nothing when empty (``events: {o1: []}`` does check: no events).
CHECKS_NOTHING_WHEN_EMPTY = (
    "events",
    "orders",
    "balances",
    "exchange_balances",
    "exchange_orders",
    "errors",
    "requests",
    "connections",
    "market",
    "trading_rules",
    "no_trading_rule",
    "status",
)
#: ``balances``, ``exchange_balances`` and ``exchange_orders``: what the runner compares.
BALANCE_FIELDS = frozenset({"total", "available"})
EXCHANGE_BALANCE_FIELDS = frozenset({"free", "locked"})
EXCHANGE_ORDER_COUNTS = frozenset({"open", "total"})
#: An order's status on the exchange (``orders.<name>.exchange_status``).
EXCHANGE_STATUSES = tuple(m.value for m in OrderStatus)
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")
#: What a ``requests`` entry or a fault can match: the REST paths the mock answers (Binance's
#: ``/api/v3`` endpoints, modelled or not), the WS API methods and the stream control methods.
REST_PATHS = tuple(sorted({e.path for e in all_endpoints()} | {path for _, path in UNMODELLED}))
WS_API_METHODS = tuple(
    sorted(
        {e.ws_method for e in all_endpoints() if e.ws_method} | set(SESSION_METHODS) | UNMODELLED_WS_METHODS
    )
)


def _never_matches(pattern: str, known: Iterable[str], what: str) -> str | None:
    """Why a glob matches none of ``known`` (None if it matches one): with the nearest
    names, so a typo reads as one."""
    names = list(known)
    if any(fnmatch.fnmatchcase(n, pattern) for n in names):
        return None
    by_lower = {n.lower(): n for n in names}  # a wrong case is the nearest of all
    near = [by_lower[n] for n in difflib.get_close_matches(pattern.lower(), list(by_lower), n=3)]
    hint = f"did you mean {' or '.join(near)}?" if near else f"e.g. {names[0]}"
    return f"{pattern!r} never matches: it matches no {what} ({hint})"


def _unknown_target(surface: Any, key: str, value: Any) -> str | None:
    """Why a ``requests`` entry's or a fault's ``path``/``method`` on ``surface`` names
    nothing the exchange has (a typo), or None. A REST path outside ``/api/v3`` (``/sapi/*``,
    an old ``/api/v1``) is taken as meant: "the connector never calls it" is a real check.
    WS API methods may carry the ``v3/`` prefix the API accepts."""
    if not isinstance(value, str):
        return None
    if surface == "rest" and key == "path":
        literal = re.split(r"[*?\[]", value, maxsplit=1)[0]
        if not literal.startswith("/api/v3/") and literal != "/api/v3":
            return None
        return _never_matches(value, REST_PATHS, "/api/v3 path the exchange serves")
    if surface == "ws_api" and key == "method":
        return _never_matches(value.removeprefix("v3/"), WS_API_METHODS, "WS API method")
    if surface == "stream" and key == "method":  # case matters: Binance refuses "subscribe"
        return _never_matches(value, CONTROL_METHODS, "stream control method")
    return None


def _named(c: _Checker, value: Any, where: str, what: str, *path: Any) -> dict[str, Any]:
    """An expectation keyed by names (orders, assets, accounts, symbols): a mapping whose
    keys are names."""
    out = c.mapping(value, where, *path, what=what, shape=EXPECT_SHAPES.get(what, "a mapping"))
    for key in out:
        if not (isinstance(key, str) and key.strip()):
            c.fail(where, f"{what}: the key {key!r} must be a name (a non-empty string)", *path, key)
    return out


def _per_account(
    c: _Checker, exp: dict[str, Any], key: str, kind: str, shape: str, where: str, *path: Any
) -> Iterator[tuple[str, tuple[Any, ...], str, Any]]:
    """``exchange_balances``/``exchange_orders``: account -> {name: value}. Checks the
    shapes and yields ``(what, at, name, value)`` for each named ``kind`` (asset, symbol)."""
    for account, entries in _named(c, exp[key], where, key, *path, key).items():
        at = (*path, key, account)
        what = f"{key}.{account}"
        entries = c.mapping(entries, where, *at, what=what, shape=shape)
        if not entries:
            c.fail(where, f"{what}: name at least one {kind}", *at)
        for name, value in entries.items():
            if not (isinstance(name, str) and name.strip()):
                c.fail(where, f"{what}: the key {name!r} must be a name (a non-empty string)", *at, name)
            yield what, at, name, value


def _check_expect(c: _Checker, expect: Any, where: str, *path: Any) -> None:
    """An ``expect`` mapping (also a ``check`` step's): each expectation's shape, and every
    field inside it one the runner compares."""
    exp = c.mapping(expect, where, *path)
    c.fields(exp, EXPECT_FIELDS, where, *path)
    for key in CHECKS_NOTHING_WHEN_EMPTY:
        if key in exp and exp[key] in ({}, []):
            c.fail(
                where,
                f"{key}: empty, so it checks nothing and always passes; name what it should "
                "check, or leave it out",
                *path,
                key,
            )
    known_events = ", ".join(sorted(EVENT_NAMES))
    if "events" in exp:
        for alias, names in _named(c, exp["events"], where, "events", *path, "events").items():
            at = (*path, "events", alias)
            if not isinstance(names, list):
                c.fail(where, f"events.{alias}: expected a list of event names, {_got(names)}", *at)
            if names and all(name == "..." for name in names):
                c.fail(
                    where,
                    f"events.{alias}: '...' alone matches any events; name at least one event "
                    "(an empty list expects none)",
                    *at,
                )
            for i, name in enumerate(names):
                if not (isinstance(name, str) and (name in EVENT_NAMES or name == "...")):
                    c.fail(
                        where, f"events.{alias}[{i}]: unknown event {name!r} (known: {known_events})", *at, i
                    )
    if "no_events" in exp:
        no_events = exp["no_events"]
        if not isinstance(no_events, list) or not no_events:
            got = "got an empty list, which checks nothing" if no_events == [] else _got(no_events)
            c.fail(
                where,
                f"no_events: expected {EXPECT_SHAPES['no_events']}, {got}",
                *path,
                "no_events",
            )
        for i, name in enumerate(no_events):
            if not (isinstance(name, str) and name in EVENT_NAMES):
                c.fail(
                    where,
                    f"no_events[{i}]: unknown event {name!r} (known: {known_events})",
                    *path,
                    "no_events",
                    i,
                )
    if "orders" in exp:
        for alias, want in _named(c, exp["orders"], where, "orders", *path, "orders").items():
            at = (*path, "orders", alias)
            want = c.mapping(
                want, where, *at, what=f"orders.{alias}", shape="a mapping of fields, e.g. {state: FILLED}"
            )
            c.fields(want, ORDER_EXPECT_FIELDS, f"{where} orders.{alias}", *at)
            if not want:
                c.fail(where, f"orders.{alias}: name at least one field (e.g. state)", *at)
            _check_order_fields(c, want, alias, where, *at)
    if "balances" in exp:
        for asset, want in _named(c, exp["balances"], where, "balances", *path, "balances").items():
            _check_amounts(c, want, BALANCE_FIELDS, f"balances.{asset}", where, *path, "balances", asset)
    if "balances_match_exchange" in exp and exp["balances_match_exchange"] is not True:
        c.fail(
            where,
            "balances_match_exchange: expected true (leave it out not to compare), "
            f"got {exp['balances_match_exchange']!r}",
            *path,
            "balances_match_exchange",
        )
    if "exchange_balances" in exp:
        shape = 'a mapping of asset to {free, locked}, e.g. {BTC: {free: "1"}}'
        for what, at, asset, want in _per_account(c, exp, "exchange_balances", "asset", shape, where, *path):
            _check_amounts(c, want, EXCHANGE_BALANCE_FIELDS, f"{what}.{asset}", where, *at, asset)
    if "exchange_orders" in exp:
        shape = "a mapping of symbol to {open, total}, e.g. {BTCUSDT: {open: 1}}"
        for what, at, symbol, counts in _per_account(
            c, exp, "exchange_orders", "symbol", shape, where, *path
        ):
            sat = (*at, symbol)
            counts = c.mapping(
                counts,
                where,
                *sat,
                what=f"{what}.{symbol}",
                shape="{open, total}, e.g. {open: 1, total: 2}",
            )
            c.fields(counts, EXCHANGE_ORDER_COUNTS, f"{where} {what}.{symbol}", *sat)
            if not counts:
                c.fail(where, f"{what}.{symbol}: give 'open' and/or 'total'", *sat)
            for key, value in counts.items():
                c.whole(value, where, *sat, key, label=f"{what}.{symbol}.{key}")
    if "book_matches_exchange" in exp:
        pairs = exp["book_matches_exchange"]
        at = (*path, "book_matches_exchange")
        if isinstance(pairs, str):
            c.pair(pairs, where, *at, label="book_matches_exchange")
        elif isinstance(pairs, list) and pairs:
            c.name_list(pairs, where, *at, what="book_matches_exchange", shape="", pairs=True)
        else:
            c.fail(
                where,
                f"book_matches_exchange: expected {EXPECT_SHAPES['book_matches_exchange']}, {_got(pairs)}",
                *at,
            )
    if "errors" in exp:
        for alias, reason in _named(c, exp["errors"], where, "errors", *path, "errors").items():
            if not (isinstance(reason, str) and reason.strip()):
                c.fail(
                    where,
                    f"errors.{alias}: expected the reason the connector refused the order "
                    f"(e.g. BELOW_MIN_NOTIONAL), got {reason!r}",
                    *path,
                    "errors",
                    alias,
                )
    if "ready" in exp:
        c.boolean(exp["ready"], where, *path, "ready", label="ready")
    for key in ("requests", "connections"):
        if key in exp and not isinstance(exp[key], list):
            c.fail(where, f"{key}: expected {EXPECT_SHAPES[key]}, {_got(exp[key])}", *path, key)
    for i, req in enumerate(exp.get("requests", [])):
        at = (*path, "requests", i)
        req = c.mapping(req, f"{where} requests[{i}]", *at)
        c.fields(req, {"method", "path", "count", "min", "max", "surface"}, f"{where} requests[{i}]", *at)
        surface = req.get("surface", "rest")
        if not (isinstance(surface, str) and surface in REQUEST_SURFACES):
            c.fail(
                where,
                f"requests[{i}].surface: must be one of {', '.join(REQUEST_SURFACES)}, got {surface!r}",
                *at,
                "surface",
            )
        if surface != "rest" and "path" in req:
            c.fail(
                where,
                f"requests[{i}].path: a {surface} frame has no path; match its JSON 'method' "
                "(e.g. SUBSCRIBE, order.place)",
                *at,
                "path",
            )
        for key in ("method", "path"):
            if key in req and not (isinstance(req[key], str) and req[key]):
                c.fail(where, f"requests[{i}].{key}: expected a non-empty string", *at, key)
        if (
            surface == "rest"
            and "method" in req
            and not any(fnmatch.fnmatchcase(m, req["method"].upper()) for m in HTTP_METHODS)
        ):
            c.fail(
                where,
                f"requests[{i}].method: {req['method']!r} never matches: it matches no HTTP method "
                f"({', '.join(HTTP_METHODS)}; a glob, any case)",
                *at,
                "method",
            )
        if surface == "rest" and "path" in req and not req["path"].startswith(("/", "*", "?", "[")):
            c.fail(
                where,
                f"requests[{i}].path: {req['path']!r} never matches: a path starts with '/' "
                "(e.g. /api/v3/order)",
                *at,
                "path",
            )
        for key in ("path", "method"):
            if why := _unknown_target(surface, key, req.get(key)):
                c.fail(where, f"requests[{i}].{key}: {why}", *at, key)
        _check_counts(c, req, f"requests[{i}]", where, *at)
    for i, conn in enumerate(exp.get("connections", [])):
        at = (*path, "connections", i)
        conn = c.mapping(conn, f"{where} connections[{i}]", *at)
        c.fields(
            conn, {"surface", "count", "min", "max"}, f"{where} connections[{i}]", *at, required={"surface"}
        )
        if not (isinstance(conn["surface"], str) and conn["surface"] in CONNECTION_SURFACES):
            c.fail(
                where,
                f"connections[{i}].surface: must be one of {', '.join(CONNECTION_SURFACES)}, "
                f"got {conn['surface']!r}",
                *at,
                "surface",
            )
        _check_counts(c, conn, f"connections[{i}]", where, *at)
    if "market" in exp:
        _check_market(c, exp["market"], where, *path, "market")
    if "trading_rules" in exp:
        for pair, want in _named(
            c, exp["trading_rules"], where, "trading_rules", *path, "trading_rules"
        ).items():
            c.pair(pair, where, *path, "trading_rules", pair, label="trading_rules")
            want = c.mapping(want, f"{where} trading_rules.{pair}", *path, "trading_rules", pair)
            if not want:
                c.fail(
                    where, f"trading_rules.{pair}: name at least one rule field", *path, "trading_rules", pair
                )
            for key, value in want.items():
                at = (*path, "trading_rules", pair, key)
                if value is None or isinstance(value, bool):
                    continue
                c.amount(value, f"{where} trading_rules.{pair}", *at)
    if "no_trading_rule" in exp:
        c.name_list(
            exp["no_trading_rule"],
            where,
            *path,
            "no_trading_rule",
            what="no_trading_rule",
            shape=EXPECT_SHAPES["no_trading_rule"],
            pairs=True,
        )
    if "supported_order_types" in exp:
        c.name_list(
            exp["supported_order_types"],
            where,
            *path,
            "supported_order_types",
            what="supported_order_types",
            shape=EXPECT_SHAPES["supported_order_types"],
        )
    if "status" in exp:
        for key, value in _named(c, exp["status"], where, "status", *path, "status").items():
            if not isinstance(value, bool):
                c.fail(where, f"status.{key}: expected true or false, got {value!r}", *path, "status", key)
    for key in ("connector_events", "no_connector_events"):
        if key in exp:
            _check_connector_events(c, exp[key], key, where, *path, key)


def _check_order_fields(c: _Checker, want: dict[str, Any], alias: str, where: str, *at: Any) -> None:
    """``orders.<name>``: the connector's view of one order."""
    what = f"orders.{alias}"
    if "state" in want and not (isinstance(want["state"], str) and want["state"] in ORDER_STATES):
        c.fail(
            where,
            f"{what}.state: must be one of {', '.join(sorted(ORDER_STATES))}, got {want['state']!r}",
            *at,
            "state",
        )
    for key in ("executed", "executed_quote"):
        if key in want:
            c.amount(want[key], where, *at, key, label=f"{what}.{key}")
    if "fills" in want:
        c.whole(want["fills"], where, *at, "fills", label=f"{what}.fills")
    if "fee" in want:
        fee = c.mapping(
            want["fee"],
            where,
            *at,
            "fee",
            what=f"{what}.fee",
            shape='a mapping of asset to amount, e.g. {BTC: "0.00001"} ({} for none)',
        )
        for asset, amount in fee.items():
            if not (isinstance(asset, str) and asset.strip()):
                c.fail(where, f"{what}.fee: the key {asset!r} must be an asset name", *at, "fee", asset)
            c.amount(amount, where, *at, "fee", asset, label=f"{what}.fee.{asset}")
    if "exchange_id" in want:
        value = want["exchange_id"]
        if not (
            (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
            or (isinstance(value, str) and value.isdigit())
        ):
            c.fail(
                where,
                f"{what}.exchange_id: expected the exchange's order id, a whole number such as 41, "
                f"got {value!r}",
                *at,
                "exchange_id",
            )
    if "exchange_status" in want:
        c.one_of(
            want["exchange_status"],
            EXCHANGE_STATUSES,
            where,
            *at,
            "exchange_status",
            label=f"{what}.exchange_status",
        )
    if "failed_reason" in want:
        c.name(want["failed_reason"], where, *at, "failed_reason", label=f"{what}.failed_reason")


def _check_amounts(c: _Checker, want: Any, allowed: frozenset[str], what: str, where: str, *at: Any) -> None:
    """A balance to compare: some of ``allowed`` (total/available, free/locked), decimals."""
    fields = " and/or ".join(repr(k) for k in sorted(allowed, reverse=allowed == BALANCE_FIELDS))
    shape = "{" + ", ".join(sorted(allowed, reverse=allowed == BALANCE_FIELDS)) + "}"
    want = c.mapping(want, where, *at, what=what, shape=f'{shape}, e.g. {{{sorted(allowed)[0]}: "1"}}')
    c.fields(want, allowed, f"{where} {what}", *at)
    if not want:
        c.fail(where, f"{what}: give {fields}", *at)
    for key, value in want.items():
        c.amount(value, where, *at, key, label=f"{what}.{key}")


def _check_counts(c: _Checker, spec: dict[str, Any], name: str, where: str, *path: Any) -> None:
    for key in ("count", "min", "max"):
        if key in spec and not (
            isinstance(spec[key], int) and not isinstance(spec[key], bool) and spec[key] >= 0
        ):
            c.fail(where, f"{name}.{key}: expected a whole number >= 0, got {spec[key]!r}", *path, key)
    if not {"count", "min", "max"} & set(spec):
        c.fail(where, f"{name}: give 'count', or 'min' and/or 'max' (without them it checks nothing)", *path)
    if "count" in spec and ("min" in spec or "max" in spec):
        c.fail(where, f"{name}: give 'count', or 'min' and/or 'max', not both", *path)
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        c.fail(where, f"{name}: 'min' ({spec['min']}) is above 'max' ({spec['max']})", *path, "min")
    if spec.get("min") == 0 and "max" not in spec:
        c.fail(where, f"{name}: 'min: 0' alone checks nothing (any count is at least 0)", *path, "min")


def _check_market(c: _Checker, market: Any, where: str, *path: Any) -> None:
    for pair, want in _named(c, market, where, "market", *path).items():
        at = (*path, pair)
        c.pair(pair, where, *at, label="market")
        sub = f"{where} market.{pair}"
        want = c.mapping(want, sub, *at)
        c.fields(want, MARKET_FIELDS, sub, *at)
        if not want:
            c.fail(where, f"market.{pair}: name at least one field", *at)
        for key, value in want.items():
            if key == "price_for_volume":
                if isinstance(value, list) and not value:
                    c.fail(sub, "'price_for_volume': give a query or a list of them", *at, key)
                queries = value if isinstance(value, list) else [value]
                for j, query in enumerate(queries):
                    qat = (*at, key, j) if isinstance(value, list) else (*at, key)
                    qwhere = f"{sub}.price_for_volume" + (f"[{j}]" if isinstance(value, list) else "")
                    query = c.mapping(query, qwhere, *qat)
                    c.fields(query, PRICE_FOR_VOLUME_FIELDS, qwhere, *qat, required={"side", "volume"})
                    if query["side"] not in ("buy", "sell"):
                        c.fail(qwhere, f"'side' must be buy or sell, got {query['side']!r}", *qat, "side")
                    if c.amount(query["volume"], qwhere, *qat, "volume") <= 0:
                        c.fail(qwhere, "'volume' must be positive", *qat, "volume")
                    if not {"price", "vwap", "filled"} & set(query):
                        c.fail(qwhere, "give what to check: 'price', 'vwap' and/or 'filled'", *qat)
                    for k in ("price", "vwap", "filled"):
                        if query.get(k) is not None:
                            c.amount(query[k], qwhere, *qat, k)
            elif value is not None:
                c.amount(value, sub, *at, key)


def _check_connector_events(c: _Checker, events: Any, name: str, where: str, *path: Any) -> None:
    if not isinstance(events, list) or not events:
        c.fail(
            where,
            f"{name}: expected a list of events, e.g. "
            "[{name: StreamStatusChanged, stream: user_stream, connected: false}]",
            *path,
        )
    for i, event in enumerate(events):
        at = (*path, i)
        if isinstance(event, str) and event:
            continue
        event = c.mapping(event, f"{where} {name}[{i}]", *at)
        if not (isinstance(event.get("name"), str) and event["name"]):
            c.fail(where, f"{name}[{i}]: needs the event's 'name'", *at)
        for key, value in event.items():
            if isinstance(value, float):
                c.fail(
                    where,
                    f'{name}[{i}].{key}: write numbers as strings ("{value}"): they are compared exactly',
                    *at,
                    key,
                )
            if not (value is None or isinstance(value, str | int | bool)):
                c.fail(where, f"{name}[{i}].{key}: expected a scalar, got {value!r}", *at, key)
            if isinstance(value, str) and value.lower() in ("true", "false"):
                c.fail(
                    where,
                    f"{name}[{i}].{key}: write {value.lower()} (a boolean), not the string {value!r}: "
                    "a string never equals a boolean field",
                    *at,
                    key,
                )


#: ``setup.books.<symbol>``: a book the market maker rests (the mock's ``books`` entry).
BOOK_FIELDS = frozenset({"account", "mid", "levels", "spacing", "quantity"})
#: ``setup.connector`` options the harness itself reads; the rest are the driver's.
HARNESS_OPTIONS = frozenset({"trading_pairs", "wait_ready"})
#: The connector's pairs unless ``setup.connector.trading_pairs`` says otherwise, and the
#: account it trades as (the runner's defaults).
DEFAULT_PAIRS = ["BTC-USDT"]
TRADER = "trader"
#: Every run starts at the same instant (and so does the trial build of its exchange).
START_US = 1_780_000_000_000_000


@functools.cache
def _default_config() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("mock_exchange").joinpath("default_config.yaml").read_text()
    )
    return raw


def default_config() -> dict[str, Any]:
    """The mock's default configuration as parsed YAML (a fresh copy)."""
    return copy.deepcopy(_default_config())


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in override.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _check_setup(c: _Checker, raw: Any) -> dict[str, Any]:
    """``setup``: the shape of each part, then the mock configuration it makes."""
    setup = c.mapping({} if raw is None else raw, "setup", "setup")
    c.fields(setup, SETUP_FIELDS, "setup", "setup")
    for key in [k for k, v in setup.items() if v is None]:  # `balances:` with nothing after it
        del setup[key]
    if "config" in setup:
        c.mapping(
            setup["config"],
            "setup",
            "setup",
            "config",
            what="config",
            shape="a mapping of mock configuration sections (README: Configuration)",
        )
    faults = setup.get("faults", [])
    if not isinstance(faults, list):
        c.fail("setup", "'faults' must be a list of fault specs", "setup", "faults")
    names: set[str] = set()
    for i, spec in enumerate(faults):
        _check_fault(c, spec, f"setup.faults[{i}]", "setup", "faults", i)
        if "name" in spec:
            if spec["name"] in names:
                c.fail(
                    f"setup.faults[{i}]", f"fault name {spec['name']!r} is used twice", "setup", "faults", i
                )
            names.add(spec["name"])
    if "balances" in setup:
        accounts = c.mapping(
            setup["balances"],
            "setup",
            "setup",
            "balances",
            what="balances",
            shape='a mapping of account to its balances, e.g. {trader: {BTC: "1", USDT: "1000"}}',
        )
        for account, assets in accounts.items():
            at = ("setup", "balances", account)
            where = f"setup.balances.{account}"
            c.name(account, "setup", *at, label="balances: an account")
            assets = c.mapping(assets, where, *at, shape='a mapping of asset to amount, e.g. {BTC: "1"}')
            for asset, amount in assets.items():
                c.name(asset, where, *at, asset, label="an asset")
                c.units(amount, where, *at, asset)
    if "books" in setup:
        books = c.mapping(
            setup["books"],
            "setup",
            "setup",
            "books",
            what="books",
            shape='a mapping of symbol to its book, e.g. {BTCUSDT: {account: market-maker, mid: "60000", '
            'levels: 5, spacing: "10", quantity: "0.5"}}',
        )
        for symbol, book in books.items():
            at = ("setup", "books", symbol)
            where = f"setup.books.{symbol}"
            c.name(symbol, "setup", *at, label="books: a symbol")
            book = c.mapping(book, where, *at, shape="{account, mid, levels, spacing, quantity}")
            c.fields(book, BOOK_FIELDS, where, *at, required=BOOK_FIELDS - {"levels"})
            c.name(book["account"], where, *at, "account")
            for key in ("mid", "spacing", "quantity"):
                c.units(book[key], where, *at, key)
            if "levels" in book:
                c.whole(book["levels"], where, *at, "levels")
    if "clear_books" in setup and setup["clear_books"] is not True:
        c.name_list(
            setup["clear_books"],
            "setup",
            "setup",
            "clear_books",
            what="clear_books",
            shape="a list of symbols, e.g. [ETHBTC] (or true: every book)",
        )
    if "connector" in setup:
        options = c.mapping(
            setup["connector"],
            "setup",
            "setup",
            "connector",
            what="connector",
            shape="a mapping of connector options, e.g. {trading_pairs: [BTC-USDT], wait_ready: true}",
        )
        options_at: tuple[Any, ...] = ("setup", "connector")
        if "trading_pairs" in options:
            c.name_list(
                options["trading_pairs"],
                "setup.connector",
                *options_at,
                "trading_pairs",
                what="trading_pairs",
                shape="a list of trading pairs, e.g. [BTC-USDT, ETH-USDT]",
                pairs=True,
            )
        if "wait_ready" in options:
            c.boolean(options["wait_ready"], "setup.connector", *options_at, "wait_ready")
        for key, value in options.items():
            if not (isinstance(key, str) and key):
                c.fail("setup.connector", f"the key {key!r} must be an option's name", *options_at, key)
            if key not in HARNESS_OPTIONS and not (
                value is None or isinstance(value, str | int | float | bool)
            ):
                c.fail(
                    "setup.connector",
                    f"{key!r} must be a single value (a number, a string or a boolean), {_got(value)}",
                    *options_at,
                    key,
                )
    _check_mock_config(c, setup)
    return setup


def _config_error_path(message: str) -> tuple[Any, ...]:
    """The configuration path a ``ConfigError`` starts with (``accounts[0].balances.BTC:``)."""
    head = message.split(": ", 1)[0].removeprefix("config.")
    if not re.fullmatch(r"[\w-]+(\[\d+\])?(\.[\w-]+(\[\d+\])?)*", head):
        return ()
    out: list[Any] = []
    for part in head.split("."):
        name, _, index = part.partition("[")
        out.append(name)
        if index:
            out.append(int(index.rstrip("]")))
    return tuple(out)


def _check_mock_config(c: _Checker, setup: dict[str, Any]) -> None:
    """Build the mock configuration the run will use (the defaults, ``setup.config`` over
    them, then ``balances``, ``books`` and ``clear_books``, as the runner does) and the
    exchange it makes, so a configuration problem is found now, at its line. Learns the
    symbols and accounts, and checks the names setup gives against them."""
    config = deep_merge(default_config(), copy.deepcopy(setup.get("config", {})))

    def config_error(e: Exception) -> NoReturn:
        message = _config_message(e)
        c.fail("setup.config", message, "setup", "config", *_config_error_path(message))

    # Symbols and accounts first: the names everything else refers to.
    try:
        parsed = parse_config({**config, "books": []})
    except (ConfigError, TypeError, ValueError, KeyError, AttributeError) as e:
        config_error(e)
    symbols = {s.symbol: f"{s.base_asset}-{s.quote_asset}" for s in parsed.symbols}
    accounts = [a.name for a in parsed.accounts]
    if TRADER not in accounts:
        c.fail(
            "setup.config",
            f"accounts: the connector trades as {TRADER!r}, and no account has that name "
            f"(accounts: {', '.join(accounts) or 'none'})",
            "setup",
            "config",
            "accounts",
        )
    raw_books = config.get("books", [])
    if not isinstance(raw_books, list) or not all(isinstance(b, dict) for b in raw_books):
        c.fail(
            "setup.config",
            "books: expected a list of books ({symbol, account, mid, ...})",
            "setup",
            "config",
            "books",
        )
    for account in setup.get("balances", {}):
        if account not in accounts:
            c.fail(
                f"setup.balances.{account}",
                f"no account {account!r} (accounts: {', '.join(accounts)})",
                "setup",
                "balances",
                account,
            )
    for symbol, book in setup.get("books", {}).items():
        if symbol not in symbols:  # said here, in the file's terms, not the merged config's
            c.fail(
                "setup.books",
                f"unknown symbol {symbol!r} (symbols: {', '.join(symbols)})",
                "setup",
                "books",
                symbol,
            )
        if book["account"] not in accounts:
            c.fail(
                f"setup.books.{symbol}",
                f"'account': no account {book['account']!r} (accounts: {', '.join(accounts)})",
                "setup",
                "books",
                symbol,
                "account",
            )
    # clear_books may also name a default book whose symbol setup.config took away.
    clearable = [*symbols]
    clearable += [
        b["symbol"] for b in raw_books if isinstance(b.get("symbol"), str) and b["symbol"] not in clearable
    ]
    clear = clearable if setup.get("clear_books") is True else setup.get("clear_books", [])
    for i, symbol in enumerate(clear):
        if symbol not in clearable:
            c.fail(
                "setup.clear_books",
                f"unknown symbol {symbol!r} (symbols: {', '.join(clearable)})",
                "setup",
                "clear_books",
                i,
            )
    listed = ", ".join(symbols.values())
    options = setup.get("connector", {})
    if "trading_pairs" in options:
        for i, pair in enumerate(options["trading_pairs"]):
            if pair not in symbols.values():
                c.fail(
                    "setup.connector",
                    f"trading_pairs[{i}]: the exchange lists no {pair} (its pairs: {listed}; "
                    "setup.config.symbols lists the exchange's symbols)",
                    "setup",
                    "connector",
                    "trading_pairs",
                    i,
                )
    elif DEFAULT_PAIRS[0] not in symbols.values():
        c.fail(
            "setup",
            f"the connector trades {DEFAULT_PAIRS[0]} unless setup.connector.trading_pairs says otherwise, "
            f"and the exchange lists no {DEFAULT_PAIRS[0]} (its pairs: {listed})",
            "setup",
        )
    c.trading_pairs = list(options.get("trading_pairs", DEFAULT_PAIRS))
    c.accounts, c.symbols = accounts, list(symbols)
    # The whole configuration, as the runner builds it, and the exchange it makes.
    books = setup.get("books", {})
    #: Per book of the final configuration: where the file gives it and how to call it.
    sources: list[tuple[str, tuple[Any, ...], str]] = []
    final_books = []
    for j, b in enumerate(raw_books):
        if isinstance(b.get("symbol"), str) and (b["symbol"] in books or b["symbol"] in clear):
            continue
        if "books" in setup.get("config", {}):
            sources.append(("setup.config", ("setup", "config", "books", j), f"books[{j}]"))
        else:  # a default book the file does not mention
            sources.append(("setup", ("setup",), f"the default {b.get('symbol')} book"))
        final_books.append(b)
    for symbol, book in books.items():
        sources.append((f"setup.books.{symbol}", ("setup", "books", symbol), ""))
        final_books.append({"symbol": symbol, **{k: str(v) if k != "levels" else v for k, v in book.items()}})
    final = {**config, "books": final_books}
    for entry in final.get("accounts", []):
        if entry.get("name") in setup.get("balances", {}):
            entry["balances"] = {asset: str(v) for asset, v in setup["balances"][entry["name"]].items()}
    try:
        parsed = parse_config(final)
        build_exchange(parsed, Exchange(lambda: START_US, seed=parsed.seed))
    except (ConfigError, TypeError, ValueError, KeyError, AttributeError) as e:
        message = _config_message(e)
        index = _book_index(message, final_books)
        if index is None:
            config_error(e)
        where, at, name = sources[index]
        m = re.match(r"books\[\d+\]\.?", message)
        rest = message[m.end() :] if m else message
        field_path = _config_error_path(message)[2:] if m else ()
        if where == "setup":
            symbol = final_books[index]["symbol"]
            message = f"{name}: {rest} (give setup.books.{symbol} or list {symbol} in setup.clear_books)"
        elif name and m:
            message = f"{name}.{rest}"
        else:
            message = rest.removeprefix("books: ")
        c.fail(where, message, *at, *field_path)


def _config_message(e: Exception) -> str:
    """A configuration error's message: the ConfigError's own, or what else went wrong."""
    return str(e) if isinstance(e, ConfigError) else f"not a valid configuration ({type(e).__name__}: {e})"


def _book_index(message: str, books: list[dict[str, Any]]) -> int | None:
    """Which book a configuration error is about (``books[2].mid: ...`` or ``books: cannot
    seed BTCUSDT ...``), or None."""
    if m := re.match(r"books\[(\d+)\]", message):
        return int(m.group(1))
    if m := re.match(r"books: cannot seed (\S+) ", message):
        return next((i for i, b in enumerate(books) if b.get("symbol") == m.group(1)), None)
    return None


def _check_names(c: _Checker, steps: list[Step]) -> None:
    """Each order name is given once: ``order`` of a buy/sell (the connector's orders) and
    ``as`` of an exchange_order (orders placed on the exchange) each name one order."""
    first: dict[tuple[str, str], int] = {}
    for step in steps:
        top = ("steps", step.index - 1, step.kind)
        nested = step.args.get("while_down_steps", [])
        for s, path in [(step, top), *((w, (*top, "while_down", j)) for j, w in enumerate(nested))]:
            key = "order" if s.kind in ("buy", "sell") else "as" if s.kind == "exchange_order" else None
            if key is None or key not in s.args:
                continue
            name = s.args[key]
            earlier = first.get((key, name))
            first[(key, name)] = step.index
            if earlier is not None:
                c.fail(
                    step.where,
                    f"{key}: {name!r} already names the order of step {earlier}; "
                    "give each order its own name",
                    *path,
                )


#: ``"${o1.order_id}"`` / ``"${o1.client_order_id}"`` in an injected payload.
PAYLOAD_REF = re.compile(r"\$\{(\w+)\.(order_id|client_order_id)\}")


class _Names:
    """The names a scenario defines, in timeline order: what a step or a ``check`` may
    refer to is what earlier steps defined; the final ``expect`` sees them all."""

    def __init__(self, faults: list[str]) -> None:
        self.orders: list[str] = []  # buy/sell ``order``: the connector's orders
        self.exchange_orders: list[str] = []  # exchange_order ``as``
        self.faults: list[str] = list(faults)  # setup.faults and fault steps: ``name``

    def order(self, c: _Checker, name: Any, where: str, label: str, *path: Any, final: bool = False) -> None:
        """``name`` must name one of the connector's orders (a buy or sell)."""
        if name in self.orders:
            return
        if final:
            message = f"{label}: no step places an order named {name!r}"
        else:
            message = f"{label}: no order named {name!r} was placed before this step"
        known = ", ".join(self.orders)
        message += f" (orders: {known})" if known else " (no buy or sell names an order)"
        if name in self.exchange_orders:
            message += f"; {name!r} names an exchange_order, which the connector does not track"
        c.fail(where, message, *path)


def _check_references(c: _Checker, steps: list[Step], faults: list[str]) -> _Names:
    """Every name a step uses was defined by an earlier step; returns all names."""
    names = _Names(faults)
    for step in steps:
        top = ("steps", step.index - 1, step.kind)
        nested = step.args.get("while_down_steps", []) if step.kind == "restart_connector" else []
        for s, path, where in [
            (step, top, step.where),
            *(
                (w, (*top, "while_down", j, w.kind), f"{step.where} while_down[{j + 1}]")
                for j, w in enumerate(nested)
            ),
        ]:
            a = s.args
            if s.kind in ("cancel", "wait") and "order" in a:
                names.order(c, a["order"], where, "'order'", *path, "order")
            known = [*names.exchange_orders, *names.orders]
            if s.kind == "exchange_cancel" and "order" in a and a["order"] not in known:
                c.fail(
                    where,
                    f"'order': no order named {a['order']!r} was placed before this step (by "
                    f"exchange_order 'as' or by a buy or sell; named so far: {', '.join(known) or 'none'})",
                    *path,
                    "order",
                )
            if s.kind == "cancel_all" and isinstance(a.get("expect"), dict):
                for alias in a["expect"]:
                    names.order(c, alias, where, f"expect.{alias}", *path, "expect", alias)
            if s.kind in ("inject_user_event", "inject_stream"):
                _check_payload_refs(c, names, a["payload"], where, *path, "payload")
            if s.kind == "remove_fault":
                if a["name"] not in names.faults:
                    armed = ", ".join(names.faults) or "none"
                    c.fail(
                        where,
                        f"'name': no fault named {a['name']!r} is armed at this step (named faults: {armed})",
                        *path,
                        "name",
                    )
                names.faults.remove(a["name"])
            if s.kind == "fault" and "name" in a and a["name"] not in names.faults:
                names.faults.append(a["name"])
            if s.kind == "check":
                _check_expect_references(c, names, a, where, *path)
            # A step names its order after the references above: it cannot refer to itself.
            if s.kind in ("buy", "sell"):
                names.orders.append(a["order"])
            if s.kind == "exchange_order" and "as" in a:
                names.exchange_orders.append(a["as"])
    return names


def _check_payload_refs(c: _Checker, names: _Names, value: Any, where: str, *path: Any) -> None:
    """``"${o1.order_id}"`` references in an injected payload: the whole string, naming an
    order placed earlier (a reference inside a longer string would be sent as it is)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_payload_refs(c, names, item, where, *path, key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_payload_refs(c, names, item, where, *path, i)
    elif isinstance(value, str) and "${" in value:
        label = ".".join(map(str, path[path.index("payload") :]))
        m = PAYLOAD_REF.fullmatch(value)
        if m is None:
            c.fail(
                where,
                f'{label}: {value!r} is not a reference: write the whole value as "${{o1.order_id}}" '
                'or "${o1.client_order_id}"',
                *path,
            )
        names.order(c, m.group(1), where, label, *path)


def _check_expect_references(
    c: _Checker, names: _Names, exp: dict[str, Any], where: str, *path: Any, final: bool = False
) -> None:
    """Order names in ``events``, ``orders`` and ``errors`` name the connector's orders
    (placed before a ``check``; anywhere for the final ``expect``): an unknown name would
    compare with nothing, and ``events: {o_1: []}`` would always pass."""
    for key in ("events", "orders", "errors"):
        for alias in exp.get(key, {}):
            names.order(c, alias, where, f"{key}.{alias}", *path, key, alias, final=final)


def declared_xfail(path: str | Path) -> str | None:
    """The ``xfail`` a file declares, read without validating it (it may be invalid)."""
    try:
        node = yaml.compose(Path(path).read_text(), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return None
    # Read from the node tree: building values would fail on the very mistake declared.
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (
                isinstance(key, yaml.ScalarNode)
                and key.value == "xfail"
                and isinstance(value, yaml.ScalarNode)
            ):
                return str(value.value)
    return None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise ``ScenarioError`` on the first problem."""
    p = str(path)
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ScenarioError(p, "document", f"cannot read: {e}") from None
    data, lines = load_yaml(text, p)
    c = _Checker(p, lines)
    doc = c.mapping(data, "document")
    c.fields(
        doc,
        {"name", "description", "tags", "setup", "steps", "expect", "xfail"},
        "document",
        required={"name", "steps"},
    )
    if not isinstance(doc["name"], str) or not doc["name"].strip():
        c.fail("document", "'name' must be a non-empty string", "name")
    setup = _check_setup(c, doc.get("setup"))
    raw_steps = doc["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        c.fail("steps", "expected a non-empty list of steps", "steps")
    steps = []
    for i, raw in enumerate(raw_steps):
        where = f"step {i + 1}"
        if isinstance(raw, str) and raw in STEP_FIELDS:
            raw = {raw: {}}
        if not isinstance(raw, dict) or len(raw) != 1:
            c.fail(
                where,
                "each step is a mapping with exactly one key, the step's kind, e.g. "
                "'- buy: {order: o1, ...}'",
                "steps",
                i,
            )
        ((kind, args),) = raw.items()
        if kind not in STEP_FIELDS:
            c.fail(where, f"unknown step {kind!r} (known: {', '.join(sorted(STEP_FIELDS))})", "steps", i)
        step = Step(i + 1, kind, args if args is not None else {}, lines.of("steps", i))
        _check_step(c, step)
        steps.append(step)
    _check_names(c, steps)
    defined = _check_references(c, steps, [f["name"] for f in setup.get("faults", []) if "name" in f])
    expect = doc.get("expect")
    expect = {} if expect is None else expect
    _check_expect(c, expect, "expect", "expect")
    _check_expect_references(c, defined, expect, "expect", "expect", final=True)
    tags = [] if doc.get("tags") is None else doc["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        c.fail("document", "'tags' must be a list of strings", "tags")
    if not isinstance(doc.get("description", ""), str | None):
        c.fail("document", f"'description' must be text, {_got(doc['description'])}", "description")
    xfail = doc.get("xfail")
    if xfail not in (None, "validate", "run"):
        c.fail("document", "'xfail' must be 'validate' or 'run'", "xfail")
    scenario = Scenario(
        p,
        doc["name"],
        str(doc.get("description") or ""),
        tags,
        setup,
        steps,
        expect,
        lines,
        text.splitlines(),
        xfail,
    )
    for step in steps:
        step.source = scenario.source_of("steps", step.index - 1)
    return scenario
