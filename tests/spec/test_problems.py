"""A file with several mistakes reports all of them at once: one line each, at most 20."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeptrack.core.errors import SpecError, SpecProblems
from sweeptrack.spec import load_spec, load_spec_text

from .test_lenient import sweeptrack

HERE = Path(__file__).parent
FIVE = [
    "several/five_mistakes.yaml:2 metric.goal: must be one of minimize, maximize; got 'minimise'; "
    "did you mean 'minimize'?",
    "several/five_mistakes.yaml:4 parameters.lr.step: unknown key; allowed keys: a, b, distribution, "
    "log, max, min, mu, parameters, probabilities, q, sigma, value, values",
    "several/five_mistakes.yaml:5 parameters.layers.values: must not be empty",
    "several/five_mistakes.yaml:7 command[1]: must be a string, got 3",
    "several/five_mistakes.yaml:8 run_cap: must be an integer >= 1, got 'ten'",
]


def test_every_mistake_is_raised_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    with pytest.raises(SpecProblems) as info:
        load_spec("several/five_mistakes.yaml")
    assert [str(problem) for problem in info.value.problems] == FIVE
    assert (info.value.line, info.value.path) == (2, "metric.goal")  # the first one's


def test_validate_prints_one_line_per_mistake_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "untouched.db"
    for command in ("validate", "run"):
        done = sweeptrack("--db", f"sqlite:///{db}", "sweep", command, "several/five_mistakes.yaml", cwd=HERE)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [f"error: {line}" for line in FIVE]
        assert not db.exists()


def test_at_most_twenty_are_listed_then_how_many_more(tmp_path: Path) -> None:
    params = "".join(f"  p{i}: {{min: 2, max: 1}}\n" for i in range(25))
    path = tmp_path / "many.yaml"
    path.write_text(f"method: random\nmetric: {{name: loss}}\nparameters:\n{params}entrypoint: a:b\n")
    done = sweeptrack("sweep", "validate", "many.yaml", cwd=tmp_path)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 21
    assert lines[0] == "error: many.yaml:4 parameters.p0.min: must be <= max, got min 2 > max 1"
    assert lines[19] == "error: many.yaml:23 parameters.p19.min: must be <= max, got min 2 > max 1"
    assert lines[20] == "error: and 5 more"


def test_one_mistake_is_a_plain_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text("method: random\nmetric: {name: l}\nparameters: {x: {value: 1}}\nrun_cap: 0\n")
    assert not isinstance(info.value, SpecProblems)
    assert str(info.value) == "<string>:4 run_cap: must be an integer >= 1, got 0"
