"""How trials compare by their objective value: the one ordering every ranking uses.

A trial's objective value is :meth:`sweeptrack.spec.model.SweepSpec.objective_values` (the value its
function returned, else the metric's last or best value). Only a finite value can be the best:
infinity, minus infinity and NaN say that training diverged or the metric was broken, so such a
trial ranks after every finite one and never becomes a sweep's best, whatever the goal.

Example:
    >>> from sweeptrack.core.model import Goal
    >>> sorted([0.3, float("inf"), 0.1], key=lambda v: rank_key(v, Goal.MAXIMIZE))
    [0.3, 0.1, inf]
"""

from __future__ import annotations

import math

from sweeptrack.core.model import Goal

__all__ = ["FINITE_MAX", "better", "rank_key", "rankable"]

FINITE_MAX = 1.7976931348623157e308  # the largest finite float: |value| <= this is finite


def rankable(value: float | None) -> bool:
    """Whether ``value`` can rank among the best: a finite number."""
    return value is not None and math.isfinite(value)


def rank_key(value: float | None, goal: Goal) -> tuple[int, float]:
    """A sort key: finite values best first by ``goal``, then non-finite and missing ones."""
    if value is None or not math.isfinite(value):
        return (1, 0.0)
    return (0, -value if goal is Goal.MAXIMIZE else value)


def better(value: float | None, than: float | None, goal: Goal) -> bool:
    """Whether ``value`` beats ``than`` (None: nothing yet); a non-finite value never does."""
    return rankable(value) and (than is None or rank_key(value, goal) < rank_key(than, goal))
