"""A child process for the slowest part of a report: param importances.

Optuna's importance evaluators need scikit-learn (importing ``optuna.importance`` imports it, for
fANOVA), whose import alone takes a second or more, and the evaluators about as long again on a
large sweep. ``sweeptrack report`` starts this worker first thing: the child imports Optuna and
scikit-learn while the command reads the store and imports plotly, then computes fANOVA and
PED-ANOVA while the command reads the curves and the comparison. The child is forked on Linux
while the caller runs no other thread (it then keeps the caller's imports), else spawned, so it is
safe whatever the caller runs; :meth:`AnalysisWorker.close` kills it.

Example:
    >>> with AnalysisWorker() as worker:                       # doctest: +SKIP
    ...     data = collect_report(store, sweep="quickstart", worker=worker)
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections.abc import Mapping, Sequence
from multiprocessing.pool import AsyncResult
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeptrack.core.model import Goal
    from sweeptrack.core.space import Space
    from sweeptrack.search import Importances

__all__ = ["AnalysisWorker", "Trial"]


# (trial number, logged params, objective values): plain data, so this process need not import
# the search package (and Optuna) to hand trials over.
Trial = tuple[int, Mapping[str, Any], Sequence[float]]


class AnalysisWorker:
    """One spawned child that computes :func:`sweeptrack.search.param_importances`.

    Where it is spawned, the child re-imports the caller's main module, as with any
    ``multiprocessing`` start: a script that makes a worker needs the ``if __name__ == "__main__":``
    guard.
    """

    def __init__(self) -> None:
        self._pool = multiprocessing.get_context(_start_method()).Pool(1, initializer=_warm_up)

    def importances(
        self, trials: Sequence[Trial], *, goal: Goal, space: Space | None
    ) -> AsyncResult[Importances]:
        """Start fANOVA and PED-ANOVA on ``trials`` in the child; ``.get()`` waits for them."""
        return self._pool.apply_async(_importances, (list(trials), goal, space))

    def close(self) -> None:
        """Stop the child at once (whatever it is doing)."""
        self._pool.terminate()

    def __enter__(self) -> AnalysisWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _start_method() -> str:
    """fork where it is safe (Linux, no other thread to leave a lock held in the child), else spawn."""
    return "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"


def _warm_up() -> None:  # in the child
    from sweeptrack.search import warm_up

    warm_up()


def _importances(trials: list[Trial], goal: Goal, space: Space | None) -> Importances:  # in the child
    from sweeptrack.search import Scored, param_importances

    scored = [Scored(number=number, params=params, values=values) for number, params, values in trials]
    return param_importances(scored, goal=goal, space=space)
