"""Readable results: a pass/fail table, failures in context, JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .runner import Failure, Result

CONTEXT = 40  # timeline lines shown before a failure
LOG_LINES = 15  # connector log lines shown with a failure


@dataclass(frozen=True)
class Line:
    mono_ns: int  # when it happened in this process: interleaves steps, wire and events
    time_us: int
    text: str


def _short(text: str, limit: int = 180) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def timeline(result: Result, failure: Failure | None = None, context: int = CONTEXT) -> list[str]:
    """Steps, wire traffic and connector events merged by (virtual) time, ending where the
    failure was found (or at the end of the run)."""
    lines: list[Line] = []
    traffic_limit = failure.traffic_seq if failure and failure.traffic_seq else None
    event_limit = failure.event_seq if failure and failure.event_seq else None
    for rec in result.steps:
        args = (
            ", ".join(f"{k}={v}" for k, v in rec.step.args.items()) if isinstance(rec.step.args, dict) else ""
        )
        lines.append(Line(rec.mono_ns, rec.started_us, f"== {rec.step.where}: {args}"))
    for t in result.traffic:
        if traffic_limit is not None and t.seq > traffic_limit:
            break
        arrow = "->" if t.direction == "in" else "<-"
        conn = f"#{t.conn}" if t.conn is not None else ""
        lines.append(Line(t.mono_ns, t.time_us, _short(f"   wire  {t.surface}{conn} {arrow} {t.text}")))
    for e in result.events:
        if event_limit is not None and e.seq > event_limit:
            break
        lines.append(Line(e.mono_ns, e.time_us, _short(f"   event {e}")))
    lines.sort(key=lambda x: x.mono_ns)
    shown = [f"{x.time_us // 1000:>14} {x.text}" for x in lines[-context:]]
    if len(lines) > context:
        shown.insert(0, f"   ... {len(lines) - context} earlier lines")
    return shown


def _status(result: Result) -> str:
    return "PASS" if result.passed else ("ERROR" if result.error else "FAIL")


def error_summary(result: Result) -> str:
    """What crashed, on one line ("" when nothing did)."""
    if not result.error:
        return ""
    return result.error_message or result.error.strip().splitlines()[-1]


def format_result(result: Result, *, with_timeline: bool = True) -> str:
    s = result.scenario
    out = [f"{_status(result)}: {s.name}  ({s.path})"]
    for f in result.failures:
        loc = f"{s.path}:{f.line}" if f.line else s.path
        out.append(f"  {f.where}: {f.message}")
        out.append(f"    at {loc}")
        if f.source:
            out.extend("    " + line for line in f.source.splitlines())
    if result.error:
        out.append(f"  {error_summary(result)}")
        out.append("  traceback (for debugging):")
        out.extend("    " + line for line in result.error.rstrip().splitlines())
    if with_timeline and not result.passed and (result.steps or result.traffic or result.events):
        failure = result.failures[0] if result.failures else None
        out.append("  timeline (virtual ms), up to the failure:")
        out.extend("  " + line for line in timeline(result, failure))
        if result.logs:
            out.append(f"  connector warnings and errors ({len(result.logs)}, last {LOG_LINES}):")
            out.extend("    " + _short(line) for line in result.logs[-LOG_LINES:])
    return "\n".join(out)


def _label(result: Result) -> str:
    """``theme/name``: the scenario's folder and file name."""
    return f"{Path(result.scenario.path).parent.name}/{result.scenario.id}"


def table(results: list[Result], invalid: int = 0) -> str:
    """One row per result and a summary line (``invalid``: files that could not run)."""
    width = max([len(_label(r)) for r in results] + [8])
    rows = [
        f"{'scenario':<{width}}  result  time    what went wrong",
        f"{'-' * width}  ------  ------  ---------------",
    ]
    for r in results:
        status = "pass" if r.passed else ("ERROR" if r.error else "FAIL")
        why = ""
        if r.failures:
            why = f"{r.failures[0].where}: {r.failures[0].message}"
        elif r.error:
            why = error_summary(r)
        rows.append(f"{_label(r):<{width}}  {status:<6}  {r.duration_s:5.2f}s  {why[:120]}")
    passed = sum(r.passed for r in results)
    errors = sum(1 for r in results if r.error)
    summary = f"{passed} passed, {len(results) - passed - errors} failed"
    if errors:
        summary += f", {errors} error{'s' if errors > 1 else ''}"
    rows.append(f"\n{summary}, {invalid} invalid" if invalid else f"\n{summary}")
    return "\n".join(rows)


def junit_xml(
    results: list[Result],
    path: str | Path,
    invalid: Sequence[tuple[Path, str]] = (),
    suite_name: str = "scenarios",
) -> None:
    """JUnit XML: a failed expectation is a failure; a crash, or a file that is not a valid
    scenario (``invalid``: path and problem), is an error."""
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(results) + len(invalid)),
        failures=str(sum(1 for r in results if r.failures and not r.error)),
        errors=str(sum(1 for r in results if r.error) + len(invalid)),
        time=f"{sum(r.duration_s for r in results):.3f}",
    )
    for file, problem in invalid:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"scenarios.{file.parent.name}",
            name=file.name.removesuffix(".scenario.yaml"),
            time="0.000",
            file=str(file),
        )
        ET.SubElement(case, "error", message="invalid scenario file").text = problem
    for r in results:
        group = Path(r.scenario.path).parent.name
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"scenarios.{group}",
            name=r.scenario.id,
            time=f"{r.duration_s:.3f}",
            file=r.scenario.path,
        )
        if r.error:
            ET.SubElement(case, "error", message=error_summary(r)).text = format_result(r)
        elif r.failures:
            f = r.failures[0]
            ET.SubElement(case, "failure", message=f"{f.where}: {f.message}").text = format_result(r)
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # as pytest's --junitxml does
    ET.ElementTree(suite).write(str(path), encoding="utf-8", xml_declaration=True)
