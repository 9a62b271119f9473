"""The store interface: what every tracking backend provides.

Runs are addressed by their 32-character hex id. Writes take plain values, reads return the frozen
objects of :mod:`sweeptrack.core.model`; database rows never leave a store.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sweeptrack.core.events import (
    ArtifactLogged,
    DatasetLogged,
    EnvironmentCaptured,
    Event,
    MetricsLogged,
    ParamsLogged,
    PointTuple,
    RunEnded,
    RunStarted,
    TagsSet,
)
from sweeptrack.core.model import (
    Artifact,
    Dataset,
    Experiment,
    Lease,
    MetricPoint,
    Run,
    RunStatus,
    Sweep,
    SweepState,
)

__all__ = ["KeysInScope", "MetricSeries", "RunCounts", "RunsPage", "Store"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysInScope:
    """The metric, param and tag keys that at least one run of a scope logged, each sorted."""

    metrics: tuple[str, ...]
    params: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunsPage:
    """One page of a run search and how many runs match: all of them, or with ``more`` at least
    ``total`` (counting stopped there: a count is a scan of every match)."""

    runs: tuple[Run, ...]
    total: int
    more: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSeries:
    """A metric's points for drawing: every point, or with ``downsampled`` two per bucket (the
    lowest and the highest value), so spikes survive. ``values`` hold None for NaN; ``total`` is
    how many points were logged in the range."""

    key: str
    steps: tuple[int, ...]
    values: tuple[float | None, ...]
    total: int
    downsampled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCounts:
    """The live (not deleted) runs of one experiment and sweep (None: outside any sweep) by
    status, and the latest start, end or heartbeat among them (ms)."""

    experiment: str
    sweep_id: str | None
    counts: Mapping[str, int]
    last_activity: int | None


class Store(abc.ABC):
    """A tracking backend.

    Contract (checked by :mod:`sweeptrack.testing.store_conformance` against every backend):
    - writes are atomic: a call that raises has written nothing;
    - ``log_metrics`` stores every point (NaN and infinities included) and keeps the run's
      summaries (last, min, max, count, last step) up to date in the same transaction;
    - ``search_runs`` filters with the filter language of :mod:`sweeptrack.tracking.query` and
      returns runs with params, tags and metric summaries filled in; soft-deleted runs only
      when asked for;
    - edits of an unknown run id raise RunNotFoundError and write nothing.
    """

    # -- writes -------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        *,
        run_id: str,
        experiment: str,
        name: str,
        start_time: int,
        tags: Mapping[str, str] | None = None,
        sweep_id: str | None = None,
        trial_number: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Create a RUNNING run (and its experiment if new), as a trial when ``sweep_id`` is set,
        with its params in the same transaction."""

    @abc.abstractmethod
    def end_run(self, run_id: str, status: RunStatus, end_time: int, error: str | None) -> None:
        """Record the run's terminal status, end time and error text."""

    @abc.abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Store typed params; logging a key again replaces its value."""

    @abc.abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Store tags; setting a key again replaces its value."""

    # -- edits a person makes (the CLI's ``runs tag|untag|note|rename|delete|restore``) ---------
    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove one tag; TagNotFoundError when the run has no tag ``key``."""

    @abc.abstractmethod
    def set_run_note(self, run_id: str, note: str | None) -> None:
        """Set the run's free-text note; None (or blank text) clears it. InvalidValueError for a
        note beyond :data:`~sweeptrack.core.limits.MAX_NOTE` characters or holding NUL."""

    @abc.abstractmethod
    def rename_run(self, run_id: str, name: str) -> None:
        """Give the run a new name; InvalidValueError for a blank name or one over 255 characters."""

    @abc.abstractmethod
    def delete_run(self, run_id: str, when_ms: int) -> None:
        """Soft-delete the run at ``when_ms``: it stays in the database with everything it logged,
        :meth:`search_runs` leaves it out unless asked, :meth:`get_run` still returns it (with
        ``deleted_at``). RunStateError when it is deleted already."""

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> None:
        """Undo :meth:`delete_run`; RunStateError when the run is not deleted."""

    @abc.abstractmethod
    def log_metrics(self, run_id: str, points: Sequence[PointTuple]) -> None:
        """Append (key, value, step, timestamp_ms) points and update the summaries."""

    @abc.abstractmethod
    def log_artifact(self, run_id: str, artifact: Artifact) -> None:
        """Record an artifact already copied into the artifact root."""

    @abc.abstractmethod
    def log_dataset(self, run_id: str, dataset: Dataset) -> None:
        """Record a dataset; the same (name, context) logged again replaces the earlier one."""

    @abc.abstractmethod
    def log_environment(self, run_id: str, environment: Mapping[str, Any]) -> None:
        """Record the run's captured environment (a JSON-serialisable mapping)."""

    @abc.abstractmethod
    def create_sweep(
        self,
        *,
        sweep_id: str,
        experiment: str,
        name: str,
        spec: str,
        environment: Mapping[str, Any] | None = None,
        source: str | None = None,
        lease: Lease | None = None,
    ) -> Sweep:
        """Create a RUNNING sweep (and its experiment if new), held by ``lease`` when given."""

    @abc.abstractmethod
    def set_sweep_state(self, sweep_id: str, state: SweepState) -> None:
        """Record a sweep's new state."""

    @abc.abstractmethod
    def set_sweep_trial_cap(self, sweep_id: str, cap: int | None) -> None:
        """Record the trial cap (``--trials``) a sweep runs under, so a resume keeps it."""

    # -- leases and heartbeats (see sweeptrack.core.liveness) ----------------------------------
    @abc.abstractmethod
    def acquire_sweep_lease(self, sweep_id: str, lease: Lease, stale_before: int) -> Lease | None:
        """Take the sweep for the controller ``lease`` names, in one conditional write.

        It is taken when nobody holds it, when its holder's heartbeat is older than
        ``stale_before`` (ms), or when ``lease``'s host and pid already hold it; then the sweep
        holds ``lease`` and None is returned. Otherwise nothing is written and the holder's lease
        is returned. Two controllers racing, in one process or on two machines, never both win.
        Raises SweepNotFoundError for an unknown sweep.
        """

    @abc.abstractmethod
    def heartbeat_sweep(self, sweep_id: str, host: str, pid: int, now: int) -> bool:
        """While ``host``/``pid`` holds the sweep: set its heartbeat, and that of the sweep's
        RUNNING runs (the controller writes them), to ``now`` and return True. When another
        controller holds it, or none does, write nothing and return False."""

    @abc.abstractmethod
    def release_sweep_lease(self, sweep_id: str, host: str, pid: int) -> None:
        """Clear the sweep's lease and heartbeat if ``host``/``pid`` holds it; else do nothing."""

    @abc.abstractmethod
    def heartbeat_runs(self, run_ids: Sequence[str], now: int) -> None:
        """Set the heartbeat of these runs to ``now``; ids of runs not (yet) written are skipped."""

    # -- reads --------------------------------------------------------------------------------
    @abc.abstractmethod
    def list_experiments(self) -> list[Experiment]:
        """Every experiment, oldest first."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run with this exact id, deleted or not; raises RunNotFoundError."""

    @abc.abstractmethod
    def resolve_run(self, ref: str) -> str:
        """The id of the one run whose id, id prefix or name is ``ref``; raises RunNotFoundError."""

    @abc.abstractmethod
    def search_runs(
        self,
        *,
        experiment: str | None = None,
        sweep: str | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        limit: int | None = None,
        deleted: bool | None = False,
    ) -> list[Run]:
        """Runs matching a filter string, ordered (default: newest first). ``deleted``: False
        (the default) the live runs only, True the soft-deleted ones only, None both."""

    @abc.abstractmethod
    def runs_page(
        self,
        *,
        experiment: str | None = None,
        sweep: str | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        limit: int = 50,
        offset: int = 0,
        deleted: bool | None = False,
        count_up_to: int | None = 1000,
    ) -> RunsPage:
        """Runs ``offset`` to ``offset + limit`` of a search (as :meth:`search_runs` orders them)
        and the number that match, counted up to ``offset + limit + count_up_to`` (None: all);
        ``deleted``: False live runs, True deleted ones, None all."""

    @abc.abstractmethod
    def metric_series(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int = 1000,
        start: int | None = None,
        end: int | None = None,
    ) -> MetricSeries:
        """One metric of one run between steps ``start`` and ``end`` (inclusive; None: open),
        downsampled in the database to about ``max_points`` points when it has more."""

    @abc.abstractmethod
    def run_counts(self, sweep: str | None = None) -> list[RunCounts]:
        """Live runs counted by experiment, sweep and status (one aggregate read); only the
        runs of the sweep with this id when ``sweep`` is given."""

    @abc.abstractmethod
    def keys_in_scope(self, *, experiment: str | None = None, sweep: str | None = None) -> KeysInScope:
        """The keys logged by the runs of an experiment (by name) and/or a sweep (by id); every
        run when neither is given. Read from the summaries and params, never metric history."""

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of one metric of one run, by step then time."""

    @abc.abstractmethod
    def list_artifacts(self, run_id: str) -> list[Artifact]:
        """The run's artifacts by path."""

    @abc.abstractmethod
    def list_datasets(self, run_id: str) -> list[Dataset]:
        """The run's datasets by name."""

    @abc.abstractmethod
    def get_environment(self, run_id: str) -> dict[str, Any] | None:
        """The run's environment, or None if none was captured."""

    @abc.abstractmethod
    def get_sweep(self, ref: str) -> Sweep:
        """The sweep whose id, unique id prefix or name (the newest of that name) is ``ref``;
        raises SweepNotFoundError."""

    @abc.abstractmethod
    def list_sweeps(self, experiment: str | None = None) -> list[Sweep]:
        """Sweeps, newest first."""

    def sweeps_named(self, name: str) -> list[Sweep]:
        """The sweeps named ``name``, newest first (the first is the one :meth:`get_sweep` takes
        for the name); empty when none is. Stores override it with a query of their own."""
        return [sweep for sweep in self.list_sweeps() if sweep.name == name]

    def close(self) -> None:  # noqa: B027 - closing is optional for stores that hold nothing
        """Release connections."""

    # -- conveniences built on the abstract core ---------------------------------------------
    def apply(self, events: Sequence[Event]) -> None:
        """Write a sequence of run events in order (what the background writer and sinks call)."""
        for event in events:
            match event:
                case MetricsLogged(run_id=run_id, points=points):
                    self.log_metrics(run_id, points)
                case ParamsLogged(run_id=run_id, params=values):
                    self.log_params(run_id, values)
                case TagsSet(run_id=run_id, tags=values):
                    self.set_tags(run_id, values)
                case RunStarted():
                    self.create_run(
                        run_id=event.run_id,
                        experiment=event.experiment,
                        name=event.name,
                        start_time=event.start_time,
                        tags=event.tags,
                        sweep_id=event.sweep_id,
                        trial_number=event.trial_number,
                    )
                case RunEnded():
                    self.end_run(event.run_id, event.status, event.end_time, event.error)
                case ArtifactLogged(run_id=run_id, artifact=artifact):
                    self.log_artifact(run_id, artifact)
                case DatasetLogged(run_id=run_id, dataset=dataset):
                    self.log_dataset(run_id, dataset)
                case EnvironmentCaptured(run_id=run_id, environment=environment):
                    self.log_environment(run_id, environment)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
