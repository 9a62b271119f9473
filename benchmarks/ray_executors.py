"""An executor driven on its own, with no controller and no database: what each trial costs the
executor itself (submit, run a no-op on a warm worker, relay its end), for the Ray benchmark's notes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench_common import BENCH_DIR, REPO


def _request(number: int) -> Any:
    from sweeptrack.executors.base import TrialRequest

    params = {"x": number / 1000.0}
    return TrialRequest(
        trial_id=f"bench-{number:06d}",
        number=number,
        experiment="bench-ray",
        name=f"trial-{number}",
        params=params,
        call_params=params,
        entrypoint="ray_trials:noop",
        cwd=str(REPO),
        search_path=(str(REPO), str(BENCH_DIR)),
    )


def _drive(executor: Any, first: int, count: int) -> int:
    """Keep ``executor`` full until ``count`` trials numbered from ``first`` ended; how many failed."""
    from sweeptrack.core.model import RunStatus
    from sweeptrack.executors.base import TrialFinished

    submitted = ended = failed = 0
    while ended < count:
        while executor.capacity > 0 and submitted < count:
            executor.submit(_request(first + submitted))
            submitted += 1
        for message in executor.poll(1.0):
            if isinstance(message, TrialFinished):
                ended += 1
                failed += message.status is not RunStatus.FINISHED
    return failed


def time_executor(
    kind: str, address: str, log_dir: Path, trials: int, *, parallel: int = 2
) -> dict[str, Any]:
    """Seconds for ``trials`` no-op trials on a warm ``kind`` executor ("local" or "ray"), after
    ``parallel`` warm-up trials (whose time, worker and actor start included, is given apart)."""
    from sweeptrack.executors.local import LocalExecutor
    from sweeptrack.executors.ray import RayExecutor

    if kind == "ray":
        executor: Any = RayExecutor(parallel, address=address, log_dir=log_dir)
    else:
        executor = LocalExecutor(parallel, cpu_count=parallel, log_dir=log_dir)
    try:
        started = time.perf_counter()
        failed = _drive(executor, 0, parallel)
        warm = time.perf_counter()
        failed += _drive(executor, parallel, trials)
        done = time.perf_counter()
    finally:
        executor.shutdown()
    return {"warmup_s": warm - started, "seconds": done - warm, "trials": trials, "failed": failed}
