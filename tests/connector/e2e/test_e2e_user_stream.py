"""The user data stream: orders and balances from events, robustness, reconnection and the
reconciliation after it (template tests 21, 28-33; additions (b), (l), (o); W9)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from connector.binance import (
    BalanceUpdated,
    BuyOrderCompleted,
    BuyOrderCreated,
    OrderCancelled,
    OrderFilled,
    OrderState,
    OrderType,
    ReconciliationCompleted,
    StreamStatusChanged,
)
from connector.binance.binance_exchange import UNREADABLE_EVENT_RECONCILE_S
from mock_exchange.clock import VirtualClock, settle
from mock_exchange.engine import Side
from tests.connector.e2e.support import BTC, FAST, NEVER, SAFETY, Harness, stream_down, until

D = Decimal
ORDER = "/api/v3/order"
ACCOUNT = "/api/v3/account"


def execution_report(order_id: str, exchange_order_id: int, **changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "e": "executionReport",
        "E": 1,
        "s": "BTCUSDT",
        "c": order_id,
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "0.01000000",
        "p": "59000.00000000",
        "P": "0.00000000",
        "F": "0.00000000",
        "g": -1,
        "C": "",
        "x": "NEW",
        "X": "NEW",
        "r": "NONE",
        "i": exchange_order_id,
        "l": "0.00000000",
        "z": "0.00000000",
        "L": "0.00000000",
        "n": "0",
        "N": None,
        "T": 1,
        "t": -1,
        "I": 1,
        "w": True,
        "m": False,
        "M": False,
        "O": 1,
        "Z": "0.00000000",
        "Y": "0.00000000",
        "Q": "0.00000000",
    }
    event.update(changes)
    return {"subscriptionId": 0, "event": event}


async def test_update_balances(harness: Harness) -> None:
    """Template 21: total and available from REST, then kept current by the stream."""
    exchange, log = await harness.started()
    assert exchange.get_all_balances() == {"BTC": D("1"), "ETH": D("10"), "USDT": D("100000")}
    order_id = exchange.buy(BTC, D("1"), OrderType.LIMIT, D("50000"))
    await log.wait_for(BuyOrderCreated, order_id)
    await until(
        lambda: exchange.get_available_balance("USDT") == D("50000"), exchange.events, what="locked USDT"
    )
    assert exchange.get_balance("USDT") == D("100000")
    await exchange.update_balances()
    assert (exchange.get_balance("USDT"), exchange.get_available_balance("USDT")) == (D("100000"), D("50000"))


async def test_stale_rest_balances_never_overwrite_newer_stream_updates(harness: Harness) -> None:
    """Addition (l): an /account answer produced before an order locked funds arrives after
    the stream reported the lock: the streamed (newer) values stay."""
    exchange, log = await harness.started()
    release = asyncio.Event()
    harness.faults.hold("GET", ACCOUNT, release)
    task = asyncio.create_task(exchange.update_balances())
    # the start-up call, then ours
    await until(lambda: harness.faults.count("GET", ACCOUNT) >= 2, what="the /account request")
    order_id = exchange.buy(BTC, D("1"), OrderType.LIMIT, D("50000"))
    await log.wait_for(BuyOrderCreated, order_id)
    await until(
        lambda: exchange.get_available_balance("USDT") == D("50000"), exchange.events, what="the lock"
    )
    release.set()
    await asyncio.wait_for(task, SAFETY)
    assert exchange.get_available_balance("USDT") == D("50000")


async def test_user_stream_update_for_new_order(harness: Harness) -> None:
    """Template 28: the stream's NEW creates the order before the REST answer arrives."""
    exchange, log = await harness.started()
    release = asyncio.Event()
    harness.faults.hold("POST", ORDER, release)
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    created = await log.wait_for(BuyOrderCreated, order_id)
    assert created.exchange_order_id == str(harness.open_order(order_id).order_id)
    assert exchange.in_flight_orders[order_id].current_state is OrderState.OPEN
    release.set()


