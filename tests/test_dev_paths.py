"""dev.py hands pytest the caller's relative paths as absolute ones (pytest runs from the
repository, where its configuration is), names unknown tasks, and lets Ctrl-C stop a task
cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import os
import signal
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paths_are_the_callers(tmp_path: Path) -> None:
    dev = load_dev()
    (tmp_path / "mine.scenario.yaml").write_text("name: x\n")
    mine = tmp_path / "mine.scenario.yaml"
    assert dev._from_caller("mine.scenario.yaml", tmp_path) == str(mine)
    assert dev._from_caller("mine.scenario.yaml::mine", tmp_path) == f"{mine}::mine"
    # Options, and words that name nothing here (a -k expression), pass unchanged.
    assert dev._from_caller("-x", tmp_path) == "-x"
    assert dev._from_caller("depth", tmp_path) == "depth"
    # From the repository itself nothing changes.
    assert dev._from_caller("tests", ROOT) == "tests"


def test_an_unknown_task_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    """``dev.py tests`` (a typo) said "mock-exchange: invalid choice: 'tests'"."""
    assert load_dev().main(["tests"]) == 2
    assert capsys.readouterr().err == (
        "dev.py: unknown task 'tests' (tasks: scenarios, serve, test, lint, bench; see dev.py --help)\n"
    )


def _venv_is_current(dev: ModuleType) -> bool:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return bool(dev.STAMP.exists() and dev.STAMP.read_text().strip() == digest)


@pytest.mark.skipif(os.name == "nt", reason="process groups and SIGINT are POSIX")
async def test_ctrl_c_on_dev_py_serve_stops_the_server_cleanly() -> None:
    """Ctrl-C reaches dev.py and the server alike (one process group): dev.py waits for the
    server to stop on its own, with no traceback of its own (it printed one, and killed the
    server 0.25 s later, before it had said goodbye to its clients)."""
    dev = load_dev()
    if not _venv_is_current(dev):
        pytest.skip("needs the .venv that dev.py manages (run the tests with dev.py test)")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "dev.py"),
        "serve",
        "--port",
        "0",
        "--no-activity",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    try:
        assert process.stdout is not None
        line = b""
        while not line.startswith(b"Press Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, "dev.py serve exited early"
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        with contextlib.suppress(ProcessLookupError):  # never leave a server behind
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, out
    assert b"Stopping..." in out and b"Traceback" not in out, out
