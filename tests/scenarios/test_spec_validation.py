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
            "unknown field 'while_down_steps' (known: down_for, timeout, while_down)",
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
            scenario(
                "fault: {surface: rest, method: POST, path: /api/v3/orders, action: error, status: 503}"
            ),
            "step 1 (fault)",
            "path: '/api/v3/orders' never matches: it matches no /api/v3 path the exchange serves "
            "(did you mean /api/v3/order or /api/v3/orderList or /api/v3/allOrders?)",
            3,
            id="fault-unknown-path",
        ),
        pytest.param(
            scenario("advance: 100000000"),
            "step 1 (advance)",
            "'seconds' must be at most 86400 seconds (a virtual day, about 6 s of real time), got 100000000",
            3,
            id="advance-too-long",
        ),
        pytest.param(
            scenario("skew: 90000000"),
            "step 1 (skew)",
            "'ms' must be at most 86400000 (a day) either way, got 90000000",
            3,
            id="skew-too-far",
        ),
        pytest.param(
            scenario('buy: {order: o1, pair: BTC-USDT, type: MARKET, amount: "0.01", quote_amount: "100"}'),
            "step 1 (buy)",
            "give either 'amount' (base) or 'quote_amount' (MARKET by quote), not both",
            3,
            id="buy-amount-and-quote",
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


# ----------------------------------------------------------------------------- expectations


def expecting(expect: str, *steps: str) -> str:
    """A scenario placing order o1 (and ``steps``), then expecting ``expect`` (one line)."""
    return "name: x\nsteps:\n" + BUY + "".join(f"  - {s}\n" for s in steps) + f"expect: {expect}\n"


@pytest.mark.parametrize(
    ("text", "where", "message", "line"),
    [
        # Wrong shapes, which used to crash the load (events) or the run (the others).
        pytest.param(
            expecting("{events: [OrderCreated]}"),
            "expect",
            "events: expected a mapping of order name to its events, e.g. "
            "{o1: [OrderCreated, OrderCompleted]}, got list",
            4,
            id="events-list",
        ),
        pytest.param(
            expecting("{events: {o1: [{name: OrderCreated}]}}"),
            "expect",
            "events.o1[0]: unknown event {'name': 'OrderCreated'} (known: BalanceUpdated, OrderAnomaly, "
            "OrderCancelled, OrderCompleted, OrderCreated, OrderExpired, OrderFailed, OrderFilled)",
            4,
            id="events-entry-mapping",
        ),
        pytest.param(
            expecting("{no_events: OrderFailed}"),
            "expect",
            "no_events: expected a list of event names, e.g. [OrderFailed], got str 'OrderFailed'",
            4,
            id="no-events-string",
        ),
        pytest.param(
            expecting("{orders: {o1: {executed: lots}}}"),
            "expect",
            "orders.o1.executed: 'lots' is not a decimal number",
            4,
            id="orders-executed",
        ),
        pytest.param(
            expecting('{orders: {o1: {fee: "0.1"}}}'),
            "expect",
            'orders.o1.fee: expected a mapping of asset to amount, e.g. {BTC: "0.00001"} ({} for none), '
            "got str '0.1'",
            4,
            id="orders-fee-string",
        ),
        pytest.param(
            expecting("{orders: {o1: {fee: {BTC: 0.1}}}}"),
            "expect",
            'orders.o1.fee.BTC must be a decimal string like "0.01", got 0.1',
            4,
            id="orders-fee-float",
        ),
        pytest.param(
            expecting("{orders: {o1: {fills: '1'}}}"),
            "expect",
            "orders.o1.fills must be a whole number >= 0, got '1'",
            4,
            id="orders-fills",
        ),
        pytest.param(
            expecting("{orders: {o1: {exchange_status: DONE}}}"),
            "expect",
            "orders.o1.exchange_status must be one of NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, "
            "EXPIRED, EXPIRED_IN_MATCH, got 'DONE'",
            4,
            id="orders-exchange-status",
        ),
        pytest.param(
            expecting("{balances: [BTC]}"),
            "expect",
            'balances: expected a mapping of asset to {total, available}, e.g. {BTC: {total: "1"}}, got list',
            4,
            id="balances-list",
        ),
        pytest.param(
            expecting("{exchange_balances: {trader: 5}}"),
            "expect",
            "exchange_balances.trader: expected a mapping of asset to {free, locked}, "
            'e.g. {BTC: {free: "1"}}, got int 5',
            4,
            id="exchange-balances-number",
        ),
        pytest.param(
            expecting("{exchange_orders: [trader]}"),
            "expect",
            "exchange_orders: expected a mapping of account to symbols, e.g. "
            "{trader: {BTCUSDT: {open: 1, total: 1}}}, got list",
            4,
            id="exchange-orders-list",
        ),
        pytest.param(
            expecting("{errors: [o1]}"),
            "expect",
            "errors: expected a mapping of order name to the reason it was refused, e.g. "
            "{o1: BELOW_MIN_NOTIONAL}, got list",
            4,
            id="errors-list",
        ),
        pytest.param(
            expecting("{errors: {o1: true}}"),
            "expect",
            "errors.o1: expected the reason the connector refused the order (e.g. BELOW_MIN_NOTIONAL), "
            "got True",
            4,
            id="errors-true",
        ),
        pytest.param(
            expecting("{book_matches_exchange: true}"),
            "expect",
            "book_matches_exchange: expected a trading pair or a list of them, e.g. BTC-USDT, got bool True",
            4,
            id="book-matches-bool",
        ),
        pytest.param(
            expecting("{book_matches_exchange: [BTC-USDT, BTCUSDT]}"),
            "expect",
            "book_matches_exchange[1]: 'BTCUSDT' is not a trading pair of the form BASE-QUOTE "
            "(e.g. BTC-USDT)",
            4,
            id="book-matches-symbol-not-pair",
        ),
        pytest.param(
            expecting("{no_trading_rule: [BNBUSDT]}"),
            "expect",
            "no_trading_rule[0]: 'BNBUSDT' is not a trading pair of the form BASE-QUOTE (e.g. BTC-USDT)",
            4,
            id="no-trading-rule-symbol-not-pair",
        ),
        pytest.param(
            expecting("{market: {BTCUSDT: {best_bid: '1'}}}"),
            "expect",
            "market: 'BTCUSDT' is not a trading pair of the form BASE-QUOTE (e.g. BTC-USDT)",
            4,
            id="market-symbol-not-pair",
        ),
        # Keys nothing reads, and expectations that compare nothing: no false green.
        pytest.param(
            expecting('{balances: {BTC: {free: "999"}}}'),
            "expect balances.BTC",
            "unknown field 'free' (known: available, total)",
            4,
            id="balances-free",
        ),
        pytest.param(
            expecting("{balances: {BTC: {}}}"),
            "expect",
            "balances.BTC: give 'total' and/or 'available'",
            4,
            id="balances-nothing",
        ),
        pytest.param(
            expecting('{exchange_balances: {trader: {BTC: {total: "999"}}}}'),
            "expect exchange_balances.trader.BTC",
            "unknown field 'total' (known: free, locked)",
            4,
            id="exchange-balances-total",
        ),
        pytest.param(
            expecting("{exchange_orders: {trader: {BTCUSDT: {opn: 5, totl: 7}}}}"),
            "expect exchange_orders.trader.BTCUSDT",
            "unknown field 'opn' (known: open, total)",
            4,
            id="exchange-orders-typos",
        ),
        pytest.param(
            expecting("{exchange_orders: {trader: {BTCUSDT: 5}}}"),
            "expect",
            "exchange_orders.trader.BTCUSDT: expected {open, total}, e.g. {open: 1, total: 2}, got int 5",
            4,
            id="exchange-orders-number",
        ),
        pytest.param(
            expecting("{exchange_orders: {trader: {BTCUSDT: {open: '1'}}}}"),
            "expect",
            "exchange_orders.trader.BTCUSDT.open must be a whole number >= 0, got '1'",
            4,
            id="exchange-orders-count-string",
        ),
        pytest.param(
            expecting("{book: {BTCUSDT: 1}}"),
            "expect",
            "unknown field 'book' (known: balances, balances_match_exchange, book_matches_exchange, "
            "connections, connector_events, errors, events, exchange_balances, exchange_orders, market, "
            "no_connector_events, no_events, no_trading_rule, orders, ready, requests, status, "
            "supported_order_types, trading_rules)",
            4,
            id="book-is-not-an-expectation",
        ),
        pytest.param(
            expecting("{orders: {o1: {exchange_id: x41}}}"),
            "expect",
            "orders.o1.exchange_id: expected the exchange's order id, a whole number such as 41, got 'x41'",
            4,
            id="exchange-id",
        ),
        pytest.param(
            expecting("{orders: {o1: {exchange_ID: 41}}}"),
            "expect orders.o1",
            "unknown field 'exchange_ID' (known: exchange_id, exchange_status, executed, executed_quote, "
            "failed_reason, fee, fills, state)",
            4,
            id="orders-unknown-field",
        ),
        pytest.param(
            expecting("{ready: 'false'}"),
            "expect",
            "ready must be true or false, got 'false'",
            4,
            id="ready-string",
        ),
        pytest.param(
            expecting("{balances_match_exchange: false}"),
            "expect",
            "balances_match_exchange: expected true (leave it out not to compare), got False",
            4,
            id="balances-match-false",
        ),
        pytest.param(
            expecting("{requests: [{method: ORDER, path: /api/v3/order, count: 0}]}"),
            "expect",
            "requests[0].method: 'ORDER' never matches: it matches no HTTP method (GET, POST, PUT, DELETE, "
            "HEAD, OPTIONS, PATCH; a glob, any case)",
            4,
            id="requests-method-matching-nothing",
        ),
        pytest.param(
            expecting("{requests: [{method: POST, path: api/v3/order, count: 0}]}"),
            "expect",
            "requests[0].path: 'api/v3/order' never matches: a path starts with '/' (e.g. /api/v3/order)",
            4,
            id="requests-relative-path",
        ),
        pytest.param(
            expecting("{requests: [{method: POST, path: /api/v3/order}]}"),
            "expect",
            "requests[0]: give 'count', or 'min' and/or 'max' (without them it checks nothing)",
            4,
            id="requests-without-count",
        ),
        pytest.param(
            expecting("{connections: [{surface: stream}]}"),
            "expect",
            "connections[0]: give 'count', or 'min' and/or 'max' (without them it checks nothing)",
            4,
            id="connections-without-count",
        ),
        pytest.param(
            expecting("{no_connector_events: [{name: StreamStatusChanged, connected: 'false'}]}"),
            "expect",
            "no_connector_events[0].connected: write false (a boolean), not the string 'false': "
            "a string never equals a boolean field",
            4,
            id="event-field-string-boolean",
        ),
        pytest.param(
            expecting("{requests: [{method: POST, path: /api/v3/orders, count: 0}]}"),
            "expect",
            "requests[0].path: '/api/v3/orders' never matches: it matches no /api/v3 path the "
            "exchange serves (did you mean /api/v3/order or /api/v3/orderList or /api/v3/allOrders?)",
            4,
            id="requests-unknown-path",
        ),
        pytest.param(
            expecting("{requests: [{surface: ws_api, method: order.plac, max: 0}]}"),
            "expect",
            "requests[0].method: 'order.plac' never matches: it matches no WS API method "
            "(did you mean order.place or sor.order.place or orderList.place?)",
            4,
            id="requests-unknown-ws-api-method",
        ),
        pytest.param(
            expecting("{requests: [{surface: stream, method: subscribe, min: 1}]}"),
            "expect",
            "requests[0].method: 'subscribe' never matches: it matches no stream control method "
            "(did you mean SUBSCRIBE or UNSUBSCRIBE?)",
            4,
            id="requests-stream-method-case",
        ),
        pytest.param(
            expecting("{requests: [{method: POST, path: /api/v3/order, min: 0}]}"),
            "expect",
            "requests[0]: 'min: 0' alone checks nothing (any count is at least 0)",
            4,
            id="requests-min-zero",
        ),
        pytest.param(
            expecting("{requests: [{surface: stream, method: SUBSCRIBED, min: 1}]}"),
            "expect",
            "requests[0].method: 'SUBSCRIBED' never matches: it matches no stream control method "
            "(did you mean SUBSCRIBE or UNSUBSCRIBE?)",
            4,
            id="requests-unknown-stream-method",
        ),
        pytest.param(
            expecting("{requests: []}"),
            "expect",
            "requests: empty, so it checks nothing and always passes; name what it should check, "
            "or leave it out",
            4,
            id="requests-empty",
        ),
        pytest.param(
            expecting("{errors: {}}"),
            "expect",
            "errors: empty, so it checks nothing and always passes; name what it should check, "
            "or leave it out",
            4,
            id="errors-empty",
        ),
        pytest.param(
            expecting("{orders: {o1: {}}}"),
            "expect",
            "orders.o1: name at least one field (e.g. state)",
            4,
            id="orders-no-field",
        ),
        pytest.param(
            expecting('{events: {o1: ["..."]}}'),
            "expect",
            "events.o1: '...' alone matches any events; name at least one event (an empty list expects none)",
            4,
            id="events-anything",
        ),
        pytest.param(
            expecting("{market: {BTC-USDT: {price_for_volume: []}}}"),
            "expect market.BTC-USDT",
            "'price_for_volume': give a query or a list of them",
            4,
            id="market-empty-queries",
        ),
    ],
)
def test_expectation_values_are_checked_when_loading(
    tmp_path: Path, text: str, where: str, message: str, line: int
) -> None:
    check_error(tmp_path, text, where, message, line)


@pytest.mark.parametrize(
    ("text", "where", "message", "line"),
    [
        pytest.param(
            expecting("{events: {o_1: []}}"),
            "expect",
            "events.o_1: no step places an order named 'o_1' (orders: o1)",
            4,
            id="events-typo-would-always-pass",
        ),
        pytest.param(
            expecting("{orders: {o2: {state: FILLED}}}"),
            "expect",
            "orders.o2: no step places an order named 'o2' (orders: o1)",
            4,
            id="orders-unknown",
        ),
        pytest.param(
            expecting("{errors: {o2: BELOW_MIN_NOTIONAL}}"),
            "expect",
            "errors.o2: no step places an order named 'o2' (orders: o1)",
            4,
            id="errors-unknown",
        ),
        pytest.param(
            "name: x\nsteps:\n"
            "  - exchange_order: {account: market-maker, symbol: BTCUSDT, side: SELL, quantity: '1',\n"
            "                     price: '1', as: mm}\n"
            "expect: {events: {mm: []}}\n",
            "expect",
            "events.mm: no step places an order named 'mm' (no buy or sell names an order); 'mm' names an "
            "exchange_order, which the connector does not track",
            5,
            id="events-of-an-exchange-order",
        ),
        pytest.param(
            "name: x\nsteps:\n  - check: {events: {o1: [OrderCreated]}}\n" + BUY,
            "step 1 (check)",
            "events.o1: no order named 'o1' was placed before this step (no buy or sell names an order)",
            3,
            id="check-before-the-order",
        ),
    ],
)
def test_expectations_name_orders_the_connector_placed(
    tmp_path: Path, text: str, where: str, message: str, line: int
) -> None:
    check_error(tmp_path, text, where, message, line)


def test_valid_expectations_load(tmp_path: Path) -> None:
    scenario_ = load_scenario(
        write(
            tmp_path,
            """
            name: every expectation, well formed
            steps:
              - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
              - buy: {order: small, pair: BTC-USDT, type: LIMIT, amount: "0.00001", price: "1",
                      expect_error: BELOW_MIN_NOTIONAL}
              - check: {orders: {o1: {state: OPEN}}, balances: {USDT: {available: "99410"}}}
            expect:
              events: {o1: [OrderCreated, ...]}
              no_events: [OrderFailed]
              orders:
                o1: {state: OPEN, executed: "0", executed_quote: 0, fills: 0, fee: {}, exchange_status: NEW,
                     exchange_id: 41}
              balances: {BTC: {total: "1", available: 1}}
              balances_match_exchange: true
              exchange_balances: {trader: {USDT: {free: "99410", locked: "590"}}}
              exchange_orders: {trader: {BTCUSDT: {open: 1, total: 1}, ETHUSDT: {total: 0}}}
              book_matches_exchange: BTC-USDT
              requests:
                - {method: POST, path: /api/v3/order, count: 1}
                - {path: "*/openOrders", max: 0}
                - {method: "p*", min: 1}
                - {path: "/sapi/*", count: 0}
                - {surface: ws_api, method: v3/order.place, count: 0}
                - {surface: stream, method: SUBSCRIBE, min: 1}
                - {surface: ws_api, method: sor.order.place, count: 0}
              errors: {small: BELOW_MIN_NOTIONAL}
              ready: true
            """,
        )
    )
    assert scenario_.expect["book_matches_exchange"] == "BTC-USDT"


# ----------------------------------------------------------------------------- setup


def with_setup(setup: str, *steps: str) -> str:
    """A scenario with ``setup`` (YAML lines, indented under it) and ``steps``."""
    lines = "".join(f"  {line}\n" for line in textwrap.dedent(setup).strip().splitlines())
    return "name: x\nsetup:\n" + lines + "steps:\n" + "".join(f"  - {s}\n" for s in steps or ["clear_faults"])


@pytest.mark.parametrize(
    ("text", "where", "message", "line"),
    [
        # Wrong shapes, which used to crash the load (balances) or the run (the others).
        pytest.param(
            with_setup("balances: [trader]"),
            "setup",
            "balances: expected a mapping of account to its balances, e.g. "
            '{trader: {BTC: "1", USDT: "1000"}}, got list',
            3,
            id="balances-list",
        ),
        pytest.param(
            with_setup("balances: {trader: {BTC: 1.5}}"),
            "setup.balances.trader",
            "'BTC' must be a decimal string like \"0.01\", got 1.5",
            3,
            id="balance-float",
        ),
        pytest.param(
            with_setup("balances: {trader: {BTC: '1.000000001'}}"),
            "setup.balances.trader",
            "'BTC': '1.000000001' is not a non-negative decimal with <= 8 places",
            3,
            id="balance-precision",
        ),
        pytest.param(
            with_setup("books: {BTCUSDT: lots}"),
            "setup.books.BTCUSDT",
            "expected {account, mid, levels, spacing, quantity}, got str 'lots'",
            3,
            id="books-string",
        ),
        pytest.param(
            with_setup("config: 5"),
            "setup",
            "config: expected a mapping of mock configuration sections (README: Configuration), got int 5",
            3,
            id="config-number",
        ),
        pytest.param(
            with_setup("connector: [a]"),
            "setup",
            "connector: expected a mapping of connector options, e.g. {trading_pairs: [BTC-USDT], "
            "wait_ready: true}, got list",
            3,
            id="connector-list",
        ),
        pytest.param(
            with_setup("connector: {trading_pairs: BTC-USDT}"),
            "setup.connector",
            "trading_pairs: expected a list of trading pairs, e.g. [BTC-USDT, ETH-USDT], got str 'BTC-USDT'",
            3,
            id="trading-pairs-string",
        ),
        pytest.param(
            with_setup("connector: {trading_pairs: [BTC-USDT, ETHUSDT]}"),
            "setup.connector",
            "trading_pairs[1]: 'ETHUSDT' is not a trading pair of the form BASE-QUOTE (e.g. BTC-USDT)",
            3,
            id="trading-pair-form",
        ),
        pytest.param(
            with_setup("connector: {wait_ready: 'false'}"),
            "setup.connector",
            "'wait_ready' must be true or false, got 'false'",
            3,
            id="wait-ready-string",
        ),
        pytest.param(
            with_setup("connector: {request_timeout_s: [1]}"),
            "setup.connector",
            "'request_timeout_s' must be a single value (a number, a string or a boolean), got list",
            3,
            id="driver-option-list",
        ),
        pytest.param(
            with_setup("clear_books: ETHBTC"),
            "setup",
            "clear_books: expected a list of symbols, e.g. [ETHBTC] (or true: every book), got str 'ETHBTC'",
            3,
            id="clear-books-string",
        ),
        # Names the exchange configuration does not have.
        pytest.param(
            with_setup("clear_books: [ETHBTC, BTCUSD]"),
            "setup.clear_books",
            "unknown symbol 'BTCUSD' (symbols: BTCUSDT, ETHUSDT, ETHBTC)",
            3,
            id="clear-books-unknown-symbol",
        ),
        pytest.param(
            with_setup("connector: {trading_pairs: [BTC-USDT, XRP-USDT]}"),
            "setup.connector",
            "trading_pairs[1]: the exchange lists no XRP-USDT (its pairs: BTC-USDT, ETH-USDT, ETH-BTC; "
            "setup.config.symbols lists the exchange's symbols)",
            3,
            id="trading-pair-not-listed",
        ),
        pytest.param(
            with_setup(
                """
                config:
                  symbols:
                    - {symbol: ETHBTC, baseAsset: ETH, quoteAsset: BTC}
                clear_books: [BTCUSDT, ETHUSDT, ETHBTC]
                """
            ),
            "setup",
            "the connector trades BTC-USDT unless setup.connector.trading_pairs says otherwise, and the "
            "exchange lists no BTC-USDT (its pairs: ETH-BTC)",
            3,
            id="default-pair-not-listed",
        ),
        pytest.param(
            with_setup("balances: {trdaer: {BTC: '1'}}"),
            "setup.balances.trdaer",
            "no account 'trdaer' (accounts: trader, market-maker)",
            3,
            id="balances-unknown-account",
        ),
        pytest.param(
            with_setup(
                "books: {BTCUSDT: {account: mm, mid: '60000', levels: 3, spacing: '1', quantity: '0.5'}}"
            ),
            "setup.books.BTCUSDT",
            "'account': no account 'mm' (accounts: trader, market-maker)",
            3,
            id="book-unknown-account",
        ),
        pytest.param(
            with_setup(
                "books: {BTCUSDT: {account: market-maker, mid: '60000', level: 3, spacing: '1', "
                "quantity: '1'}}"
            ),
            "setup.books.BTCUSDT",
            "unknown field 'level' (known: account, levels, mid, quantity, spacing)",
            3,
            id="book-typo",
        ),
        # The configuration itself, and the exchange it builds.
        pytest.param(
            with_setup(
                """
                config:
                  rate_limits: {orders_per_10s: "5"}
                """
            ),
            "setup.config",
            "rate_limits.orders_per_10s: expected int, got '5'",
            4,
            id="config-value",
        ),
        pytest.param(
            with_setup(
                """
                config:
                  books:
                    - {symbol: BTCUSDT, account: market-maker, mid: "1", level: 2, spacing: "0.1",
                       quantity: "1"}
                """
            ),
            "setup.config",
            "books[0].level: unknown setting",
            5,
            id="config-book-typo",
        ),
        pytest.param(
            with_setup(
                """
                config:
                  accounts:
                    - {name: alice, balances: {BTC: "1"}}
                """
            ),
            "setup.config",
            "accounts: the connector trades as 'trader', and no account has that name (accounts: alice)",
            5,
            id="no-trader-account",
        ),
        pytest.param(
            with_setup(
                """
                config:
                  accounts: [{name: trader}]
                """
            ),
            "setup",
            "the default BTCUSDT book: account: 'market-maker' is not a configured account (give "
            "setup.books.BTCUSDT or list BTCUSDT in setup.clear_books)",
            3,
            id="default-book-without-its-account",
        ),
        pytest.param(
            with_setup(
                "books: {BTCUSDT: {account: market-maker, mid: '60000', levels: 3, spacing: '0.001', "
                "quantity: '0.5'}}"
            ),
            "setup.books.BTCUSDT",
            "cannot seed BTCUSDT BUY 0.5 @ 59999.999: -1013: Filter failure: PRICE_FILTER",
            3,
            id="book-that-cannot-be-seeded",
        ),
        # Steps that name a trading pair: one of the connector's.
        pytest.param(
            with_setup("connector: {trading_pairs: [ETH-USDT]}", "wait: {until: book_synced}"),
            "step 1 (wait)",
            "'pair': 'BTC-USDT' is not one of the connector's trading pairs (ETH-USDT; set them in "
            "setup.connector.trading_pairs)",
            5,
            id="wait-book-of-a-pair-not-traded",
        ),
        # Steps that name an account or a symbol: one the exchange has.
        pytest.param(
            scenario("deposit: {account: trdaer, asset: BTC, amount: '1'}"),
            "step 1 (deposit)",
            "'account': no account named 'trdaer' (accounts: trader, market-maker)",
            3,
            id="deposit-unknown-account",
        ),
        pytest.param(
            scenario(
                "exchange_order: {account: market-maker, symbol: BTCUSD, side: BUY, quantity: '1', "
                "price: '1'}"
            ),
            "step 1 (exchange_order)",
            "'symbol': unknown symbol 'BTCUSD' (symbols: BTCUSDT, ETHUSDT, ETHBTC)",
            3,
            id="exchange-order-unknown-symbol",
        ),
        pytest.param(
            "name: x\nsteps:\n  - restart_connector:\n      while_down:\n"
            "        - clear_book: {symbol: btcusdt}\n",
            "step 1 (restart_connector) while_down[1]",
            "'symbol': unknown symbol 'btcusdt' (symbols: BTCUSDT, ETHUSDT, ETHBTC)",
            5,
            id="nested-step-unknown-symbol",
        ),
        pytest.param(
            with_setup(
                """
                config:
                  symbols: [{symbol: BTCUSDT, baseAsset: BTC, quoteAsset: USDT}]
                clear_books: [ETHUSDT, ETHBTC]
                """,
                "seed_book: {symbol: ETHBTC, account: market-maker, mid: '0.05', levels: 2, "
                "spacing: '0.001', quantity: '1'}",
            ),
            "step 1 (seed_book)",
            "'symbol': unknown symbol 'ETHBTC' (symbols: BTCUSDT)",
            7,
            id="step-symbol-the-config-took-away",
        ),
        # The document.
        pytest.param(
            "name: x\nsetup: []\nsteps: [clear_faults]\n",
            "setup",
            "expected a mapping, got list",
            2,
            id="setup-list",
        ),
        pytest.param(
            "name: x\ndescription: {a: 1}\nsteps: [clear_faults]\n",
            "document",
            "'description' must be text, got dict",
            2,
            id="description-mapping",
        ),
        pytest.param(
            "name: x\ntags: ''\nsteps: [clear_faults]\n",
            "document",
            "'tags' must be a list of strings",
            2,
            id="tags-empty-string",
        ),
    ],
)
def test_setup_is_checked_against_the_configuration_it_makes(
    tmp_path: Path, text: str, where: str, message: str, line: int
) -> None:
    check_error(tmp_path, text, where, message, line)


def test_a_valid_setup_loads(tmp_path: Path) -> None:
    scenario_ = load_scenario(
        write(
            tmp_path,
            """
            name: every setup part, well formed
            setup:
              config:
                rate_limits: {orders_per_10s: 5}
                symbols:
                  - {symbol: BTCUSDT, baseAsset: BTC, quoteAsset: USDT}
                  - {symbol: BNBUSDT, baseAsset: BNB, quoteAsset: USDT, status: BREAK}
              balances: {trader: {BTC: "0", USDT: 1000, BNB: "2.5"}}
              books:
                BTCUSDT: {account: market-maker, mid: "60000", levels: 5, spacing: "10", quantity: "0.5"}
              clear_books: [ETHUSDT, ETHBTC]   # default books of symbols setup.config took away
              connector: {trading_pairs: [BTC-USDT, BNB-USDT], wait_ready: false, order_request_timeout_s: 2}
              faults: [{name: boot, surface: rest, path: /api/v3/ping, action: error}]
            steps:
              - wait: {until: book_synced, pair: BNB-USDT}
              - remove_fault: {name: boot}
            """,
        )
    )
    assert scenario_.setup["connector"]["trading_pairs"] == ["BTC-USDT", "BNB-USDT"]
    # `true` clears every book, and a key given no value is as if left out.
    load_scenario(write(tmp_path, "name: x\nsetup: {clear_books: true, balances: }\nsteps: [clear_faults]\n"))
