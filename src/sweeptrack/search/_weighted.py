"""A sampler wrapper that draws weighted categoricals (``values`` with ``probabilities``) by weight."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = ["WeightedCategoricalSampler"]


class WeightedCategoricalSampler(BaseSampler):
    """Samples the categoricals named in ``weights`` from their probabilities (own seeded RNG) and
    leaves every other parameter to ``base``.

    The weighted parameters are taken out of ``base``'s relative search space, so ``base`` never
    samples them jointly; they are independent draws. Used around ``RandomSampler`` for method
    random, and as the independent sampler of CMA-ES, QMC and GP, which sample categoricals
    independently anyway.

    Example:
        >>> import optuna
        >>> sampler = WeightedCategoricalSampler(optuna.samplers.RandomSampler(seed=0),
        ...                                      {"act": (0.9, 0.1)}, seed=0)
    """

    def __init__(
        self, base: BaseSampler, weights: Mapping[str, Sequence[float]], *, seed: int | None
    ) -> None:
        self._base = base
        self._weights = {name: list(w) for name, w in weights.items()}
        self._rng = random.Random(seed)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self._base.infer_relative_search_space(study, trial)
        return {name: d for name, d in space.items() if name not in self._weights}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._base.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        weights = self._weights.get(param_name)
        if (
            weights is not None
            and isinstance(param_distribution, CategoricalDistribution)
            and len(weights) == len(param_distribution.choices)
        ):
            (index,) = self._rng.choices(range(len(weights)), weights=weights)
            return param_distribution.choices[index]
        return self._base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._base.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._base.reseed_rng()