async def test_user_stream_update_for_canceled_order(harness: Harness) -> None:
    """Template 29: cancelled by another session; the event names the order in ``C``."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.calls.clear()
    harness.cancel_on_exchange(order_id)
    await log.wait_for(OrderCancelled, order_id)
    assert harness.faults.calls == []  # the stream alone


async def test_user_stream_update_for_order_full_fill(harness: Harness) -> None:
    """Template 30."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.5"), OrderType.LIMIT, D("59999"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.faults.calls.clear()
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    fill = log.of(OrderFilled, order_id)[0]
    assert fill.is_maker and fill.price == D("59999") and fill.amount == D("0.5")
    assert completed.executed_amount_base == D("0.5")
    assert harness.faults.calls == []


async def test_user_stream_balance_update(harness: Harness) -> None:
    """Template 31: a deposit (``balanceUpdate`` + ``outboundAccountPosition``)."""
    exchange, log = await harness.started()
    harness.deposit("ETH", "2.5")
    await until(lambda: exchange.get_balance("ETH") == D("12.5"), exchange.events, what="the deposit")
    assert exchange.get_available_balance("ETH") == D("12.5")
    assert log.of(BalanceUpdated)[-1].asset == "ETH"


async def test_stop_cancels_the_user_stream(harness: Harness) -> None:
    """Template 32: stopping cancels every task cleanly (CancelledError is not swallowed
    into a retry loop)."""
    exchange, _ = await harness.started()
    tasks = {task.get_name(): task for task in exchange._supervisors}
    await asyncio.wait_for(exchange.stop(), SAFETY)
    assert tasks["binance-user-stream"].cancelled() and tasks["binance-reconciliation"].cancelled()
    assert all(task.done() and (task.cancelled() or task.exception() is None) for task in tasks.values())
    assert not exchange.status_dict["user_stream_initialized"]


async def test_user_stream_survives_bad_events(harness: Harness) -> None:
    """Template 33 and addition (o): garbage frames, malformed and unknown events, and an
    unknown order status are skipped; the next real event is still processed."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    exchange_order_id = harness.open_order(order_id).order_id
    harness.inject_user("not json")
    harness.inject_user(json.dumps([1, 2, 3]))
    harness.inject_user({"subscriptionId": 0})
    harness.inject_user({"subscriptionId": 0, "event": {"e": "somethingNew", "E": 1}})
    harness.inject_user({"subscriptionId": 0, "event": {"e": "executionReport"}})  # fields missing
    harness.inject_user(
        execution_report(order_id, exchange_order_id, x="NEW", X="SOME_FUTURE_STATUS", E=10**13, T=10**13)
    )
    harness.inject_user({"subscriptionId": 0, "event": {"e": "outboundAccountPosition", "E": 1, "B": "x"}})
    harness.cancel_on_exchange(order_id)
    await log.wait_for(OrderCancelled, order_id)
    assert log.names(order_id) == ["BuyOrderCreated", "OrderCancelled"]


async def test_event_stream_terminated_reconnects_and_reconciles(harness: Harness) -> None:
    exchange, log = await harness.started()
    reconnected = exchange.events.wait_for(
        StreamStatusChanged, predicate=lambda e: e.stream == "user_stream" and e.connected
    )
    reconciled = exchange.events.wait_for(
        ReconciliationCompleted, predicate=lambda e: "user stream" in e.trigger
    )
    harness.inject_user({"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": 1}})
    await asyncio.wait_for(reconnected, SAFETY)
    await asyncio.wait_for(reconciled, SAFETY)
    down = [e for e in log.of(StreamStatusChanged) if e.stream == "user_stream" and not e.connected]
    assert "terminated" in down[-1].reason


async def test_reconnect_reconciles_what_was_missed(harness: Harness) -> None:
    """Addition (b): the connection drops and the order fills before the connector is back;
    the events were never delivered. The reconciliation after the reconnect finds the fill."""
    exchange, log = await harness.started(stream_backoff=FAST)
    order_id = exchange.buy(BTC, D("0.5"), OrderType.LIMIT, D("59999"))
    await log.wait_for(BuyOrderCreated, order_id)
    before = exchange._user_stream.connections  # type: ignore[union-attr]
    harness.close_user_streams()
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")  # the closing connection drops these events
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    assert completed.executed_amount_base == D("0.5")
    assert exchange._user_stream.connections == before + 1  # type: ignore[union-attr]
    assert harness.faults.count("GET", "/api/v3/myTrades") == 1
    assert exchange.ready or await _ready(exchange)


async def _ready(exchange: object) -> bool:
    await asyncio.wait_for(exchange.wait_until_ready(), SAFETY)  # type: ignore[attr-defined]
    return True


async def test_a_dead_market_stream_does_not_affect_the_user_stream(harness: Harness) -> None:
    """W9: independent supervisors. With the market stream down (and not coming back soon),
    orders are still tracked from the user stream; books say they are not synced."""
    exchange, log = await harness.started(stream_backoff=NEVER)
    await stream_down(harness, exchange, "market_stream")
    assert not exchange.is_order_book_synced(BTC) and not exchange.ready
    assert "market stream" in exchange.not_ready_reasons["order_books_initialized"]
    assert exchange.status_dict["user_stream_initialized"]
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.cancel_on_exchange(order_id)
    await log.wait_for(OrderCancelled, order_id)


async def test_a_dead_user_stream_does_not_affect_the_books(harness: Harness) -> None:
    exchange, _ = await harness.started(stream_backoff=NEVER)
    await stream_down(harness, exchange, "user_stream")
    assert exchange.is_order_book_synced(BTC)
    assert not exchange.status_dict["user_stream_initialized"]
    assert "closed" in exchange.not_ready_reasons["user_stream_initialized"]
    harness.mm_order("BTCUSDT", Side.BUY, "0.01", "59999")
    await until(lambda: exchange.get_best_bid(BTC) == D("59999"), what="the book update")


async def test_deltas_with_the_same_time_both_count(vharness: Harness, vclock: VirtualClock) -> None:
    """Two ``balanceUpdate`` events in the same millisecond are two changes, not a repeat."""
    exchange, _ = await vharness.started(clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep)
    t = vclock.now_us() // 1000 + 1
    for _ in range(2):
        vharness.inject_user(
            {"subscriptionId": 0, "event": {"e": "balanceUpdate", "E": t, "a": "BTC", "d": "0.5", "T": t}}
        )
    await until(lambda: exchange.get_balance("BTC") == D("2"), exchange.events, what="both deltas")


async def test_a_snapshot_from_before_a_same_millisecond_event_loses(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """An /account answer and a stream event carry the same exchange millisecond, but the
    snapshot was taken before the event: the answer, processed last, must not put the
    older balance back (the clock stands still, so every exchange time here is one
    millisecond)."""
    exchange, _ = await vharness.started(clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep)
    vharness.deposit("USDT", "1")
    await until(lambda: exchange.get_balance("USDT") == D("100001"), exchange.events, what="deposit 1")
    release = asyncio.Event()
    vharness.faults.hold("GET", ACCOUNT, release)  # answered now, delivered later
    task = asyncio.create_task(exchange.update_balances())
    await until(lambda: vharness.faults.count("GET", ACCOUNT) >= 2, what="the request")
    await settle()  # the snapshot is taken; its answer waits for ``release``
    vharness.deposit("USDT", "2")
    await until(lambda: exchange.get_balance("USDT") == D("100003"), exchange.events, what="deposit 2")
    release.set()
    await asyncio.wait_for(task, SAFETY)
    assert exchange.get_balance("USDT") == D("100003")
    # A snapshot asked for after the stream's value arrived is taken at the same
    # millisecond: here it corrects a (made-up) streamed balance.
    vharness.faults.clear()
    now_ms = vclock.now_us() // 1000
    position = {"e": "outboundAccountPosition", "E": now_ms, "u": now_ms}
    position["B"] = [{"a": "USDT", "f": "7", "l": "0"}]
    vharness.inject_user({"subscriptionId": 0, "event": position})
    await until(lambda: exchange.get_balance("USDT") == D("7"), exchange.events, what="the made-up value")
    await vclock.advance(0.0005)  # local time moves on; the account's updateTime stays
    await asyncio.wait_for(exchange.update_balances(), SAFETY)
    assert exchange.get_balance("USDT") == D("100003")


async def test_a_second_snapshot_in_the_same_millisecond_also_loses(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """As above, after a first snapshot of the same millisecond was applied: the rule must
    not depend on whether the balance last came from REST."""
    exchange, _ = await vharness.started(clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep)
    vharness.deposit("USDT", "1")
    await until(lambda: exchange.get_balance("USDT") == D("100001"), exchange.events, what="deposit 1")
    await vclock.advance(0.0001)
    await asyncio.wait_for(exchange.update_balances(), SAFETY)  # applied, same exchange ms
    release = asyncio.Event()
    vharness.faults.hold("GET", ACCOUNT, release)
    task = asyncio.create_task(exchange.update_balances())
    await until(lambda: vharness.faults.count("GET", ACCOUNT) >= 3, what="the request")
    await settle()
    vharness.deposit("USDT", "2")
    await until(lambda: exchange.get_balance("USDT") == D("100003"), exchange.events, what="deposit 2")
    release.set()
    await asyncio.wait_for(task, SAFETY)
    assert exchange.get_balance("USDT") == D("100003")


async def test_a_lost_trade_report_is_fetched_at_once(harness: Harness) -> None:
    """The first TRADE report of a resting order is dropped; the second says 0.02 executed
    while only 0.01 of fills arrived. The connector fetches the missing trade (myTrades) at
    once, and only then completes: Created, two fills, Completed."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.02"), OrderType.LIMIT, D("59999"))
    await log.wait_for(BuyOrderCreated, order_id)
    harness.server.control.add_fault(
        {
            "surface": "user_data",
            "event": "executionReport",
            "execution_type": "TRADE",
            "action": "drop",
            "times": 1,
        }
    )
    harness.mm_order("BTCUSDT", Side.SELL, "0.01")
    harness.mm_order("BTCUSDT", Side.SELL, "0.01")
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    assert completed.executed_amount_base == D("0.02") and completed.fills_complete
    assert log.names(order_id) == ["BuyOrderCreated", "OrderFilled", "OrderFilled", "BuyOrderCompleted"]
    assert harness.faults.count("GET", "/api/v3/myTrades") == 1


