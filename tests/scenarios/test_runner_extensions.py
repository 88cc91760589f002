"""The runner's new steps and expectations, against the real mock and connector: what they
accept, and that a mismatch fails with the place, the line and a useful message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scenarios.driver import ObservedEvent
from scenarios.runner import Result, _event_matches, _frame_method, run_scenario
from scenarios.spec import ScenarioError, load_scenario


async def run(tmp_path: Path, text: str) -> Result:
    path = tmp_path / "case.scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return await run_scenario(load_scenario(path))


def failures(result: Result) -> dict[str, tuple[str, int | None]]:
    assert result.error is None, result.error
    return {f.where: (f.message, f.line) for f in result.failures}


async def test_new_expectations_hold_on_a_quiet_start(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test
        steps:
          - check_network: {expect: CONNECTED}
          - all_trading_pairs: {expect: [ETH-BTC, BTC-USDT, ETH-USDT]}
        expect:
          requests:
            - {surface: stream, method: SUBSCRIBE, count: 1}
            - {surface: ws_api, method: "userDataStream.subscribe.*", count: 1}
            - {surface: ws_api, method: order.place, count: 0}
            - {method: GET, path: /api/v3/ping, count: 1}
          connections: [{surface: stream, count: 1}, {surface: ws_api, count: 1}]
          market:
            BTC-USDT:
              best_bid: "59995"
              best_ask: "60005.00"
              mid_price: "60000"
              last_trade_price: null
              price_for_volume:
                - {side: sell, volume: "0.5", price: "59990", vwap: "59992.5", filled: "0.5"}
                - {side: buy, volume: "1000", filled: "5"}
          trading_rules:
            BTC-USDT: {min_order_size: "0.00001", min_notional_size: "5", supports_market_orders: true}
          no_trading_rule: [BNB-USDT]
          supported_order_types: [MARKET, LIMIT, LIMIT_MAKER]
          status: {ready: true, user_stream_initialized: true, order_books_initialized: true}
          connector_events:
            - StreamStatusChanged
            - {name: ReconciliationCompleted, trigger: "user stream*", complete: true}
          no_connector_events:
            - {name: StreamStatusChanged, connected: false}
        """,
    )
    assert failures(result) == {}
    assert result.passed


