"""W&B's hyperband early termination as an Optuna pruner (W&B semantics, not Optuna's Hyperband)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from optuna.pruners import BasePruner
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial

__all__ = ["WandbHyperbandPruner", "wandb_brackets"]

_MAX_BRACKET = 10**9


def wandb_brackets(
    *, min_iter: int | None = None, max_iter: int | None = None, s: int | None = None, eta: float = 3
) -> list[int]:
    """W&B's brackets: ``min_iter * eta**k`` (3, 9, 27, ... for min_iter 3, eta 3), or
    ``max_iter / eta**k`` for k = 1..s (9 and 3 for max_iter 27, s 2), ascending."""
    if max_iter is not None:
        brackets, band = [], float(max_iter)
        for _ in range(s or 0):
            band /= eta
            if band < 1:
                break
            brackets.append(int(band))
        return sorted(brackets)
    if min_iter is None:
        raise ValueError("hyperband needs brackets, min_iter, or max_iter and s")
    brackets, band = [], float(min_iter)
    while band <= _MAX_BRACKET and len(brackets) < 100:
        brackets.append(int(band))
        band *= eta
    return brackets


class WandbHyperbandPruner(BasePruner):
    """Prunes a trial at a bracket when it is not among the best ``1/eta`` there, as W&B does.

    Steps are report counts: the bridge reports a trial's n-th logged value at step n (1-based),
    because W&B brackets count how many times the metric was logged, not step values. Non-finite
    values are not counted (W&B filters them out of the history).

    When a trial's n-th value arrives and n is a bracket, the values that every trial (this one,
    and complete, pruned, failed or running ones) had at its n-th report are sorted best first;
    the cut is the value at index ``int(count / eta)``. The trial is pruned when its value is
    worse than the cut (ties survive):

    - ``strict``: its value at the bracket is compared (W&B's ``strict: true``);
    - not ``strict``: its best value so far is compared, which stops fewer trials (W&B's
      default rule: a trial that was good earlier survives a bad bracket value).

    W&B prunes as soon as one other run has a value at the bracket. Here a trial is never pruned
    until at least ``ceil(eta)`` other trials have one, so the first few trials of a sweep are not
    stopped by comparison with a single peer. The check runs once, when a trial reaches a bracket
    (W&B re-checks running runs every few minutes).

    Args:
        brackets: report counts at which trials are compared (W&B's bands), e.g. ``[3, 9, 27]``.
            Or give ``min_iter`` (with ``eta``), or ``max_iter`` and ``s``, as in a W&B config.
        eta: the reduction factor (> 1); the best ``1/eta`` survive a bracket.
        strict: compare the value at the bracket instead of the best value so far.
    """

    def __init__(
        self,
        *,
        brackets: Sequence[int] | None = None,
        eta: float = 3,
        strict: bool = False,
        min_iter: int | None = None,
        max_iter: int | None = None,
        s: int | None = None,
    ) -> None:
        if not eta > 1:
            raise ValueError(f"eta must be > 1, got {eta!r}")
        if brackets is None:
            brackets = wandb_brackets(min_iter=min_iter, max_iter=max_iter, s=s, eta=eta)
        if not brackets or any(int(b) != b or b < 1 for b in brackets):
            raise ValueError(f"brackets must be report counts >= 1, got {list(brackets)!r}")
        self.brackets = tuple(sorted({int(b) for b in brackets}))
        self._bracket_set = frozenset(self.brackets)
        self.eta = float(eta)
        self.strict = bool(strict)
        self._min_peers = math.ceil(self.eta)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step not in self._bracket_set:
            return False
        sign = 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
        own = sign * trial.intermediate_values[step]
        if not math.isfinite(own):
            return False
        peers = []
        for other in study.get_trials(deepcopy=False):
            value = other.intermediate_values.get(step)
            if other.number != trial.number and value is not None and math.isfinite(value):
                peers.append(sign * value)
        if len(peers) < self._min_peers:
            return False
        ranked = sorted([*peers, own])
        cut = ranked[int(len(ranked) / self.eta)]
        if self.strict:
            return own > cut
        so_far = (sign * v for s, v in trial.intermediate_values.items() if s <= step)
        return min(v for v in so_far if math.isfinite(v)) > cut
