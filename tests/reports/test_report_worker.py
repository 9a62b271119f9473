"""The report's worker process: it computes the importances the command would, and a child that
dies is noticed at once (the command then computes them itself) instead of being waited on."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from sweeptrack.core.model import Goal
from sweeptrack.reports.report.worker import AnalysisWorker, WorkerLost
from sweeptrack.search import Scored, param_importances

TRIALS = [(i, {"x": i / 10, "k": ["a", "b", "c"][i % 3]}, [float((i % 7) - i / 10)]) for i in range(24)]


def test_the_worker_computes_what_this_process_would() -> None:
    with AnalysisWorker() as worker:
        worker.importances(TRIALS, goal=Goal.MINIMIZE, space=None)
        found = worker.result()
    scored = [Scored(number=n, params=p, values=v) for n, p, v in TRIALS]
    here = param_importances(scored, goal=Goal.MINIMIZE)
    assert set(found["fanova"]) == set(found["ped_anova"]) == {"x", "k"}
    assert (found["fanova"], found["ped_anova"]) == (here.fanova, here.ped_anova)


def test_a_dead_worker_is_reported_not_waited_on() -> None:
    worker = AnalysisWorker()
    try:
        worker.importances(TRIALS, goal=Goal.MINIMIZE, space=None)
        worker._process.kill()  # as the OOM killer would
        started = time.monotonic()
        with pytest.raises(WorkerLost, match="the report's worker process"):
            worker.result()
        assert time.monotonic() - started < 5
    finally:
        worker.close()


def test_the_answer_is_read_without_loading_optuna_here() -> None:
    """The command's process never imports Optuna (a quarter of a second) to read the answer."""
    code = (
        "import sys\n"
        "from sweeptrack.core.model import Goal\n"
        "from sweeptrack.reports.report.worker import AnalysisWorker\n"
        "with AnalysisWorker() as worker:\n"
        f"    worker.importances({TRIALS!r}, goal=Goal.MINIMIZE, space=None)\n"
        "    found = worker.result()\n"
        "print(sorted(found['fanova']), 'optuna' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split("\n")[0] == "['k', 'x'] False"
