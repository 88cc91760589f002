"""Readable results: a pass/fail table, failures in context, JUnit XML for CI."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .runner import Failure, Result

CONTEXT = 40  # timeline lines shown before a failure
LOG_LINES = 15  # connector log lines shown with a failure
MESSAGE_LIMIT = 1000  # characters of one failure message


@dataclass(frozen=True)
class Line:
    mono_ns: int  # when it happened in this process: interleaves steps, wire and events
    time_us: int
    text: str


def _short(text: str, limit: int = 180) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _capped(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A long message cut, saying how much was left out."""
    return text if len(text) <= limit else f"{text[:limit]}... (+{len(text) - limit} characters)"


class OrderNamer:
    """Puts the scenario's name for an order next to its client order id: ``o3 (x-TCONN...)``,
    so a report can be matched with the file that names the orders."""

    def __init__(self, names: dict[str, str]) -> None:
        self.by_id = {cid: name for name, cid in names.items() if cid and cid != name}
        ids = sorted(self.by_id, key=len, reverse=True)  # the longest first: no prefix match
        self._pattern = (
            re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])") if ids else None
        )

    def names_in(self, text: str) -> list[str]:
        if self._pattern is None:
            return []
        return list(dict.fromkeys(self.by_id[m] for m in self._pattern.findall(text)))

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: f"{self.by_id[m.group(1)]} ({m.group(1)})", text)

    def short(self, text: str, limit: int = 180) -> str:
        """``_short`` of the named text; names the cut removed are kept at the end."""
        named = self(text)
        shown = _short(named, limit)
        lost = [name for name in self.names_in(text) if f"{name} (" not in shown]
        return shown + (f"  [{', '.join(lost)}]" if lost else "")


def timeline(result: Result, failure: Failure | None = None, context: int = CONTEXT) -> list[str]:
    """Steps, wire traffic and connector events merged by (virtual) time, ending where the
    failure was found (or at the end of the run). Client order ids carry the scenario's
    name for the order."""
    named = OrderNamer(result.order_names)
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
        lines.append(Line(t.mono_ns, t.time_us, named.short(f"   wire  {t.surface}{conn} {arrow} {t.text}")))
    for e in result.events:
        if event_limit is not None and e.seq > event_limit:
            break
        lines.append(Line(e.mono_ns, e.time_us, named.short(f"   event {e}")))
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


def failure_message(result: Result, failure: Failure) -> str:
    """``where: message``, orders named as in the scenario, a very long message cut."""
    return f"{failure.where}: {_capped(OrderNamer(result.order_names)(failure.message))}"


def format_result(result: Result, *, with_timeline: bool = True) -> str:
    s = result.scenario
    named = OrderNamer(result.order_names)
    out = [f"{_status(result)}: {s.name}  ({s.path})"]
    for f in result.failures:
        loc = f"{s.path}:{f.line}" if f.line else s.path
        out.append(f"  {failure_message(result, f)}")
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
            out.extend("    " + named.short(line) for line in result.logs[-LOG_LINES:])
    return "\n".join(out)


def _label(result: Result) -> str:
    """``theme/name``: the scenario's folder and file name."""
    return f"{Path(result.scenario.path).parent.name}/{result.scenario.id}"


def table(results: list[Result], invalid: int = 0, skipped: int = 0) -> str:
    """One row per result and a summary line (``invalid``: files that could not run;
    ``skipped``: files marked ``xfail``, which pytest runs)."""
    width = max([len(_label(r)) for r in results] + [8])
    rows = [
        f"{'scenario':<{width}}  result  time    what went wrong",
        f"{'-' * width}  ------  ------  ---------------",
    ]
    for r in results:
        status = "pass" if r.passed else ("ERROR" if r.error else "FAIL")
        why = ""
        if r.failures:
            why = failure_message(r, r.failures[0])
        elif r.error:
            why = error_summary(r)
        rows.append(f"{_label(r):<{width}}  {status:<6}  {r.duration_s:5.2f}s  {why[:120]}")
    passed = sum(r.passed for r in results)
    errors = sum(1 for r in results if r.error)
    summary = f"{passed} passed, {len(results) - passed - errors} failed"
    if errors:
        summary += f", {errors} error{'s' if errors > 1 else ''}"
    if invalid:
        summary += f", {invalid} invalid"
    if skipped:
        summary += f", {skipped} skipped (xfail: the harness's self-tests, run by pytest)"
    rows.append(f"\n{summary}")
    return "\n".join(rows)


def junit_xml(
    results: list[Result],
    path: str | Path,
    invalid: Sequence[tuple[Path, str]] = (),
    skipped: Sequence[tuple[Path, str]] = (),
    suite_name: str = "scenarios",
) -> None:
    """JUnit XML: a failed expectation is a failure; a crash, or a file that is not a valid
    scenario (``invalid``: path and problem), is an error; ``skipped`` (path and why) are
    skipped test cases."""
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(results) + len(invalid) + len(skipped)),
        failures=str(sum(1 for r in results if r.failures and not r.error)),
        errors=str(sum(1 for r in results if r.error) + len(invalid)),
        skipped=str(len(skipped)),
        time=f"{sum(r.duration_s for r in results):.3f}",
    )

    def unrun(file: Path) -> ET.Element:
        """The test case of a file that did not run."""
        return ET.SubElement(
            suite,
            "testcase",
            classname=f"scenarios.{file.parent.name}",
            name=file.name.removesuffix(".scenario.yaml"),
            time="0.000",
            file=str(file),
        )

    for file, why in skipped:
        ET.SubElement(unrun(file), "skipped", message=why)
    for file, problem in invalid:
        ET.SubElement(unrun(file), "error", message="invalid scenario file").text = problem
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
            ET.SubElement(case, "failure", message=failure_message(r, f)).text = format_result(r)
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # as pytest's --junitxml does
    ET.ElementTree(suite).write(str(path), encoding="utf-8", xml_declaration=True)
