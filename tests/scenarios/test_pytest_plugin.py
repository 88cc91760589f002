"""The pytest plugin: scenario files are collected as tests, and a file declaring
``xfail: validate`` passes when it is invalid, whatever its mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scenarios.spec import declared_xfail

INVALID_VALUE = """\
name: declared invalid
xfail: validate
steps:
  - advance: !!int soon
"""


def test_the_declared_xfail_is_read_even_when_a_value_cannot_be_built(tmp_path: Path) -> None:
    path = tmp_path / "bad.scenario.yaml"
    path.write_text(INVALID_VALUE)
    assert declared_xfail(path) == "validate"
    path.write_text("name: x\nsteps: [\n")  # not YAML at all
    assert declared_xfail(path) is None


#: Valid when loaded; the driver's check when the run starts refuses the misspelt field.
INVALID_FOR_THE_DRIVER = """\
name: declared invalid, found when the run starts
xfail: validate
steps:
  - advance: 1
expect:
  no_connector_events: [{name: StreamStatusChanged, conected: false}]
"""


def test_an_invalid_file_declaring_xfail_validate_passes_under_pytest(tmp_path: Path) -> None:
    (tmp_path / "bad.scenario.yaml").write_text(INVALID_VALUE)
    (tmp_path / "bad_for_the_driver.scenario.yaml").write_text(INVALID_FOR_THE_DRIVER)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
