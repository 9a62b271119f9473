"""What a sweep asks: seeded repeatability, grids, weighted categoricals, value transforms."""

from __future__ import annotations

import math
import statistics
import sys
from collections import Counter
from collections.abc import Callable

import pytest

from sweeptrack.core.errors import SpecError, SweepTrackError
from sweeptrack.core.space import Beta, Categorical, Constant, FloatRange, IntRange, Normal
from sweeptrack.search import MissingDependencyError, Outcome, Search, SearchExhausted
from sweeptrack.spec.model import Method, SweepSpec

MakeSpec = Callable[..., SweepSpec]  # the make_spec fixture (conftest.py)

MIXED = {
    "lr": FloatRange(low=1e-5, high=1e-1, log=True),
    "batch_size": FloatRange(low=16, high=512, log=True, q=16),
    "layers": IntRange(low=2, high=8),
    "act": Categorical(values=("relu", "gelu", "silu"), probabilities=(0.5, 0.3, 0.2)),
    "shape": Categorical(values=([64, 64], [128], {"wide": True})),
    "noise": Normal(mu=0.0, sigma=1.0, q=0.1),
    "mix": Beta(a=2.0, b=5.0),
    "optimizer.momentum": Constant(value=0.9),
}
DISCRETE = {
    "depth": Categorical(values=(18, 34, 50)),
    "aug": Categorical(values=("none", "light")),
    "width": IntRange(low=1, high=10, step=4),
    "seed": Constant(value=7),
}


def _objective(params: dict[str, object]) -> float:
    return float(len(repr(sorted(params.items()))) % 17)


def _run(search: Search, n: int) -> list[dict[str, object]]:
    asked = []
    for _ in range(n):
        trial = search.ask()
        asked.append(trial.params)
        search.tell(trial.number, Outcome.COMPLETE, [_objective(trial.params)])
    return asked


@pytest.mark.parametrize(
    "method", [Method.RANDOM, Method.TPE, Method.BAYES, Method.GRID, Method.CMAES, Method.QMC, Method.NSGA2]
)
def test_same_seed_asks_the_same_configs(make_spec: MakeSpec, method: Method) -> None:
    if method is Method.CMAES:
        pytest.importorskip("cmaes")
    space = DISCRETE if method is Method.GRID else MIXED
    first = _run(Search(make_spec(method, space, seed=123)), 14)
    second = _run(Search(make_spec(method, space, seed=123)), 14)
    assert first == second
    assert len({repr(p) for p in first}) > 1


def test_other_seed_asks_other_configs(make_spec: MakeSpec) -> None:
    one = _run(Search(make_spec(Method.RANDOM, MIXED, seed=1)), 5)
    two = _run(Search(make_spec(Method.RANDOM, MIXED, seed=2)), 5)
    assert one != two


def test_asked_params_are_the_logged_values_in_spec_order(make_spec: MakeSpec) -> None:
    params = Search(make_spec(Method.TPE, MIXED)).ask().params
    assert list(params) == list(MIXED)
    assert params["optimizer.momentum"] == 0.9
    assert params["shape"] in ([64, 64], [128], {"wide": True})
    assert isinstance(params["layers"], int) and 2 <= params["layers"] <= 8


def test_grid_asks_every_config_once_then_is_exhausted(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.GRID, DISCRETE))
    assert search.grid_size == 3 * 2 * 3  # width: 1, 5, 9
    configs = _run(search, 18)
    assert len({repr(sorted(c.items())) for c in configs}) == 18
    assert {c["width"] for c in configs} == {1, 5, 9}
    assert all(c["seed"] == 7 for c in configs)
    with pytest.raises(SearchExhausted, match="18 configs"):
        search.ask()


def test_grid_order_is_the_product_in_spec_order(make_spec: MakeSpec) -> None:
    space = {"a": Categorical(values=(1, 2)), "b": IntRange(low=0, high=6, step=3)}
    configs = _run(Search(make_spec(Method.GRID, space, seed=None)), 6)
    assert [(c["a"], c["b"]) for c in configs] == [(1, 0), (1, 3), (1, 6), (2, 0), (2, 3), (2, 6)]


def test_grid_size_counts_integer_steps(make_spec: MakeSpec) -> None:
    space = {"n": IntRange(low=0, high=10, step=3), "k": Constant(value="x")}
    assert Search(make_spec(Method.GRID, space)).grid_size == 4  # 0, 3, 6, 9
    assert Search(make_spec(Method.RANDOM, space)).grid_size is None


def test_grid_over_a_continuous_range_is_refused(make_spec: MakeSpec) -> None:
    space = {"lr": FloatRange(low=0.0, high=1.0), "n": IntRange(low=1, high=3)}
    with pytest.raises(SpecError, match=r"sweep.yaml parameters.lr: method grid needs values"):
        Search(make_spec(Method.GRID, space))


