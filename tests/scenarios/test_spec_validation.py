"""Load-time validation catches a user's mistake in a scenario file: a wrong-typed or
wrong-shaped value, a key nothing reads, a name nothing defines. Each is one
``ScenarioError`` naming the file, the place, the field and the line; never a Python
traceback, never an expectation that silently checks nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scenarios.spec import ScenarioError, load_scenario


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def check_error(tmp_path: Path, text: str, where: str, message: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    error = info.value
    assert (error.where, error.message, error.line) == (where, message, line), str(error)
    assert str(error) == f"{path}:{line}: {where}: {message}"


# ----------------------------------------------------------------------------- YAML


@pytest.mark.parametrize(
    ("text", "where", "message", "line"),
    [
        pytest.param(
            """
            name: !foo x
            steps: [clear_faults]
            """,
            "name",
            "not valid YAML: could not determine a constructor for the tag '!foo'",
            1,
            id="custom-tag",
        ),
        pytest.param(
            """
            name: x
            steps:
              - advance: !!int soon
            """,
            "steps.0.advance",
            "not valid YAML: 'soon' is not a valid !!int",
            3,
            id="standard-tag-that-does-not-fit",
        ),
        pytest.param(
            """
            name: x
            tags: !!set {a, b}
            steps: [clear_faults]
            """,
            "tags",
            "the tag '!!set' is not supported: write plain YAML",
            2,
            id="tagged-collection",
        ),
        pytest.param(
            """
            name: x
            steps: [clear_faults]
            expect:
              ? [a, b]
              : 1
            """,
            "expect",
            "a key must be a name or a number, not a list or a mapping",
            4,
            id="complex-key",
        ),
        pytest.param(
            """
            name: x
            steps: &s [*s]
            """,
            "steps.0",
            "an alias refers to a node that contains it",
            2,
            id="recursive-alias",
        ),
        pytest.param(
            """
            name: x
            steps:
              - buy: &o1 {order: o1, pair: BTC-USDT, type: MARKET, amount: "0.01"}
              - sell:
                  <<: *o1
                  order: o2
            """,
            "steps.1.sell",
            "merge keys ('<<') are not supported: write the fields out",
            5,
            id="merge-key",
        ),
    ],
)
def test_yaml_beyond_plain_data_is_an_error_at_its_line(
    tmp_path: Path, text: str, where: str, message: str, line: int
) -> None:
    check_error(tmp_path, text, where, message, line)


def test_aliases_of_plain_data_still_work(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(
            tmp_path,
            """
            name: x
            steps:
              - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: &amount "0.01", price: "59000"}
              - sell: {order: o2, pair: BTC-USDT, type: LIMIT, amount: *amount, price: "61000"}
            """,
        )
    )
    assert scenario.steps[1].args["amount"] == "0.01"


# ----------------------------------------------------------------------------- steps

BUY = '  - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}\n'


def scenario(*steps: str) -> str:
    """A scenario whose steps are ``steps`` (each one line of YAML)."""
    return "name: x\nsteps:\n" + "".join(f"  - {s}\n" for s in steps)


@pytest.mark.parametrize(
    ("text", "where", "message", "line"),
    [
        # Values the runner used to crash on (int(), float() of a word).
        pytest.param(
            scenario("wait: {event: OrderCreated, count: two}"),
            "step 1 (wait)",
            "'count' must be a whole number >= 1, got 'two'",
            3,
            id="wait-count",
        ),
        pytest.param(
            scenario("skew: {ms: soon}"),
            "step 1 (skew)",
            "'ms' (milliseconds) must be a whole number, got 'soon'",
            3,
            id="skew-ms",
        ),
        pytest.param(
            scenario("skew: 1.5"),
            "step 1 (skew)",
            "'ms' (milliseconds) must be a whole number, got 1.5",
            3,
            id="skew-scalar-fraction",
        ),
        pytest.param(
            scenario("restart_connector: {down_for: long}"),
            "step 1 (restart_connector)",
            "'down_for' must be a number of seconds >= 0, got 'long'",
            3,
            id="restart-down-for",
        ),
        pytest.param(
            scenario(
                "seed_book: {symbol: BTCUSDT, account: market-maker, mid: '60000', levels: many, "
                "spacing: '5', quantity: '1'}"
            ),
            "step 1 (seed_book)",
            "'levels' must be a whole number >= 1, got 'many'",
            3,
            id="seed-book-levels",
        ),
        pytest.param(
            scenario(
                "seed_book: {symbol: BTCUSDT, account: market-maker, mid: '60000', levels: 2, "
                "spacing: '0.000000001', quantity: '1'}"
            ),
            "step 1 (seed_book)",
            "'spacing': '0.000000001' is not a non-negative decimal with <= 8 places",
            3,
            id="seed-book-precision",
        ),
        pytest.param(
            scenario("cancel_all: {timeout: soon}"),
            "step 1 (cancel_all)",
            "'timeout' must be a positive number of seconds, got 'soon'",
            3,
            id="cancel-all-timeout",
        ),
        pytest.param(
            scenario("advance: .inf"),
            "step 1 (advance)",
            "'seconds' must be a positive number of seconds, got inf",
            3,
            id="advance-infinite",
        ),
        pytest.param(
            scenario("stall: {seconds: '5'}"),
            "step 1 (stall)",
            "'seconds' must be a positive number of seconds, got '5'",
            3,
            id="stall-seconds-string",
        ),
        pytest.param(
            scenario("check_network: {expect: CONNECTED, timeout: '5'}"),
            "step 1 (check_network)",
            "'timeout' must be a positive number of seconds, got '5'",
            3,
            id="check-network-timeout",
        ),
        # Names, enums and amounts.
        pytest.param(
            scenario("buy: {order: o1, pair: BTC-USDT, type: MARKET, amount: NaN}"),
            "step 1 (buy)",
            "'amount': 'NaN' is not a decimal number",
            3,
            id="buy-amount-nan",
        ),
        pytest.param(
            scenario("buy: {order: [o1], pair: BTC-USDT, type: MARKET, amount: '1'}"),
            "step 1 (buy)",
            "'order' must be a non-empty string, got ['o1']",
            3,
            id="buy-order-name",
        ),
        pytest.param(
            scenario("buy: {order: o1, pair: BTC-USDT, type: MARKET, amount: '1', expect_error: false}"),
            "step 1 (buy)",
            "'expect_error' must be the reason the connector refuses the order (e.g. BELOW_MIN_NOTIONAL) "
            "or true for any reason, got False",
            3,
            id="buy-expect-error-false",
        ),
        pytest.param(
            scenario(
                "exchange_order: {account: market-maker, symbol: BTCUSDT, side: buy, quantity: '1', "
                "price: '1'}"
            ),
            "step 1 (exchange_order)",
            "'side' must be one of BUY, SELL, got 'buy'",
            3,
            id="exchange-order-side",
        ),
        pytest.param(
            scenario(
                "exchange_order: {account: market-maker, symbol: BTCUSDT, side: BUY, quantity: 0.5, "
                "price: '1'}"
            ),
            "step 1 (exchange_order)",
            "'quantity' must be a decimal string like \"0.01\", got 0.5",
            3,
            id="exchange-order-float",
        ),
        pytest.param(
            scenario(
                "exchange_order: {account: market-maker, symbol: BTCUSDT, side: BUY, quantity: '1', "
                "price: '1', time_in_force: GTX}"
            ),
            "step 1 (exchange_order)",
            "'time_in_force' must be one of GTC, IOC, FOK, got 'GTX'",
            3,
            id="exchange-order-tif",
        ),
        pytest.param(
            scenario("exchange_cancel: {account: market-maker, symbol: BTCUSDT}"),
            "step 1 (exchange_cancel)",
            "give exactly one of 'order_id', 'client_order_id' or 'order' (a name)",
            3,
            id="exchange-cancel-which",
        ),
        pytest.param(
            scenario("exchange_cancel: {account: market-maker, symbol: BTCUSDT, order_id: '3'}"),
            "step 1 (exchange_cancel)",
            "'order_id' must be a whole number >= 1, got '3'",
            3,
            id="exchange-cancel-order-id",
        ),
        pytest.param(
            scenario("exchange_cancel: {account: market-maker, symbol: BTCUSDT, order_id: 3, as: x}"),
            "step 1 (exchange_cancel)",
            "unknown field 'as' (known: account, client_order_id, order, order_id, symbol)",
            3,
            id="exchange-cancel-as-is-read-by-nothing",
        ),
        pytest.param(
            scenario("deposit: {account: trader, asset: BTC, amount: '0'}"),
            "step 1 (deposit)",
            "'amount' must be positive, got '0'",
            3,
            id="deposit-zero",
        ),
        pytest.param(
            scenario("disconnect: {surface: rest}"),
            "step 1 (disconnect)",
            "'surface' must be one of stream, ws_api, all, got 'rest'",
            3,
            id="disconnect-surface",
        ),
        pytest.param(
            scenario("terminate_user_stream: {account: 5}"),
            "step 1 (terminate_user_stream)",
            "'account' must be a non-empty string, got 5",
            3,
            id="terminate-account",
        ),
        pytest.param(
            scenario("inject_user_event: {payload: [1]}"),
            "step 1 (inject_user_event)",
            "'payload': expected a JSON object (a mapping), got list",
            3,
            id="inject-user-event-payload",
        ),
        pytest.param(
            scenario("inject_stream: {stream: btcusdt@trade, payload: {T: 2026-01-01 10:00:00}}"),
            "step 1 (inject_stream)",
            "'payload': not a JSON value (Object of type datetime is not JSON serializable)",
            3,
            id="inject-stream-payload",
        ),
        pytest.param(
            scenario("clear_book: {symbol: [BTCUSDT]}"),
            "step 1 (clear_book)",
            "'symbol' must be a non-empty string, got ['BTCUSDT']",
            3,
            id="clear-book-symbol",
        ),
        pytest.param(
            scenario("all_trading_pairs: {expect: [BTCUSDT]}"),
            "step 1 (all_trading_pairs)",
            "expect[0]: 'BTCUSDT' is not a trading pair of the form BASE-QUOTE (e.g. BTC-USDT)",
            3,
            id="all-trading-pairs-form",
        ),
        pytest.param(
            scenario("cancel_all: {expect: [o1]}"),
            "step 1 (cancel_all)",
            "expect: expected a mapping of order name to whether its cancel succeeds, e.g. "
            "{o1: true, o2: false}, got list",
            3,
            id="cancel-all-expect-shape",
        ),
        pytest.param(
            "name: x\nsteps:\n" + BUY + "  - cancel_all: {expect: {o1: yes-ish}}\n",
            "step 2 (cancel_all)",
            "expect.o1 must be true or false, got 'yes-ish'",
            4,
            id="cancel-all-expect-value",
        ),
        pytest.param(
            scenario("check: {}"),
            "step 1 (check)",
            "check: name at least one expectation (the fields of expect)",
            3,
            id="empty-check",
        ),
        pytest.param(
            scenario("check: [ready]"),
            "step 1 (check)",
            "check: expected a mapping of expectations (as in expect), got list",
            3,
            id="check-shape",
        ),
        pytest.param(
            "name: x\nsteps:\n  - restart_connector:\n      while_down:\n"
            "        - exchange_order: {account: market-maker, symbol: BTCUSDT, side: BUY, quantity: '1',\n"
            "                           price: x}\n",
            "step 1 (restart_connector) while_down[1]",
            "'price': 'x' is not a decimal number",
            6,
            id="nested-step-at-its-own-line",
        ),
        pytest.param(
            scenario("restart_connector: {while_down_steps: []}"),
            "step 1 (restart_connector)",
            "unknown field 'while_down_steps' (known: down_for, while_down)",
            3,
            id="internal-field-is-not-a-field",
        ),
        # wait: each condition reads its own fields, and needs what it compares.
        pytest.param(
            scenario("wait: {asset: DOGE}"),
            "step 1 (wait)",
            "waiting for a balance needs 'asset' and 'total' and/or 'available'",
            3,
            id="wait-balance-without-amount",
        ),
        pytest.param(
            scenario("wait: {asset: BTC, total: 1.5}"),
            "step 1 (wait)",
            "'total' must be a decimal string like \"0.01\", got 1.5",
            3,
            id="wait-balance-float",
        ),
        pytest.param(
            scenario("wait: {until: ready, order: o1}"),
            "step 1 (wait)",
            "'order' does not apply when waiting for ready (it reads 'timeout')",
            3,
            id="wait-field-of-another-condition",
        ),
        pytest.param(
            "name: x\nsteps:\n" + BUY + "  - wait: {order: o1, state: FILLED, event: OrderFilled}\n",
            "step 2 (wait)",
            "'event' does not apply when waiting for order_state (it reads 'order', 'state' and 'timeout')",
            4,
            id="wait-state-and-event",
        ),
        pytest.param(
            scenario("wait: {until: [ready]}"),
            "step 1 (wait)",
            "'until' must be one of balance, book_synced, event, no_open_orders, order_state, ready, "
            "user_stream_connected (or give order+state, event, or asset), got ['ready']",
            3,
            id="wait-until-list",
        ),
        pytest.param(
            scenario("wait: {until: book_synced, pair: btc-usdt}"),
            "step 1 (wait)",
            "'pair': 'btc-usdt' is not a trading pair of the form BASE-QUOTE (e.g. BTC-USDT)",
            3,
            id="wait-pair-form",
        ),
    ],
)
def test_step_values_are_checked_when_loading(
    tmp_path: Path, text: str, where: str, message: str, line: int
) -> None:
    check_error(tmp_path, text, where, message, line)


@pytest.mark.parametrize(
    ("text", "where", "message", "line"),
    [
        pytest.param(
            scenario("cancel: {order: o1}"),
            "step 1 (cancel)",
            "'order': no order named 'o1' was placed before this step (no buy or sell names an order)",
            3,
            id="cancel-before-any-order",
        ),
        pytest.param(
            "name: x\nsteps:\n" + BUY + "  - wait: {order: o2, state: OPEN}\n"
            '  - sell: {order: o2, pair: BTC-USDT, type: MARKET, amount: "0.01"}\n',
            "step 2 (wait)",
            "'order': no order named 'o2' was placed before this step (orders: o1)",
            4,
            id="wait-for-a-later-order",
        ),
        pytest.param(
            "name: x\nsteps:\n"
            "  - exchange_order: {account: market-maker, symbol: BTCUSDT, side: SELL, quantity: '1',\n"
            "                     price: '1', as: mm}\n"
            "  - wait: {order: mm, event: OrderCreated}\n",
            "step 2 (wait)",
            "'order': no order named 'mm' was placed before this step (no buy or sell names an order); "
            "'mm' names an exchange_order, which the connector does not track",
            5,
            id="wait-for-an-exchange-order",
        ),
        pytest.param(
            scenario("exchange_cancel: {account: market-maker, symbol: BTCUSDT, order: mm}"),
            "step 1 (exchange_cancel)",
            "'order': no order named 'mm' was placed before this step (by exchange_order 'as' or by a buy "
            "or sell; named so far: none)",
            3,
            id="exchange-cancel-unknown-name",
        ),
        pytest.param(
            scenario("cancel_all: {expect: {o1: true}}"),
            "step 1 (cancel_all)",
            "expect.o1: no order named 'o1' was placed before this step (no buy or sell names an order)",
            3,
            id="cancel-all-unknown-name",
        ),
        pytest.param(
            scenario("inject_user_event: {payload: {e: executionReport, i: '${o1.order_id}'}}"),
            "step 1 (inject_user_event)",
            "payload.i: no order named 'o1' was placed before this step (no buy or sell names an order)",
            3,
            id="payload-reference-unknown-name",
        ),
        pytest.param(
            "name: x\nsteps:\n"
            + BUY
            + "  - inject_user_event: {payload: {e: executionReport, i: 'x${o1.orderId}'}}\n",
            "step 2 (inject_user_event)",
            "payload.i: 'x${o1.orderId}' is not a reference: write the whole value as \"${o1.order_id}\" "
            'or "${o1.client_order_id}"',
            4,
            id="payload-reference-malformed",
        ),
        pytest.param(
            scenario(
                "fault: {name: f, surface: rest, action: hang}",
                "remove_fault: {name: f}",
                "remove_fault: {name: f}",
            ),
            "step 3 (remove_fault)",
            "'name': no fault named 'f' is armed at this step (named faults: none)",
            5,
            id="remove-fault-twice",
        ),
        pytest.param(
            "name: x\nsetup:\n  faults: [{name: boot, surface: rest, action: hang}]\nsteps:\n"
            "  - remove_fault: {name: bot}\n",
            "step 1 (remove_fault)",
            "'name': no fault named 'bot' is armed at this step (named faults: boot)",
            5,
            id="remove-fault-typo",
        ),
    ],
)
def test_a_step_refers_only_to_names_defined_before_it(
    tmp_path: Path, text: str, where: str, message: str, line: int
) -> None:
    check_error(tmp_path, text, where, message, line)


def test_valid_step_values_load(tmp_path: Path) -> None:
    scenario_ = load_scenario(
        write(
            tmp_path,
            """
            name: every step, well formed
            setup:
              faults: [{name: boot, surface: rest, path: /api/v3/ping, action: error}]
            steps:
              - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
              - sell: {order: o2, pair: BTC-USDX, type: MARKET, amount: 1, expect_error: UNKNOWN_TRADING_PAIR}
              - buy: {order: o3, pair: BTC-USDT, type: MARKET, quote_amount: "100", expect_error: true}
              - wait: {order: o1, state: OPEN, timeout: 2.5}
              - wait: {event: OrderCreated, order: o1, count: 1}
              - wait: {asset: USDT, available: "99410"}
              - wait: {until: book_synced, pair: BTC-USDT}
              - cancel: {order: o1, expect_error: false}
              - exchange_order: {account: market-maker, symbol: BTCUSDT, side: SELL, type: LIMIT,
                                 quantity: "1", price: "70000", time_in_force: GTC, stp: NONE,
                                 client_order_id: mm-1, as: mm}
              - exchange_cancel: {account: market-maker, symbol: BTCUSDT, order: mm}
              - exchange_cancel: {account: trader, symbol: BTCUSDT, order: o1}
              - exchange_cancel: {account: market-maker, symbol: BTCUSDT, order_id: 7}
              - deposit: {account: trader, asset: BTC, amount: "0.5"}
              - withdraw: {account: trader, asset: BTC, amount: 1}
              - remove_fault: {name: boot}
              - fault: {name: boot, surface: stream, stream: "btcusdt@depth*", action: drop}
              - remove_fault: {name: boot}
              - disconnect: {surface: stream, stream: "btcusdt@*"}
              - stall: {seconds: 1.5, surface: ws_api}
              - terminate_user_stream: {account: trader}
              - inject_user_event:
                  payload: {e: executionReport, c: "${o1.client_order_id}", i: "${o1.order_id}"}
              - inject_stream: {stream: btcusdt@trade, payload: [1, "two", null]}
              - skew: -3000
              - skew: {ms: 0}
              - advance: 0.5
              - restart_connector:
                  down_for: 0
                  while_down:
                    - exchange_order: {account: market-maker, symbol: BTCUSDT, side: BUY, quantity: "1",
                                       price: "1"}
                    - clear_faults
              - clear_book: {symbol: ETHBTC}
              - seed_book: {symbol: ETHBTC, account: market-maker, mid: "0.05", levels: 3, spacing: "0.0001",
                            quantity: 2}
              - cancel_all: {timeout: 5, expect: {o1: false}}
              - check_network: {expect: CONNECTED, timeout: 1}
              - all_trading_pairs: {expect: []}
              - check: {ready: true}
            """,
        )
    )
    assert [s.kind for s in scenario_.steps][:3] == ["buy", "sell", "buy"]
    assert scenario_.steps[25].args["while_down_steps"][1].kind == "clear_faults"