async def test_mismatches_name_the_expectation_and_line(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, failing
        steps:
          - advance: 0.1
        expect:
          requests:
            - {surface: stream, method: SUBSCRIBE, min: 2}
          connections: [{surface: ws_api, max: 0}]
          market:
            BTC-USDT:
              mid_price: "60001"
              price_for_volume: {side: buy, volume: "0.5", price: "60005"}
            ETH-USDT: {best_bid: "1"}
          trading_rules:
            BTC-USDT: {min_order_size: "0.001", tick: "0.01"}
            BNB-USDT: {min_order_size: "1"}
          no_trading_rule: [BTC-USDT]
          supported_order_types: [LIMIT]
          status: {user_stream_initialized: false, warp_drive: true}
          connector_events:
            - {name: StreamStatusChanged, stream: user_stream, connected: false}
          no_connector_events:
            - {name: StreamStatusChanged, stream: market_stream}
        """,
    )
    got = failures(result)
    assert got["expect.requests[0]"] == (
        "stream frames with method SUBSCRIBE: expected at least 2, sent 1",
        6,
    )
    assert got["expect.connections[0]"] == ("ws_api connections: expected at most 0, saw 1", 7)
    assert got["expect.market.BTC-USDT.mid_price"][1] == 10
    assert "expected 60001, got 60000" in got["expect.market.BTC-USDT.mid_price"][0]
    assert got["expect.market.BTC-USDT.price_for_volume.price"] == (
        "buy 0.5: expected price 60005, got 60010.00000000",
        11,
    )
    # ETH-USDT is not one of the connector's pairs: said so, at its line.
    assert got["expect.market.ETH-USDT"] == (
        "'ETH-USDT' is not one of the connector's trading pairs (BTC-USDT; set them in "
        "setup.connector.trading_pairs)",
        12,
    )
    assert got["expect.trading_rules.BTC-USDT.min_order_size"][1] == 14
    assert "the connector's rule has no field 'tick'" in got["expect.trading_rules.BTC-USDT.tick"][0]
    assert got["expect.trading_rules.BNB-USDT"] == ("the connector has no trading rule for it", 15)
    assert "the connector has a rule for BTC-USDT" in got["expect.no_trading_rule"][0]
    assert (
        got["expect.supported_order_types"][0] == "expected ['LIMIT'], got ['LIMIT', 'LIMIT_MAKER', 'MARKET']"
    )
    assert got["expect.status.user_stream_initialized"][1] == 18
    assert "has no 'warp_drive'" in got["expect.status.warp_drive"][0]
    assert got["expect.connector_events[0]"][0].startswith(
        "no StreamStatusChanged with stream=user_stream connected=False; StreamStatusChanged events recorded:"
    )
    assert got["expect.no_connector_events[0]"][0].startswith(
        "StreamStatusChanged with stream=market_stream happened: StreamStatusChanged stream=market_stream"
    )
    assert not result.passed


async def test_steps_fail_with_a_clear_message(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, failing steps
        steps:
          - all_trading_pairs: {expect: [BTC-USDT, DOGE-USDT]}
        """,
    )
    [failure] = result.failures
    assert failure.where == "step 1 (all_trading_pairs)"
    assert failure.message == (
        "all_trading_pairs: expected ['BTC-USDT', 'DOGE-USDT'], got ['BTC-USDT', 'ETH-BTC', 'ETH-USDT'] "
        "(missing ['DOGE-USDT']) (unexpected ['ETH-BTC', 'ETH-USDT'])"
    )
    result = await run(
        tmp_path,
        """
        name: runner self-test, network
        steps:
          - fault: {surface: rest, path: /api/v3/ping, action: error, status: 500, code: -1001}
          - check_network: {expect: CONNECTED}
        """,
    )
    [failure] = result.failures
    assert (failure.where, failure.line) == ("step 2 (check_network)", 4)
    assert failure.message == "check_network: expected CONNECTED, got NOT_CONNECTED"


async def test_unknown_names_in_expectations_fail_at_their_line(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, unknown names
        steps:
          - advance: 0.1
        expect:
          exchange_balances: {trdaer: {BTC: {free: "1"}}}
          exchange_orders: {trader: {BTCUSDX: {open: 0}}}
          book_matches_exchange: [BTC-USDT, ETH-USDT]
        """,
    )
    assert failures(result) == {  # failures, not a crash: the run went through
        "expect.exchange_balances.trdaer": (
            "account: no account named 'trdaer' (accounts: trader, market-maker)",
            5,
        ),
        "expect.exchange_orders.trader.BTCUSDX": (
            "symbol: unknown symbol 'BTCUSDX' (symbols: BTCUSDT, ETHUSDT, ETHBTC)",
            6,
        ),
        "expect.book_matches_exchange": (
            "'ETH-USDT' is not one of the connector's trading pairs (BTC-USDT; set them in "
            "setup.connector.trading_pairs)",
            7,
        ),
    }
    # The same in a check step: one step failure naming each field once.
    result = await run(
        tmp_path,
        """
        name: runner self-test, unknown names in a check
        steps:
          - check: {exchange_balances: {trdaer: {BTC: {free: "1"}}}}
        """,
    )
    [failure] = result.failures
    assert (failure.where, failure.line) == ("step 1 (check)", 3)
    assert failure.message == (
        "check.exchange_balances.trdaer: account: no account named 'trdaer' (accounts: trader, market-maker)"
    )


async def test_setup_names_unknown_symbols_in_the_files_terms(tmp_path: Path) -> None:
    path = tmp_path / "case.scenario.yaml"
    path.write_text(
        "name: x\nsetup:\n  books:\n    BTCUSDX: {account: market-maker, mid: '1', levels: 1,"
        " spacing: '0.1', quantity: '1'}\nsteps: [clear_faults]\n"
    )
    with pytest.raises(ScenarioError) as e:
        await run_scenario(load_scenario(path))
    assert (e.value.where, e.value.line) == ("setup.books", 4)
    assert e.value.message == "unknown symbol 'BTCUSDX' (symbols: BTCUSDT, ETHUSDT, ETHBTC)"


async def test_a_local_rejection_names_its_reason_once(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, refused order
        steps:
          - buy: {order: o1, pair: BTC-USDX, type: LIMIT, amount: "1", price: "1"}
        """,
    )
    [failure] = result.failures
    assert failure.message.startswith("the connector refused the order: UNKNOWN_TRADING_PAIR [BTC-USDX]")
    assert failure.message.count("UNKNOWN_TRADING_PAIR") == 1


