"""The Optuna sampler for a sweep's method."""

from __future__ import annotations

import hashlib
import importlib.util
import random
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.exceptions import ExperimentalWarning
from optuna.samplers import BaseSampler
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.study import Study

from sweeptrack.core.errors import SpecError
from sweeptrack.search._errors import MissingDependencyError
from sweeptrack.search._weighted import WeightedCategoricalSampler
from sweeptrack.spec.model import Method

__all__ = ["NumberedQMCSampler", "check_dependencies", "make_sampler", "reseed"]

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
            return NumberedQMCSampler(
                seed=seed,
                scramble=True,
                independent_sampler=_independent(weights, seed),
                warn_independent_sampling=False,
                warn_asynchronous_seeding=False,
            )
        return optuna.samplers.GPSampler(
            seed=seed, independent_sampler=_independent(weights, seed), warn_independent_sampling=False
        )


class NumberedQMCSampler(optuna.samplers.QMCSampler):
    """Optuna's QMC sampler whose point index is the sweep's trial number, not a counter.

    Optuna counts the points it has handed out in the study, so retries, withdrawn trials and a
    study rebuilt on resume would shift the sequence. Here trial ``n`` always gets point ``n``:
    :func:`reseed` sets :attr:`index` before each ask.
    """

    index: int = 0

    def _find_sample_id(self, study: Study, search_space: dict[str, BaseDistribution]) -> int:
        return self.index


def reseed(sampler: BaseSampler, seed: int, number: int) -> None:
    """Seed every random state of ``sampler`` (and of the samplers it holds) from ``(seed, number)``.

    Called before the ask for sweep trial ``number``, so that trial's draws depend on the sweep's
    seed and its number only, not on how many trials this process asked before: a resumed sweep
    samples what the same sweep run without interruption samples (random, qmc, and the start-up
    trials of tpe, cmaes, gp and nsga2). The states are found by walking the samplers' attributes
    (Optuna keeps them in ``LazyRandomState`` objects, shared by reference where a strategy uses
    its sampler's), each getting its own stream in a fixed order.
    """
    states: list[Any] = []
    _collect(sampler, states, set())
    # A hash, not numpy's SeedSequence: four times cheaper, and this runs before every ask.
    digest = hashlib.shake_128(f"{seed}:{number}".encode()).digest(4 * len(states))
    for index, state in enumerate(states):
        word = int.from_bytes(digest[4 * index : 4 * index + 4], "little")
        if isinstance(state, LazyRandomState):
            state.rng.seed(word)
        else:
            state.seed(word)
    if isinstance(sampler, NumberedQMCSampler):
        sampler.index = number
        sampler._seed = seed % 2**32  # the scramble: the sweep's, whatever the sampler was built with


def _collect(obj: object, states: list[Any], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    for value in vars(obj).values():
        if isinstance(value, LazyRandomState | random.Random | np.random.RandomState):
            if id(value) not in seen:
                seen.add(id(value))
                states.append(value)
        elif isinstance(value, BaseSampler):
            _collect(value, states, seen)
