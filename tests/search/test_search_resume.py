"""A search rebuilt from past trials (resume) asks each trial number what an uninterrupted one asks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sweeptrack.core.model import Goal
from sweeptrack.core.space import Categorical, FloatRange, IntRange
from sweeptrack.search import Outcome, PastTrial, Search
from sweeptrack.spec.model import Method, SweepSpec

MakeSpec = Callable[..., SweepSpec]

SPACE = {
    "lr": FloatRange(low=1e-5, high=1e-1, log=True),
    "layers": IntRange(low=2, high=8),
    "act": Categorical(values=("relu", "gelu", "silu"), probabilities=(0.5, 0.3, 0.2)),
}


def _value(params: dict[str, Any]) -> float:
    return float(params["lr"] * 100 + params["layers"])


def _uninterrupted(search: Search, count: int) -> list[dict[str, Any]]:
    configs = []
    for number in range(count):
        asked = search.ask(number)
        configs.append(asked.params)
        search.tell(asked.number, Outcome.COMPLETE, [_value(asked.params)])
    return configs


def _resumed(spec: SweepSpec, before: list[dict[str, Any]], count: int, **kw: Any) -> list[dict[str, Any]]:
    """A fresh search restored from ``before`` (the configs of trials 0..k-1), asked for the rest."""
    search = Search(spec, **kw)
    past = [  # params by name, as the database returns them
        PastTrial(params=dict(sorted(p.items())), outcome=Outcome.COMPLETE, values=[_value(p)], number=n)
        for n, p in enumerate(before)
    ]
    search.restore(past)
    configs = list(before)
    for number in range(len(before), count):
        asked = search.ask(number)
        configs.append(asked.params)
        search.tell(asked.number, Outcome.COMPLETE, [_value(asked.params)])
    return configs


METHODS = [Method.RANDOM, Method.QMC, Method.TPE, Method.CMAES, Method.NSGA2, Method.GP]


@pytest.mark.parametrize("method", METHODS)
def test_a_resumed_search_asks_what_an_uninterrupted_one_asks(make_spec: MakeSpec, method: Method) -> None:
    """Within the start-up trials of the model-based samplers (tpe: 10, gp: 10, nsga2: 50; cmaes:
    its one start-up trial and its first generation of 6, whose seeds come from trial numbers)."""
    count = 7 if method is Method.CMAES else 8
    whole = _uninterrupted(Search(make_spec(method, SPACE, seed=11)), count)
    assert len({repr(c) for c in whole}) == count  # nothing repeats
    for stop in (1, 3, 6):
        assert _resumed(make_spec(method, SPACE, seed=11), whole[:stop], count) == whole


def test_without_a_seed_the_sweeps_own_seed_continues_the_sequence(make_spec: MakeSpec) -> None:
    spec = make_spec(Method.RANDOM, SPACE, seed=None)
    whole = _uninterrupted(Search(spec, seed=123456789012345), 6)
    again = Search(spec)
    again.use_seed(123456789012345)
    assert [again.ask(n).params for n in range(6)] == whole
    assert _resumed(spec, whole[:2], 6, seed=123456789012345) == whole
    assert _uninterrupted(Search(spec, seed=5), 6) != whole


def test_a_number_asked_again_gets_its_config_whatever_came_before(make_spec: MakeSpec) -> None:
    """A staged trial withdrawn and asked later (or on resume) keeps the config of its number."""
    spec = make_spec(Method.RANDOM, SPACE, seed=3)
    whole = _uninterrupted(Search(spec), 5)
    search = Search(spec)
    out_of_order = {n: search.ask(n).params for n in (0, 2, 4, 1, 3)}
    assert [out_of_order[n] for n in range(5)] == whole


def test_a_grid_gives_number_n_its_nth_point(make_spec: MakeSpec) -> None:
    spec = make_spec(Method.GRID, {"a": Categorical(values=(1, 2, 3)), "b": Categorical(values=("x", "y"))})
    whole = [Search(spec).ask(n).params for n in range(6)]
    assert whole == [{"a": a, "b": b} for a in (1, 2, 3) for b in ("x", "y")]
    search = Search(spec)
    done = (0, 1, 3)
    search.restore([PastTrial(params=whole[n], outcome=Outcome.COMPLETE, values=[1], number=n) for n in done])
    assert [search.ask(n).params for n in (2, 4, 5)] == [whole[2], whole[4], whole[5]]


def test_tpe_after_resume_is_fitted_on_the_told_trials(make_spec: MakeSpec) -> None:
    """Past the start-up trials, the resumed TPE model sees every trial told before the stop: with
    one worker, it asks exactly what the uninterrupted sweep asks."""
    spec = make_spec(Method.TPE, SPACE, seed=5, goals=(Goal.MINIMIZE,))
    whole = _uninterrupted(Search(spec), 14)
    assert _resumed(spec, whole[:12], 14) == whole
