"""Sweep analysis by Optuna's evaluators: param importances, the Pareto front and hypervolume.

Reports (a layer above) hand in plain data, trials as :class:`Scored` (logged params and objective
values), and get plain dicts back; the Optuna study built here lives only for the call.

Example:
    >>> trials = [Scored(number=i, params={"x": i / 10, "k": i % 3}, values=(i % 5,)) for i in range(20)]
    >>> found = param_importances(trials, goal=Goal.MINIMIZE)
    >>> sorted(found.ped_anova) == ["k", "x"]                       # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
import warnings
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.exceptions import ExperimentalWarning
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from sweeptrack.core.model import Goal
from sweeptrack.core.space import Space
from sweeptrack.search._search import _quiet_study_creation
from sweeptrack.search._space import SpaceCodec

if TYPE_CHECKING:  # optuna.importance imports scikit-learn (seconds): only where importances are computed
    from optuna.importance import BaseImportanceEvaluator

__all__ = ["Importances", "ParetoFront", "Scored", "param_importances", "pareto_front", "warm_up"]

# fANOVA fits a random forest and walks every tree; its cost grows much faster than linearly in
# trials (about 75 s for 1,000 trials at Optuna's default 64 trees of depth 64 on a small CPU). A
# seeded sample of at most FANOVA_MAX_TRIALS trials and a smaller forest keep a report within seconds.
FANOVA_MAX_TRIALS = 200
EVALUATORS = ("fanova", "ped_anova")
FANOVA_TREES = 16
FANOVA_DEPTH = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Scored:
    """One finished trial: its number, its logged params and one value per objective."""

    number: int
    params: Mapping[str, Any]
    values: Sequence[float]


@dataclass(frozen=True, slots=True, kw_only=True)
class Importances:
    """Normalized importances by logged param name; ``errors`` says why an evaluator gave none;
    ``fanova_trials`` is how many trials fANOVA saw (a sample when there were more)."""

    fanova: dict[str, float] = field(default_factory=dict)
    ped_anova: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    fanova_trials: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ParetoFront:
    """The trial numbers on the front and the hypervolume after each trial (by trial number)."""

    front: list[int]
    hypervolume: list[tuple[int, float]]
    reference_point: list[float]


def _direction(goal: Goal) -> StudyDirection:
    return StudyDirection.MAXIMIZE if goal is Goal.MAXIMIZE else StudyDirection.MINIMIZE


def _inferred(trials: Sequence[Scored]) -> tuple[dict[str, BaseDistribution], Callable[[str, Any], Any]]:
    """Distributions read off the logged values (for runs without a spec): numbers as ranges,
    anything else as a categorical of its JSON text. Params with a single value are left out."""
    seen: dict[str, list[Any]] = {}
    for trial in trials:
        for name, value in trial.params.items():
            seen.setdefault(name, []).append(value)
    distributions: dict[str, BaseDistribution] = {}
    numeric: set[str] = set()
    for name, values in seen.items():
        if all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            low, high = min(values), max(values)
            if low < high:
                ints = all(isinstance(v, int) for v in values)
                distributions[name] = IntDistribution(low, high) if ints else FloatDistribution(low, high)
                numeric.add(name)
            continue
        choices = sorted({json.dumps(v, sort_keys=True, default=str) for v in values})
        if len(choices) > 1:
            distributions[name] = CategoricalDistribution(choices)

    def encode(name: str, value: Any) -> Any:
        return value if name in numeric else json.dumps(value, sort_keys=True, default=str)

    return distributions, encode


def _frozen(trials: Sequence[Scored], space: Space | None) -> tuple[list[FrozenTrial], dict[str, str]]:
    """The trials as Optuna's complete trials; and the Optuna name -> logged name map."""
    if space is not None:
        codec = SpaceCodec(space)
        distributions = dict(codec.distributions)
        names = {param.key: name for name, param in codec.params.items()}
    else:
        distributions, encode = _inferred(trials)
        names = {name: name for name in distributions}
    frozen: list[FrozenTrial] = []
    now = datetime.now()
    for trial in trials:
        try:
            if space is not None:
                internal = codec.encode({k: v for k, v in trial.params.items() if k in codec.params})
            else:
                internal = {k: encode(k, v) for k, v in trial.params.items() if k in distributions}
        except ValueError:  # a value outside the spec (logged by hand): the trial is left out
            continue
        frozen.append(
            FrozenTrial(  # numbered as a study numbers them: evaluators tell trials apart by id
                number=len(frozen),
                trial_id=len(frozen),
                state=TrialState.COMPLETE,
                value=None,
                values=list(trial.values),
                datetime_start=now,
                datetime_complete=now,
                params=internal,
                distributions={key: distributions[key] for key in internal},
                user_attrs={},
                system_attrs={},
                intermediate_values={},
            )
        )
    return frozen, names


def _study(
    trials: Sequence[Scored], goals: Sequence[Goal], space: Space | None
) -> tuple[optuna.Study, dict[str, str]]:
    """An in-memory study holding the trials; and the Optuna name -> logged name map."""
    with _quiet_study_creation():
        study = optuna.create_study(directions=[_direction(goal) for goal in goals])
    frozen, names = _frozen(trials, space)
    study.add_trials(frozen)
    return study, names


