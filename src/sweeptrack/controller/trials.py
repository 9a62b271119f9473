"""Bookkeeping of a sweep's trials: numbers, attempts, what runs where, what waits for a retry."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.events import Event, MetricsLogged, RunStarted, TagsSet
from sweeptrack.core.model import Goal, RunStatus
from sweeptrack.core.objective import better
from sweeptrack.spec.model import OBJECTIVE_TAG, SweepSpec

__all__ = ["Best", "Counts", "Ledger", "Pending", "Running"]


@dataclass(slots=True, kw_only=True)
class Running:
    """A trial attempt that has been dispatched and has not finished."""

    run_id: str
    number: int  # sweeptrack's trial number (shared by every attempt of one config)
    search_number: int  # the Search's (Optuna's) number for this attempt
    attempt: int
    params: Mapping[str, Any]
    prune_requested: bool = False
    seen: dict[str, Seen] = field(default_factory=dict)  # per objective metric, from its events
    returned: float | None = None  # what the entrypoint returned, when that is the objective
    stop_reason: str | None = None  # why the controller stopped it (a timeout, Ctrl-C)
    unwritten: RunStarted | None = None  # staged: its run is written when it starts

    @property
    def started(self) -> bool:
        return self.unwritten is None

    def observe(self, key: str, value: float, step: int) -> None:
        seen = self.seen.get(key)
        if seen is None:
            self.seen[key] = Seen(last=value, last_step=step, min=value, max=value)
        else:
            seen.add(value, step)

    def take_result(self, result: Any, spec: SweepSpec, now_ms: int) -> Event | None:
        """What a function trial returned, as an event of its run: a float is the objective, a
        dict holds final metrics (each at the step after the metric's last one).

        A float for a metric the trial already logged is the objective without being another
        point of its history; it is kept as the run's ``sweeptrack.objective`` tag for resume.
        """
        if result is None or (not spec.metrics and not isinstance(result, Mapping)):
            return None  # a float ranks nothing in a sweep without a metric
        if isinstance(result, int | float) and not isinstance(result, bool):
            name = spec.metric.name
            if name in self.seen and len(spec.metrics) == 1:
                self.returned = float(result)
                return TagsSet(run_id=self.run_id, tags={OBJECTIVE_TAG: repr(float(result))})
            result = {name: float(result)}
        if not isinstance(result, Mapping):
            return None
        objectives = {metric.name for metric in spec.metrics}
        points = []
        for key, value in result.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                seen = self.seen.get(str(key))
                step = 0 if seen is None else seen.last_step + 1
                points.append((str(key), float(value), step, now_ms))
                if str(key) in objectives:
                    self.observe(str(key), float(value), step)
        return MetricsLogged(run_id=self.run_id, points=points) if points else None

    def objective(self, spec: SweepSpec) -> list[float] | None:
        """Objective values from what the trial logged (no database read), None if one is missing."""
        return spec.objective_from(self.seen, self.returned)


@dataclass(slots=True, kw_only=True)
class Seen:
    """Last, lowest and highest value of one metric as it streams in (NaN never lowest/highest)."""

    last: float
    last_step: int
    min: float
    max: float

    def add(self, value: float, step: int) -> None:
        if step >= self.last_step:
            self.last, self.last_step = value, step
        if value == value:
            if not self.min <= value:  # also replaces a NaN minimum
                self.min = value
            if not self.max >= value:
                self.max = value


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """A trial number waiting to be dispatched (again): a retry, a trial interrupted by a crash,
    or a number that never ran (``params`` None: the search asks afresh)."""

    number: int
    attempt: int
    params: Mapping[str, Any] | None


@dataclass(slots=True)
class Counts:
    finished: int = 0
    pruned: int = 0
    failed: int = 0
    killed: int = 0

    def add(self, status: RunStatus) -> None:
        if status is RunStatus.FINISHED:
            self.finished += 1
        elif status is RunStatus.PRUNED:
            self.pruned += 1
        elif status is RunStatus.FAILED:
            self.failed += 1
        else:
            self.killed += 1

    @property
    def done(self) -> int:
        return self.finished + self.pruned + self.failed + self.killed


@dataclass(slots=True)
class Best:
    """The best complete trial so far (by the first metric's goal)."""

    value: float | None = None
    number: int | None = None
    run_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def offer(self, goal: Goal, value: float, number: int, run_id: str, params: Mapping[str, Any]) -> None:
        if better(value, self.value, goal):  # NaN and infinities never win
            self.value, self.number, self.run_id, self.params = value, number, run_id, params


@dataclass(slots=True)
class Ledger:
    """Trial numbers handed out, trials running and trials waiting, for an exact budget.

    The budget counts configs (trial numbers), not attempts: a retry or a re-queued interrupted
    trial keeps its number, so it never uses up budget twice.
    """

    next_number: int = 0
    running: dict[str, Running] = field(default_factory=dict)
    pending: deque[Pending] = field(default_factory=deque)
    counts: Counts = field(default_factory=Counts)
    best: Best = field(default_factory=Best)
