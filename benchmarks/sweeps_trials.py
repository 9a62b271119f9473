"""Trial functions for the sweep benchmarks (``entrypoint: sweeps_trials:NAME``, resolved against
this folder, the spec's ``base_dir``)."""

from __future__ import annotations

from typing import Any

import sweeptrack as st

REPORTS = 100


def noop(params: dict[str, Any]) -> float:
    """Logs nothing, returns at once: what is left is the controller's and executor's cost."""
    return float(params["x"])


def curve(x: float, step: int) -> float:
    """The intermediate objective both sides of the Optuna comparison report: it improves with
    the step, and a poor ``x`` stays poor, so the median pruner has something to prune."""
    return (x - 0.5) ** 2 + 1.0 / (step + 1)


def report100(params: dict[str, Any]) -> float:
    """Logs ``REPORTS`` values of the sweep metric, checking for a prune decision after each."""
    x = float(params["x"])
    value = 0.0
    for step in range(REPORTS):
        value = curve(x, step)
        st.log_metric("objective", value, step=step)
        if st.should_prune():
            raise st.TrialPruned()
    return value