class _CompleteTrials:
    """What Optuna's importance evaluators read of a study (its directions, its complete trials),
    without a study: ``Study.add_trials`` deep-copies every trial, a quarter of a second for a
    thousand. :func:`_evaluate` falls back to a real study should an Optuna version read more."""

    def __init__(self, trials: list[FrozenTrial], directions: list[StudyDirection]) -> None:
        self._trials = trials
        self.directions = directions

    def _is_multi_objective(self) -> bool:
        return len(self.directions) > 1

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        chosen = [trial for trial in self._trials if states is None or trial.state in states]
        return copy.deepcopy(chosen) if deepcopy else chosen


def _evaluate(
    evaluator: BaseImportanceEvaluator, trials: Sequence[Scored], goal: Goal, space: Space | None
) -> dict[str, float]:
    """Normalized importances by logged param name."""
    frozen, names = _frozen(trials, space)
    study: Any = _CompleteTrials(frozen, [_direction(goal)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns on degenerate input; errors are reported
        try:
            values = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
        except (AttributeError, TypeError):  # an Optuna that reads more of a study than these
            study, names = _study(trials, [goal], space)
            values = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
    return {names.get(name, name): float(value) for name, value in values.items()}


def warm_up() -> None:
    """Import what :func:`param_importances` needs (Optuna's evaluators, scikit-learn for fANOVA),
    which takes seconds: a process that will compute importances can do it ahead of time."""
    import optuna.importance  # noqa: F401 - imported for its side effect: the cost is paid now

    with contextlib.suppress(ImportError):  # without scikit-learn, fANOVA reports why it gave none
        import sklearn.ensemble  # noqa: F401


def param_importances(
    trials: Sequence[Scored],
    *,
    goal: Goal,
    space: Space | None = None,
    seed: int = 0,
    evaluators: Sequence[str] = EVALUATORS,
) -> Importances:
    """fANOVA and PED-ANOVA importances of each param for the first objective.

    fANOVA sees a seeded sample of at most :data:`FANOVA_MAX_TRIALS` trials (it is slow on more);
    PED-ANOVA sees every trial.

    Args:
        trials: Finished trials with a finite first objective value.
        goal: The first objective's direction.
        space: The sweep's search space (its distributions, log scales included); None infers
            ranges and categories from the logged values.
        seed: Seeds the sample and fANOVA's random forest, so a report is reproducible.
        evaluators: Which of :data:`EVALUATORS` to run (the others are left empty).
    """
    firsts = [_first(trial) for trial in trials]
    sample = firsts
    if len(firsts) > FANOVA_MAX_TRIALS:
        sample = random.Random(seed).sample(firsts, FANOVA_MAX_TRIALS)
    fanova = optuna.importance.FanovaImportanceEvaluator(
        n_trees=FANOVA_TREES, max_depth=FANOVA_DEPTH, seed=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        ped_anova = optuna.importance.PedAnovaImportanceEvaluator()
    found: dict[str, dict[str, float]] = {}
    errors: dict[str, str] = {}
    for key, evaluator, chosen in (("fanova", fanova, sample), ("ped_anova", ped_anova, firsts)):
        if key not in evaluators:
            continue
        try:
            found[key] = _evaluate(evaluator, chosen, goal, space)
        except (ImportError, ValueError, RuntimeError, ZeroDivisionError) as exc:
            errors[key] = " ".join(str(exc).split()) or type(exc).__name__
    return Importances(
        fanova=found.get("fanova", {}),
        ped_anova=found.get("ped_anova", {}),
        errors=errors,
        fanova_trials=len(sample) if "fanova" in evaluators else 0,
    )


def _first(trial: Scored) -> Scored:
    return Scored(number=trial.number, params=trial.params, values=[trial.values[0]])


def pareto_front(
    trials: Sequence[Scored], *, goals: Sequence[Goal], reference_point: Sequence[float] | None = None
) -> ParetoFront:
    """The non-dominated trials and the hypervolume history of a multi-objective sweep.

    Args:
        trials: Finished trials with one finite value per goal, in trial order.
        goals: Two or more directions.
        reference_point: In the objectives' own units; None takes, per objective, the worst value
            seen moved 10% of the value range further (so every trial adds volume).
    """
    ordered = sorted(trials, key=lambda trial: trial.number)
    study, _ = _study([Scored(number=t.number, params={}, values=t.values) for t in ordered], goals, None)
    numbers = [trial.number for trial in ordered]
    front = sorted(numbers[t.number] for t in study.best_trials)
    reference = list(reference_point) if reference_point is not None else _reference(ordered, goals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        figure = optuna.visualization.plot_hypervolume_history(study, reference)
    ys = [float(y) for y in figure.data[0].y] if figure.data else []
    return ParetoFront(
        front=front, hypervolume=list(zip(numbers, ys, strict=True)), reference_point=reference
    )


def _reference(trials: Sequence[Scored], goals: Sequence[Goal]) -> list[float]:
    point = []
    for index, goal in enumerate(goals):
        values = [trial.values[index] for trial in trials]
        low, high = min(values), max(values)
        margin = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
        point.append(low - margin if goal is Goal.MAXIMIZE else high + margin)
    return point
