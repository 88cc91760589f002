"""InFlightOrder: the transition table, staleness, fill dedup, deferral, awaitables, JSON."""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.core.data_types import OrderState, OrderType, TradeFee, TradeType
from connector.core.errors import ConnectorError, OrderLost, OrderRejected, RequestTimeout
from connector.core.in_flight_order import (
    PREVIOUS,
    FillResult,
    InFlightOrder,
    OrderInput,
    OrderUpdate,
    TradeUpdate,
    UpdateResult,
    transitions,
)

D = Decimal
PAIR = "BTC-USDT"
S = OrderState

# A rank along the forward path; PENDING_CANCEL sits after the live states.
RANK = {
    S.PENDING_CREATE: 0,
    S.OPEN: 1,
    S.PARTIALLY_FILLED: 2,
    S.PENDING_CANCEL: 3,
    S.FILLED: 4,
    S.CANCELED: 4,
    S.EXPIRED: 4,
    S.FAILED: 4,
}


def make_order(amount: str = "1", *, side: TradeType = TradeType.BUY) -> InFlightOrder:
    return InFlightOrder(
        client_order_id="c1",
        trading_pair=PAIR,
        order_type=OrderType.LIMIT,
        trade_type=side,
        amount=D(amount),
        price=D("100"),
        creation_timestamp=1000.0,
    )


def update(
    state: OrderState, ts: int = 1, executed: str | None = None, quote: str | None = None
) -> OrderUpdate:
    return OrderUpdate(
        client_order_id="c1",
        trading_pair=PAIR,
        update_timestamp=ts,
        new_state=state,
        exchange_order_id="42",
        executed_amount_base=None if executed is None else D(executed),
        executed_amount_quote=None if quote is None else D(quote),
    )


def fill(trade_id: int, amount: str, price: str = "100", fee: str = "0.01") -> TradeUpdate:
    return TradeUpdate(
        trade_id=str(trade_id),
        client_order_id="c1",
        exchange_order_id="42",
        trading_pair=PAIR,
        fill_timestamp=1,
        fill_price=D(price),
        fill_base_amount=D(amount),
        fill_quote_amount=D(amount) * D(price),
        fee=TradeFee.of("USDT", D(fee)),
        is_maker=True,
    )


def assert_state(order: InFlightOrder, state: OrderState) -> None:
    assert order.current_state is state, f"expected {state}, got {order.current_state}"


# -- the table -------------------------------------------------------------------------------


def test_terminal_states_absorb_every_input() -> None:
    table = transitions()
    for state in (S.FILLED, S.CANCELED, S.EXPIRED, S.FAILED):
        for order_input in OrderInput:
            assert table[(state, order_input)] is state


def test_every_transition_moves_forward_except_the_cancel_revert() -> None:
    for (state, order_input), target in transitions().items():
        if target is PREVIOUS:
            assert (state, order_input) == (S.PENDING_CANCEL, OrderInput.CANCEL_REJECTED)
            continue
        assert isinstance(target, OrderState)
        assert RANK[target] >= RANK[state], f"{state} --{order_input}--> {target} goes back"


def test_expired_is_never_mapped_to_failed() -> None:
    for (state, order_input), target in transitions().items():
        if order_input is OrderInput.EXPIRED and not state.is_terminal:
            assert target is S.EXPIRED


def test_an_order_with_fills_cannot_be_rejected() -> None:
    assert (S.PARTIALLY_FILLED, OrderInput.REJECTED) not in transitions()


# -- status updates ----------------------------------------------------------------------------


def test_new_order_is_pending_create_and_unacknowledged() -> None:
    order = make_order()
    assert_state(order, S.PENDING_CREATE)
    assert not order.acknowledged
    assert order.is_open and not order.is_done


def test_ack_opens_the_order_and_records_the_exchange_id() -> None:
    order = make_order()
    assert order.apply_order_update(update(S.OPEN)) is UpdateResult.APPLIED
    assert_state(order, S.OPEN)
    assert order.acknowledged
    assert order.exchange_order_id == "42"


