"""Re-running a recorded run: what differs now, a temporary worktree at the recorded commit with the
recorded diff, the same command or entrypoint with the same params and variables, and whether the
new run's metrics agree with the original's. Also the configs of a sweep, for ``--replay``."""

from sweeptrack.reproduce.agreement import DEFAULT_RTOL, Agreement, compare_runs_metrics
from sweeptrack.reproduce.drift import Difference, Kind
from sweeptrack.reproduce.rerun import Mode, Plan, plan_reproduction, rerun

__all__ = [
    "DEFAULT_RTOL",
    "Agreement",
    "Difference",
    "Kind",
    "Mode",
    "Plan",
    "compare_runs_metrics",
    "plan_reproduction",
    "rerun",
]