async def test_a_wait_that_times_out_says_what_it_saw(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, wait timeout
        steps:
          - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
          - wait: {order: o1, state: FILLED, timeout: 2}
        """,
    )
    [failure] = result.failures
    assert (failure.where, failure.message) == (
        "step 2 (wait)",
        "timed out after 2 s (virtual) waiting for order o1 to be FILLED; it is OPEN",
    )


async def test_setup_faults_are_armed_before_the_connector_starts(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, setup.faults
        setup:
          faults:
            - {name: slow, surface: rest, method: GET, path: /api/v3/exchangeInfo, action: error,
               status: 500, code: -1001, times: 2}
        steps:
          - check:
              requests: [{method: GET, path: /api/v3/exchangeInfo, count: 3}]
        """,
    )
    assert failures(result) == {}
    fired = [t.text for t in result.traffic if t.surface == "fault"]
    assert len(fired) == 2 and all("GET /api/v3/exchangeInfo" in t for t in fired)


def test_frame_method_reads_json_and_truncated_frames() -> None:
    assert _frame_method('{"method": "SUBSCRIBE", "params": [], "id": 1}') == "SUBSCRIBE"
    assert _frame_method('{"id":"x","method":"order.place","params":{"symbol":"BTC...(+40 chars)') == (
        "order.place"
    )
    assert _frame_method('{"id": 1, "method": "v3/order.place", "params": {}}', "ws_api") == "order.place"
    assert _frame_method("[1, 2]") == ""
    assert _frame_method("not json") == ""


def test_event_patterns_compare_booleans_numbers_and_globs() -> None:
    event = ObservedEvent(
        1,
        0,
        "ReconciliationCompleted",
        None,
        {"trigger": "user stream connected", "orders_checked": 2, "complete": True, "amount": "1.50"},
    )
    assert _event_matches(event, {"name": "ReconciliationCompleted"})
    assert _event_matches(event, {"name": "ReconciliationCompleted", "complete": True, "orders_checked": "2"})
    assert _event_matches(event, {"name": "ReconciliationCompleted", "trigger": "user*", "amount": "1.5"})
    assert not _event_matches(event, {"name": "ReconciliationCompleted", "complete": False})
    assert not _event_matches(event, {"name": "ReconciliationCompleted", "orders_checked": 3})
    assert not _event_matches(event, {"name": "ReconciliationCompleted", "missing": "x"})
    assert not _event_matches(event, {"name": "StreamStatusChanged"})


