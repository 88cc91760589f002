"""OrderBookSync (sans-I/O): every transition of the table, the snapshot rules (too old,
stale diffs, straddle, strict ``U == lastUpdateId + 1``), gaps, crossed books, malformed
levels, reconnects, Hummingbot's ghost-level scenario, and a property test against a
reference book built from the same updates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.core.order_book_message import OrderBookDiffMessage, OrderBookSnapshotMessage
from connector.core.order_book_sync import (
    TRANSITIONS,
    CrossedBook,
    GapDetected,
    InvalidTransition,
    MalformedUpdate,
    OrderBookSync,
    SnapshotBehind,
    SnapshotTooOld,
    SyncEvent,
    SyncState,
    Verdict,
    transitions_as_mermaid,
)

D = Decimal
PAIR = "ETH-USDT"
Levels = list[list[str]]


def px(value: int | str) -> str:
    return f"{value}.00000000" if isinstance(value, int) else value


def lv(*pairs: tuple[int, int]) -> Levels:
    return [[px(p), px(q)] for p, q in pairs]


def diff(
    first: int, last: int, bids: Sequence[list[str]] = (), asks: Sequence[list[str]] = ()
) -> OrderBookDiffMessage:
    return OrderBookDiffMessage(PAIR, first, last, list(bids), list(asks), 0)


def snapshot(
    last_update_id: int, bids: Sequence[list[str]] = (), asks: Sequence[list[str]] = ()
) -> OrderBookSnapshotMessage:
    return OrderBookSnapshotMessage(PAIR, last_update_id, list(bids), list(asks), 0)


BASE_BIDS = lv((100, 1), (99, 2))
BASE_ASKS = lv((101, 1), (102, 2))


def connected() -> OrderBookSync:
    machine = OrderBookSync(PAIR)
    machine.on_stream_connected()
    return machine


def live(last_update_id: int = 100) -> OrderBookSync:
    machine = connected()
    assert machine.on_snapshot(snapshot(last_update_id, BASE_BIDS, BASE_ASKS)) is Verdict.SYNCED
    return machine


def book_levels(machine: OrderBookSync) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    machine.book._check()
    return machine.book.snapshot()


def assert_lost_sync(machine: OrderBookSync) -> None:
    assert machine.state is SyncState.RESYNC
    assert not machine.is_synced and machine.needs_snapshot
    assert machine.book.snapshot() == ([], [])  # discarded, not left stale
    assert machine.last_update_id is None and machine.buffered == 0


# -- initial state and buffering -------------------------------------------------------------


def test_a_new_machine_buffers_and_waits_for_the_stream() -> None:
    machine = OrderBookSync(PAIR)
    assert machine.state is SyncState.BUFFERING
    assert not machine.is_synced and not machine.needs_snapshot  # stream not up yet
    machine.on_stream_connected()
    assert machine.needs_snapshot
    assert machine.on_diff(diff(5, 6, lv((1, 1)))) is Verdict.BUFFERED
    assert machine.buffered == 1 and machine.counters.diffs_buffered == 1
    assert machine.book.snapshot() == ([], [])  # nothing applied before a snapshot


def test_snapshot_with_an_empty_buffer_goes_live() -> None:
    machine = live(100)
    assert machine.state is SyncState.LIVE and machine.is_synced and not machine.needs_snapshot
    assert machine.last_update_id == 100
    assert book_levels(machine) == (
        [(D(100), D(1)), (D(99), D(2))],
        [(D(101), D(1)), (D(102), D(2))],
    )
    assert machine.counters.snapshots_applied == 1


def test_the_buffer_is_bounded_and_drops_the_oldest() -> None:
    machine = OrderBookSync(PAIR, max_buffer=3, stream_connected=True)
    for i in range(1, 6):
        machine.on_diff(diff(i, i, lv((90, i))))
    assert machine.buffered == 3 and machine.counters.buffer_overflows == 2
    # The oldest kept diff is U=3, so a snapshot at 2 would be too old, one at 3 is fine.
    assert isinstance(machine.on_snapshot(snapshot(1)), SnapshotTooOld)
    assert machine.on_snapshot(snapshot(3)) is Verdict.SYNCED
    assert book_levels(machine)[0] == [(D(90), D(5))]


# -- the snapshot rules ----------------------------------------------------------------------


def test_snapshot_older_than_the_first_buffered_diff_is_refused() -> None:
    machine = connected()
    machine.on_diff(diff(200, 205, lv((100, 5))))
    outcome = machine.on_snapshot(snapshot(150, BASE_BIDS, BASE_ASKS))
    assert outcome == SnapshotTooOld(last_update_id=150, first_buffered_update_id=200)
    assert machine.state is SyncState.BUFFERING and machine.needs_snapshot
    assert machine.book.snapshot() == ([], []) and machine.buffered == 1
    assert machine.counters.snapshots_rejected == 1 and machine.last_problem == outcome


def test_snapshot_just_before_the_first_buffered_diff_is_refused_too() -> None:
    # The documented rule is "lastUpdateId strictly less than the first U": conservative
    # (U - 1 would be contiguous), and it costs one more snapshot at most.
    machine = connected()
    machine.on_diff(diff(101, 105, lv((100, 5))))
    assert isinstance(machine.on_snapshot(snapshot(100)), SnapshotTooOld)


def test_buffered_diffs_up_to_the_snapshot_are_dropped_and_the_rest_replayed() -> None:
    machine = connected()
    machine.on_diff(diff(91, 95, lv((100, 7))))  # u <= 100: stale
    machine.on_diff(diff(96, 100, lv((99, 0))))  # u == lastUpdateId: stale
    machine.on_diff(diff(101, 103, lv((98, 3))))  # the strict case: U == lastUpdateId + 1
    machine.on_diff(diff(104, 104, [], lv((101, 0))))
    assert machine.on_snapshot(snapshot(100, BASE_BIDS, BASE_ASKS)) is Verdict.SYNCED
    assert machine.last_update_id == 104
    assert book_levels(machine) == (
        [(D(100), D(1)), (D(99), D(2)), (D(98), D(3))],
        [(D(102), D(2))],
    )
    counters = machine.counters
    assert (counters.diffs_dropped_stale, counters.diffs_applied) == (2, 2)


def test_first_diff_may_straddle_the_snapshot_id() -> None:
    machine = connected()
    machine.on_diff(diff(95, 105, lv((100, 9))))  # U <= 101 <= u
    assert machine.on_snapshot(snapshot(100, BASE_BIDS, BASE_ASKS)) is Verdict.SYNCED
    assert machine.last_update_id == 105
    assert book_levels(machine)[0][0] == (D(100), D(9))


def test_straddle_is_allowed_for_a_live_first_diff_too() -> None:
    machine = live(100)
    assert machine.on_diff(diff(90, 110, lv((100, 4)))) is Verdict.APPLIED
    assert machine.on_diff(diff(105, 115)).__class__ is GapDetected  # only the first


def test_first_remaining_diff_beyond_the_snapshot_is_a_gap() -> None:
    machine = connected()
    machine.on_diff(diff(95, 100))
    machine.on_diff(diff(103, 110))  # 101..102 missing
    outcome = machine.on_snapshot(snapshot(100, BASE_BIDS, BASE_ASKS))
    assert outcome == GapDetected(expected=101, got=103)
    assert_lost_sync(machine)
    assert machine.counters.resyncs == 1 and machine.counters.gaps == 1


def test_a_gap_in_the_buffer_before_the_snapshot_does_not_matter() -> None:
    machine = connected()
    machine.on_diff(diff(90, 92))
    machine.on_diff(diff(95, 101, lv((97, 1))))  # gap 93..94, but the snapshot covers it
    machine.on_diff(diff(102, 102))
    assert machine.on_snapshot(snapshot(99, BASE_BIDS, BASE_ASKS)) is Verdict.SYNCED
    assert machine.last_update_id == 102


# -- live rules ------------------------------------------------------------------------------


def test_contiguous_diffs_apply() -> None:
    machine = live(100)
    assert machine.on_diff(diff(101, 101, lv((100, 0)), lv((101, 3)))) is Verdict.APPLIED
    assert machine.on_diff(diff(102, 110, lv((99, 5)))) is Verdict.APPLIED
    assert machine.last_update_id == 110
    assert book_levels(machine) == ([(D(99), D(5))], [(D(101), D(3)), (D(102), D(2))])


def test_a_gap_while_live_resyncs() -> None:
    machine = live(100)
    machine.on_diff(diff(101, 101))
    outcome = machine.on_diff(diff(103, 104, lv((100, 5))))
    assert outcome == GapDetected(expected=102, got=103)
    assert_lost_sync(machine)
    assert machine.last_problem == outcome
    # Diffs after the gap are buffered anew, for the next snapshot.
    assert machine.on_diff(diff(105, 105)) is Verdict.BUFFERED


def test_a_stale_diff_while_live_is_dropped_never_applied() -> None:
    machine = live(100)
    machine.on_diff(diff(101, 105))
    before = book_levels(machine)
    assert machine.on_diff(diff(99, 103, lv((100, 50)))) is Verdict.DROPPED_STALE
    assert machine.on_diff(diff(105, 105, lv((100, 50)))) is Verdict.DROPPED_STALE
    assert book_levels(machine) == before and machine.is_synced


def test_an_overlapping_diff_after_the_first_is_a_gap() -> None:
    machine = live(100)
    machine.on_diff(diff(101, 105))
    assert machine.on_diff(diff(104, 108)) == GapDetected(expected=106, got=104)
    assert_lost_sync(machine)


def test_a_crossed_book_resyncs_and_is_reported_not_truncated() -> None:
    machine = live(100)
    outcome = machine.on_diff(diff(101, 101, lv((101, 1))))  # bid at the best ask
    assert outcome == CrossedBook(update_id=101, best_bid=D(101), best_ask=D(101))
    assert_lost_sync(machine)
    assert machine.counters.crossed_books == 1


def test_a_crossed_snapshot_is_refused() -> None:
    machine = connected()
    outcome = machine.on_snapshot(snapshot(100, lv((105, 1)), BASE_ASKS))
    assert outcome == CrossedBook(update_id=100, best_bid=D(105), best_ask=D(101))
    assert machine.state is SyncState.BUFFERING and machine.needs_snapshot
    assert machine.book.snapshot() == ([], [])


def test_a_malformed_diff_resyncs() -> None:
    machine = live(100)
    outcome = machine.on_diff(diff(101, 101, [["100.00000000", "oops"]]))
    assert isinstance(outcome, MalformedUpdate) and outcome.update_id == 101
    assert_lost_sync(machine)
    assert machine.counters.malformed == 1


def test_a_malformed_snapshot_is_refused() -> None:
    machine = connected()
    outcome = machine.on_snapshot(snapshot(100, [["x", "1"]]))
    assert isinstance(outcome, MalformedUpdate)
    assert machine.state is SyncState.BUFFERING and machine.book.snapshot() == ([], [])


def test_a_diff_for_another_pair_is_a_caller_error() -> None:
    machine = live()
    with pytest.raises(ValueError):
        machine.on_diff(OrderBookDiffMessage("BTC-USDT", 101, 101, [], [], 0))
    with pytest.raises(ValueError):
        connected().on_snapshot(OrderBookSnapshotMessage("BTC-USDT", 1, [], [], 0))


# -- the stream ------------------------------------------------------------------------------


def test_disconnect_while_live_resyncs_and_waits_for_the_stream() -> None:
    machine = live(100)
    machine.on_stream_disconnected()
    assert machine.state is SyncState.RESYNC and not machine.is_synced
    assert not machine.needs_snapshot  # no point fetching while diffs cannot flow
    assert machine.book.snapshot() == ([], []) and machine.counters.resyncs == 1
    # A snapshot fetched before the drop arrives now: discarded.
    assert machine.on_snapshot(snapshot(120, BASE_BIDS, BASE_ASKS)) is Verdict.DISCARDED
    assert machine.counters.snapshots_discarded == 1 and not machine.is_synced
    machine.on_stream_connected()
    assert machine.needs_snapshot
    assert machine.on_snapshot(snapshot(130, BASE_BIDS, BASE_ASKS)) is Verdict.SYNCED


def test_a_connect_while_live_means_a_missed_disconnect() -> None:
    machine = live(100)
    machine.on_stream_connected()
    assert_lost_sync(machine)


def test_a_reconnect_drops_the_buffer() -> None:
    machine = connected()
    machine.on_diff(diff(50, 60))
    machine.on_stream_connected()
    assert machine.buffered == 0 and machine.state is SyncState.BUFFERING


def test_a_snapshot_behind_an_id_seen_before_a_reconnect_is_refused() -> None:
    """A quiet market after a reconnect: nothing buffered to judge the snapshot by, but
    the machine had applied up to 102, so a snapshot at 100 is provably stale."""
    machine = live(100)
    assert machine.on_diff(diff(101, 102)) is Verdict.APPLIED
    machine.on_stream_disconnected()
    machine.on_stream_connected()
    assert machine.on_snapshot(snapshot(100, BASE_BIDS, BASE_ASKS)) == SnapshotBehind(100, 102)
    assert machine.state is SyncState.RESYNC and machine.needs_snapshot
    assert machine.book.snapshot() == ([], [])
    assert machine.counters.snapshots_rejected == 1
    assert machine.on_snapshot(snapshot(102, BASE_BIDS, BASE_ASKS)) is Verdict.SYNCED


def test_ids_seen_while_buffering_count_too() -> None:
    machine = connected()
    machine.on_diff(diff(50, 60))
    machine.on_stream_connected()  # the buffer goes, what it showed stays known
    assert machine.on_snapshot(snapshot(55)) == SnapshotBehind(55, 60)
    assert machine.on_snapshot(snapshot(60, BASE_BIDS, BASE_ASKS)) is Verdict.SYNCED


def test_a_buffered_diff_of_the_new_connection_is_the_judge() -> None:
    """With diffs buffered, only the documented rule applies: the first new diff decides,
    so ids that (impossibly) went backwards cannot block sync for ever."""
    machine = live(100)
    machine.on_stream_connected()
    machine.on_diff(diff(11, 12))
    assert machine.on_snapshot(snapshot(11, BASE_BIDS, BASE_ASKS)) is Verdict.SYNCED
    assert machine.last_update_id == 12


def test_snapshot_while_live_is_an_invalid_transition() -> None:
    machine = live()
    with pytest.raises(InvalidTransition) as info:
        machine.on_snapshot(snapshot(200))
    assert (info.value.state, info.value.event) == (SyncState.LIVE, SyncEvent.SNAPSHOT)


# -- every transition in the table -----------------------------------------------------------


def _in_state(state: SyncState) -> OrderBookSync:
    if state is SyncState.BUFFERING:
        return connected()
    if state is SyncState.LIVE:
        return live(100)
    machine = live(100)
    machine.on_stream_connected()  # a reconnect: RESYNC
    assert machine.state is SyncState.RESYNC
    return machine


def _trigger(event: SyncEvent, machine: OrderBookSync) -> Any:
    if event is SyncEvent.DIFF:
        return machine.on_diff(diff(101, 101))
    if event is SyncEvent.SNAPSHOT:
        return machine.on_snapshot(snapshot(100, BASE_BIDS, BASE_ASKS))
    if event is SyncEvent.SNAPSHOT_TOO_OLD:
        machine.on_diff(diff(500, 500))
        return machine.on_snapshot(snapshot(100))
    if event is SyncEvent.SNAPSHOT_INVALID:
        return machine.on_snapshot(snapshot(100, lv((200, 1)), BASE_ASKS))
    if event is SyncEvent.SNAPSHOT_DISCARDED:
        machine._stream_connected = False  # a drop without the transition it also causes
        return machine.on_snapshot(snapshot(100))
    if event is SyncEvent.GAP:
        return machine.on_diff(diff(150, 150))
    if event is SyncEvent.CROSSED:
        return machine.on_diff(diff(101, 101, lv((300, 1))))
    if event is SyncEvent.MALFORMED:
        return machine.on_diff(diff(101, 101, [["bad", "1"]]))
    if event is SyncEvent.STREAM_DISCONNECTED:
        return machine.on_stream_disconnected()
    assert event is SyncEvent.STREAM_CONNECTED
    return machine.on_stream_connected()


TABLE = [(state, event, target) for state, row in TRANSITIONS.items() for event, target in row.items()]


@pytest.mark.parametrize(("state", "event", "target"), TABLE, ids=lambda v: getattr(v, "name", v))
def test_every_transition_in_the_table(state: SyncState, event: SyncEvent, target: SyncState) -> None:
    machine = _in_state(state)
    _trigger(event, machine)
    assert machine.state is target


def test_the_table_covers_every_state_and_rejects_what_it_omits() -> None:
    assert set(TRANSITIONS) == set(SyncState)
    assert set(TRANSITIONS[SyncState.BUFFERING]) == set(TRANSITIONS[SyncState.RESYNC])
    assert SyncEvent.SNAPSHOT not in TRANSITIONS[SyncState.LIVE]
    assert SyncEvent.GAP not in TRANSITIONS[SyncState.BUFFERING]
    machine = connected()
    with pytest.raises(InvalidTransition):
        machine._transition(SyncEvent.GAP)  # gaps are only judged against a snapshot
    diagram = transitions_as_mermaid()
    assert "LIVE --> RESYNC: gap" in diagram and "BUFFERING --> LIVE: snapshot" in diagram


# -- Hummingbot's ghost level (study §3.2) ---------------------------------------------------


def test_the_ghost_level_scenario_cannot_happen() -> None:
    """Level 100 appears at u=95; update 99 deletes it; a snapshot at 100 already lacks it
    and arrives before the u=99 diff. Hummingbot replays the u=95 diff over the snapshot and
    then drops the late u=99 diff, leaving 100 -> 5 forever. We must never show level 100."""
    machine = live(90)
    machine.on_diff(diff(91, 95, lv((100, 5))))
    assert (D(100), D(5)) in book_levels(machine)[0]
    machine.on_diff(diff(97, 97))  # a gap (96 lost): resync, buffer anew
    assert machine.state is SyncState.RESYNC
    # The stream resent/still has the u=95 diff buffered (Hummingbot's 32-diff window).
    machine.on_diff(diff(93, 95, lv((100, 5))))
    outcome = machine.on_snapshot(snapshot(100, lv((99, 1)), lv((101, 1))))  # no level 100
    assert outcome is Verdict.SYNCED
    assert book_levels(machine)[0] == [(D(99), D(1))]
    # The late diff that deleted level 100 arrives now: stale, dropped, and harmless.
    assert machine.on_diff(diff(96, 99, lv((100, 0)))) is Verdict.DROPPED_STALE
    machine.on_diff(diff(101, 101, lv((98, 2))))
    assert book_levels(machine)[0] == [(D(99), D(1)), (D(98), D(2))]


def test_the_ghost_level_scenario_at_start_up() -> None:
    """Same, at start-up: buffered diffs older than the snapshot are never applied."""
    machine = connected()
    machine.on_diff(diff(93, 95, lv((100, 5))))
    assert machine.on_snapshot(snapshot(100, lv((99, 1)), lv((101, 1)))) is Verdict.SYNCED
    assert machine.on_diff(diff(96, 99, lv((100, 0)))) is Verdict.DROPPED_STALE
    assert book_levels(machine)[0] == [(D(99), D(1))]


# -- property: synced book == reference book; gaps always detected --------------------------

# Atomic updates (one update id each): (is_bid, price tick, qty). Bids and asks use disjoint
# price ranges so the book never crosses, and crossed-book resyncs do not blur the property.
atomic = st.tuples(st.booleans(), st.integers(1, 12), st.integers(0, 3))


def _truth(updates: list[tuple[bool, int, int]], upto: int) -> tuple[list[Any], list[Any]]:
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for is_bid, tick, qty in updates[:upto]:
        side = bids if is_bid else asks
        if qty:
            side[tick] = qty
        else:
            side.pop(tick, None)
    return (
        [(D(50 - t), D(q)) for t, q in sorted(bids.items())],
        [(D(50 + t), D(q)) for t, q in sorted(asks.items())],
    )


def _levels(updates: list[tuple[bool, int, int]], first: int, last: int) -> tuple[Levels, Levels]:
    final: dict[tuple[bool, int], int] = {}
    for is_bid, tick, qty in updates[first - 1 : last]:
        final[(is_bid, tick)] = qty
    bids = [[px(50 - t), px(q)] for (b, t), q in final.items() if b]
    asks = [[px(50 + t), px(q)] for (b, t), q in final.items() if not b]
    return bids, asks


@st.composite
def scenarios(draw: Callable[..., Any]) -> dict[str, Any]:
    updates = draw(st.lists(atomic, min_size=1, max_size=40))
    n = len(updates)
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
    bounds = [0, *cuts, n]
    events = [(bounds[i] + 1, bounds[i + 1]) for i in range(len(bounds) - 1)]
    start = draw(st.integers(0, len(events) - 1))  # the stream starts at this event
    delivered = [i for i in range(start, len(events)) if draw(st.integers(0, 9)) > 0]
    snapshot_id = draw(st.integers(0, n))
    snapshot_after = draw(st.integers(0, len(delivered)))  # deliveries before the snapshot
    return {
        "updates": updates,
        "events": events,
        "delivered": delivered,
        "snapshot_id": snapshot_id,
        "snapshot_after": snapshot_after,
    }


@settings(max_examples=400, deadline=None, derandomize=True)
@given(scenarios())
def test_synced_book_always_equals_the_reference_and_gaps_are_detected(sc: dict[str, Any]) -> None:
    updates, events = sc["updates"], sc["events"]
    delivered, lid = sc["delivered"], sc["snapshot_id"]
    machine = connected()
    gaps_reported = 0

    def check(outcome: Any) -> None:
        nonlocal gaps_reported
        gaps_reported += isinstance(outcome, GapDetected)
        if machine.is_synced:
            assert machine.last_update_id is not None
            assert book_levels(machine) == _truth(updates, machine.last_update_id)

    def deliver(index: int) -> None:
        first, last = events[index]
        check(machine.on_diff(diff(first, last, *_levels(updates, first, last))))

    for index in delivered[: sc["snapshot_after"]]:
        deliver(index)
    buffered = delivered[: sc["snapshot_after"]]
    outcome = machine.on_snapshot(snapshot(lid, *_snapshot_levels(updates, lid)))
    check(outcome)
    too_old = bool(buffered) and lid < events[buffered[0]][0]
    assert isinstance(outcome, SnapshotTooOld) == too_old
    for index in delivered[sc["snapshot_after"] :]:
        deliver(index)

    if too_old:
        assert not machine.is_synced
        return
    # Expected: in sync unless an event holding ids after the snapshot was not delivered
    # before the last delivered one.
    last_delivered = events[delivered[-1]][1] if delivered else 0
    missing = [
        i
        for i, (first, last) in enumerate(events)
        if last > lid and first <= last_delivered and i not in delivered
    ]
    if missing:
        assert not machine.is_synced and gaps_reported >= 1
    else:
        assert machine.is_synced and gaps_reported == 0
        assert book_levels(machine) == _truth(updates, max(lid, last_delivered))


def _snapshot_levels(updates: list[tuple[bool, int, int]], upto: int) -> tuple[Levels, Levels]:
    bids, asks = _truth(updates, upto)
    return [[str(p), str(q)] for p, q in bids], [[str(p), str(q)] for p, q in asks]
