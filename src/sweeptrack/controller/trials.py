"""Bookkeeping of a sweep's trials: numbers, attempts, what runs where, what waits for a retry."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.events import Event, MetricsLogged, RunStarted, TagsSet
from sweeptrack.core.model import Goal, RunStatus
from sweeptrack.core.objective import better
from sweeptrack.spec.model import OBJECTIVE_TAG, SweepSpec

__all__ = ["Best", "Counts", "Ledger", "Pending", "Running", "interrupted", "is_interrupted"]

# The error text of every run stopped by the user or the sweep rather than by its own doing
# (Ctrl-C, SIGTERM, the sweep's timeout, a controller killed while it ran): such a run is not a
# result, and resume runs its config again as the next attempt of its number.
_INTERRUPTED = "interrupted: "
_LEGACY_CTRL_C = "sweep interrupted (Ctrl-C)"  # what earlier versions wrote at Ctrl-C


def interrupted(cause: str) -> str:
    """The error text of a run interrupted by ``cause`` (e.g. ``"Ctrl-C"``)."""
    return f"{_INTERRUPTED}{cause}; it runs again on resume"


def is_interrupted(error: str | None) -> bool:
    """Whether a KILLED run's error says it was interrupted (not a failure of its own)."""
    return error is not None and (error.startswith(_INTERRUPTED) or error == _LEGACY_CTRL_C)


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
    previous_run: str | None = None  # the run of this number's previous attempt
    retried: int = 0  # previous attempts that failed on their own (interruptions do not count)
    since: float = field(default_factory=time.monotonic)  # when it was handed to the executor
    live_noted: bool = False  # its live log is noted for `runs logs --follow`

    @property
    def started(self) -> bool:
        return self.unwritten is None

    @property
    def interrupted(self) -> bool:
        """Stopped by the user or the sweep (Ctrl-C, SIGTERM, the sweep's timeout)."""
        return is_interrupted(self.stop_reason)

    def again(self) -> Pending:
        """This config once more under its number, as the same attempt (a staged trial withdrawn)."""
        return Pending(
            number=self.number,
            attempt=self.attempt,
            params=self.params,
            previous_run=self.previous_run,
            retried=self.retried,
        )

    def retry(self) -> Pending:
        """This config once more under its number, as the next attempt (after it failed)."""
        return Pending(
            number=self.number,
            attempt=self.attempt + 1,
            params=self.params,
            previous_run=self.run_id,
            retried=self.retried + 1,
        )

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
    """A trial number waiting to be dispatched (again): a retry, an interrupted trial, or a number
    that never ran (``params`` None: the search asks for the number's config)."""

    number: int
    attempt: int
    params: Mapping[str, Any] | None
    previous_run: str | None = None  # the previous attempt's run, linked from the next one
    retried: int = 0  # attempts that failed on their own so far (against ``retries``)


@dataclass(slots=True)
class Counts:
    finished: int = 0
    pruned: int = 0
    failed: int = 0
    killed: int = 0
    interrupted: int = 0  # KILLED by the user or the sweep; they run again on resume

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
        return self.finished + self.pruned + self.failed + self.killed + self.interrupted


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
