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
(docs/scenarios.md describes each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

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
    "exchange_cancel": ({"account", "symbol"}, {"order_id", "client_order_id", "order", "as"}),
    "deposit": ({"account", "asset", "amount"}, set()),
    "withdraw": ({"account", "asset", "amount"}, set()),
    "fault": (set(), {"name", *FAULT_FIELDS}),
    "remove_fault": ({"name"}, set()),
    "clear_faults": (set(), set()),
    "disconnect": (set(), {"surface", "stream"}),
    "stall": ({"seconds"}, {"surface", "stream"}),
    "terminate_user_stream": (set(), {"account"}),
    "inject_user_event": ({"payload"}, {"account"}),
    "inject_stream": ({"stream", "payload"}, set()),
    "skew": ({"ms"}, set()),
    "advance": ({"seconds"}, set()),
    "wait": (
        set(),
        {"until", "order", "event", "state", "count", "pair", "asset", "total", "available", "timeout"},
    ),
    "restart_connector": (set(), {"down_for", "while_down"}),
    "clear_book": ({"symbol"}, set()),
    "seed_book": ({"symbol", "account", "mid", "levels", "spacing", "quantity"}, set()),
    "check": (set(), set()),  # takes an `expect`-shaped mapping: validated separately
    "check_network": ({"expect"}, {"timeout"}),
    "all_trading_pairs": ({"expect"}, {"timeout"}),
}
#: Steps that may be written with a scalar (``advance: 5``): the field it stands for.
SCALAR_STEPS = {"advance": "seconds", "skew": "ms"}
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
    "book",
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
    "exchange_status",
    "exchange_id",
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

    def fail(self, where: str, message: str, *node_path: Any) -> None:
        raise ScenarioError(self.path, where, message, self.lines.of(*node_path))

    def mapping(self, value: Any, where: str, *node_path: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {type(value).__name__}", *node_path)
        out: dict[str, Any] = value
        return out

    def fields(
        self,
        value: dict[str, Any],
        allowed: set[str],
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

    def amount(self, value: Any, where: str, *node_path: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(
                where, f'{node_path[-1]!r} must be a decimal string like "0.01", got {value!r}', *node_path
            )
        try:
            Decimal(str(value))
        except InvalidOperation:
            self.fail(where, f"{node_path[-1]!r}: {value!r} is not a decimal number", *node_path)


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def _check_fault(c: _Checker, spec: Any, where: str, *path: Any) -> None:
    """A fault spec (plus an optional ``name``), validated as the control API would."""
    spec = c.mapping(spec, where, *path)
    c.fields(spec, {"name", *FAULT_FIELDS}, where, *path)
    if "name" in spec and not (isinstance(spec["name"], str) and spec["name"]):
        c.fail(where, "'name' must be a non-empty string", *path, "name")
    try:
        Fault.from_spec({k: v for k, v in spec.items() if k != "name"}, where="fault")
    except FaultSpecError as e:
        field_name = str(e).split(":")[0].removeprefix("fault.")
        c.fail(where, str(e), *path, field_name)


def _check_step(c: _Checker, step: Step) -> None:
    where = step.where
    path = ("steps", step.index - 1, step.kind)
    if step.kind == "check":
        _check_expect(c, step.args, where, *path)
        return
    if step.kind in SCALAR_STEPS and not isinstance(step.args, dict):  # `advance: 5`
        step.args = {SCALAR_STEPS[step.kind]: step.args}
    if step.args is None:
        step.args = {}
    args = c.mapping(step.args, where, *path)
    required, optional = STEP_FIELDS[step.kind]
    c.fields(
        {k: v for k, v in args.items() if k != "while_down_steps"},
        required | optional,
        where,
        *path,
        required=required,
    )
    for key in (
        "amount",
        "price",
        "quote_amount",
        "quantity",
        "quote_quantity",
        "total",
        "available",
        "mid",
        "spacing",
    ):
        if key in args and args[key] is not None:
            c.amount(args[key], where, *path, key)
    if step.kind in ("buy", "sell"):
        if args["type"] not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            c.fail(where, f"'type' must be LIMIT, LIMIT_MAKER or MARKET, got {args['type']!r}", *path, "type")
        if args["type"] != "MARKET" and "price" not in args:
            c.fail(where, f"a {args['type']} order needs a 'price'", *path)
        if "amount" not in args and "quote_amount" not in args:
            c.fail(where, "give 'amount' (base) or 'quote_amount' (MARKET by quote)", *path)
    if step.kind == "fault":
        _check_fault(c, args, where, *path)
    if step.kind == "check_network" and args["expect"] not in NETWORK_STATUSES:
        c.fail(
            where,
            f"'expect' must be one of {', '.join(NETWORK_STATUSES)}, got {args['expect']!r}",
            *path,
            "expect",
        )
    if step.kind == "all_trading_pairs" and not _is_string_list(args["expect"]):
        c.fail(where, "'expect' must be a list of trading pairs, e.g. [BTC-USDT, ETH-USDT]", *path, "expect")
    if (
        step.kind in ("check_network", "all_trading_pairs")
        and "timeout" in args
        and not _is_positive_number(args["timeout"])
    ):
        c.fail(
            where,
            f"'timeout' must be a positive number of seconds, got {args['timeout']!r}",
            *path,
            "timeout",
        )
    if step.kind == "cancel" and "expect_error" in args and not isinstance(args["expect_error"], bool):
        c.fail(where, "'expect_error' must be true or false", *path, "expect_error")
    if step.kind in ("advance", "stall") and not _is_positive_number(args.get("seconds")):
        c.fail(where, f"'seconds' must be a positive number, got {args['seconds']!r}", *path, "seconds")
    if step.kind == "restart_connector" and "while_down" in args:
        inner = args["while_down"]
        if not isinstance(inner, list):
            c.fail(where, "'while_down' must be a list of steps", *path, "while_down")
        parsed = []
        for j, raw in enumerate(inner):
            sub_where = f"{where} while_down[{j + 1}]"
            if not isinstance(raw, dict) or len(raw) != 1:
                c.fail(sub_where, "each step is a mapping with exactly one key", *path, "while_down", j)
            ((sub_kind, sub_args),) = raw.items()
            if sub_kind not in STEP_FIELDS or sub_kind in (
                "buy",
                "sell",
                "cancel",
                "cancel_all",
                "wait",
                "restart_connector",
                "check",
            ):
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
            _check_step(c, sub)
            parsed.append(sub)
        args["while_down_steps"] = parsed
    if step.kind == "wait":
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
        if until not in WAIT_UNTIL:
            c.fail(
                where,
                f"'until' must be one of {', '.join(sorted(WAIT_UNTIL))} (or give order+state, "
                f"event, or asset), got {until!r}",
                *path,
            )
        if until == "order_state" and ("order" not in args or args.get("state") not in ORDER_STATES):
            c.fail(
                where,
                f"waiting for an order state needs 'order' and a 'state' in {sorted(ORDER_STATES)}"
                + (f", got state {args['state']!r}" if "state" in args else ""),
                *path,
            )
        if until == "event" and args.get("event") not in EVENT_NAMES:
            c.fail(where, f"'event' must be one of {', '.join(sorted(EVENT_NAMES))}", *path, "event")
        if until == "balance" and "asset" not in args:
            c.fail(where, "waiting for a balance needs 'asset' and 'total' and/or 'available'", *path)
        if "timeout" in args and not _is_positive_number(args["timeout"]):
            c.fail(
                where,
                f"'timeout' must be a positive number of seconds, got {args['timeout']!r}",
                *path,
                "timeout",
            )


def _check_expect(c: _Checker, expect: Any, where: str, *path: Any) -> None:
    exp = c.mapping(expect, where, *path)
    c.fields(exp, EXPECT_FIELDS, where, *path)
    for alias, names in (exp.get("events") or {}).items():
        if not isinstance(names, list):
            c.fail(where, f"events.{alias}: expected a list of event names", *path, "events", alias)
        for i, name in enumerate(names):
            if name not in EVENT_NAMES and name != "...":
                c.fail(
                    where,
                    f"events.{alias}[{i}]: unknown event {name!r} (known: {', '.join(sorted(EVENT_NAMES))})",
                    *path,
                    "events",
                    alias,
                    i,
                )
    for name in exp.get("no_events") or []:
        if name not in EVENT_NAMES:
            c.fail(where, f"no_events: unknown event {name!r}", *path, "no_events")
    for alias, want in (exp.get("orders") or {}).items():
        want = c.mapping(want, where, *path, "orders", alias)
        c.fields(want, ORDER_EXPECT_FIELDS, f"{where} orders.{alias}", *path, "orders", alias)
        if "state" in want and want["state"] not in ORDER_STATES:
            c.fail(
                where,
                f"orders.{alias}.state: must be one of {', '.join(sorted(ORDER_STATES))}",
                *path,
                "orders",
                alias,
                "state",
            )
    requests = exp.get("requests") or []
    if not isinstance(requests, list):
        c.fail(where, "requests: expected a list of {method, path, count|min|max}", *path, "requests")
    for i, req in enumerate(requests):
        at = (*path, "requests", i)
        req = c.mapping(req, f"{where} requests[{i}]", *at)
        c.fields(req, {"method", "path", "count", "min", "max", "surface"}, f"{where} requests[{i}]", *at)
        surface = req.get("surface", "rest")
        if surface not in REQUEST_SURFACES:
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
        _check_counts(c, req, f"requests[{i}]", where, *at)
    connections = exp.get("connections") or []
    if not isinstance(connections, list):
        c.fail(where, "connections: expected a list of {surface, count|min|max}", *path, "connections")
    for i, conn in enumerate(connections):
        at = (*path, "connections", i)
        conn = c.mapping(conn, f"{where} connections[{i}]", *at)
        c.fields(
            conn, {"surface", "count", "min", "max"}, f"{where} connections[{i}]", *at, required={"surface"}
        )
        if conn["surface"] not in CONNECTION_SURFACES:
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
        rules = c.mapping(exp["trading_rules"], where, *path, "trading_rules")
        for pair, want in rules.items():
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
    for key in ("no_trading_rule", "supported_order_types"):
        if key in exp and not _is_string_list(exp[key]):
            c.fail(where, f"{key}: expected a list of names", *path, key)
    if "status" in exp:
        status = c.mapping(exp["status"], where, *path, "status")
        for key, value in status.items():
            if not isinstance(value, bool):
                c.fail(where, f"status.{key}: expected true or false, got {value!r}", *path, "status", key)
    for key in ("connector_events", "no_connector_events"):
        if key in exp:
            _check_connector_events(c, exp[key], key, where, *path, key)


def _check_counts(c: _Checker, spec: dict[str, Any], name: str, where: str, *path: Any) -> None:
    for key in ("count", "min", "max"):
        if key in spec and not (
            isinstance(spec[key], int) and not isinstance(spec[key], bool) and spec[key] >= 0
        ):
            c.fail(where, f"{name}.{key}: expected a whole number >= 0, got {spec[key]!r}", *path, key)
    if "count" in spec and ("min" in spec or "max" in spec):
        c.fail(where, f"{name}: give 'count', or 'min' and/or 'max', not both", *path)
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        c.fail(where, f"{name}: 'min' ({spec['min']}) is above 'max' ({spec['max']})", *path, "min")


def _check_market(c: _Checker, market: Any, where: str, *path: Any) -> None:
    market = c.mapping(market, where, *path)
    for pair, want in market.items():
        at = (*path, pair)
        sub = f"{where} market.{pair}"
        want = c.mapping(want, sub, *at)
        c.fields(want, MARKET_FIELDS, sub, *at)
        for key, value in want.items():
            if key == "price_for_volume":
                queries = value if isinstance(value, list) else [value]
                for j, query in enumerate(queries):
                    qat = (*at, key, j) if isinstance(value, list) else (*at, key)
                    qwhere = f"{sub}.price_for_volume" + (f"[{j}]" if isinstance(value, list) else "")
                    query = c.mapping(query, qwhere, *qat)
                    c.fields(query, PRICE_FOR_VOLUME_FIELDS, qwhere, *qat, required={"side", "volume"})
                    if query["side"] not in ("buy", "sell"):
                        c.fail(qwhere, f"'side' must be buy or sell, got {query['side']!r}", *qat, "side")
                    c.amount(query["volume"], qwhere, *qat, "volume")
                    if Decimal(str(query["volume"])) <= 0:
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
    setup = c.mapping(doc.get("setup") or {}, "setup", "setup")
    c.fields(setup, SETUP_FIELDS, "setup", "setup")
    faults = setup.get("faults") or []
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
    for account, assets in (setup.get("balances") or {}).items():
        for asset, amount in c.mapping(assets, "setup", "setup", "balances", account).items():
            c.amount(amount, f"setup.balances.{account}", "setup", "balances", account, asset)
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
    expect = doc.get("expect") or {}
    _check_expect(c, expect, "expect", "expect")
    tags = doc.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        c.fail("document", "'tags' must be a list of strings", "tags")
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
