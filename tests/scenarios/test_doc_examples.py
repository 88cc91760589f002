"""The complete scenarios the documentation shows run and pass as written: a reader who
copies one gets a working file, not a puzzle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scenarios.report import format_result
from scenarios.runner import run_scenario
from scenarios.spec import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _examples() -> list[tuple[str, str]]:
    """(where, text) for every YAML block that is a whole scenario (it starts with ``name:``)."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in re.finditer(r"```yaml\n(.*?)```", text, re.S):
            if match.group(1).startswith("name:"):
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{doc.relative_to(ROOT)}:{line}", match.group(1)))
    return found


EXAMPLES = _examples()


def test_the_docs_show_whole_scenarios() -> None:
    assert len(EXAMPLES) >= 2, EXAMPLES  # README's example and the format's "Shape"


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
async def test_a_documented_scenario_passes(where: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / "example.scenario.yaml"
    path.write_text(text)
    result = await run_scenario(load_scenario(path))
    assert result.passed, f"{where}\n{format_result(result)}"