def test_update_older_than_the_last_applied_one_is_ignored() -> None:
    order = make_order()
    order.apply_order_update(update(S.PARTIALLY_FILLED, ts=20, executed="0"))
    assert order.apply_order_update(update(S.CANCELED, ts=19)) is UpdateResult.STALE
    assert_state(order, S.PARTIALLY_FILLED)
    assert order.last_update_timestamp == 20


def test_update_with_the_same_timestamp_is_applied() -> None:
    order = make_order()
    order.apply_order_update(update(S.OPEN, ts=20))
    assert order.apply_order_update(update(S.CANCELED, ts=20)) is UpdateResult.APPLIED
    assert_state(order, S.CANCELED)


def test_late_new_after_a_partial_fill_does_not_move_back() -> None:
    order = make_order()
    order.apply_trade_update(fill(1, "0.5"))
    order.apply_order_update(update(S.OPEN, ts=5))
    assert_state(order, S.PARTIALLY_FILLED)


def test_invalid_transition_is_refused_and_changes_nothing() -> None:
    order = make_order()
    order.apply_trade_update(fill(1, "0.5"))
    assert order.apply_order_update(update(S.FAILED, ts=5)) is UpdateResult.INVALID_TRANSITION
    assert_state(order, S.PARTIALLY_FILLED)
    assert order.last_update_timestamp is None


def test_update_for_another_exchange_order_or_pair_is_a_mismatch() -> None:
    order = make_order()
    order.apply_order_update(update(S.OPEN))
    other = OrderUpdate(
        client_order_id="c1",
        trading_pair=PAIR,
        update_timestamp=2,
        new_state=S.CANCELED,
        exchange_order_id="43",
    )
    assert order.apply_order_update(other) is UpdateResult.MISMATCH
    wrong_pair = OrderUpdate(
        client_order_id="c1", trading_pair="ETH-USDT", update_timestamp=2, new_state=S.CANCELED
    )
    assert order.apply_order_update(wrong_pair) is UpdateResult.MISMATCH
    assert_state(order, S.OPEN)


def test_terminal_order_absorbs_updates() -> None:
    order = make_order()
    order.apply_order_update(update(S.CANCELED, ts=1, executed="0"))
    assert order.apply_order_update(update(S.OPEN, ts=2)) is UpdateResult.ABSORBED
    assert_state(order, S.CANCELED)


def test_pending_create_report_carries_ids_only() -> None:
    order = make_order()
    assert order.apply_order_update(update(S.PENDING_CREATE)) is UpdateResult.APPLIED
    assert_state(order, S.PENDING_CREATE)
    assert not order.acknowledged
    assert order.exchange_order_id == "42"


def test_expired_after_partial_fill_is_expired_not_failed() -> None:
    order = make_order()
    order.apply_trade_update(fill(1, "0.3"))
    order.apply_order_update(update(S.EXPIRED, ts=2, executed="0.3"))
    assert_state(order, S.EXPIRED)
    assert order.failure_error is None


def test_failed_report_records_an_error() -> None:
    order = make_order()
    order.apply_order_update(update(S.FAILED))
    assert_state(order, S.FAILED)
    assert isinstance(order.failure_error, OrderRejected)
    assert not order.acknowledged


# -- fills -----------------------------------------------------------------------------------------


def test_fills_are_applied_once_per_trade_id_and_summed_exactly() -> None:
    order = make_order("1")
    assert order.apply_trade_update(fill(1, "0.1")) is FillResult.APPLIED
    assert order.apply_trade_update(fill(1, "0.1")) is FillResult.DUPLICATE
    assert order.apply_trade_update(fill(2, "0.2")) is FillResult.APPLIED
    assert order.executed_amount_base == D("0.3")  # exact: 0.1 + 0.2, not 0.30000000000000004
    assert order.executed_amount_quote == D("30.0")
    assert order.cumulative_fee == TradeFee.of("USDT", D("0.02"))
    assert order.average_executed_price == D("100")


def test_fill_before_the_create_response_acknowledges_the_order() -> None:
    order = make_order()
    order.apply_trade_update(fill(1, "0.4"))
    assert order.acknowledged
    assert_state(order, S.PARTIALLY_FILLED)
    assert order.exchange_order_id == "42"


