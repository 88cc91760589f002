"""Validation of the scenario-format extensions: setup.faults, the `respond` fault, request
surfaces, connections, market/metadata expectations, connector events and the
check_network / all_trading_pairs steps. Each error must name the file, the place, the
field and the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scenarios.spec import ScenarioError, load_scenario


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def error_of(tmp_path: Path, text: str) -> ScenarioError:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


def test_a_valid_file_using_every_extension_loads(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(
            tmp_path,
            """
            name: everything new
            setup:
              connector: {wait_ready: false}
              faults:
                - name: info
                  surface: rest
                  method: GET
                  path: /api/v3/exchangeInfo
                  action: respond
                  body: {symbols: []}
                - {surface: ws_api, method: "userDataStream.*", action: error, status: 400, code: -1022}
            steps:
              - check_network: {expect: NOT_CONNECTED}
              - all_trading_pairs: {expect: [BTC-USDT], timeout: 5}
              - fault: {surface: ws_api, method: order.place, action: respond, status: 200, body: null}
              - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
              - cancel: {order: o1, expect_error: true}
            expect:
              requests:
                - {surface: stream, method: SUBSCRIBE, min: 1, max: 3}
                - {surface: ws_api, method: "userDataStream.*", count: 1}
                - {method: GET, path: /api/v3/ping, count: 2}
              connections: [{surface: stream, max: 4}]
              market:
                BTC-USDT:
                  last_trade_price: null
                  mid_price: "60000"
                  price_for_volume: {side: buy, volume: "0.5", price: "60010"}
                ETH-USDT:
                  price_for_volume: [{side: sell, volume: "1", vwap: "2999.5", filled: "1"}]
              trading_rules:
                BTC-USDT: {min_order_size: "0.00001", max_order_size: null, supports_market_orders: true}
              no_trading_rule: [BNB-USDT]
              supported_order_types: [LIMIT, MARKET]
              status: {user_stream_initialized: false}
              connector_events:
                - StreamStatusChanged
                - {name: StreamStatusChanged, stream: user_stream, connected: false, reason: "closed*"}
              no_connector_events: [{name: ReconciliationCompleted, complete: false}]
            """,
        )
    )
    assert [f["action"] for f in scenario.setup["faults"]] == ["respond", "error"]
    assert scenario.steps[0].kind == "check_network"


@pytest.mark.parametrize(
    ("text", "where", "message", "line"),
    [
        (
            """
            name: x
            setup:
              faults:
                - {surface: rest, path: /api/v3/ping, action: error}
                - {surface: rest, path: /api/v3/ping, action: respond}
            steps: [clear_faults]
            """,
            "setup.faults[1]",
            "fault.body: 'respond' needs",
            5,
        ),
        (
            """
            name: x
            setup:
              faults:
                - surface: rest
                  action: explode
            steps: [clear_faults]
            """,
            "setup.faults[0]",
            "fault.action: must be one of",
            5,
        ),
        (
            """
            name: x
            setup:
              faults:
                - {surface: rest, action: error, colour: red}
            steps: [clear_faults]
            """,
            "setup.faults[0]",
            "unknown field 'colour'",
            4,
        ),
        (
            """
            name: x
            setup:
              faults: {surface: rest, action: error}
            steps: [clear_faults]
            """,
            "setup",
            "'faults' must be a list",
            3,
        ),
        (
            """
            name: x
            setup:
              faults:
                - {name: f, surface: rest, action: error}
                - {name: f, surface: rest, action: hang}
            steps: [clear_faults]
            """,
            "setup.faults[1]",
            "fault name 'f' is used twice",
            5,
        ),
        (
            """
            name: x
            steps:
              - advance: 1
              - fault:
                  surface: rest
                  action: error
                  body: {a: 1}
            """,
            "step 2 (fault)",
            "fault.body: only the 'respond' action takes a body",
            7,
        ),
        (
            """
            name: x
            steps:
              - check_network: {expect: UP}
            """,
            "step 1 (check_network)",
            "'expect' must be one of CONNECTED, NOT_CONNECTED",
            3,
        ),
        (
            """
            name: x
            steps:
              - all_trading_pairs: {expect: BTC-USDT}
            """,
            "step 1 (all_trading_pairs)",
            "'expect' must be a list of trading pairs",
            3,
        ),
        (
            """
            name: x
            steps:
              - all_trading_pairs: {}
            """,
            "step 1 (all_trading_pairs)",
            "missing required field 'expect'",
            3,
        ),
        (
            """
            name: x
            steps:
              - cancel: {order: o1, expect_error: maybe}
            """,
            "step 1 (cancel)",
            "'expect_error' must be true or false",
            3,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              requests:
                - {method: GET, path: /api/v3/ping, count: 1}
                - {surface: websocket, method: SUBSCRIBE, count: 1}
            """,
            "expect",
            "requests[1].surface: must be one of rest, stream, ws_api",
            6,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              requests: [{surface: ws_api, path: /api/v3/order, count: 1}]
            """,
            "expect",
            "requests[0].path: a ws_api frame has no path",
            4,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              requests: [{method: GET, path: /api/v3/ping, count: 1, max: 2}]
            """,
            "expect",
            "requests[0]: give 'count', or 'min' and/or 'max', not both",
            4,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              connections:
                - {count: 1}
            """,
            "expect connections[0]",
            "missing required field 'surface'",
            5,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              connections: [{surface: rest, min: -1}]
            """,
            "expect",
            "connections[0].surface: must be one of stream, ws_api",
            4,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              market:
                BTC-USDT:
                  best_bid: 59995.5
            """,
            "expect market.BTC-USDT",
            "'best_bid' must be a decimal string",
            6,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              market:
                BTC-USDT:
                  price_for_volume:
                    side: long
                    volume: "1"
                    price: "60000"
            """,
            "expect market.BTC-USDT.price_for_volume",
            "'side' must be buy or sell",
            7,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              market:
                BTC-USDT:
                  price_for_volume: {side: buy, volume: "1"}
            """,
            "expect market.BTC-USDT.price_for_volume",
            "give what to check",
            6,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              market:
                BTC-USDT: {spread: "10"}
            """,
            "expect market.BTC-USDT",
            "unknown field 'spread'",
            5,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              trading_rules:
                BTC-USDT:
                  min_order_size: "tiny"
            """,
            "expect trading_rules.BTC-USDT",
            "'min_order_size': 'tiny' is not a decimal number",
            6,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              status: {ready: yes-please}
            """,
            "expect",
            "status.ready: expected true or false",
            4,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              supported_order_types: LIMIT
            """,
            "expect",
            "supported_order_types: expected a list of names",
            4,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              connector_events:
                - {name: StreamStatusChanged}
                - {stream: user_stream, connected: false}
            """,
            "expect",
            "connector_events[1]: needs the event's 'name'",
            6,
        ),
        (
            """
            name: x
            steps: [clear_faults]
            expect:
              no_connector_events:
                - {name: BalanceUpdated, total: 1.5}
            """,
            "expect",
            "no_connector_events[0].total: write numbers as strings",
            5,
        ),
        (
            """
            name: x
            steps:
              - check:
                  connections: [{surface: stream, min: 3, max: 2}]
            """,
            "step 1 (check)",
            "connections[0]: 'min' (3) is above 'max' (2)",
            4,
        ),
        (
            """
            name: x
            steps:
              - buy: {order: o1, pair: BTC-USDT, type: MARKET, amount: "0.01"}
              - advance: 1
              - sell: {order: o1, pair: BTC-USDT, type: MARKET, amount: "0.01"}
            """,
            "step 3 (sell)",
            "order: 'o1' already names the order of step 1; give each order its own name",
            5,
        ),
        (
            """
            name: x
            steps:
              - exchange_order: {account: market-maker, symbol: BTCUSDT, side: SELL, as: mm}
              - restart_connector:
                  while_down:
                    - exchange_order: {account: market-maker, symbol: BTCUSDT, side: BUY, as: mm}
            """,
            "step 2 (restart_connector)",
            "as: 'mm' already names the order of step 1",
            6,  # the nested step itself
        ),
        (
            """
            name: x
            steps:
              - wait: {order: o1, state: FILED}
            """,
            "step 1 (wait)",
            "got state 'FILED'",
            3,
        ),
    ],
)
def test_errors_name_file_place_field_and_line(
    tmp_path: Path, text: str, where: str, message: str, line: int
) -> None:
    error = error_of(tmp_path, text)
    assert error.where == where, str(error)
    assert message in error.message, str(error)
    assert error.line == line, str(error)
    assert str(error).startswith(f"{tmp_path / 'case.scenario.yaml'}:{line}: {where}: ")
