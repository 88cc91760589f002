"""The conformance scenarios catch real defects: break the connector on purpose, see them fail.

Each case reintroduces one defect the study documents in Hummingbot (or a plausible
regression of ours) by patching the connector, runs the scenario that guards against it,
and checks the scenario fails *at the expectation that describes the defect*. The unpatched
run of the same file is part of the suite itself (``scenarios/suite``), so between them the
two directions are covered: the scenario passes on a correct connector and fails on a
broken one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connector.core import client_order_tracker, errors, in_flight_order, order_book_sync
from scenarios.report import format_result
from scenarios.runner import Result, run_scenario
from scenarios.spec import load_scenario

SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "suite"


async def _run(relative: str) -> Result:
    return await run_scenario(load_scenario(SUITE / relative))


def _failed_at(result: Result, *fragments: str) -> bool:
    """Whether some failure's location or message mentions one of the fragments."""
    return any(f in f"{x.where}: {x.message}" for f in fragments for x in result.failures)


# --------------------------------------------------------------------------- sabotages


def _unknown_outcome_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 5xx is taken as "nothing happened": the order is failed although it executed
    (Hummingbot's lost-order false failure, study W1), also when the user stream has
    already reported it (the tracker's second line of defence, disabled too)."""
    never = property(lambda self: False)
    for cls in (errors.ExchangeError, errors.ServerError, errors.TransportError):
        monkeypatch.setattr(cls, "outcome_unknown", never)
    original = client_order_tracker.ClientOrderTracker.process_order_failure

    def failing_acknowledged_orders_too(self: Any, client_order_id: str, error: Any) -> bool:
        order = self.active_orders.get(client_order_id)
        if order is not None:
            order.acknowledged = False
        return original(self, client_order_id, error)

    monkeypatch.setattr(
        client_order_tracker.ClientOrderTracker, "process_order_failure", failing_acknowledged_orders_too
    )


def _fills_not_deduplicated(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fill seen again (stream + REST, or a duplicated event) is counted again (W14)."""
    original = in_flight_order.InFlightOrder.apply_trade_update

    def apply_every_time(self: Any, trade: Any) -> Any:
        if trade.trade_id in self.order_fills:
            trade = dataclasses.replace(trade, trade_id=f"{trade.trade_id}-again-{len(self.order_fills)}")
        return original(self, trade)

    monkeypatch.setattr(in_flight_order.InFlightOrder, "apply_trade_update", apply_every_time)


def _depth_gaps_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Diffs are applied without checking ``U`` against the last update id: the order
    book is never sequence-checked (Hummingbot's defect, study 3.1)."""
    original = order_book_sync.OrderBookSync._apply_live

    def no_sequence_check(self: Any, diff: Any) -> Any:
        last = self._last_update_id
        if last is not None and diff.update_id > last and diff.first_update_id > last + 1:
            diff = dataclasses.replace(diff, first_update_id=last + 1)
        return original(self, diff)

    monkeypatch.setattr(order_book_sync.OrderBookSync, "_apply_live", no_sequence_check)


CASES: list[tuple[str, Callable[[pytest.MonkeyPatch], None], tuple[str, ...]]] = [
    (
        "unknown_outcome/create_503_after_execution.scenario.yaml",
        _unknown_outcome_is_known,
        # The order is failed on the 503: it never becomes OPEN, or (when the user stream
        # reported it first) an OrderFailed follows its OrderCreated.
        ("waiting for order o1 to be OPEN", "orders.o1.state", "no_events", "events.o1"),
    ),
    (
        "fills/duplicate_fill_reports_counted_once.scenario.yaml",
        _fills_not_deduplicated,
        # The repeated reports surface as extra fills or as fills "after the end".
        ("orders.o1.fills", "orders.o1.executed", "events.o1", "no_events"),
    ),
    (
        "order_book/depth_gap_triggers_resync.scenario.yaml",
        _depth_gaps_ignored,
        ("book_matches_exchange",),
    ),
]


@pytest.mark.parametrize(
    ("scenario", "breakage", "where"),
    CASES,
    ids=[Path(c[0]).name.removesuffix(".scenario.yaml") for c in CASES],
)
async def test_scenario_fails_when_the_connector_is_broken(
    scenario: str,
    breakage: Callable[[pytest.MonkeyPatch], None],
    where: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    breakage(monkeypatch)
    result = await _run(scenario)
    assert result.error is None, result.error
    assert not result.passed, f"{scenario} passed against a broken connector"
    assert _failed_at(result, *where), format_result(result)
