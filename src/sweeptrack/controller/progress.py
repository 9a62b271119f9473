"""What a sweep reports while it runs (SweepProgress) and when it ends (SweepResult)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.model import SweepState

__all__ = ["SweepProgress", "SweepResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepProgress:
    """What a progress display shows; sent after every change and at least every poll."""

    sweep_id: str
    name: str
    budget: int | None
    dispatched: int
    running: int
    finished: int
    pruned: int
    failed: int
    killed: int
    interrupted: int = 0  # stopped by Ctrl-C, SIGTERM or the sweep's timeout; run again on resume
    best_value: float | None
    best_trial: int | None
    elapsed: float
    eta: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepResult:
    """How a sweep ended (``st.run_sweep`` returns it)."""

    sweep_id: str
    name: str
    experiment: str
    state: SweepState
    trials: int
    finished: int
    pruned: int
    failed: int
    killed: int
    best_run_id: str | None
    best_value: float | None
    best_params: Mapping[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    warnings: tuple[str, ...] = ()  # e.g. the first trial never logged the sweep's metric
    pruner_starved: str | None = None  # set when the sweep had a pruner that never got a value
    interrupted: int = 0  # trials stopped by Ctrl-C, SIGTERM or the sweep's timeout: they run again on resume
    stop_signal: int | None = None  # SIGINT or SIGTERM when a signal stopped the sweep
    cap_reached: bool = False  # stopped because the --trials cap was reached (resume needs a larger one)
