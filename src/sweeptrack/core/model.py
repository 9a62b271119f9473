"""Frozen domain objects: what the store hands out and what the run API produces.

Times are integer milliseconds since the epoch (as in MLflow filter strings). A metric value of NaN is
kept as ``float('nan')``; the SQL store encodes it as NULL because SQLite cannot hold NaN.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.errors import InvalidValueError

__all__ = [
    "Artifact",
    "Dataset",
    "Experiment",
    "Goal",
    "Lease",
    "MetricPoint",
    "MetricSummary",
    "ParamKind",
    "Run",
    "RunStatus",
    "Sweep",
    "SweepState",
    "decode_param",
    "encode_param",
]


class RunStatus(enum.Enum):
    """Lifecycle state of a run. The value is what the database stores and filters compare."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"
    PRUNED = "pruned"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class Goal(enum.Enum):
    """Whether a larger or a smaller metric value is better."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class SweepState(enum.Enum):
    """Lifecycle of a sweep. STOPPING is a request (``sweep stop``) the controller acts on."""

    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (SweepState.STOPPED, SweepState.FINISHED, SweepState.FAILED)


class ParamKind(enum.Enum):
    """The type a param was logged with; numeric kinds also compare numerically in filters."""

    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"
    JSON = "json"


def encode_param(value: Any) -> tuple[ParamKind, str, float | None]:
    """Split a param value into (kind, text, number) as stored.

    ``text`` is what string comparisons see (``str(0.001) == '0.001'``, booleans as ``true``/``false``,
    anything else as JSON); ``number`` is set for int, float and bool so ``params.lr < 1e-3`` works.
    """
    if isinstance(value, bool):
        return ParamKind.BOOL, "true" if value else "false", float(value)
    if isinstance(value, int):
        return ParamKind.INT, str(value), float(value)
    if isinstance(value, float):
        return ParamKind.FLOAT, repr(value), value if math.isfinite(value) else None
    if isinstance(value, str):
        return ParamKind.STR, value, None
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(
            f"param value {value!r} of type {type(value).__name__} is not int, float, str, bool "
            "or JSON-serialisable"
        ) from exc
    return ParamKind.JSON, text, None


def decode_param(kind: ParamKind, text: str) -> Any:
    """Inverse of :func:`encode_param`."""
    if kind is ParamKind.INT:
        return int(text)
    if kind is ParamKind.FLOAT:
        return float(text)
    if kind is ParamKind.BOOL:
        return text == "true"
    if kind is ParamKind.JSON:
        return json.loads(text)
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Experiment:
    """A named group of runs."""

    id: int
    name: str
    created_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricPoint:
    """One logged value of one metric."""

    key: str
    step: int
    value: float
    timestamp: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSummary:
    """Per (run, metric key): kept up to date at ingest; filters and leaderboards read it.

    ``last`` is the value at the highest step (the latest logged on a tie); ``min`` and ``max`` skip
    NaN and are NaN only when every value was.
    """

    key: str
    last: float
    min: float
    max: float
    count: int
    last_step: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    """A file stored content-addressed under the artifact root; ``path`` is the run-relative name."""

    path: str
    size: int
    sha256: str
    created_at: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A dataset a run used; the same content gives the same ``digest``."""

    name: str
    source: str
    digest: str
    size: int | None = None
    context: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One execution of training code, with its params, tags and metric summaries."""

    id: str
    experiment: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None = None
    sweep_id: str | None = None
    trial_number: int | None = None
    error: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, MetricSummary] = field(default_factory=dict)
    heartbeat_at: int | None = None  # its writer's (or sweep controller's) last heartbeat
    note: str | None = None  # free text a person wrote about the run
    deleted_at: int | None = None  # ms; set while the run is soft-deleted (hidden from listings)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """The controller process that holds a sweep: only it dispatches the sweep's trials.

    It beats (``heartbeat_at``) every few seconds; a lease whose heartbeat stopped is free for
    another controller (see :mod:`sweeptrack.core.liveness`).
    """

    host: str
    pid: int
    since: int
    heartbeat_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Sweep:
    """One search over a space: its spec text, state and where its runs live."""

    id: str
    name: str
    experiment: str
    state: SweepState
    spec: str
    created_at: int
    updated_at: int
    source: str | None = None
    trial_cap: int | None = None  # the --trials cap it was run with, kept for resume
    lease: Lease | None = None  # its controller, while one holds it
