"""Sampler and pruner bridges: the only package of sweeptrack that imports Optuna.

:class:`Search` turns a :class:`~sweeptrack.spec.model.SweepSpec` into an in-memory Optuna study
and hands the controller trial numbers and plain dicts (:class:`Asked`); the controller feeds
intermediate values back with :meth:`Search.report` and outcomes with :meth:`Search.tell`.
"""

from __future__ import annotations

from sweeptrack.search._analysis import (
    Importances,
    ParetoFront,
    Scored,
    param_importances,
    pareto_front,
    warm_up,
)
from sweeptrack.search._errors import MissingDependencyError, SearchExhausted
from sweeptrack.search._search import Search
from sweeptrack.search._types import Asked, Outcome, PastTrial

__all__ = [
    "Asked",
    "Importances",
    "MissingDependencyError",
    "Outcome",
    "ParetoFront",
    "PastTrial",
    "Scored",
    "Search",
    "SearchExhausted",
    "param_importances",
    "pareto_front",
    "warm_up",
]