def test_fills_reaching_the_amount_fill_the_order() -> None:
    order = make_order("1")
    order.apply_trade_update(fill(1, "0.4"))
    order.apply_trade_update(fill(2, "0.6"))
    assert_state(order, S.FILLED)


def test_fill_after_terminal_is_recorded_as_late_and_not_applied() -> None:
    order = make_order("1")
    order.apply_order_update(update(S.CANCELED, executed="0"))
    assert order.apply_trade_update(fill(7, "0.5")) is FillResult.LATE
    assert order.apply_trade_update(fill(7, "0.5")) is FillResult.DUPLICATE
    assert order.executed_amount_base == 0
    assert set(order.late_fills) == {"7"}


# -- deferred terminal states ---------------------------------------------------------------------


def test_terminal_status_waits_for_missing_fills() -> None:
    order = make_order("1")
    assert order.apply_order_update(update(S.FILLED, executed="1")) is UpdateResult.DEFERRED
    assert order.awaiting_fills
    assert order.acknowledged
    assert_state(order, S.OPEN)  # moved out of PENDING_CREATE: the order exists
    assert order.missing_fill_amount == D("1")
    order.apply_trade_update(fill(1, "0.25"))
    assert_state(order, S.PARTIALLY_FILLED)
    order.apply_trade_update(fill(2, "0.75"))
    assert_state(order, S.FILLED)
    assert (order.awaiting_fills, order.fills_complete) == (False, True)


def test_cancel_with_partial_fills_waits_then_resolves() -> None:
    order = make_order("1")
    order.apply_order_update(update(S.OPEN, ts=1))
    assert order.apply_order_update(update(S.CANCELED, 2, "0.4")) is UpdateResult.DEFERRED
    order.apply_trade_update(fill(1, "0.4"))
    assert_state(order, S.CANCELED)
    assert order.final_executed_amount_base == D("0.4")


def test_filled_without_an_amount_means_the_whole_order() -> None:
    order = make_order("2")
    assert order.apply_order_update(update(S.FILLED)) is UpdateResult.DEFERRED
    assert order.exchange_executed_amount_base == D("2")


def test_force_resolve_uses_the_exchange_totals_and_flags_missing_fills() -> None:
    order = make_order("1")
    order.apply_trade_update(fill(1, "0.25"))
    order.apply_order_update(update(S.FILLED, ts=2, executed="1", quote="100"))
    assert order.force_resolve()
    assert_state(order, S.FILLED)
    assert not order.fills_complete
    assert order.final_executed_amount_base == D("1")
    assert order.final_executed_amount_quote == D("100")
    assert order.executed_amount_base == D("0.25")  # the fills themselves are untouched
    assert not order.force_resolve()


def test_force_resolve_without_pending_terminal_does_nothing() -> None:
    order = make_order()
    assert not order.force_resolve()
    assert_state(order, S.PENDING_CREATE)


# -- cancels ---------------------------------------------------------------------------------------


def test_rejected_cancel_returns_to_the_previous_state() -> None:
    order = make_order()
    order.apply_order_update(update(S.OPEN))
    assert order.request_cancel() is UpdateResult.APPLIED
    assert_state(order, S.PENDING_CANCEL)
    assert order.state_before_cancel is S.OPEN
    assert order.reject_cancel() is UpdateResult.APPLIED
    assert_state(order, S.OPEN)
    assert order.reject_cancel() is UpdateResult.INVALID_TRANSITION


def test_fill_during_pending_cancel_is_remembered_for_the_revert() -> None:
    order = make_order("1")
    order.apply_order_update(update(S.OPEN))
    order.request_cancel()
    order.apply_trade_update(fill(1, "0.5"))
    assert_state(order, S.PENDING_CANCEL)
    order.reject_cancel()
    assert_state(order, S.PARTIALLY_FILLED)


def test_fill_that_completes_the_order_wins_over_a_pending_cancel() -> None:
    order = make_order("1")
    order.apply_order_update(update(S.OPEN))
    order.request_cancel()
    order.apply_trade_update(fill(1, "1"))
    assert_state(order, S.FILLED)


