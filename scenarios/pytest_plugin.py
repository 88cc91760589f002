"""pytest collects every ``*.scenario.yaml`` as one test (Tavern's shape).

Registered as a pytest plugin (the ``pytest11`` entry point in ``pyproject.toml``), so
any pytest run where this package is installed collects scenario files, also outside this
repository. Validation happens when the test runs, so a broken
file is one failing test whose message names the file, step, field and line, not a
collection error that hides the rest of the suite. A file with ``xfail: validate`` must
fail validation (it tests the validator); ``xfail: run`` must fail when run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .report import format_result
from .runner import Result, run_scenario
from .spec import ScenarioError, declared_xfail, load_scenario


class ScenarioFailed(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.scenario.name)
        self.result = result


class UnexpectedPass(Exception):
    pass


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(".scenario.yaml"):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name=self.path.name.removesuffix(".scenario.yaml"))


class ScenarioItem(pytest.Item):
    def runtest(self) -> None:
        try:
            scenario = load_scenario(self.path)
        except ScenarioError:
            if declared_xfail(self.path) == "validate":
                return
            raise
        if scenario.xfail == "validate":
            # Some checks need the driver and run when the run starts (event names and
            # fields the connector records, its options): a mistake there counts too.
            try:
                asyncio.run(run_scenario(scenario))
            except ScenarioError:
                return
            raise UnexpectedPass(f"{self.path}: declares 'xfail: validate' but is valid")
        result = asyncio.run(run_scenario(scenario))
        if scenario.xfail == "run":
            if result.passed:
                raise UnexpectedPass(f"{self.path}: declares 'xfail: run' but passed")
            return
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return format_result(excinfo.value.result)
        if isinstance(excinfo.value, ScenarioError | UnexpectedPass):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"scenario: {self.name}"
