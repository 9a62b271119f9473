"""Prune decisions from streamed intermediate values: Optuna's pruners and W&B's hyperband."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.core.model import Goal
from sweeptrack.core.space import FloatRange
from sweeptrack.search import Outcome, Search
from sweeptrack.spec.model import Method, PrunerSpec, PrunerType, SweepSpec

MakeSpec = Callable[..., SweepSpec]  # the make_spec fixture (conftest.py)

SPACE = {"x": FloatRange(low=0.0, high=1.0)}


def _search(make_spec: MakeSpec, pruner: PrunerType, goal: Goal = Goal.MINIMIZE, **options: Any) -> Search:
    return Search(make_spec(Method.RANDOM, SPACE, pruner=pruner, pruner_options=options, goals=(goal,)))


def _finish(search: Search, values: Sequence[float], steps: Sequence[int] | None = None) -> None:
    """One trial that logs ``values`` (at ``steps``, default 0, 1, ...) and completes."""
    number = search.ask().number
    for step, value in zip(steps or range(len(values)), values, strict=True):
        assert not search.report(number, step, value)
    search.tell(number, Outcome.COMPLETE, [values[-1]])


def _decisions(search: Search, values: Sequence[float], steps: Sequence[int] | None = None) -> list[bool]:
    number = search.ask().number
    return [search.report(number, s, v) for s, v in zip(steps or range(len(values)), values, strict=True)]


def test_median_prunes_a_clearly_worse_trial_at_the_end_of_warmup(make_spec: MakeSpec) -> None:
    search = _search(make_spec, PrunerType.MEDIAN, n_startup_trials=2, n_warmup_steps=2)
    _finish(search, [1.0, 0.8, 0.6, 0.5])
    _finish(search, [1.1, 0.9, 0.7, 0.6])
    assert _decisions(search, [5.0, 5.0, 5.0]) == [False, False, True]
    assert _decisions(search, [0.9, 0.7, 0.5, 0.4]) == [False, False, False, False]


def test_median_waits_for_its_startup_trials(make_spec: MakeSpec) -> None:
    search = _search(make_spec, PrunerType.MEDIAN, n_startup_trials=2)
    _finish(search, [1.0, 0.5])
    assert _decisions(search, [9.0, 9.0]) == [False, False]


def test_successive_halving_stops_the_worse_trial_at_its_first_rung(make_spec: MakeSpec) -> None:
    search = _search(make_spec, PrunerType.SUCCESSIVE_HALVING, min_resource=1, reduction_factor=2)
    for value in (1.0, 0.9, 0.8, 0.7):
        _finish(search, [value] * 5, steps=range(1, 6))
    assert _decisions(search, [5.0], steps=[1]) == [True]
    assert _decisions(search, [0.1] * 5, steps=range(1, 6)) == [False] * 5


def test_threshold_prunes_a_value_above_upper_at_once(make_spec: MakeSpec) -> None:
    search = _search(make_spec, PrunerType.THRESHOLD, upper=1.0)
    assert _decisions(search, [0.5, 0.7, 2.0]) == [False, False, True]


def test_a_pruned_trial_stays_pruned_and_duplicate_steps_are_ignored(make_spec: MakeSpec) -> None:
    search = _search(make_spec, PrunerType.THRESHOLD, upper=1.0)
    number = search.ask().number
    assert search.report(number, 0, 0.5) is False
    assert search.report(number, 0, 9.0) is False  # step 0 again: ignored, no Optuna warning
    assert search.report(number, 1, 2.0) is True
    assert search.report(number, 2, 0.1) is True


def test_nan_is_reported_and_late_reports_are_ignored(make_spec: MakeSpec) -> None:
    search = _search(make_spec, PrunerType.MEDIAN, n_startup_trials=1)
    _finish(search, [1.0, 0.5])
    number = search.ask().number
    search.report(number, 0, math.nan)  # Optuna takes NaN; the median pruner decides on it
    search.tell(number, Outcome.FAILED, None)
    assert search.report(number, 1, 0.1) is False  # after tell: nothing to decide


def test_no_pruner_never_prunes(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.TPE, SPACE))
    _finish(search, [0.1, 0.1])
    assert _decisions(search, [100.0, 100.0, 100.0]) == [False, False, False]


def test_patient_wraps_another_pruner(make_spec: MakeSpec) -> None:
    wrapped = PrunerSpec(type=PrunerType.THRESHOLD, options={"upper": 1.0})
    search = _search(make_spec, PrunerType.PATIENT, wrapped=wrapped, patience=1)
    assert _decisions(search, [2.0, 2.1, 2.2]) == [False, False, True]  # no gain in 1 step


def test_wilcoxon_and_hyperband_build_without_warnings(make_spec: MakeSpec) -> None:
    for pruner, options in [
        (PrunerType.WILCOXON, {"p_threshold": 0.1}),
        (PrunerType.HYPERBAND, {"min_resource": 1, "max_resource": 9, "reduction_factor": 3}),
    ]:
        search = _search(make_spec, pruner, **options)
        _finish(search, [1.0, 0.9, 0.8])


def test_unknown_pruner_option_is_a_spec_error(make_spec: MakeSpec) -> None:
    with pytest.raises(SpecError, match=r"sweep.yaml early_terminate: median: .*n_warmup"):
        _search(make_spec, PrunerType.MEDIAN, n_warmup=3)


def _wandb(make_spec: MakeSpec, goal: Goal = Goal.MINIMIZE, **options: Any) -> Search:
    return _search(make_spec, PrunerType.WANDB_HYPERBAND, goal, **options)


def test_wandb_hyperband_prunes_a_bad_trial_at_its_second_logged_value(make_spec: MakeSpec) -> None:
    search = _wandb(make_spec, min_iter=2, eta=3)  # brackets 2, 6, 18, ...
    for first, second in [(1.0, 0.6), (1.0, 0.5), (1.0, 0.4)]:
        _finish(search, [first, second, second], steps=[10, 20, 30])
    # Steps 10 and 20 are the 1st and 2nd logged values: brackets count reports, not steps.
    assert _decisions(search, [3.0, 3.0], steps=[10, 20]) == [False, True]
    assert _decisions(search, [1.0, 0.45, 0.3], steps=[10, 20, 30]) == [False, False, False]


def test_wandb_hyperband_maximize_and_explicit_brackets(make_spec: MakeSpec) -> None:
    search = _wandb(make_spec, Goal.MAXIMIZE, brackets=[3], eta=2)
    for value in (0.8, 0.9):
        _finish(search, [value] * 3)
    assert _decisions(search, [0.1, 0.1, 0.1]) == [False, False, True]
    assert _decisions(search, [0.85, 0.85, 0.85, 0.1]) == [False, False, False, False]


def test_wandb_hyperband_needs_eta_peers_before_pruning(make_spec: MakeSpec) -> None:
    search = _wandb(make_spec, min_iter=1, eta=3)
    _finish(search, [0.1])
    _finish(search, [0.1])
    assert _decisions(search, [9.0]) == [False]  # 2 peers < eta
    assert _decisions(search, [9.0]) == [True]  # 3 peers


def test_wandb_hyperband_strict_compares_the_bracket_value(make_spec: MakeSpec) -> None:
    values = [0.1, 5.0]  # good first value, bad at the bracket
    loose, strict = _wandb(make_spec, brackets=[2]), _wandb(make_spec, brackets=[2], strict=True)
    for search in (loose, strict):
        for _ in range(3):
            _finish(search, [1.0, 1.0])
    assert _decisions(loose, values) == [False, False]  # its best so far (0.1) beats the cut
    assert _decisions(strict, values) == [False, True]


def test_wandb_hyperband_does_not_count_nan(make_spec: MakeSpec) -> None:
    search = _wandb(make_spec, brackets=[2])
    for _ in range(3):
        _finish(search, [1.0, 1.0])
    assert _decisions(search, [9.0, math.nan, 9.0]) == [False, False, True]


def test_wandb_hyperband_without_brackets_is_a_spec_error(make_spec: MakeSpec) -> None:
    with pytest.raises(SpecError, match="hyperband needs brackets, min_iter, or max_iter and s"):
        _wandb(make_spec, eta=3)
