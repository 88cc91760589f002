"""dev.py hands pytest the caller's relative paths as absolute ones (pytest runs from the
repository, where its configuration is)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

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
