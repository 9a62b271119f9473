"""Sweeps written straight through the store API, for the report collector's tests.

:func:`write_sweep` creates a sweep row with a real spec text and one trial run per :class:`T`,
with its params, per-step metric history, status and error, as the controller would leave them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.model import RunStatus, SweepState
from sweeptrack.tracking.store import Store

SPEC = """\
name: {name}
experiment: {experiment}
method: random
run_cap: 100
metric: {{name: val_f1, goal: maximize}}
early_terminate: {{type: median}}
entrypoint: trials:train
parameters:
  lr: {{distribution: log_uniform_values, min: 1.0e-4, max: 0.5}}
  model: {{values: [sgd, mlp, "<script>alert(1)</script>"]}}
  seed: {{values: [1, 2, 3, 4]}}
"""

T0 = 1_700_000_000_000


@dataclass
class T:
    """One trial: its params, status, per-step metrics, error and seconds per step."""

    params: Mapping[str, Any]
    status: RunStatus = RunStatus.FINISHED
    metrics: Mapping[str, Sequence[float]] = field(default_factory=dict)
    error: str | None = None
    step_seconds: float = 1.0


def write_sweep(
    store: Store,
    trials: Sequence[T],
    *,
    name: str = "s",
    experiment: str = "exp",
    spec: str | None = None,
    state: SweepState = SweepState.FINISHED,
) -> tuple[str, list[str]]:
    """Write the sweep and its trials; returns the sweep id and the run ids by trial number."""
    sweep_id = uuid.uuid4().hex
    text = spec if spec is not None else SPEC.format(name=name, experiment=experiment)
    store.create_sweep(sweep_id=sweep_id, experiment=experiment, name=name, spec=text)
    run_ids = []
    for number, trial in enumerate(trials):
        run_id = uuid.uuid4().hex
        start = T0 + number * 60_000
        store.create_run(
            run_id=run_id,
            experiment=experiment,
            name=f"trial-{number}",
            start_time=start,
            sweep_id=sweep_id,
            trial_number=number,
            params=trial.params,
        )
        points = [
            (key, float(value), step, start + step * 1000)
            for key, values in trial.metrics.items()
            for step, value in enumerate(values)
        ]
        if points:
            store.log_metrics(run_id, points)
        if trial.status is not RunStatus.RUNNING:
            steps = max((len(v) for v in trial.metrics.values()), default=1)
            end = start + int(steps * trial.step_seconds * 1000)
            store.end_run(run_id, trial.status, end, trial.error)
        run_ids.append(run_id)
    store.set_sweep_state(sweep_id, state)
    return sweep_id, run_ids


def rising(top: float, steps: int = 5) -> list[float]:
    """A val_f1 curve rising to ``top`` at the last step."""
    return [top * (index + 1) / steps for index in range(steps)]
