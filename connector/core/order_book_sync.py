"""Per-trading-pair order-book sync state machine (sans-I/O).

Rules
-----
Rule 1: everything that decides whether the local book is in sync lives here. The machine
does no I/O, reads no clock and starts no task: the async layer
(``connector.core.order_book_tracker``) feeds it messages and asks it what it needs.

Rule 2: it never applies a diff that could be stale or discontinuous. A book that cannot be
proven equal to the exchange's book is discarded and reported as not synced; it is never
"repaired" (Hummingbot truncates a crossed book and replays stale diffs, leaving ghost
levels: hummingbot-connector-study.md §3.2).

Theory of operation (Binance's documented procedure, corrected 2025-11-12, plus the
classic check; binance-spot-api.md §5.6)
------------------------------------------------------------------------------------
1. Until a snapshot is installed, diffs are buffered (state ``BUFFERING``, or ``RESYNC``
   after sync was lost). The buffer is bounded; when full, the oldest diff is dropped,
   which is safe: it only raises the bar the next snapshot has to clear.
2. While waiting and while the stream is connected, ``needs_snapshot`` is true.
3. A snapshot whose ``lastUpdateId`` is strictly less than the first buffered ``U`` is
   too old (``SnapshotTooOld``): it is refused and another one is needed. This is the
   documented rule; it is conservative (a snapshot at exactly ``U - 1`` would also do)
   and costs at most one extra snapshot, because a later snapshot is always newer than
   the buffered diffs. With nothing buffered (a quiet market), that rule has nothing to
   check against, so the newest update id the machine has ever seen (diffs, snapshots,
   before any resync) stands in: a snapshot behind it is provably stale
   (``SnapshotBehind``) and refused too. Ids never go backwards on the exchange; if they
   ever did, the first diff of the new connection would end the refusals (rule 3 then
   judges by the buffer).
4. Otherwise the snapshot replaces the book, the machine goes ``LIVE`` with local id
   ``lastUpdateId``, and the buffered diffs are replayed through the live rules.
5. Live rules, for a diff ``[U, u]`` against local id ``L``:
   * ``u <= L``: stale (already in the book): dropped, never applied;
   * ``U == L + 1``: contiguous: applied, ``L = u``;
   * the first diff applied after a snapshot may straddle: ``U <= L + 1 <= u`` applies
     (the classic rule; python-binance's stricter ``U == L + 1`` is the case above);
   * anything else is a gap (``GapDetected(expected=L + 1, got=U)``): ``RESYNC``.
6. After each applied diff the book must not be crossed (``CrossedBook``): ``RESYNC``.
   A level that fails to parse (``MalformedUpdate``) also means ``RESYNC``.
7. A stream disconnect or (re)connect means ``RESYNC`` too: diffs may have been missed.
   While disconnected, no snapshot is wanted and one that arrives is discarded.

On ``RESYNC`` the book is cleared (not left stale), the buffer starts anew and the
machine asks for a snapshot. Every state change goes through ``TRANSITIONS``; an event
the table does not list for the current state raises ``InvalidTransition``.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from connector.core.order_book import OrderBook
from connector.core.order_book_message import (
    MalformedMessage,
    OrderBookDiffMessage,
    OrderBookSnapshotMessage,
    units_to_decimal,
)

__all__ = [
    "TRANSITIONS",
    "CrossedBook",
    "DiffOutcome",
    "GapDetected",
    "InvalidTransition",
    "MalformedUpdate",
    "OrderBookSync",
    "SnapshotBehind",
    "SnapshotOutcome",
    "SnapshotTooOld",
    "SyncCounters",
    "SyncEvent",
    "SyncProblem",
    "SyncState",
    "Verdict",
    "transitions_as_mermaid",
]


class SyncState(enum.Enum):
    """Where a pair's book stands."""

    BUFFERING = "buffering"  # never synced yet: buffering diffs, waiting for a snapshot
    LIVE = "live"  # synced: the book equals the exchange's as of ``last_update_id``
    RESYNC = "resync"  # sync was lost: book cleared, buffering anew, waiting for a snapshot


class SyncEvent(enum.Enum):
    """What happened, as the transition table sees it."""

    DIFF = "diff"  # a diff was buffered, applied or dropped as stale
    SNAPSHOT = "snapshot"  # a snapshot was installed
    SNAPSHOT_TOO_OLD = "snapshot_too_old"
    SNAPSHOT_INVALID = "snapshot_invalid"  # crossed or malformed snapshot
    SNAPSHOT_DISCARDED = "snapshot_discarded"  # arrived while the stream was down
    GAP = "gap"
    CROSSED = "crossed"
    MALFORMED = "malformed"
    STREAM_DISCONNECTED = "stream_disconnected"
    STREAM_CONNECTED = "stream_connected"


