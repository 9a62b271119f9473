"""Controller: runs one sweep to its budget, as the only writer to the database.

Each turn of the loop dispatches trials while the executor has room and the budget allows, polls
the executor, writes the trials' events in batches, feeds every intermediate value of the
objective to the pruner as it arrives (a prune decision goes back to the trial at once), and when
a trial ends writes its status and tells the search. The budget (run_cap, grid size, --trials)
counts trial numbers, so parallel workers, retries and resume never exceed it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sweeptrack.controller.progress import SweepProgress, SweepResult
from sweeptrack.controller.trials import Counts, Ledger, Pending, Running
from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.events import (
    ArtifactLogged,
    Event,
    MetricsLogged,
    ParamsLogged,
    RunEnded,
    RunStarted,
    merge_metric_batches,
)
from sweeptrack.core.model import Goal, RunStatus, SweepState
from sweeptrack.executors.base import (
    Executor,
    TrialEvents,
    TrialFinished,
    TrialMessage,
    TrialRequest,
    TrialStarted,
)
from sweeptrack.search import Asked, Outcome, Search, SearchExhausted
from sweeptrack.spec.model import SweepSpec
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.store import Store
from sweeptrack.tracking.sysmetrics import ENV_INTERVAL

__all__ = ["Controller", "SweepProgress", "SweepResult"]

_FLUSH_EVERY_S = 0.25
_STOP_CHECK_EVERY_S = 1.0
_TAIL = 4000


class Controller:
    """Drives one sweep. Build it with :func:`sweeptrack.controller.open_sweep`."""

    def __init__(
        self,
        *,
        spec: SweepSpec,
        store: Store,
        executor: Executor,
        search: Search,
        sweep_id: str,
        name: str,
        cwd: Path,
        artifacts: ArtifactRoot,
        budget: int | None,
        spec_budget: int | None = None,
        ledger: Ledger | None = None,
        on_progress: Callable[[SweepProgress], None] | None = None,
        python: str | None = None,
    ) -> None:
        self.spec = spec
        self.store = store
        self.executor = executor
        self.search = search
        self.sweep_id = sweep_id
        self.name = name
        self.cwd = cwd
        self._search_path = _search_path(cwd, spec.base_dir)  # resolved once, not per trial
        self.artifacts = artifacts
        self.budget = budget  # what this run may dispatch (with --trials)
        self.spec_budget = budget if spec_budget is None else spec_budget  # what the sweep may
        self.ledger = ledger or Ledger()
        self.on_progress = on_progress
        self.python = python
        self._pending_events: list[Event] = []
        self._ends_pending = False  # a finished trial's end is among them
        self._last_flush = time.monotonic()
        self._last_stop_check = 0.0
        self._started = time.monotonic()
        self._stop_new = False
        self._exhausted = False
        self._target_met = False
        self._state = SweepState.FINISHED
        self._objective_names = frozenset(metric.name for metric in spec.metrics)
        self.closers: list[Callable[[], None]] = []  # run when the sweep ends, whatever the way
        self.lease_lost: Callable[[], str | None] = lambda: None  # why another controller has it

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> SweepResult:
        """Run until the budget is spent, the space is exhausted, the target is met, the timeout
        passes or someone stops the sweep. Ctrl-C stops running trials and ends the sweep STOPPED."""
        try:
            while True:
                self._check_stop()
                self._dispatch()
                if self._ends_pending:  # no new run took them along: write them now
                    self._flush_events(force=True)
                if not self.ledger.running and not self._can_dispatch():
                    self._settle_state()
                    break
                self._handle(self.executor.poll(0.05))
                self._flush_events(force=False)
                self._report_progress()
        except KeyboardInterrupt:
            self._state = SweepState.STOPPED
            self._cancel_all(RunStatus.KILLED, "sweep interrupted (Ctrl-C)")
        except BaseException:
            self._state = SweepState.FAILED
            raise
        finally:
            self._flush_events(force=True)
            self.executor.shutdown()
            if self.lease_lost() is None:  # else the sweep's state is its new controller's
                self.store.set_sweep_state(self.sweep_id, self._state)
            for close in self.closers:
                close()
        self._report_progress()
        return self._result()

    def _settle_state(self) -> None:
        """FINISHED when the sweep's own budget, space or target is done; STOPPED when only a
        run-time limit (--trials) ended it, so it can be resumed for the rest."""
        if self._state is not SweepState.FINISHED or self._exhausted or self._target_met:
            return
        if self.spec_budget is None or self.ledger.next_number < self.spec_budget:
            self._state = SweepState.STOPPED

    def _can_dispatch(self) -> bool:
        if self._stop_new:
            return False
        if self.ledger.pending:
            return True
        if self._exhausted:
            return False
        return self.budget is None or self.ledger.next_number < self.budget

    def _dispatch(self) -> None:
        """Start trials while the executor has room; then stage trials (see the executor's
        lookahead) while it takes them."""
        while self._can_dispatch():
            if self.executor.capacity > 0:
                staged = False
            elif self.executor.lookahead > 0:
                staged = True
            else:
                return
            fresh = not self.ledger.pending
            if fresh:
                number, attempt = self.ledger.next_number, 1
            else:
                pending = self.ledger.pending.popleft()
                if pending.params is not None:
                    self.search.enqueue(pending.params)
                number, attempt = pending.number, pending.attempt
            try:
                asked = self.search.ask()
            except SearchExhausted:
                self._exhausted = True
                continue  # a number that never ran is dropped; retries still run
            if fresh:
                self.ledger.next_number += 1
            self._start(asked, number, attempt, staged)

    def _start(self, asked: Asked, number: int, attempt: int, staged: bool) -> None:
        run_id = uuid.uuid4().hex
        name = f"{self.name}-{number}" if attempt == 1 else f"{self.name}-{number}-attempt{attempt}"
        started = RunStarted(
            run_id=run_id,
            experiment=self.spec.experiment,
            name=name,
            start_time=_now_ms(),
            sweep_id=self.sweep_id,
            trial_number=number,
            tags={"sweeptrack.attempt": str(attempt)} if attempt > 1 else {},
        )
        # Dispatched first, then written while it starts: the run and its params, with the ends of
        # the trials that just finished, in one transaction. Its events reach the store only
        # through this loop, after that transaction; a controller killed in between leaves no run,
        # and a resumed sweep runs that number again. A staged trial is written when it starts.
        self.executor.submit(self._request(run_id, number, name, asked.params))
        trial = Running(
            run_id=run_id, number=number, search_number=asked.number, attempt=attempt, params=asked.params
        )
        self.ledger.running[run_id] = trial
        if staged:
            trial.unwritten = started
            return
        self._pending_events += [started, ParamsLogged(run_id=run_id, params=asked.params)]
        self._flush_events(force=True)

    def _write_start(self, trial: Running) -> None:
        """A staged trial started: its run and params go with the next write. Its start time is
        this clock's, as its end time will be: one clock for both, whatever node it ran on, and
        runs that ran one after the other on a slot never overlap."""
        if trial.unwritten is None:
            return
        started = dataclasses.replace(trial.unwritten, start_time=_now_ms())
        trial.unwritten = None
        self._pending_events += [started, ParamsLogged(run_id=trial.run_id, params=trial.params)]

    def _request(self, run_id: str, number: int, name: str, params: Mapping[str, Any]) -> TrialRequest:
        from sweeptrack.spec.command import build_argv

        argv = None
        if self.spec.entrypoint is None:
            argv = tuple(
                build_argv(
                    self.spec,
                    params,
                    python=self.python or sys.executable,
                    environ=os.environ,
                    json_file_dir=self.artifacts.root.parent / ".sweeptrack-args" / run_id,
                )
            )
        return TrialRequest(
            trial_id=run_id,
            number=number,
            experiment=self.spec.experiment,
            name=name,
            params=dict(params),
            call_params=self.spec.nest(params),
            entrypoint=self.spec.entrypoint,
            argv=argv,
            cwd=str(self.cwd),
            search_path=self._search_path,
            timeout=self.spec.trial_timeout,
            resources=self.spec.resources,
            env={ENV_INTERVAL: f"{self.spec.system_metrics_interval:g}"},
            artifact_root=str(self.artifacts.root),
        )

    # -- messages ---------------------------------------------------------------------------------
    def _handle(self, messages: Sequence[TrialMessage]) -> None:
        for message in messages:
            trial = self.ledger.running.get(message.trial_id)
            if trial is None:
                continue
            if isinstance(message, TrialStarted):
                self._write_start(trial)
                continue
            unstarted = not trial.started
            if unstarted and isinstance(message, TrialFinished) and message.status is RunStatus.KILLED:
                self._withdraw(trial)  # a staged trial stopped before it started
                continue
            self._write_start(trial)  # (a staged trial's start is told before its events)
            if isinstance(message, TrialEvents):
                self._ingest(trial, message.events)
            else:
                self._finish(trial, message)

    def _withdraw(self, trial: Running) -> None:
        """A staged trial cancelled before it started: nothing of it is written or counted, and
        its number runs again (at once, or when the sweep is resumed)."""
        del self.ledger.running[trial.run_id]
        self.search.tell(trial.search_number, Outcome.FAILED, None)
        again = Pending(number=trial.number, attempt=trial.attempt, params=trial.params)
        self.ledger.pending.appendleft(again)

    def _ingest(self, trial: Running, events: Sequence[Event]) -> None:
        objective = self.spec.metric.name
        watched = self._objective_names
        prunable = len(self.spec.metrics) == 1
        for event in events:
            if isinstance(event, RunStarted | RunEnded):
                continue  # the controller owns the run's lifecycle
            self._pending_events.append(event)
            if not isinstance(event, MetricsLogged):
                continue
            for key, value, step, _ts in event.points:
                if key not in watched:
                    continue
                trial.observe(key, value, step)
                if key != objective or not prunable:
                    continue
                if self.search.report(trial.search_number, step, value) and not trial.prune_requested:
                    trial.prune_requested = True
                    self.executor.prune(trial.run_id)

    def _finish(self, trial: Running, finished: TrialFinished) -> None:
        """Write the trial's end with its pending events in one transaction, then tell the search."""
        del self.ledger.running[trial.run_id]
        status = finished.status
        if trial.prune_requested and status is not RunStatus.FINISHED:
            status = RunStatus.PRUNED
        taken = trial.take_result(finished.result, self.spec, _now_ms())
        if taken is not None:
            self._pending_events.append(taken)
        if finished.log_path:
            self._log_output(trial.run_id, Path(finished.log_path))
        error = finished.error or trial.stop_reason
        values = trial.objective(self.spec) if status is RunStatus.FINISHED else None
        if status is RunStatus.FINISHED and values is None:
            status = RunStatus.FAILED
            error = f"objective metric {self.spec.metric.name!r} was never logged"
        self._pending_events.append(
            RunEnded(run_id=trial.run_id, status=status, end_time=_now_ms(), error=_tail(error))
        )
        self._ends_pending = True  # written with the next run's creation, or after this dispatch
        self._tell(trial, status, values)

    def _tell(self, trial: Running, status: RunStatus, values: list[float] | None) -> None:
        if status is RunStatus.FINISHED and values is not None:
            self.search.tell(trial.search_number, Outcome.COMPLETE, values)
            self._note_best(trial, values[0])
        elif status is RunStatus.PRUNED:
            self.search.tell(trial.search_number, Outcome.PRUNED, None)
        else:
            self.search.tell(trial.search_number, Outcome.FAILED, None)
            if status is RunStatus.FAILED and trial.attempt <= self.spec.retries and not self._stop_new:
                self.ledger.pending.append(
                    Pending(number=trial.number, attempt=trial.attempt + 1, params=trial.params)
                )
                return
        self.ledger.counts.add(status)

    def _note_best(self, trial: Running, value: float) -> None:
        goal = self.spec.metric.goal
        self.ledger.best.offer(goal, value, trial.number, trial.run_id, trial.params)
        target = self.spec.metric.target
        if math.isnan(value):
            return
        if target is not None and (
            value >= target if self.spec.metric.goal is Goal.MAXIMIZE else value <= target
        ):
            self._stop_new = True
            self._target_met = True

    def _log_output(self, run_id: str, log_path: Path) -> None:
        if not log_path.is_file() or log_path.stat().st_size == 0:
            return
        try:
            artifact = self.artifacts.store_file(log_path, "logs/output.log")
        except SweepTrackError:
            return
        self._pending_events.append(ArtifactLogged(run_id=run_id, artifact=artifact))

    # -- stopping ---------------------------------------------------------------------------------
    def _check_stop(self) -> None:
        lost = self.lease_lost()
        if lost is not None and not self._stop_new:  # another controller re-queued our trials
            self._stop_new = True
            self._state = SweepState.STOPPED
            self._cancel_all(RunStatus.KILLED, lost)
        now = time.monotonic()
        timeout = self.spec.timeout
        if timeout is not None and now - self._started > timeout and not self._stop_new:
            self._stop_new = True
            self._state = SweepState.STOPPED
            self._cancel_all(RunStatus.KILLED, f"sweep timeout of {timeout:g} s reached")
        if now - self._last_stop_check < _STOP_CHECK_EVERY_S:
            return
        self._last_stop_check = now
        if self.store.get_sweep(self.sweep_id).state is SweepState.STOPPING and not self._stop_new:
            self._stop_new = True
            self._state = SweepState.STOPPED

    def _cancel_all(self, status: RunStatus, reason: str) -> None:
        for trial in list(self.ledger.running.values()):
            trial.stop_reason = reason
            self.executor.cancel(trial.run_id, status)
        deadline = time.monotonic() + 30
        while self.ledger.running and time.monotonic() < deadline:
            self._handle(self.executor.poll(0.1))
        for trial in list(self.ledger.running.values()):
            del self.ledger.running[trial.run_id]
            if trial.started:  # a staged trial that never started left nothing to end
                self.store.end_run(trial.run_id, status, _now_ms(), reason)
                self.ledger.counts.add(status)

    # -- writes and progress ----------------------------------------------------------------------
    def _flush_events(self, *, force: bool) -> None:
        if self.lease_lost() is not None:  # the sweep's writes are its new controller's now
            self._pending_events = []
            return
        now = time.monotonic()
        if not self._pending_events or (not force and now - self._last_flush < _FLUSH_EVERY_S):
            return
        events, self._pending_events = self._pending_events, []
        self._ends_pending = False
        self._last_flush = now
        self.store.apply(merge_metric_batches(events))

    def _report_progress(self) -> None:
        if self.on_progress is None:
            return
        counts: Counts = self.ledger.counts
        elapsed = time.monotonic() - self._started
        self.on_progress(
            SweepProgress(
                sweep_id=self.sweep_id,
                name=self.name,
                budget=self.budget,
                dispatched=self.ledger.next_number,
                running=sum(trial.started for trial in self.ledger.running.values()),
                finished=counts.finished,
                pruned=counts.pruned,
                failed=counts.failed,
                killed=counts.killed,
                best_value=self.ledger.best.value,
                best_trial=self.ledger.best.number,
                elapsed=elapsed,
                eta=self._eta(counts, elapsed),
            )
        )

    def _eta(self, counts: Counts, elapsed: float) -> float | None:
        if self.budget is None or counts.done == 0:
            return None
        remaining = max(self.budget - counts.done, 0)
        return elapsed / counts.done * remaining

    def _result(self) -> SweepResult:
        counts = self.ledger.counts
        return SweepResult(
            sweep_id=self.sweep_id,
            name=self.name,
            experiment=self.spec.experiment,
            state=self._state,
            trials=self.ledger.next_number,
            finished=counts.finished,
            pruned=counts.pruned,
            failed=counts.failed,
            killed=counts.killed,
            best_run_id=self.ledger.best.run_id,
            best_value=self.ledger.best.value,
            best_params=dict(self.ledger.best.params),
            elapsed=time.monotonic() - self._started,
        )


def _search_path(cwd: Path, base_dir: Path) -> tuple[str, ...]:
    paths = [str(cwd.resolve())]
    if str(base_dir.resolve()) not in paths:
        paths.append(str(base_dir.resolve()))
    return tuple(paths)


def _tail(error: str | None) -> str | None:
    if error is None or len(error) <= _TAIL:
        return error
    return "..." + error[-_TAIL:]


def _now_ms() -> int:
    return int(time.time() * 1000)
