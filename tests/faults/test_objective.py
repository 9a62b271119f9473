"""One objective value per trial everywhere, and a non-finite one never becomes the best.

Issue 12, point 9: a trial whose function returns infinity (or logs it) used to become the sweep's
best while the leaderboard ranked by the logged metric. Now ``sweep run``, ``sweep show`` and
``leaderboard`` all take a trial's objective value as the sweep defines it (a returned value wins
over the logged metric) and rank infinity, minus infinity and NaN after every finite value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ._values_helpers import BACKENDS, backend_url, cli, write


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    return backend_url(request)


TRIALS = '''
import math
import sweeptrack as st


def diverging(params):
    """x=1 returns NaN, x=2 returns the goal's infinity, x=4 logs it; the others are finite."""
    x, worst_is_best = params["x"], params["sign"] * math.inf
    st.log_metrics({"acc": worst_is_best if x == 4 else {1: 0.1, 2: 0.2, 3: 0.3, 5: 0.05}[x]}, step=0)
    return {1: math.nan, 2: worst_is_best, 3: 0.3, 4: None, 5: 0.05}[x]
'''

SPEC = """
name: objective
method: grid
metric: {{name: acc, goal: {goal}}}
entrypoint: trialfns:diverging
parameters:
  x: {{values: [1, 2, 3, 4, 5]}}
  sign: {{value: {sign}}}
"""


@pytest.mark.slow
@pytest.mark.parametrize(("goal", "sign", "finite"), [("maximize", 1, [3, 5]), ("minimize", -1, [5, 3])])
def test_a_trial_returning_infinity_ranks_last_and_the_finite_best_leads(
    url: str, tmp_path: Path, goal: str, sign: int, finite: list[int]
) -> None:
    write(tmp_path, "trialfns.py", TRIALS)
    spec = write(tmp_path, "s.yaml", SPEC.format(goal=goal, sign=sign))
    best_x = finite[0]
    best_value = {3: 0.3, 5: 0.05}[best_x]
    name_of = {x: f"objective-{x - 1}" for x in range(1, 6)}  # grid order: trial number x - 1

    code, out, err = cli("--db", url, "sweep", "run", str(spec), cwd=tmp_path)
    assert code == 0, err
    assert f"best acc {best_value:g} (trial {best_x - 1})" in out
    table = [line for line in out.splitlines() if "objective-" in line and "│" in line]
    assert [line.split("│")[3].strip() for line in table][:2] == [name_of[x] for x in finite]

    code, out, err = cli("--db", url, "sweep", "show", "objective", "--format", "json", cwd=tmp_path)
    shown = json.loads(out)
    assert code == 0 and shown["best value"] == best_value
    assert shown["best trial"].startswith(f"{name_of[best_x]} (")

    code, out, err = cli(
        "--db",
        url,
        "leaderboard",
        "--sweep",
        "objective",
        "--metric",
        "acc",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert code == 0, err
    board = json.loads(out)
    assert [row["name"] for row in board[:2]] == [name_of[x] for x in finite]
    assert [row["acc"] for row in board[:2]] == [{3: 0.3, 5: 0.05}[x] for x in finite]
    assert sorted(row["name"] for row in board[2:]) == [name_of[2], name_of[4]]  # the infinities last
    assert [row["acc"] for row in board[2:]] == ["inf" if sign > 0 else "-inf"] * 2

    # Ranked by the logged metric alone (no sweep): the logged infinity is last too.
    code, out, err = cli(
        "--db", url, "leaderboard", "-m", "acc", "--goal", goal, "--format", "json", cwd=tmp_path
    )
    logged = [(row["name"], row["acc"]) for row in json.loads(out)]
    by_logged = sorted(
        [(x, v) for x, v in {1: 0.1, 2: 0.2, 3: 0.3, 5: 0.05}.items()], key=lambda i: -sign * i[1]
    )
    assert code == 0 and logged == [
        *((name_of[x], v) for x, v in by_logged),
        (name_of[4], "inf" if sign > 0 else "-inf"),
    ]