async def test_rest_requests_match_any_path_without_one_and_methods_as_case_insensitive_globs(
    tmp_path: Path,
) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, REST request counts
        steps:
          - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
          - wait: {order: o1, state: OPEN}
        expect:
          requests:
            - {method: POST, min: 1}
            - {method: post, path: /api/v3/order, count: 1}
            - {method: "P*", path: "/api/v3/ord*", count: 1}
            - {method: "[gG]et", path: /api/v3/exchangeInfo, min: 1}
            - {path: /api/v3/order, count: 1}
            - {method: POST, count: 0}
            - {method: DELETE, max: 0}
        """,
    )
    # No path means any path: the POST sent is counted (it used to count nothing, so
    # `count: 0` passed after a POST went out).
    assert failures(result) == {"expect.requests[5]": ("POST *: expected exactly 0, sent 1", 12)}


async def test_orders_exchange_id_compares_the_connectors_exchange_order_id(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, exchange ids
        steps:
          - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
          - buy: {order: o2, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59001"}
          - fault: {surface: rest, method: POST, path: /api/v3/order, action: error, status: 400, code: -2010}
          - buy: {order: o3, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59002"}
          - wait: {order: o3, state: FAILED}
        expect:
          orders:
            o1: {exchange_id: 41}
            o2: {exchange_id: 123456789}
            o3: {exchange_id: "43"}
        """,
    )
    # The default books hold 40 market-maker orders, so the connector's are 41 and 42.
    assert failures(result) == {
        "expect.orders.o2.exchange_id": (
            "expected 123456789, got 42 (the exchange's order id is 42)",
            11,
        ),
        "expect.orders.o3.exchange_id": (
            "expected 43, the connector has no exchange order id for it (the exchange has no such order)",
            12,
        ),
    }


async def test_a_steps_effect_reaches_the_connector_before_the_next_step(tmp_path: Path) -> None:
    """Like `disconnect`, the steps that act on the exchange (terminate, inject, another
    participant's order, a deposit) are delivered and handled before the next step: a
    `check` or `wait` right after one sees the connector's reaction, not stale state."""
    result = await run(
        tmp_path,
        """
        name: runner self-test, effects are delivered before the next step
        steps:
          - terminate_user_stream: {}
          - check: {status: {user_stream: false}}
          - wait: {until: user_stream_connected}
          - inject_user_event:
              payload: {e: balanceUpdate, E: 1780000000000, a: BTC, d: "0", T: 1780000000000}
          - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59999"}
          - check: {orders: {o1: {state: OPEN}}}
          - exchange_order:
              {account: market-maker, symbol: BTCUSDT, side: SELL, type: LIMIT, quantity: "0.01",
               price: "59999", time_in_force: IOC}
          - check: {orders: {o1: {state: FILLED}}}
          - deposit: {account: trader, asset: ETH, amount: "1"}
          - check: {balances: {ETH: {total: "11"}}}
        expect:
          connector_events:
            - {name: StreamStatusChanged, stream: user_stream, connected: false}
            - {name: StreamStatusChanged, stream: user_stream, connected: true}
        """,
    )
    assert failures(result) == {}
    # and no virtual time passed for it: the check ran at the step's own instant
    [terminate, check] = result.steps[:2]
    assert terminate.started_us == check.started_us


async def test_restart_connector_takes_a_timeout_and_says_what_is_not_ready(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, a restart that never gets ready
        steps:
          - restart_connector:
              timeout: 5
              while_down:
                - fault: {surface: ws_api, method: userDataStream.subscribe.signature, action: error,
                          status: 400, code: -1022, times: null}
        """,
    )
    [failure] = result.failures
    assert (failure.where, failure.line) == ("step 1 (restart_connector)", 3)
    assert failure.message.startswith(
        "timed out after 5 s (virtual) waiting for the restarted connector to become ready; "
        "not ready: user_stream_initialized, ready, user_stream (why: user_stream_initialized: "
        "subscription failed: "
    ), failure.message
    assert "-1022" in failure.message


async def test_time_spent_down_does_not_count_against_the_restart_timeout(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, a long time down
        steps:
          - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
          - wait: {order: o1, state: OPEN}
          - restart_connector:
              down_for: 30
              while_down:
                - advance: 90
                - exchange_cancel: {account: trader, symbol: BTCUSDT, order: o1}
          - wait: {order: o1, state: CANCELED}
        """,
    )
    assert failures(result) == {}
    [restart, after] = result.steps[2:]
    assert after.started_us - restart.started_us >= 120_000_000  # 90 s + 30 s down