_B, _L, _R = SyncState.BUFFERING, SyncState.LIVE, SyncState.RESYNC
_WAITING = {
    SyncEvent.DIFF: None,  # None: stay in the same state
    SyncEvent.SNAPSHOT: _L,
    SyncEvent.SNAPSHOT_TOO_OLD: None,
    SyncEvent.SNAPSHOT_INVALID: None,
    SyncEvent.SNAPSHOT_DISCARDED: None,
    SyncEvent.STREAM_DISCONNECTED: None,
    SyncEvent.STREAM_CONNECTED: None,
}

#: ``TRANSITIONS[state][event]`` is the next state. A missing entry is an invalid event
#: for that state: for example a snapshot while ``LIVE`` (nobody asked for one) or a gap
#: while buffering (gaps are only judged against an installed snapshot).
TRANSITIONS: dict[SyncState, dict[SyncEvent, SyncState]] = {
    _B: {event: (_B if target is None else target) for event, target in _WAITING.items()},
    _L: {
        SyncEvent.DIFF: _L,
        SyncEvent.GAP: _R,
        SyncEvent.CROSSED: _R,
        SyncEvent.MALFORMED: _R,
        SyncEvent.STREAM_DISCONNECTED: _R,
        # Connected while LIVE: we missed the disconnect, so diffs may have been lost.
        SyncEvent.STREAM_CONNECTED: _R,
    },
    _R: {event: (_R if target is None else target) for event, target in _WAITING.items()},
}


def transitions_as_mermaid() -> str:
    """The transition table as a Mermaid state diagram, for the docs (never hand-drawn)."""
    lines = ["stateDiagram-v2", "    [*] --> BUFFERING"]
    for state, row in TRANSITIONS.items():
        for event, target in row.items():
            lines.append(f"    {state.name} --> {target.name}: {event.value}")
    return "\n".join(lines)


class InvalidTransition(Exception):
    """The caller fed an event the current state does not accept (a local bug)."""

    def __init__(self, state: SyncState, event: SyncEvent) -> None:
        super().__init__(f"can't handle {event.name} in state {state.name}")
        self.state = state
        self.event = event


class Verdict(enum.Enum):
    """Routine outcomes (no problem)."""

    BUFFERED = "buffered"  # diff kept until a snapshot arrives
    APPLIED = "applied"  # diff applied to the live book
    DROPPED_STALE = "dropped_stale"  # diff older than the book: ignored, never applied
    SYNCED = "synced"  # snapshot installed and buffered diffs replayed: LIVE
    DISCARDED = "discarded"  # snapshot arrived while the stream was down: ignored


@dataclass(frozen=True, slots=True)
class SyncProblem:
    """Base of the outcomes that cost the book its sync (or refuse a snapshot)."""


@dataclass(frozen=True, slots=True)
class GapDetected(SyncProblem):
    """A diff did not continue the book: ``got`` (its ``U``) instead of ``expected``."""

    expected: int
    got: int


@dataclass(frozen=True, slots=True)
class SnapshotTooOld(SyncProblem):
    """The snapshot predates the first buffered diff; another snapshot is needed."""

    last_update_id: int
    first_buffered_update_id: int


@dataclass(frozen=True, slots=True)
class SnapshotBehind(SyncProblem):
    """With no diff buffered, the snapshot is older than an update id already seen."""

    last_update_id: int
    seen_update_id: int


@dataclass(frozen=True, slots=True)
class CrossedBook(SyncProblem):
    """Best bid >= best ask after ``update_id``: the book cannot be the exchange's."""

    update_id: int
    best_bid: Decimal
    best_ask: Decimal


@dataclass(frozen=True, slots=True)
class MalformedUpdate(SyncProblem):
    """A snapshot or diff had a level that failed to parse."""

    update_id: int
    reason: str


DiffOutcome: TypeAlias = Verdict | GapDetected | CrossedBook | MalformedUpdate
SnapshotOutcome: TypeAlias = (
    Verdict | SnapshotTooOld | SnapshotBehind | CrossedBook | MalformedUpdate | GapDetected
)


@dataclass(slots=True)
class SyncCounters:
    """Running totals, for observability and tests."""

    diffs_applied: int = 0
    diffs_buffered: int = 0
    diffs_dropped_stale: int = 0
    buffer_overflows: int = 0
    snapshots_applied: int = 0
    snapshots_rejected: int = 0
    snapshots_discarded: int = 0
    resyncs: int = 0
    gaps: int = 0
    crossed_books: int = 0
    malformed: int = 0


