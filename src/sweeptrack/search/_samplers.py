"""The Optuna sampler for a sweep's method."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Mapping

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.samplers import BaseSampler

from sweeptrack.core.errors import SpecError
from sweeptrack.search._errors import MissingDependencyError
from sweeptrack.search._weighted import WeightedCategoricalSampler
from sweeptrack.spec.model import Method

__all__ = ["check_dependencies", "make_sampler"]

# What to install when a method's optional package is missing.
_NEEDS = {
    Method.GP: ("torch", "method gp needs PyTorch: pip install torch==2.13.0"),
    Method.CMAES: ("cmaes", "method cmaes needs the cmaes package: pip install cmaes"),
}
_SINGLE_OBJECTIVE = frozenset({Method.CMAES})


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return False


def check_dependencies(method: Method, *, n_objectives: int, source: str = "<string>") -> None:
    """Fail early, at sweep construction, rather than at the first ask.

    Raises:
        MissingDependencyError: the method's optional package is not installed.
        SpecError: a single-objective method with several metrics.
    """
    need = _NEEDS.get(method)
    if need is not None and not _installed(need[0]):
        raise MissingDependencyError(need[1])
    if method in _SINGLE_OBJECTIVE and n_objectives > 1:
        raise SpecError(
            f"method {method.value} optimises one metric; use nsga2, tpe or random for several",
            source=source,
            path="metrics",
        )


def _independent(weights: Mapping[str, tuple[float, ...]], seed: int | None) -> BaseSampler:
    """The sampler for what a model-based sampler samples independently (categoricals)."""
    random = optuna.samplers.RandomSampler(seed=seed)
    return WeightedCategoricalSampler(random, weights, seed=seed) if weights else random


def make_sampler(
    method: Method, *, seed: int | None, weights: Mapping[str, tuple[float, ...]]
) -> BaseSampler:
    """The sampler for ``method``; ``weights`` are the weighted categoricals by Optuna name.

    Grid sweeps get a random sampler that never samples: every grid trial is asked with all its
    params fixed (see :mod:`sweeptrack.search._grid`). TPE (bayes, tpe) is multivariate with the
    constant liar, so parallel workers do not all get the same config. Weights are honoured by
    random and by the independent fallback of cmaes, qmc and gp; TPE and NSGA-II learn
    categoricals from results and ignore them.
    """
    if method is Method.GRID:
        return optuna.samplers.RandomSampler(seed=seed)
    if method is Method.RANDOM:
        return _independent(weights, seed)
    if method in (Method.BAYES, Method.TPE):
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
    if method is Method.NSGA2:
        return optuna.samplers.NSGAIISampler(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if method is Method.CMAES:
            return optuna.samplers.CmaEsSampler(
                seed=seed, independent_sampler=_independent(weights, seed), warn_independent_sampling=False
            )
        if method is Method.QMC:
            return optuna.samplers.QMCSampler(
                seed=seed,
                scramble=True,
                independent_sampler=_independent(weights, seed),
                warn_independent_sampling=False,
                warn_asynchronous_seeding=False,
            )
        return optuna.samplers.GPSampler(
            seed=seed, independent_sampler=_independent(weights, seed), warn_independent_sampling=False
        )
