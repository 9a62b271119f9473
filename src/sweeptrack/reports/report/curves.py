"""Learning curves and system metrics for drawing: min/max bucket downsampling.

A curve of more than ``max_points`` points keeps, in each of ``(max_points - 2) // 2`` equal
buckets of consecutive points, the lowest and the highest value (so spikes and dips survive), plus
the first and last point. ``Curve.points_total`` always says how many points were logged.

Example:
    >>> steps, values, total = downsample(list(range(1000)), [float(s % 7) for s in range(1000)], 100)
    >>> len(steps) <= 100, total, min(values), max(values)
    (True, 1000, 0.0, 6.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sweeptrack.core.model import Run
from sweeptrack.reports.report.model import Curve, SystemMetrics
from sweeptrack.tracking.store import Store

__all__ = ["MIN_POINTS", "SYSTEM_PREFIX", "downsample", "load_curve", "system_metrics"]

SYSTEM_PREFIX = "system/"
MIN_POINTS = 4


def downsample(
    steps: Sequence[int], values: Sequence[float], max_points: int
) -> tuple[list[int], list[float | None], int]:
    """At most ``max_points`` (step, value) pairs keeping each bucket's min and max, in step order.

    NaN values become None (a gap when drawn); a bucket of only NaN keeps its first point.

    Returns:
        The kept steps, the kept values and the number of points given.

    Raises:
        ValueError: ``max_points`` is below :data:`MIN_POINTS`.
    """
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}, got {max_points}")
    total = len(steps)
    if total <= max_points:
        keep: list[int] = list(range(total))
    else:
        buckets = (max_points - 2) // 2
        chosen = {0, total - 1}
        for bucket in range(buckets):
            chosen.update(_extremes(values, bucket * total // buckets, (bucket + 1) * total // buckets))
        keep = sorted(chosen)
    return [steps[i] for i in keep], [_finite_or_none(values[i]) for i in keep], total


def _extremes(values: Sequence[float], start: int, stop: int) -> tuple[int, ...]:
    finite = [i for i in range(start, stop) if not math.isnan(values[i])]
    if not finite:
        return (start,)
    return (min(finite, key=values.__getitem__), max(finite, key=values.__getitem__))


def _finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def load_curve(store: Store, run: Run, metric: str, *, rank: int | None, max_points: int) -> Curve:
    """One run's history of ``metric`` read from the store and downsampled."""
    points = store.get_metric_history(run.id, metric)
    steps, values, total = downsample([p.step for p in points], [p.value for p in points], max_points)
    return Curve(
        run_id=run.id,
        name=run.name,
        status=run.status.value,
        rank=rank,
        steps=steps,
        values=values,
        points_total=total,
    )


def system_metrics(store: Store, run: Run, *, max_points: int) -> SystemMetrics:
    """Every ``system/*`` metric of the run, downsampled; empty when it logged none."""
    keys = sorted(key for key in run.metrics if key.startswith(SYSTEM_PREFIX))
    series = {key: load_curve(store, run, key, rank=None, max_points=max_points) for key in keys}
    return SystemMetrics(run_id=run.id, series=series)