class OrderBookSync:
    """Keeps one pair's ``OrderBook`` equal to the exchange's, or says it is not.

    Feed it with ``on_diff``, ``on_snapshot``, ``on_stream_connected`` and
    ``on_stream_disconnected``; read ``state``, ``is_synced``, ``needs_snapshot``,
    ``last_update_id``, ``last_problem`` and ``counters``. The ``book`` object (a given one
    is cleared first) is kept for the machine's whole life and cleared on every resync, so
    callers may hold on to it but must check ``is_synced`` before trusting it.
    """

    __slots__ = (
        "_awaiting_first",
        "_buffer",
        "_last_update_id",
        "_newest_seen",
        "_state",
        "_stream_connected",
        "book",
        "counters",
        "last_problem",
        "trading_pair",
    )

    def __init__(
        self,
        trading_pair: str,
        *,
        book: OrderBook | None = None,
        max_buffer: int = 10_000,
        stream_connected: bool = False,
    ) -> None:
        self.trading_pair = trading_pair
        self.book = OrderBook(trading_pair) if book is None else book
        self.book.clear()
        self.counters = SyncCounters()
        self.last_problem: SyncProblem | None = None
        self._state = SyncState.BUFFERING
        self._buffer: deque[OrderBookDiffMessage] = deque(maxlen=max_buffer)
        self._last_update_id: int | None = None
        #: The newest update id seen outside ``LIVE`` or before the last resync (while
        #: ``LIVE`` the newest is ``_last_update_id``, folded in here on leaving it).
        self._newest_seen: int | None = None
        self._awaiting_first = False  # next applied diff may straddle the snapshot id
        self._stream_connected = stream_connected

    # -- observation ---------------------------------------------------------------------

    @property
    def state(self) -> SyncState:
        """The current state."""
        return self._state

    @property
    def is_synced(self) -> bool:
        """True while the book is proven equal to the exchange's (state ``LIVE``)."""
        return self._state is SyncState.LIVE

    @property
    def needs_snapshot(self) -> bool:
        """True when the async layer should fetch a snapshot now."""
        return self._state is not SyncState.LIVE and self._stream_connected

    @property
    def stream_connected(self) -> bool:
        """Whether the diff stream for this pair is believed to be flowing."""
        return self._stream_connected

    @property
    def last_update_id(self) -> int | None:
        """The book's update id while ``LIVE`` (the last applied ``u``), else ``None``."""
        return self._last_update_id

    @property
    def buffered(self) -> int:
        """How many diffs wait for a snapshot."""
        return len(self._buffer)

    # -- inputs --------------------------------------------------------------------------

    def on_diff(self, diff: OrderBookDiffMessage) -> DiffOutcome:
        """Buffer, apply or drop ``diff``; report a gap, crossed book or bad level."""
        if diff.trading_pair != self.trading_pair:
            raise ValueError(f"{diff.trading_pair} diff given to the {self.trading_pair} book")
        if self._state is _L:
            # (LIVE, DIFF) -> LIVE is a self-loop of the table: no lookup on the hot path.
            return self._apply_live(diff)
        self._transition(SyncEvent.DIFF)
        buffer = self._buffer
        if len(buffer) == buffer.maxlen:
            self.counters.buffer_overflows += 1
        buffer.append(diff)
        self.counters.diffs_buffered += 1
        newest = self._newest_seen
        if newest is None or diff.update_id > newest:
            self._newest_seen = diff.update_id
        return Verdict.BUFFERED

    def on_snapshot(self, snapshot: OrderBookSnapshotMessage) -> SnapshotOutcome:
        """Install ``snapshot`` if it is usable, then replay the buffered diffs."""
        if snapshot.trading_pair != self.trading_pair:
            raise ValueError(f"{snapshot.trading_pair} snapshot given to the {self.trading_pair} book")
        self._require(SyncEvent.SNAPSHOT)
        if not self._stream_connected:
            self._transition(SyncEvent.SNAPSHOT_DISCARDED)
            self.counters.snapshots_discarded += 1
            return Verdict.DISCARDED
        last_id = snapshot.update_id
        buffer = self._buffer
        if buffer:
            if last_id < buffer[0].first_update_id:
                return self._refuse_snapshot(
                    SyncEvent.SNAPSHOT_TOO_OLD, SnapshotTooOld(last_id, buffer[0].first_update_id)
                )
        elif self._newest_seen is not None and last_id < self._newest_seen:
            return self._refuse_snapshot(
                SyncEvent.SNAPSHOT_TOO_OLD, SnapshotBehind(last_id, self._newest_seen)
            )
        book = self.book
        try:
            book.apply_snapshot(snapshot)  # leaves the book empty if it raises
        except MalformedMessage as exc:
            return self._refuse_snapshot(SyncEvent.SNAPSHOT_INVALID, MalformedUpdate(last_id, str(exc)))
        if book.is_crossed():
            problem = self._crossed(last_id)
            book.clear()
            return self._refuse_snapshot(SyncEvent.SNAPSHOT_INVALID, problem)
        self._transition(SyncEvent.SNAPSHOT)
        self.counters.snapshots_applied += 1
        self._last_update_id = last_id
        self._awaiting_first = True
        self._buffer = deque(maxlen=buffer.maxlen)
        for diff in buffer:
            outcome = self._apply_live(diff)
            if isinstance(outcome, SyncProblem):
                return outcome  # the rest of the buffer went with the lost sync
        return Verdict.SYNCED

    def on_stream_disconnected(self) -> None:
        """The diff stream stopped: diffs will be missed, so the book cannot stay synced."""
        self._stream_connected = False
        self._reset(SyncEvent.STREAM_DISCONNECTED)

    def on_stream_connected(self) -> None:
        """The diff stream (re)started: resync from a fresh buffer and snapshot.

        Buffered diffs from before the (re)connect are dropped: the stream may have a hole
        between them and the new ones.
        """
        self._stream_connected = True
        self._reset(SyncEvent.STREAM_CONNECTED)

    # -- internals -----------------------------------------------------------------------

    def _require(self, event: SyncEvent) -> None:
        if event not in TRANSITIONS[self._state]:
            raise InvalidTransition(self._state, event)

    def _transition(self, event: SyncEvent) -> None:
        target = TRANSITIONS[self._state].get(event)
        if target is None:
            raise InvalidTransition(self._state, event)
        self._state = target

    def _apply_live(self, diff: OrderBookDiffMessage) -> DiffOutcome:
        """The live rules (module docstring, rules 5 and 6)."""
        last = self._last_update_id
        assert last is not None
        first = diff.first_update_id
        if first != last + 1:
            if diff.update_id <= last:
                self.counters.diffs_dropped_stale += 1
                return Verdict.DROPPED_STALE
            if not (self._awaiting_first and first <= last + 1):
                self.counters.gaps += 1
                return self._lose_sync(SyncEvent.GAP, GapDetected(last + 1, first))
        book = self.book
        try:
            book.apply_diff(diff)
        except MalformedMessage as exc:
            self.counters.malformed += 1
            return self._lose_sync(SyncEvent.MALFORMED, MalformedUpdate(diff.update_id, str(exc)))
        self._last_update_id = diff.update_id
        self._awaiting_first = False
        self.counters.diffs_applied += 1
        if book.is_crossed():
            self.counters.crossed_books += 1
            problem = self._crossed(diff.update_id)
            # The diff proved corrupt: its id is no evidence of where the exchange stands.
            self._last_update_id = last
            return self._lose_sync(SyncEvent.CROSSED, problem)
        return Verdict.APPLIED

    def _crossed(self, update_id: int) -> CrossedBook:
        bid = self.book.best_bid_units()
        ask = self.book.best_ask_units()
        assert bid is not None and ask is not None
        return CrossedBook(update_id, units_to_decimal(bid), units_to_decimal(ask))

    def _refuse_snapshot(
        self, event: SyncEvent, problem: SnapshotTooOld | SnapshotBehind | CrossedBook | MalformedUpdate
    ) -> SnapshotOutcome:
        self._transition(event)
        self.counters.snapshots_rejected += 1
        if isinstance(problem, CrossedBook):
            self.counters.crossed_books += 1
        elif isinstance(problem, MalformedUpdate):
            self.counters.malformed += 1
        self.last_problem = problem
        return problem

    def _lose_sync(
        self, event: SyncEvent, problem: GapDetected | CrossedBook | MalformedUpdate
    ) -> DiffOutcome:
        self.last_problem = problem
        self._reset(event)
        return problem

    def _reset(self, event: SyncEvent) -> None:
        """Take ``event``'s transition; if that leaves ``LIVE``, discard book and buffer."""
        was_live = self._state is SyncState.LIVE
        self._transition(event)
        self._buffer.clear()
        if was_live:
            self.counters.resyncs += 1
            self.book.clear()
            last, newest = self._last_update_id, self._newest_seen
            if newest is None or (last is not None and last > newest):
                self._newest_seen = last
            self._last_update_id = None
            self._awaiting_first = False