def test_cancel_requested_while_pending_create_reverts_to_open_after_a_late_ack() -> None:
    order = make_order()
    order.request_cancel()
    order.apply_order_update(update(S.OPEN))
    assert order.acknowledged
    assert_state(order, S.PENDING_CANCEL)
    order.reject_cancel()
    assert_state(order, S.OPEN)


# -- local failures and unknown outcomes -----------------------------------------------------------


def test_fail_sets_the_error_and_is_absorbed_when_done() -> None:
    order = make_order()
    error = OrderRejected("Account has insufficient balance for requested action.", code=-2010)
    assert order.fail(error) is UpdateResult.APPLIED
    assert_state(order, S.FAILED)
    assert order.failure_error is error
    assert order.fail(error) is UpdateResult.ABSORBED


def test_declare_lost_marks_the_order() -> None:
    order = make_order()
    order.apply_order_update(update(S.OPEN))
    assert order.declare_lost(OrderLost("gone", not_found_count=2)) is UpdateResult.APPLIED
    assert_state(order, S.FAILED)
    assert order.is_lost


def test_creation_outcome_unknown_is_cleared_by_an_ack() -> None:
    order = make_order()
    assert order.mark_creation_outcome_unknown()
    assert_state(order, S.PENDING_CREATE)
    assert order.to_json()["creation_outcome_unknown"] is True
    order.apply_order_update(update(S.OPEN))
    assert not order.creation_outcome_unknown
    assert not order.mark_creation_outcome_unknown()


# -- awaitables ------------------------------------------------------------------------------------


async def test_wait_until_created_resolves_on_ack() -> None:
    order = make_order()
    waiter = asyncio.ensure_future(order.wait_until_created())
    await asyncio.sleep(0)
    assert not waiter.done()
    order.apply_order_update(update(S.OPEN))
    await waiter
    assert waiter.result() is None


async def test_wait_until_created_raises_the_failure() -> None:
    order = make_order()
    waiter = asyncio.ensure_future(order.wait_until_created())
    error = OrderRejected("Duplicate order sent.", code=-2010)
    order.fail(error)
    with pytest.raises(OrderRejected) as raised:
        await waiter
    assert raised.value is error


async def test_wait_until_created_returns_for_a_lost_order_that_was_acknowledged() -> None:
    order = make_order()
    order.apply_order_update(update(S.OPEN))
    order.declare_lost(OrderLost("gone"))
    await order.wait_until_created()


async def test_wait_until_done_returns_the_terminal_state() -> None:
    order = make_order("1")
    waiter = asyncio.ensure_future(order.wait_until_done())
    order.apply_order_update(update(S.EXPIRED, executed="0"))
    assert await waiter is S.EXPIRED


async def test_wait_until_done_waits_for_missing_fills() -> None:
    order = make_order("1")
    waiter = asyncio.ensure_future(order.wait_until_done())
    order.apply_order_update(update(S.FILLED, executed="1"))
    await asyncio.sleep(0)
    assert not waiter.done()
    order.apply_trade_update(fill(1, "1"))
    assert await waiter is S.FILLED


# -- persistence -----------------------------------------------------------------------------------


def test_json_saved_before_sent_timestamp_existed_counts_creation_as_sent() -> None:
    order = make_order("1")
    data = order.to_json()
    assert data["sent_timestamp"] is None
    del data["sent_timestamp"]
    assert InFlightOrder.from_json(data).sent_timestamp == order.creation_timestamp


def test_json_round_trip_keeps_fills_late_fills_and_pending_state() -> None:
    order = make_order("1")
    order.apply_order_update(update(S.OPEN, ts=1))
    order.apply_trade_update(fill(1, "0.1"))
    order.request_cancel()
    order.apply_order_update(update(S.CANCELED, ts=3, executed="0.3", quote="30"))
    data = json.loads(json.dumps(order.to_json()))
    restored = InFlightOrder.from_json(data)
    assert restored.to_json() == order.to_json()
    assert restored.executed_amount_base == D("0.1")
    assert restored.pending_terminal == order.pending_terminal
    assert restored.state_before_cancel is S.PARTIALLY_FILLED
    # A fill seen before the restart is still a duplicate after it.
    assert restored.apply_trade_update(fill(1, "0.1")) is FillResult.DUPLICATE
    restored.apply_trade_update(fill(2, "0.2"))
    assert_state(restored, S.CANCELED)


