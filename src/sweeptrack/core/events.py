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
