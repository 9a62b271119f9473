"""Events that the run API hands to a sink.

Outside a sweep a sink writes them to the store; in a sweep they travel to the controller. They are
plain, picklable data so they can cross a pipe, a socket or Ray.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.model import Artifact, Dataset, RunStatus

__all__ = [
    "ArtifactLogged",
    "DatasetLogged",
    "EnvironmentCaptured",
    "Event",
    "MetricsLogged",
    "ParamsLogged",
    "RunEnded",
    "RunStarted",
    "TagsSet",
    "merge_metric_batches",
]

# (key, value, step, timestamp_ms): a tuple, not an object, because millions are made per second.
PointTuple = tuple[str, float, int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted:
    run_id: str
    experiment: str
    name: str
    start_time: int
    tags: Mapping[str, str] = field(default_factory=dict)
    sweep_id: str | None = None
    trial_number: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamsLogged:
    run_id: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class TagsSet:
    run_id: str
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsLogged:
    run_id: str
    points: Sequence[PointTuple]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactLogged:
    run_id: str
    artifact: Artifact


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetLogged:
    run_id: str
    dataset: Dataset


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentCaptured:
    run_id: str
    environment: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEnded:
    run_id: str
    status: RunStatus
    end_time: int
    error: str | None = None


Event = (
    RunStarted
    | ParamsLogged
    | TagsSet
    | MetricsLogged
    | ArtifactLogged
    | DatasetLogged
    | EnvironmentCaptured
    | RunEnded
)


def merge_metric_batches(events: Sequence[Event]) -> list[Event]:
    """The events in order, with consecutive metric batches of one run merged into one (one write).

    Example:
        >>> a = MetricsLogged(run_id="r", points=[("loss", 1.0, 0, 0)])
        >>> b = MetricsLogged(run_id="r", points=[("loss", 0.5, 1, 0)])
        >>> [len(e.points) for e in merge_metric_batches([a, b])]
        [2]
    """
    out: list[Event] = []
    merged: list[PointTuple] | None = None
    for event in events:
        last = out[-1] if out else None
        if (
            isinstance(event, MetricsLogged)
            and isinstance(last, MetricsLogged)
            and last.run_id == event.run_id
        ):
            if merged is None:
                merged = list(last.points)
                out[-1] = MetricsLogged(run_id=last.run_id, points=merged)
            merged.extend(event.points)
            continue
        merged = None
        out.append(event)
    return out