def test_random_follows_categorical_probabilities(make_spec: MakeSpec) -> None:
    space = {"act": Categorical(values=("relu", "gelu", "silu"), probabilities=(0.6, 0.3, 0.1))}
    search = Search(make_spec(Method.RANDOM, space, seed=7))
    counts = Counter(p["act"] for p in _run(search, 2000))
    assert abs(counts["relu"] / 2000 - 0.6) < 0.04
    assert abs(counts["gelu"] / 2000 - 0.3) < 0.04
    assert abs(counts["silu"] / 2000 - 0.1) < 0.03


def test_cmaes_fallback_follows_categorical_probabilities(make_spec: MakeSpec) -> None:
    pytest.importorskip("cmaes")
    space = {
        "x": FloatRange(low=0.0, high=1.0),
        "act": Categorical(values=("relu", "gelu"), probabilities=(0.9, 0.1)),
    }
    counts = Counter(p["act"] for p in _run(Search(make_spec(Method.CMAES, space)), 200))
    assert counts["relu"] > 150


def test_q_rounding_gives_clean_multiples(make_spec: MakeSpec) -> None:
    space = {
        "dropout": FloatRange(low=0.0, high=0.5, q=0.05),
        "batch_size": FloatRange(low=16, high=512, log=True, q=16),
    }
    for params in _run(Search(make_spec(Method.RANDOM, space)), 200):
        dropout, batch_size = params["dropout"], params["batch_size"]
        assert isinstance(dropout, float) and 0.0 <= dropout <= 0.5
        assert len(repr(dropout)) <= 4  # 0.35, not 0.35000000000000003
        assert isinstance(batch_size, int) and batch_size % 16 == 0 and 16 <= batch_size <= 512


def test_log_ranges_stay_within_bounds_and_spread_over_decades(make_spec: MakeSpec) -> None:
    space = {"lr": FloatRange(low=1e-5, high=1e-1, log=True), "units": IntRange(low=1, high=1024, log=True)}
    asked = _run(Search(make_spec(Method.RANDOM, space)), 400)
    lrs = [p["lr"] for p in asked]
    assert all(1e-5 <= lr <= 1e-1 for lr in lrs)
    assert sum(lr < 1e-3 for lr in lrs) > 120  # log-uniform: half the draws below the middle decade
    assert all(1 <= p["units"] <= 1024 for p in asked)


def test_normal_and_beta_follow_their_distributions(make_spec: MakeSpec) -> None:
    space = {
        "n": Normal(mu=3.0, sigma=2.0),
        "ln": Normal(mu=0.0, sigma=0.5, log=True),
        "b": Beta(a=2.0, b=6.0),
    }
    asked = _run(Search(make_spec(Method.RANDOM, space, seed=3)), 2000)
    normal = [p["n"] for p in asked]
    assert abs(statistics.fmean(normal) - 3.0) < 0.15
    assert abs(statistics.stdev(normal) - 2.0) < 0.15
    logs = [math.log(p["ln"]) for p in asked]
    assert abs(statistics.fmean(logs)) < 0.05 and abs(statistics.stdev(logs) - 0.5) < 0.05
    betas = [p["b"] for p in asked]
    assert all(0.0 <= b <= 1.0 for b in betas)
    assert abs(statistics.fmean(betas) - 0.25) < 0.02


def test_enqueued_params_come_back_exactly(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.TPE, MIXED))
    first = search.ask()
    search.tell(first.number, Outcome.FAILED, None)
    search.enqueue(first.params)
    retry = search.ask()
    assert retry.params == first.params
    assert retry.number == first.number + 1


def test_enqueue_takes_a_grid_config_out_of_the_walk(make_spec: MakeSpec) -> None:
    space = {"a": Categorical(values=(1, 2, 3))}
    search = Search(make_spec(Method.GRID, space))
    search.enqueue({"a": 3})
    assert [search.ask().params["a"] for _ in range(3)] == [3, 1, 2]
    with pytest.raises(SearchExhausted):
        search.ask()


def test_enqueue_refuses_unknown_names_and_values(make_spec: MakeSpec) -> None:
    search = Search(make_spec(Method.RANDOM, MIXED))
    with pytest.raises(ValueError, match="'nope' is not a parameter"):
        search.enqueue({"nope": 1})
    with pytest.raises(ValueError, match="act: 'tanh' is not one of"):
        search.enqueue({"act": "tanh"})


def test_gp_without_torch_says_what_to_install(make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # what an environment without torch looks like
    with pytest.raises(MissingDependencyError, match=r"^method gp needs PyTorch: pip install torch"):
        Search(make_spec(Method.GP, MIXED))
    assert issubclass(MissingDependencyError, SweepTrackError)


def test_gp_asks_repeatable_configs_when_torch_is_installed(make_spec: MakeSpec) -> None:
    pytest.importorskip("torch")
    space = {"x": FloatRange(low=-2.0, high=2.0), "act": Categorical(values=("a", "b"))}
    first = _run(Search(make_spec(Method.GP, space, seed=5)), 12)
    second = _run(Search(make_spec(Method.GP, space, seed=5)), 12)
    assert first == second
