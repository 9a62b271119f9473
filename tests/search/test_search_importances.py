"""Param importances as the report shows them: the same numbers Optuna gives for a study of the
same trials, by logged param name, with a reason instead of an exception where it cannot."""

from __future__ import annotations

import optuna
import pytest

from sweeptrack.core.model import Goal
from sweeptrack.core.space import Categorical, FloatRange, Space
from sweeptrack.search import Scored, param_importances
from sweeptrack.search._analysis import _study

TRIALS = [
    Scored(
        number=i,
        params={"lr": 10 ** -(1 + i % 4), "opt": ["adam", "sgd"][i % 2], "x": i / 7},
        values=[float((i * 7) % 11) + i / 40],
    )
    for i in range(40)
]


def _space() -> Space:
    return {
        "lr": FloatRange(low=1e-5, high=1.0, log=True),
        "opt": Categorical(values=("adam", "sgd")),
        "x": FloatRange(low=0.0, high=10.0),
    }


@pytest.mark.parametrize("space", [None, "spec"])
def test_importances_equal_optunas_on_a_study_of_the_same_trials(space: str | None) -> None:
    chosen = _space() if space else None
    found = param_importances(TRIALS, goal=Goal.MINIMIZE, space=chosen)
    study, names = _study(TRIALS, [Goal.MINIMIZE], chosen)
    for got, evaluator in (
        (found.fanova, optuna.importance.FanovaImportanceEvaluator(n_trees=16, max_depth=8, seed=0)),
        (found.ped_anova, optuna.importance.PedAnovaImportanceEvaluator()),
    ):
        expected = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
        assert got == pytest.approx({names[k]: v for k, v in expected.items()})
        assert set(got) == {"lr", "opt", "x"}
    assert found.errors == {}


def test_an_evaluator_that_cannot_run_gives_a_reason() -> None:
    same = [Scored(number=i, params={"x": i / 7}, values=[1.0]) for i in range(10)]
    found = param_importances(same[:1], goal=Goal.MAXIMIZE)
    assert found.fanova == found.ped_anova == {}
    assert set(found.errors) <= {"fanova", "ped_anova"}
