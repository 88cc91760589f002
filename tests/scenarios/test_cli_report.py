"""The scenarios CLI: the table, the exit status, JUnit XML, and what a failure shows."""

from __future__ import annotations

import logging
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

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


def test_a_connector_option_of_the_wrong_type_is_invalid_not_a_readiness_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    bad = "name: bad value\nsetup:\n  connector: {request_timeout_s: soon}\nsteps:\n  - advance: 1\n"
    write(tmp_path, "bad_value", bad)
    assert main(["run", str(tmp_path), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out
    assert "connector option 'request_timeout_s' must be seconds (a number, 0 or more), got 'soon'" in out


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


def test_xfail_files_are_skipped_and_counted_valid_or_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    """``xfail`` files test the harness (pytest checks they fail as declared): the CLI skips
    them, says so, and lists them in JUnit, also when the declared mistake makes the file
    invalid. Before, such a file was reported INVALID and the run exited 1."""
    write(tmp_path / "suite", "good", PASSING)
    write(tmp_path / "suite", "bad_on_purpose", "name: x\nxfail: validate\nsteps: [advnce]\n")
    write(tmp_path / "suite", "fails_on_purpose", FAILING + "xfail: run\n")
    report = tmp_path / "report.xml"
    assert main(["run", str(tmp_path / "suite"), "--quiet", "--junit", str(report)]) == 0
    out = capsys.readouterr().out
    assert "INVALID" not in out
    assert "1 passed, 0 failed, 2 skipped (xfail: the harness's self-tests, run by pytest)" in out
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("skipped"), suite.get("errors")) == ("3", "2", "0")
    skipped = {
        case.get("name"): case[0].get("message") for case in suite if len(case) and case[0].tag == "skipped"
    }
    assert skipped == {"bad_on_purpose": "xfail: validate", "fails_on_purpose": "xfail: run"}
    # Only skipped files: nothing failed, so the run succeeds.
    assert main(["run", str(tmp_path / "suite" / "bad_on_purpose.scenario.yaml"), "--quiet"]) == 0
    # A broken file whose mark is not 'validate' (misspelt, or 'run') is invalid, as in pytest.
    capsys.readouterr()
    write(tmp_path / "other", "misspelt_mark", "name: x\nxfail: validation\nsteps: [advnce]\n")
    write(tmp_path / "other", "run_mark", "name: x\nxfail: run\nsteps: [advnce]\n")
    assert main(["run", str(tmp_path / "other"), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.count("INVALID") == 2 and "2 invalid" in out and "skipped (" not in out


def test_a_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], no_root_handlers: None) -> None:
    assert main(["run", "/nonexistent/scenarios"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["loading", "running"])
def test_a_crash_in_one_file_is_an_error_and_the_others_still_run(
    where: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_root_handlers: None,
) -> None:
    """An unexpected exception (a harness or connector bug) while loading or running one
    file is that file's error: the files after it run, the table and JUnit are produced."""
    from scenarios import cli

    write(tmp_path / "suite", "a_good", PASSING)
    bad = write(tmp_path / "suite", "b_bad", PASSING)
    write(tmp_path / "suite", "c_good", PASSING)
    real_load, real_run = cli.load_scenario, cli.run_scenario

    def load(path: Path) -> Any:
        if where == "loading" and Path(path).name.startswith("b_"):
            raise AttributeError("'list' object has no attribute 'items'")
        return real_load(path)

    async def run(scenario: Any) -> Any:
        if where == "running" and scenario.id == "b_bad":
            raise RuntimeError("the harness tripped")
        return await real_run(scenario)

    monkeypatch.setattr(cli, "load_scenario", load)
    monkeypatch.setattr(cli, "run_scenario", run)
    report = tmp_path / "report.xml"
    assert main(["run", str(tmp_path / "suite"), "--quiet", "--junit", str(report)]) == 1
    out = capsys.readouterr().out
    what = (
        "AttributeError: 'list' object has no attribute 'items'"
        if where == "loading"
        else ("RuntimeError: the harness tripped")
    )
    assert f"{bad}: crashed while {where}: {what}" in out
    assert "Traceback (most recent call last)" in out  # for debugging, after the summary
    rows = [line.split()[:2] for line in out.splitlines() if line.startswith("suite/")]
    assert rows == [["suite/a_good", "pass"], ["suite/b_bad", "ERROR"], ["suite/c_good", "pass"]]
    assert "2 passed, 0 failed, 1 error" in out
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "1")
    [error] = [case.find("error") for case in suite if case.get("name") == "b_bad"]
    assert error is not None and error.get("message") == f"{bad}: crashed while {where}: {what}"


def test_junit_goes_into_a_folder_that_does_not_exist_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    write(tmp_path / "suite", "good", PASSING)
    report = tmp_path / "reports" / "ci" / "j.xml"
    assert main(["run", str(tmp_path / "suite"), "--quiet", "--junit", str(report)]) == 0
    assert ET.parse(report).getroot().get("tests") == "1"
    assert f"JUnit XML written to {report}" in capsys.readouterr().out


def test_failures_name_orders_as_the_scenario_does_and_cut_long_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_root_handlers: None
) -> None:
    """Client order ids carry the scenario's name for the order (`o3 (x-TCONN...)`) in
    messages, the timeline, the table and JUnit; a list of 25 open orders is cut to 10."""
    buys = "\n".join(
        f'  - buy: {{order: o{i}, pair: BTC-USDT, type: LIMIT, amount: "0.001", price: "{59000 - i}"}}'
        for i in range(1, 26)
    )
    write(
        tmp_path / "suite",
        "many_open",
        f"name: many open orders\nsteps:\n{buys}\n  - wait: {{until: no_open_orders, timeout: 1}}\n",
    )
    report = tmp_path / "report.xml"
    assert main(["run", str(tmp_path / "suite"), "--quiet", "--junit", str(report)]) == 1
    out = capsys.readouterr().out
    [message] = [line for line in out.splitlines() if line.startswith("  step 26 (wait): ")]
    assert re.fullmatch(
        r"  step 26 \(wait\): timed out after 1 s \(virtual\) waiting for no open orders; 25 open: "
        r"o1 \(x-TCONNBBTCUSD[0-9a-f]+\), (o\d+ \(x-TCONNBBTCUSD[0-9a-f]+\), ){8}"
        r"o10 \(x-TCONNBBTCUSD[0-9a-f]+\) and 15 more",
        message,
    ), message
    assert re.search(r"event OrderCreated o25 \(x-TCONNBBTCUSD[0-9a-f]+\)", out)  # the timeline
    assert re.search(r"newClientOrderId=o25 \(x-TCONNBBTCUSD[0-9a-f]+\)", out)  # the wire
    [row] = [line for line in out.splitlines() if line.startswith("suite/many_open")]
    assert "25 open: o1 (x-TCONN" in row
    [case] = ET.parse(report).getroot().iter("testcase")
    failure = case.find("failure")
    assert failure is not None and "25 open: o1 (x-TCONN" in (failure.get("message") or "")


def test_order_names_replace_whole_ids_only_and_survive_a_cut() -> None:
    from scenarios.report import OrderNamer

    named = OrderNamer({"o1": "x-TCONNB1", "o2": "x-TCONNB12", "mm": "abc"})
    assert named("x-TCONNB1 x-TCONNB12 x-TCONNB123 abc abcd") == (
        "o1 (x-TCONNB1) o2 (x-TCONNB12) x-TCONNB123 mm (abc) abcd"
    )
    line = "   wire  rest -> " + "x" * 200 + " c=x-TCONNB12"
    assert named.short(line).endswith("...  [o2]")
    assert OrderNamer({})("x-TCONNB1") == "x-TCONNB1"