def test_json_round_trip_of_a_lost_order_keeps_its_error_kind() -> None:
    order = make_order()
    order.declare_lost(OrderLost("not found twice"))
    order.apply_trade_update(fill(9, "0.5"))
    restored = InFlightOrder.from_json(json.loads(json.dumps(order.to_json())))
    assert restored.is_lost
    assert isinstance(restored.failure_error, OrderLost)
    assert set(restored.late_fills) == {"9"}


async def test_restored_terminal_order_is_already_done() -> None:
    order = make_order()
    order.fail(ConnectorError("nope"))
    restored = InFlightOrder.from_json(order.to_json())
    assert await restored.wait_until_done() is S.FAILED


# -- value validation ------------------------------------------------------------------------------


def test_values_refuse_floats_and_empty_fills() -> None:
    with pytest.raises(TypeError):
        make_order().apply_trade_update(
            TradeUpdate(
                trade_id="1",
                client_order_id="c1",
                exchange_order_id=None,
                trading_pair=PAIR,
                fill_timestamp=1,
                fill_price=100.0,  # type: ignore[arg-type]
                fill_base_amount=D("1"),
                fill_quote_amount=D("100"),
                fee=TradeFee(),
                is_maker=False,
            )
        )
    with pytest.raises(ValueError):
        fill(1, "0")
    with pytest.raises(TypeError):
        OrderUpdate(
            client_order_id="c1",
            trading_pair=PAIR,
            update_timestamp=1.5,  # type: ignore[arg-type]
            new_state=S.OPEN,
        )
    with pytest.raises(TypeError):
        InFlightOrder(
            client_order_id="c1",
            trading_pair=PAIR,
            order_type=OrderType.LIMIT,
            trade_type=TradeType.BUY,
            amount=1.0,  # type: ignore[arg-type]
            creation_timestamp=0,
        )


def test_order_update_keeps_error_out_of_json() -> None:
    u = OrderUpdate(
        client_order_id="c1",
        trading_pair=PAIR,
        update_timestamp=1,
        new_state=S.FAILED,
        error=RequestTimeout("no answer"),
    )
    assert "error" not in u.to_json()
    assert OrderUpdate.from_json(u.to_json()).error is None


# -- properties ------------------------------------------------------------------------------------

fill_amounts = st.lists(
    st.decimals(min_value=D("0.001"), max_value=D("0.1"), places=3), min_size=1, max_size=8
)


@given(amounts=fill_amounts, data=st.data())
def test_fills_from_several_sources_in_any_order_are_counted_once(
    amounts: list[Decimal], data: st.DataObject
) -> None:
    order = make_order("1")
    fills = [fill(i, str(a)) for i, a in enumerate(amounts)]
    # Every fill reported by one to three sources, all interleaved.
    copies = [f for f in fills for _ in range(data.draw(st.integers(1, 3)))]
    delivered = data.draw(st.permutations(copies))
    states = [order.current_state]
    for f in delivered:
        order.apply_trade_update(f)
        states.append(order.current_state)
    assert order.executed_amount_base == sum(amounts, D(0))
    assert order.executed_amount_quote == sum((a * 100 for a in amounts), D(0))
    assert order.cumulative_fee == TradeFee.of("USDT", D("0.01") * len(amounts))
    assert set(order.order_fills) == {f.trade_id for f in fills}
    assert all(RANK[a] <= RANK[b] for a, b in itertools.pairwise(states))


status_updates = st.tuples(
    st.sampled_from(
        [S.PENDING_CREATE, S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED, S.FAILED]
    ),
    st.integers(0, 20),
)


@given(st.lists(status_updates, max_size=20))
def test_random_status_reports_only_move_forward_and_terminal_absorbs(
    reports: list[tuple[OrderState, int]],
) -> None:
    order = make_order("1")
    previous = order.current_state
    for state, ts in reports:
        order.apply_order_update(update(state, ts, executed="0"))
        current = order.current_state
        assert RANK[current] >= RANK[previous]
        if previous.is_terminal:
            assert current is previous
        previous = current