async def test_an_unreadable_report_is_replaced_by_a_reconciliation(harness: Harness) -> None:
    """A report the connector cannot read stands for something that happened: the fill it
    carried is fetched from REST at once (it was dropped until the next safety poll)."""
    exchange, log = await harness.started()
    order_id = exchange.buy(BTC, D("0.5"), OrderType.LIMIT, D("59999"))
    await log.wait_for(BuyOrderCreated, order_id)
    exchange_order_id = harness.open_order(order_id).order_id
    harness.server.control.add_fault(
        {"surface": "user_data", "event": "executionReport", "account": "trader", "action": "drop"}
    )
    harness.mm_order("BTCUSDT", Side.SELL, "0.5")  # its one report to the trader is dropped
    harness.inject_user(execution_report(order_id, exchange_order_id, x="TRADE", X="FILLED", L="garbage"))
    completed = await log.wait_for(BuyOrderCompleted, order_id)
    assert completed.executed_amount_base == D("0.5")


async def test_unreadable_reports_in_a_row_ask_for_one_pass_per_interval(
    vharness: Harness, vclock: VirtualClock
) -> None:
    """A run of unreadable events (say, a format change) must not run reconciliation pass
    after pass, spending the request weight orders need: one pass at once, then one at the
    end of the interval that covers everything that arrived meanwhile."""
    exchange, log = await vharness.started(clock=lambda: vclock.now_us() / 1e6, sleep=vclock.sleep)
    order_id = exchange.buy(BTC, D("0.01"), OrderType.LIMIT, D("59000"))
    await log.wait_for(BuyOrderCreated, order_id)
    exchange_order_id = vharness.open_order(order_id).order_id
    passes: list[int] = []  # virtual microseconds
    exchange.events.subscribe(
        ReconciliationCompleted,
        lambda e: passes.append(vclock.now_us()) if "unreadable" in e.trigger else None,
    )
    for _ in range(3):
        vharness.inject_user(
            execution_report(order_id, exchange_order_id, x="TRADE", X="FILLED", L="garbage")
        )
    t = vclock.now_us() // 1000
    vharness.inject_user(
        {"subscriptionId": 0, "event": {"e": "balanceUpdate", "E": t, "a": "BTC", "d": "1", "T": t}}
    )
    await until(lambda: exchange.get_balance("BTC") == D("2"), exchange.events, what="the events after them")
    await until(lambda: len(passes) == 1, exchange.events, what="the first pass")
    await vclock.advance(UNREADABLE_EVENT_RECONCILE_S)
    await until(lambda: len(passes) == 2, exchange.events, what="the pass at the interval's end")
    await vclock.advance(UNREADABLE_EVENT_RECONCILE_S)
    await settle()
    assert len(passes) == 2 and passes[1] - passes[0] == UNREADABLE_EVENT_RECONCILE_S * 1_000_000
