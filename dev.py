#!/usr/bin/env python3
"""One entry point for people and CI: bootstraps `.venv`, then runs a task.

    python3 dev.py scenarios [PATH ...] [--junit FILE]  # the conformance suite, with a report
    python3 dev.py serve [mock-exchange serve options]   # start the mock exchange
    python3 dev.py test  [pytest options]                # the whole test suite
    python3 dev.py lint                                   # ruff + mypy
    python3 dev.py bench                                  # every benchmark under bench/

Only the standard library is used here, so this works on a fresh machine with nothing
but Python 3.11+. The virtual environment is (re)installed whenever pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject-sha256"


def _python() -> str:
    return str(BIN / ("python.exe" if os.name == "nt" else "python"))


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit(f"Python 3.11+ is required; this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    if not (BIN / "python").exists() and not (BIN / "python.exe").exists():
        print(f"dev.py: creating {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing the project and its test tools into .venv", file=sys.stderr)
    pip = [_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test,lint,clients,bench]"], check=True)
    STAMP.write_text(digest)


def _from_caller(arg: str, here: Path) -> str:
    """``arg`` as an absolute path if it names a file or folder relative to ``here``
    (keeping a pytest ``::node`` suffix); any other argument unchanged."""
    if arg.startswith("-") or here == ROOT:
        return arg
    path, sep, node = arg.partition("::")
    candidate = here / path
    return f"{candidate.resolve()}{sep}{node}" if candidate.exists() else arg


def _run(cmd: list[str], cwd: Path) -> int:
    """Run a task to its end; its exit status (128 + N if signal N ended it, as shells say).

    Ctrl-C in a terminal reaches the task too (it is in our process group), so let it stop
    on its own (the server says goodbye to its clients, pytest prints its summary) instead
    of killing it and printing our own traceback. A second Ctrl-C kills the task (also the
    way out when the interrupt was sent to dev.py alone, as some IDEs do: passing it on
    would interrupt a task the terminal already interrupted a second time)."""
    with subprocess.Popen(cmd, cwd=cwd) as proc:
        try:
            status = proc.wait()
        except KeyboardInterrupt:
            try:
                status = proc.wait()
            except KeyboardInterrupt:
                proc.kill()
                status = proc.wait()
    return 128 - status if status < 0 else status


TASKS = ("scenarios", "serve", "test", "lint", "bench")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    task, rest = argv[0], argv[1:]
    if task not in TASKS:
        known = ", ".join(TASKS)
        print(f"dev.py: unknown task {task!r} (tasks: {known}; see dev.py --help)", file=sys.stderr)
        return 2
    ensure_venv()
    py = _python()
    here = Path.cwd()
    if task == "serve":  # paths (--config FILE) are the caller's: run where they are
        return _run([py, "-m", "mock_exchange", "serve", *rest], here)
    if task == "scenarios":  # likewise PATH and --junit FILE
        return _run([py, "-m", "scenarios", "run", *rest], here)
    if task == "test":
        # pytest runs from the repository (its configuration is there); a path the caller
        # gave relative to where they are is made absolute first.
        cmd = [py, "-m", "pytest", *(_from_caller(arg, here) for arg in rest)]
    elif task == "lint":
        ruff = subprocess.run(
            [py, "-m", "ruff", "check", "connector", "mock_exchange", "scenarios", "tests", "bench"],
            cwd=ROOT,
        ).returncode
        mypy = subprocess.run([py, "-m", "mypy"], cwd=ROOT).returncode
        return ruff or mypy
    else:  # bench
        status = 0
        for script in sorted((ROOT / "bench").glob("bench_*.py")):
            print(f"== {script.name}", flush=True)
            status |= subprocess.run([py, str(script), *rest], cwd=ROOT).returncode
        return status
    return _run(cmd, ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
