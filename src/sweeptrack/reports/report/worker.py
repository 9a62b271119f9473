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

import dataclasses
import multiprocessing
import sys
import threading
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeptrack.core.model import Goal
    from sweeptrack.core.space import Space

__all__ = ["AnalysisWorker", "Found", "Trial", "WorkerLost"]


# (trial number, logged params, objective values): plain data, so this process need not import
# the search package (and Optuna) to hand trials over.
Trial = tuple[int, Mapping[str, Any], Sequence[float]]
# :class:`sweeptrack.search.Importances` as a plain dict (``dataclasses.asdict``): unpickling the
# class itself would import Optuna here, a quarter of a second spent after the answer is in.
Found = dict[str, Any]

_CHECK_EVERY = 0.2  # seconds between checks that the child is still alive while waiting


class WorkerLost(Exception):
    """The child died (or was stopped) before it answered."""


class AnalysisWorker:
    """One child process that computes :func:`sweeptrack.search.param_importances`, once.

    Where it is spawned, the child re-imports the caller's main module, as with any
    ``multiprocessing`` start: a script that makes a worker needs the ``if __name__ == "__main__":``
    guard.
    """

    def __init__(self) -> None:
        context: Any = multiprocessing.get_context(_start_method())  # typeshed: a BaseContext
        self._conn, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_end,), name="sweeptrack-report", daemon=True
        )
        self._process.start()
        child_end.close()

    def importances(self, trials: Sequence[Trial], *, goal: Goal, space: Space | None) -> None:
        """Hand ``trials`` to the child, which computes fANOVA and PED-ANOVA on them."""
        self._conn.send((list(trials), goal, space))

    def result(self) -> Found:
        """Wait for the child's answer.

        Raises:
            WorkerLost: The child died before answering (it is not waited on forever).
            Exception: What the computation raised in the child.
        """
        while not self._conn.poll(_CHECK_EVERY):
            if not self._process.is_alive() and not self._conn.poll(0):
                raise WorkerLost(f"the report's worker process ended (exit code {self._process.exitcode})")
        try:
            ok, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerLost("the report's worker process closed its pipe") from exc
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stop the child at once (whatever it is doing)."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)
        self._conn.close()

    def __enter__(self) -> AnalysisWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _start_method() -> str:
    """fork where it is safe (Linux, no other thread to leave a lock held in the child), else spawn."""
    return "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"


def _serve(conn: Connection) -> None:  # in the child
    from sweeptrack.search import Scored, param_importances, warm_up

    warm_up()
    try:
        trials, goal, space = conn.recv()
    except EOFError:  # the parent is gone or needs nothing
        return
    try:
        scored = [Scored(number=number, params=params, values=values) for number, params, values in trials]
        conn.send((True, dataclasses.asdict(param_importances(scored, goal=goal, space=space))))
    except Exception as exc:
        conn.send((False, exc))
