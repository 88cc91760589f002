"""``scenarios``: run scenario files and print a readable report.

    scenarios run [PATH ...] [-k TEXT] [--junit FILE] [--quiet] [--log]

PATH is a scenario file or a folder searched for ``*.scenario.yaml`` (default: the
conformance suite). Exit status 0 when every scenario passes, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .report import format_result, junit_xml, table
from .runner import Result, crashed_result, run_scenario
from .spec import ScenarioError, declared_xfail, load_scenario

SUITE = Path(__file__).resolve().parent / "suite"


def find(paths: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for p in paths or [str(SUITE)]:
        path = Path(p)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.scenario.yaml")))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(p)
    return found


@dataclass
class Outcome:
    """What a run of several files gave."""

    results: list[Result] = field(default_factory=list)
    #: Files that are not valid scenarios, with what is wrong with each.
    invalid: list[tuple[Path, str]] = field(default_factory=list)
    #: Files marked ``xfail`` (the harness's self-tests, which pytest runs), with the mark.
    skipped: list[tuple[Path, str]] = field(default_factory=list)


async def run_all(files: list[Path], keyword: str | None, quiet: bool) -> Outcome:
    """Run ``files``: the results, the invalid files and the skipped ones.

    Every file is run and reported, whatever happens in another one: a file whose loading
    or run crashes (an unexpected exception, a bug in the harness or the connector) is a
    result with ``error`` set, and the next file runs. A file marked ``xfail`` is skipped,
    valid or not: it tests the harness, and pytest checks that it fails as declared."""
    out = Outcome()
    results, invalid = out.results, out.invalid
    for f in files:
        if keyword and keyword not in str(f):
            continue
        result: Result | None = None
        try:
            scenario = load_scenario(f)
        except ScenarioError as e:
            # Only a file that declares it must fail validation may be invalid (as pytest
            # judges it): a misspelt mark, or 'xfail: run' on a broken file, is invalid.
            if declared_xfail(f) == "validate":
                out.skipped.append((f, "xfail: validate"))
            else:
                invalid.append((f, str(e)))
            continue
        except Exception as e:
            result = crashed_result(f, "loading", e)
        else:
            if scenario.xfail:
                out.skipped.append((f, f"xfail: {scenario.xfail}"))
                continue
            try:
                result = await run_scenario(scenario)
            except ScenarioError as e:  # found on starting: an option only the driver can judge
                invalid.append((f, str(e)))
                continue
            except asyncio.CancelledError as e:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # Ctrl-C: stop the whole run
                result = crashed_result(f, "running", e, scenario)
            except Exception as e:
                result = crashed_result(f, "running", e, scenario)
        results.append(result)
        if not quiet:
            mark = "." if result.passed else ("E" if result.error else "F")
            print(mark, end="", flush=True)
    if not quiet:
        print()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scenarios", description="Run connector scenarios against the mock exchange."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenario files and print a report")
    run.add_argument("paths", nargs="*", help="scenario files or folders (default: the conformance suite)")
    run.add_argument("-k", dest="keyword", help="only scenarios whose path contains TEXT")
    run.add_argument("--junit", help="also write JUnit XML to FILE")
    run.add_argument("--quiet", action="store_true", help="no progress dots")
    run.add_argument(
        "--log",
        action="store_true",
        help="print the connector's warnings as they happen (default: only with failures)",
    )
    args = parser.parse_args(argv)
    if args.log:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    else:
        # Each result keeps the connector's warnings and a failure shows them; without a
        # handler here, Python would print every expected warning (faults are the point).
        logging.getLogger().addHandler(logging.NullHandler())
    try:
        files = find(args.paths)
    except FileNotFoundError as e:
        print(f"scenarios: no such file or folder: {e}", file=sys.stderr)
        return 2
    out = asyncio.run(run_all(files, args.keyword, args.quiet))
    results, invalid, skipped = out.results, out.invalid, out.skipped
    for _, problem in invalid:
        print(f"INVALID: {problem}")
    failed = [r for r in results if not r.passed]
    for r in failed:
        print()
        print(format_result(r))
    print()
    print(table(results, len(invalid), len(skipped)) if results or invalid or skipped else "no scenarios ran")
    if args.junit:
        junit_xml(results, args.junit, invalid, skipped)  # creates missing parent folders
        print(f"JUnit XML written to {args.junit}")
    return 0 if (results or skipped) and not failed and not invalid else 1


if __name__ == "__main__":
    sys.exit(main())
