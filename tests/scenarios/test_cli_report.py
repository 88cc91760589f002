"""The scenarios CLI: the table, the exit status, JUnit XML, and what a failure shows."""

from __future__ import annotations

import logging
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scenarios.cli import main

PASSING = """
name: a market buy fills
steps:
  - buy: {order: o1, pair: BTC-USDT, type: MARKET, amount: "0.01"}
  - wait: {order: o1, event: OrderCompleted}
expect:
  events: {o1: [OrderCreated, OrderFilled, OrderCompleted]}
"""

FAILING = """
name: a 503 on create, expecting (wrongly) that the order was sent twice
steps:
  - fault:
      {surface: rest, method: POST, path: /api/v3/order, action: execute_then_error, status: 503, code: -1007}
  - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: "0.01", price: "59000"}
  - wait: {order: o1, state: OPEN}
expect:
  requests: [{method: POST, path: /api/v3/order, count: 2}]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def no_root_handlers() -> None:
    """The CLI adds a handler to the root logger; take it away again after the test."""
    before = list(logging.getLogger().handlers)
    yield
    logging.getLogger().handlers[:] = before


def test_all_passing_exits_zero_with_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    write(tmp_path / "orders", "market_buy", PASSING)
    assert main(["run", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "orders/market_buy" in out and "pass" in out
    assert "1 passed, 0 failed" in out


def test_a_failure_exits_one_and_shows_where_why_and_what_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    write(tmp_path / "orders", "market_buy", PASSING)
    broken = write(tmp_path / "unknown_outcome", "sent_twice", FAILING)
    junit = tmp_path / "report.xml"
    assert main(["run", str(tmp_path), "--quiet", "--junit", str(junit)]) == 1
    captured = capsys.readouterr()
    out = captured.out
    # the expectation, its file and line, and the offending source line
    assert "expect.requests[0]: POST /api/v3/order: expected exactly 2, sent 1" in out
    assert f"at {broken}:8" in out
    # the timeline: the steps, the wire traffic and the connector's events
    assert "== step 1 (fault)" in out and "rest -> POST /api/v3/order" in out
    assert "event OrderCreated" in out
    # the connector's warning is shown with the failure, and not sprayed on stderr
    assert "has an unknown outcome" in out and "has an unknown outcome" not in captured.err
    assert "1 passed, 1 failed" in out
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failed = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["sent_twice"]


def test_an_invalid_file_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    write(
        tmp_path, "bad", "name: bad\nsteps:\n  - buy: {order: o1, pair: BTC-USDT, type: LIMT, amount: '1'}\n"
    )
    assert main(["run", str(tmp_path), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "bad.scenario.yaml" in out and "'type' must be LIMIT" in out


def test_a_problem_found_only_when_running_is_reported_as_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    """Connector options are the driver's to judge, so a bad one shows up when the run
    starts; the CLI still reports it like any invalid file, and runs the others."""
    bad = "name: bad option\nsetup:\n  connector: {colour: blue}\nsteps:\n  - advance: 1\n"
    write(tmp_path, "bad_option", bad)
    write(tmp_path, "good", PASSING)
    assert main(["run", str(tmp_path), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "bad_option.scenario.yaml" in out
    assert "unknown connector option 'colour'" in out
    assert "1 passed, 0 failed, 1 invalid" in out


def test_junit_counts_an_invalid_file_as_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    write(tmp_path / "suite", "bad", "name: bad\nsteps:\n  - buy: {order: o1, pair: BTC-USDT, type: LIMT}\n")
    write(tmp_path / "suite", "good", PASSING)
    report = tmp_path / "report.xml"
    assert main(["run", str(tmp_path / "suite"), "--quiet", "--junit", str(report)]) == 1
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "1")
    [bad] = [case for case in suite if case.get("name") == "bad"]
    [error] = list(bad)
    assert error.tag == "error" and "'type' must be LIMIT" in (error.text or "")


def test_a_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], no_root_handlers: None) -> None:
    assert main(["run", "/nonexistent/scenarios"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_junit_goes_into_a_folder_that_does_not_exist_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    write(tmp_path / "suite", "good", PASSING)
    report = tmp_path / "reports" / "ci" / "j.xml"
    assert main(["run", str(tmp_path / "suite"), "--quiet", "--junit", str(report)]) == 0
    assert ET.parse(report).getroot().get("tests") == "1"
    assert f"JUnit XML written to {report}" in capsys.readouterr().out