async def test_a_setup_that_never_gets_ready_says_what_is_not_ready(tmp_path: Path) -> None:
    result = await run(
        tmp_path,
        """
        name: runner self-test, never ready
        setup:
          faults:
            - {surface: rest, method: GET, path: /api/v3/exchangeInfo, action: error, status: 500,
               code: -1001, times: null}
        steps:
          - advance: 1
        """,
    )
    [failure] = result.failures
    assert failure.where == "setup"
    assert failure.message.startswith(
        "timed out after 60 s (virtual) waiting for the connector to become ready; not ready: "
        "symbols_mapping_initialized, trading_rule_initialized, order_books_initialized"
    ), failure.message
    assert "(why: symbols_mapping_initialized: " in failure.message and "-1001" in failure.message


def test_long_lists_in_messages_are_cut_with_a_count() -> None:
    from scenarios.runner import _listing, _sequence

    assert _listing([]) == "none"
    assert _listing(["a", "b"]) == "a, b"
    assert _listing([f"x{i}" for i in range(300)]) == ", ".join(f"x{i}" for i in range(10)) + " and 290 more"
    events = ["OrderCreated", *["OrderFilled"] * 298, "OrderCompleted"]
    assert _sequence(events) == (
        "['OrderCreated', 'OrderFilled', 'OrderFilled', 'OrderFilled', 'OrderFilled', 'OrderFilled', "
        "... 290 more ..., 'OrderFilled', 'OrderFilled', 'OrderFilled', 'OrderCompleted']"
    )
    assert _sequence(["OrderCreated"]) == "['OrderCreated']"


async def test_a_fault_that_never_fires_fails_the_scenario(tmp_path: Path) -> None:
    """A fault on a request the connector never makes (here DELETE openOrders; a misspelt
    path is refused when the file loads) leaves the scenario untested: it fails, naming
    the fault; a fault that matched but was still waiting (``after``) says so;
    ``may_not_fire: true`` marks an idle guard."""
    result = await run(
        tmp_path,
        """
        name: faults that never fire
        setup:
          faults:
            - {surface: rest, method: DELETE, path: /api/v3/openOrders, action: error, status: 503}
        steps:
          - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
          - wait: {order: o1, state: OPEN}
          - fault: {surface: rest, method: DELETE, path: /api/v3/order, action: error, status: 500, after: 5}
          - cancel: {order: o1}
          - fault: {surface: rest, path: /api/v3/ping, action: error, status: 500, may_not_fire: true}
          - fault: {name: idle, surface: rest, path: /api/v3/ping, action: error, status: 500}
          - remove_fault: {name: idle}
        """,
    )
    got = failures(result)
    assert set(got) == {"setup.faults[0]", "step 3 (fault)", "step 6 (fault)"}
    assert "it matched nothing before it was removed" in got["step 6 (fault)"][0]
    message, line = got["setup.faults[0]"]
    assert message.startswith(
        "fault #1 (rest DELETE /api/v3/openOrders: error 503) never fired; it matched nothing"
    )
    assert "may_not_fire: true" in message and line == 4
    assert "it matched 1 time(s) but never fired" in got["step 3 (fault)"][0]


@pytest.mark.parametrize(
    ("pattern", "where", "message", "line"),
    [
        (
            "{name: StreamStatusChanged, conected: false}",
            "expect",
            "no_connector_events[0]: StreamStatusChanged has no field 'conected' "
            "(its fields: connected, reason, stream)",
            6,
        ),
        (
            "StreamStatusChange",
            "expect",
            "no_connector_events[0]: 'StreamStatusChange' is not an event the connector records "
            "here (known: BalanceUpdated, ReconciliationCompleted, StreamStatusChanged)",
            6,
        ),
    ],
)
async def test_event_patterns_name_what_the_driver_records(
    tmp_path: Path, pattern: str, where: str, message: str, line: int
) -> None:
    """A misspelt event or field matches nothing, so ``no_connector_events`` would pass
    whatever happened: the run refuses it before starting the connector."""
    path = tmp_path / "case.scenario.yaml"
    path.write_text(
        "name: x\nsteps:\n  - terminate_user_stream: {account: trader}\n"
        f"expect:\n  no_connector_events:\n    - {pattern}\n"
    )
    with pytest.raises(ScenarioError) as e:
        await run_scenario(load_scenario(path))
    assert (e.value.where, e.value.message, e.value.line) == (where, message, line)
