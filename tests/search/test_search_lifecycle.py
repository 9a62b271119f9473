"""Telling outcomes, the best trial, resuming from past trials, multi-objective sweeps."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

import sweeptrack.search
from sweeptrack.core.errors import SpecError, SweepError
from sweeptrack.core.model import Goal
from sweeptrack.core.space import Beta, Categorical, Constant, FloatRange, IntRange, Normal
from sweeptrack.search import Outcome, PastTrial, Search
from sweeptrack.spec.model import Method, PrunerType, SweepSpec

MakeSpec = Callable[..., SweepSpec]  # the make_spec fixture (conftest.py)

SPACE = {"x": FloatRange(low=0.0, high=1.0), "k": IntRange(low=1, high=5)}


def test_all_is_sorted_and_complete() -> None:
    exported = sweeptrack.search.__all__
    assert exported == sorted(exported)
    public = {n for n in vars(sweeptrack.search) if not n.startswith("_") and n != "annotations"}
    assert set(exported) == public


def test_best_is_the_best_complete_trial(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.RANDOM, SPACE, goals=(Goal.MAXIMIZE,)))
    assert search.best() is None
    for value in (0.2, 0.9, 0.5):
        search.tell(search.ask().number, Outcome.COMPLETE, [value])
    assert search.best() == (1, [0.9])


def test_nan_or_missing_objective_counts_as_failed(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.TPE, SPACE))
    search.tell(search.ask().number, Outcome.COMPLETE, [math.nan])
    search.tell(search.ask().number, Outcome.COMPLETE, None)
    assert search.best() is None  # neither counts as a result
    search.tell(search.ask().number, Outcome.COMPLETE, [3.0])
    assert search.best() == (2, [3.0])


def test_pruned_and_failed_trials_are_not_best(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.RANDOM, SPACE, pruner=PrunerType.THRESHOLD, pruner_options={"upper": 5}))
    search.tell(search.ask().number, Outcome.COMPLETE, [1.0])
    pruned = search.ask().number
    assert search.report(pruned, 0, 0.5) is False
    search.tell(pruned, Outcome.PRUNED, None)
    search.tell(search.ask().number, Outcome.FAILED, None)
    assert search.best() == (0, [1.0])


def test_tell_twice_is_ignored_and_unknown_trials_are_refused(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.RANDOM, SPACE))
    number = search.ask().number
    search.tell(number, Outcome.COMPLETE, [1.0])
    search.tell(number, Outcome.FAILED, None)
    assert search.best() == (0, [1.0])
    with pytest.raises(SweepError, match="trial 7 was never asked"):
        search.tell(7, Outcome.COMPLETE, [1.0])
    with pytest.raises(ValueError, match="2 values told for 1 metrics"):
        search.tell(search.ask().number, Outcome.COMPLETE, [1.0, 2.0])


def test_restore_then_grid_asks_only_configs_not_done(make_spec: MakeSpec) -> None:
    space = {"a": Categorical(values=("p", "q", "r")), "b": IntRange(low=0, high=1), "c": Constant(value=[1])}
    done = [
        PastTrial(params={"a": "p", "b": 0, "c": [1]}, outcome=Outcome.COMPLETE, values=[1.0], number=0),
        PastTrial(params={"a": "q", "b": 1, "c": [1]}, outcome=Outcome.FAILED, number=1),
        PastTrial(
            params={"a": "r", "b": 0, "c": [1]}, outcome=Outcome.PRUNED, intermediate={0: 2.0}, number=4
        ),
    ]
    search = Search(make_spec(Method.GRID, space))
    search.restore(done)
    asked = [search.ask() for _ in range(3)]
    assert {(t.params["a"], t.params["b"]) for t in asked} == {("p", 1), ("q", 0), ("r", 1)}
    assert [t.number for t in asked] == [5, 6, 7]  # above every restored number
    with pytest.raises(sweeptrack.search.SearchExhausted):
        search.ask()


def test_restore_then_tpe_learns_from_past_trials(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.TPE, SPACE))
    past = [
        PastTrial(params={"x": x / 20, "k": 1 + i % 5}, outcome=Outcome.COMPLETE, values=[abs(x / 20 - 0.3)])
        for i, x in enumerate(range(20))
    ]
    search.restore(past)
    assert search.best() == (6, [0.0])
    asked = [search.ask() for _ in range(10)]
    assert asked[0].number == 20
    # With 20 results TPE has left its random start-up phase and samples near x = 0.3.
    assert sum(abs(t.params["x"] - 0.3) < 0.25 for t in asked) >= 6


def test_restore_turns_logged_values_back_into_optuna_values(make_spec: MakeSpec) -> None:
    space = {
        "n": Normal(mu=0.0, sigma=1.0, q=0.5),
        "ln": Normal(mu=0.0, sigma=1.0, log=True),
        "b": Beta(a=2.0, b=2.0),
        "f": FloatRange(low=1.0, high=10.0, q=4),  # q-rounded 0 and 12 fall outside: clamped
        "pick": Categorical(values=({"lr": 1}, [2, 3])),
    }
    search = Search(make_spec(Method.RANDOM, space))
    params = {"n": 1.5, "ln": 2.0, "b": 0.5, "f": 12, "pick": [2, 3]}
    search.restore([PastTrial(params=params, outcome=Outcome.COMPLETE, values=[0.1])])
    search.enqueue(params)
    assert search.ask().params == params
    assert search.best() == (0, [0.1])


def test_restore_refuses_params_outside_the_spec(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.RANDOM, {"a": Categorical(values=(1, 2))}))
    with pytest.raises(SweepError, match=r"cannot restore trial 3: a: 9 is not one of \[1, 2\]"):
        search.restore([PastTrial(params={"a": 9}, outcome=Outcome.FAILED, number=3)])


def test_restored_intermediate_values_feed_the_pruner(make_spec: MakeSpec) -> None:
    spec = make_spec(
        Method.RANDOM, SPACE, pruner=PrunerType.WANDB_HYPERBAND, pruner_options={"brackets": [2]}
    )
    search = Search(spec)
    past = [
        PastTrial(
            params={"x": 0.5, "k": 2},
            outcome=Outcome.COMPLETE,
            values=[1.0],
            intermediate={100: 1.0, 200: 1.0},  # logged steps; W&B brackets count them
        )
        for _ in range(3)
    ]
    search.restore(past)
    number = search.ask().number
    assert [search.report(number, s, 9.0) for s in (7, 8)] == [False, True]


def test_nsga2_with_two_metrics(make_spec: MakeSpec) -> None:
    spec = make_spec(Method.NSGA2, SPACE, goals=(Goal.MINIMIZE, Goal.MAXIMIZE), seed=1)
    search = Search(spec)
    results = {}
    for _ in range(30):
        trial = search.ask()
        x = trial.params["x"]
        assert search.report(trial.number, 0, x) is False  # pruning is single-objective only
        results[trial.number] = [x, x**0.5 + trial.params["k"]]
        search.tell(trial.number, Outcome.COMPLETE, results[trial.number])
    best = search.best()
    assert best is not None
    number, values = best
    assert values == results[number]
    dominated = any(v[0] <= values[0] and v[1] >= values[1] and v != values for v in results.values())
    assert not dominated


def test_cmaes_with_two_metrics_is_a_spec_error(make_spec: MakeSpec) -> None:
    with pytest.raises(SpecError, match="method cmaes optimises one metric"):
        Search(make_spec(Method.CMAES, SPACE, goals=(Goal.MINIMIZE, Goal.MINIMIZE)))


def test_integer_log_range_with_a_step_samples_multiples_of_the_step(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.RANDOM, {"n": IntRange(low=16, high=512, log=True, step=16)}, seed=1))
    values = [search.ask().params["n"] for _ in range(200)]
    assert all(v % 16 == 0 and 16 <= v <= 512 for v in values)
    assert sum(v <= 64 for v in values) > sum(v >= 448 for v in values)  # log: small values are common


def test_integer_log_range_below_its_step_is_a_spec_error(make_spec: MakeSpec) -> None:
    with pytest.raises(SpecError, match=r"parameters.n: an integer range needs"):
        Search(make_spec(Method.RANDOM, {"n": IntRange(low=1, high=8, log=True, step=16)}))


def test_logged_values_survive_the_round_trip_through_optuna_values() -> None:
    from sweeptrack.search._space import SpaceCodec

    codec = SpaceCodec(
        {
            "n": Normal(mu=1.0, sigma=2.0, q=0.25),
            "ln": Normal(mu=0.0, sigma=1.0, log=True, q=0.01),
            "b": Beta(a=2.0, b=3.0, q=0.05),
            "f": FloatRange(low=16, high=512, log=True, q=16),
            "k": IntRange(low=0, high=10, step=5),
            "pick": Categorical(values=({"lr": 1}, [2, 3], True, 1)),
        }
    )
    params = {"n": -2.25, "ln": 3.17, "b": 0.35, "f": 96, "k": 5, "pick": True}
    assert codec.decode(codec.encode(params)) == params
    assert codec.decode(codec.encode({**params, "pick": 1}))["pick"] == 1
