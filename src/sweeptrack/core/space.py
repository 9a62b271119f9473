"""The one search-space representation: a flat, ordered mapping of dotted names to distributions.

The spec loader turns every W&B and sweeptrack parameter form into these; the Optuna bridge
(:mod:`sweeptrack.search`) turns them into Optuna distributions. Nested ``parameters:`` blocks are
flattened to dotted names (``optimizer.lr``) and handed back nested by :func:`unflatten`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Beta",
    "Categorical",
    "Constant",
    "Distribution",
    "FloatRange",
    "IntRange",
    "Normal",
    "Space",
    "is_discrete",
    "unflatten",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Constant:
    """Always ``value`` (W&B ``value:`` / ``distribution: constant``)."""

    value: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Categorical:
    """One of ``values``; ``probabilities`` (summing to 1) weight random sampling."""

    values: tuple[Any, ...]
    probabilities: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IntRange:
    """An integer in [low, high], log-uniform when ``log``, on multiples of ``step`` from low."""

    low: int
    high: int
    log: bool = False
    step: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class FloatRange:
    """A float in [low, high] (values, not exponents), log-uniform when ``log``; with ``q`` the
    sample is rounded to a multiple of ``q`` (W&B's q_ distributions)."""

    low: float
    high: float
    log: bool = False
    q: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Normal:
    """Normal(mu, sigma); with ``log`` the log of the value is normal; ``q`` rounds the sample."""

    mu: float = 0.0
    sigma: float = 1.0
    log: bool = False
    q: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Beta:
    """Beta(a, b) on [0, 1]; ``q`` rounds the sample."""

    a: float = 1.0
    b: float = 1.0
    q: float | None = None


Distribution = Constant | Categorical | IntRange | FloatRange | Normal | Beta

Space = Mapping[str, Distribution]


def is_discrete(distribution: Distribution) -> bool:
    """Whether a grid can enumerate it (constants, categoricals and integer ranges)."""
    return isinstance(distribution, Constant | Categorical | IntRange)


def unflatten(params: Mapping[str, Any]) -> dict[str, Any]:
    """``{"opt.lr": 1, "opt.name": "sgd", "bs": 2}`` -> ``{"opt": {"lr": 1, "name": "sgd"}, "bs": 2}``."""
    nested: dict[str, Any] = {}
    for name, value in params.items():
        parts = name.split(".")
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = node[part] = {"": child}
            node = child
        node[parts[-1]] = value
    return nested
