"""Load-time validation catches a user's mistake in a scenario file: a wrong-typed or
wrong-shaped value, a key nothing reads, a name nothing defines. Each is one
``ScenarioError`` naming the file, the place, the field and the line; never a Python
traceback, never an expectation that silently checks nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scenarios.spec import ScenarioError, load_scenario


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def check_error(tmp_path: Path, text: str, where: str, message: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    error = info.value
    assert (error.where, error.message, error.line) == (where, message, line), str(error)
    assert str(error) == f"{path}:{line}: {where}: {message}"


# ----------------------------------------------------------------------------- YAML


@pytest.mark.parametrize(
    ("text", "where", "message", "line"),
    [
        pytest.param(
            """
            name: !foo x
            steps: [clear_faults]
            """,
            "name",
            "not valid YAML: could not determine a constructor for the tag '!foo'",
            1,
            id="custom-tag",
        ),
        pytest.param(
            """
            name: x
            steps:
              - advance: !!int soon
            """,
            "steps.0.advance",
            "not valid YAML: 'soon' is not a valid !!int",
            3,
            id="standard-tag-that-does-not-fit",
        ),
        pytest.param(
            """
            name: x
            tags: !!set {a, b}
            steps: [clear_faults]
            """,
            "tags",
            "the tag '!!set' is not supported: write plain YAML",
            2,
            id="tagged-collection",
        ),
        pytest.param(
            """
            name: x
            steps: [clear_faults]
            expect:
              ? [a, b]
              : 1
            """,
            "expect",
            "a key must be a name or a number, not a list or a mapping",
            4,
            id="complex-key",
        ),
        pytest.param(
            """
            name: x
            steps: &s [*s]
            """,
            "steps.0",
            "an alias refers to a node that contains it",
            2,
            id="recursive-alias",
        ),
        pytest.param(
            """
            name: x
            steps:
              - buy: &o1 {order: o1, pair: BTC-USDT, type: MARKET, amount: "0.01"}
              - sell:
                  <<: *o1
                  order: o2
            """,
            "steps.1.sell",
            "merge keys ('<<') are not supported: write the fields out",
            5,
            id="merge-key",
        ),
    ],
)
def test_yaml_beyond_plain_data_is_an_error_at_its_line(
    tmp_path: Path, text: str, where: str, message: str, line: int
) -> None:
    check_error(tmp_path, text, where, message, line)


def test_aliases_of_plain_data_still_work(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(
            tmp_path,
            """
            name: x
            steps:
              - buy: {order: o1, pair: BTC-USDT, type: LIMIT, amount: &amount "0.01", price: "59000"}
              - sell: {order: o2, pair: BTC-USDT, type: LIMIT, amount: *amount, price: "61000"}
            """,
        )
    )
    assert scenario.steps[1].args["amount"] == "0.01"
