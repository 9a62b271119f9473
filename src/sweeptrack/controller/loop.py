"""Controller: runs one sweep to its budget, as the only writer to the database.

Each turn of the loop dispatches trials while the executor has room and the budget allows, polls
the executor, writes the trials' events in batches, feeds every intermediate value of the
objective to the pruner as it arrives (a prune decision goes back to the trial at once), and when
a trial ends writes its status and tells the search. The budget (run_cap, grid size, --trials)
counts trial numbers, so parallel workers, retries and resume never exceed it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import signal
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sweeptrack.controller.guard import EventGuard
from sweeptrack.controller.metric_check import MetricCheck
from sweeptrack.controller.progress import SweepProgress, SweepResult
from sweeptrack.controller.requests import RequestBuilder
from sweeptrack.controller.signals import signal_cause, signals_as_stop
from sweeptrack.controller.trials import Counts, Ledger, Pending, Running, interrupted
from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.events import (
    ArtifactLogged,
    Event,
    MetricsLogged,
    ParamsLogged,
    RunEnded,
    RunStarted,
    TagsSet,
    merge_metric_batches,
)
from sweeptrack.core.model import Goal, RunStatus, SweepState
from sweeptrack.executors.base import (
    Executor,
    TrialEvents,
    TrialFinished,
    TrialMessage,
    TrialStarted,
)
from sweeptrack.search import Asked, Outcome, Search, SearchExhausted
from sweeptrack.spec.model import PRUNING_TAG, WARNING_TAG, SweepSpec
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.output import OUTPUT_ARTIFACT, LiveLogs, store_output
from sweeptrack.tracking.store import Store

__all__ = ["Controller", "SweepProgress", "SweepResult"]

_FLUSH_EVERY_S = 0.25
_STOP_CHECK_EVERY_S = 1.0
_TAIL = 4000
_NOTE_LIVE_AFTER_S = 0.5  # within reports.logs' wait for a note
_HOST = socket.gethostname()  # where a running trial's live log is (``runs logs --follow``)


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
        function: Callable[..., Any] | None = None,
    ) -> None:
        self.spec = spec
        self.store = store
        self.executor = executor
        self.search = search
        self.sweep_id = sweep_id
        self.name = name
        self.artifacts = artifacts
        self._live_logs = LiveLogs(artifacts.root)  # where `runs logs --follow` finds a trial's output
        self.budget = budget  # what this run may dispatch (with --trials)
        self.spec_budget = budget if spec_budget is None else spec_budget  # what the sweep may
        self.ledger = ledger or Ledger()
        self._done_before = self.ledger.counts.done  # restored on resume: no part of this run's pace
        self.on_progress = on_progress
        self._requests = RequestBuilder(spec, cwd, artifacts, python=python, function=function)
        self._pending_events: list[Event] = []
        self._guard = EventGuard()  # a trial's value the store would refuse fails the trial only
        self._ends_pending = False  # a finished trial's end is among them
        self._last_flush = time.monotonic()
        self._last_stop_check = 0.0
        self._started = time.monotonic()
        self._stop_new = False
        self._exhausted = False
        self._target_met = False
        self._state = SweepState.FINISHED
        self._cap_reached = False  # ended by --trials, not by the sweep's own budget
        self._signal: int | None = None  # SIGINT or SIGTERM received, handled by the loop
        self._signal_handled = False
        self._objective_names = frozenset(metric.name for metric in spec.metrics)
        self.metric_check = MetricCheck(spec)  # warns once when the first trial never logged it
        # Where a warning goes as it happens (the CLI prints it); the "sweeptrack" logger without.
        self.on_warning: Callable[[str], None] | None = None
        self.closers: list[Callable[[], None]] = []  # run when the sweep ends, whatever the way
        self.lease_lost: Callable[[], str | None] = lambda: None  # why another controller has it

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> SweepResult:
        """Run until the budget is spent, the space is exhausted, the target is met, the timeout
        passes or someone stops the sweep.

        Ctrl-C (SIGINT) and SIGTERM stop the sweep: running trials are ended KILLED "interrupted"
        (they run again on resume), the sweep ends STOPPED and the result's ``stop_signal`` names
        the signal. Called from the main thread, the loop handles both signals itself while it
        runs (a second one hurries the stop) and puts the previous handlers back afterwards."""
        with signals_as_stop(self.interrupt):
            return self._run()

    def interrupt(self, signum: int) -> None:
        """Stop as SIGINT or SIGTERM ``signum`` does, at the loop's next turn (also before
        :meth:`run`, for a signal that arrived while the sweep was being opened)."""
        self._signal = self._signal or signum  # acted on by _check_signal, between writes

    def _run(self) -> SweepResult:
        try:
            while True:
                self._check_signal()
                self._check_stop()
                self._dispatch()
                if self._ends_pending:  # no new run took them along: write them now
                    self._flush_events(force=True)
                if not self.ledger.running and not self._can_dispatch():
                    self._settle_state()
                    self._note_starved_pruner()
                    break
                self._handle(self.executor.poll(0.05))
                self._flush_events(force=False)
                self._note_live_logs()
                self._report_progress()
        except KeyboardInterrupt:  # a second signal, or Ctrl-C where the loop could not take it
            self._signal = self._signal or signal.SIGINT
            self._state = SweepState.STOPPED
            self._stop_new = True
            self._cancel_all(RunStatus.KILLED, interrupted(signal_cause(self._signal)), wait=False)
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
            self._cap_reached = True

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
                pending = Pending(number=self.ledger.next_number, attempt=1, params=None)
            else:
                pending = self.ledger.pending.popleft()
                if pending.params is not None:
                    self.search.enqueue(pending.params)
            number = pending.number
            try:
                asked = self.search.ask(number)  # the number's own draws: see Search.ask
            except SearchExhausted:
                self._exhausted = True
                continue  # a number that never ran is dropped; retries still run
            if fresh:
                self.ledger.next_number += 1
            self._start(asked, pending, staged)

    def _start(self, asked: Asked, pending: Pending, staged: bool) -> None:
        run_id = uuid.uuid4().hex
        number, attempt = pending.number, pending.attempt
        name = f"{self.name}-{number}" if attempt == 1 else f"{self.name}-{number}-attempt{attempt}"
        started = RunStarted(
            run_id=run_id,
            experiment=self.spec.experiment,
            name=name,
            start_time=_now_ms(),
            sweep_id=self.sweep_id,
            trial_number=number,
            tags=_attempt_tags(pending),
        )
        # Dispatched first, then written while it starts: the run and its params, with the ends of
        # the trials that just finished, in one transaction. Its events reach the store only
        # through this loop, after that transaction; a controller killed in between leaves no run,
        # and a resumed sweep runs that number again. A staged trial is written when it starts.
        self.executor.submit(self._requests.build(run_id, number, name, asked.params))
        trial = Running(
            run_id=run_id,
            number=number,
            search_number=asked.number,
            attempt=attempt,
            params=asked.params,
            previous_run=pending.previous_run,
            retried=pending.retried,
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
        self._requests.release(trial.run_id)
        self._drop_live_log(trial)
        self.search.tell(trial.search_number, Outcome.FAILED, None)
        self.ledger.pending.appendleft(trial.again())

    def _ingest(self, trial: Running, events: Sequence[Event]) -> None:
        objective = self.spec.metrics[0].name if self.spec.metrics else None
        watched = self._objective_names
        prunable = len(self.spec.metrics) == 1
        for event in events:
            if isinstance(event, RunStarted | RunEnded):
                continue  # the controller owns the run's lifecycle
            if not self._guard.admit(trial.run_id, event):
                self._refuse(trial.run_id)
                continue
            self._pending_events.append(event)
            if not isinstance(event, MetricsLogged):
                continue
            self.metric_check.saw(trial.run_id, event)
            for key, value, step, _ts in event.points:
                if key not in watched:
                    continue
                trial.observe(key, value, step)
                if key != objective or not prunable:
                    continue
                self.metric_check.pruner_fed = True
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
        if taken is not None and self._guard.admit(trial.run_id, taken):
            self._pending_events.append(taken)
            if isinstance(taken, MetricsLogged):
                self.metric_check.saw(trial.run_id, taken)
        if finished.log_path:
            self._log_output(trial.run_id, Path(finished.log_path))
        self._drop_live_log(trial)
        self._requests.release(trial.run_id)
        if trial.interrupted and status in (RunStatus.FINISHED, RunStatus.PRUNED):
            trial.stop_reason = None  # it ended (or was pruned) before the stop reached it: a result
        error = finished.error or trial.stop_reason
        refused = self._guard.reason(trial.run_id)
        if refused is not None:
            status, error = RunStatus.FAILED, refused
        elif trial.interrupted:  # the mark resume goes by wins over what the executor saw
            status, error = RunStatus.KILLED, trial.stop_reason
        values = trial.objective(self.spec) if status is RunStatus.FINISHED else None
        self.metric_check.some_run = self.metric_check.some_run or trial.run_id
        if status is RunStatus.FINISHED:
            self._check_metric(trial)
        if status is RunStatus.FINISHED and values is None:
            status = RunStatus.FAILED
            error = f"objective metric {self.spec.metric.name!r} was never logged"
        self._pending_events.append(
            RunEnded(run_id=trial.run_id, status=status, end_time=_now_ms(), error=_tail(error))
        )
        self._ends_pending = True  # written with the next run's creation, or after this dispatch
        self._tell(trial, status, values)

    def _tell(self, trial: Running, status: RunStatus, values: list[float] | None) -> None:
        if trial.interrupted:  # not a result: it runs again on resume
            self.search.tell(trial.search_number, Outcome.FAILED, None)
            self.ledger.counts.interrupted += 1
            return
        if status is RunStatus.FINISHED and values is not None:
            self.search.tell(trial.search_number, Outcome.COMPLETE, values)
            if values:  # a sweep without a metric ranks nothing
                self._note_best(trial, values[0])
        elif status is RunStatus.PRUNED:
            self.search.tell(trial.search_number, Outcome.PRUNED, None)
        else:
            self.search.tell(trial.search_number, Outcome.FAILED, None)
            if status is RunStatus.FAILED and trial.retried < self.spec.retries and not self._stop_new:
                self.ledger.pending.append(trial.retry())
                return
        self.ledger.counts.add(status)

    def _check_metric(self, trial: Running) -> None:
        """The first trial to finish: a metric it never logged is most likely a typo in the spec.
        The warning is kept as a tag of its run, where ``sweep show`` finds it."""
        message = self.metric_check.first_finished(trial.run_id, trial.number)
        if message is None:
            return
        self._pending_events.append(TagsSet(run_id=trial.run_id, tags={WARNING_TAG: message}))
        if self.on_warning is not None:
            self.on_warning(message)
        else:  # logging, not warnings.warn: a -W error run must not fail the sweep for it
            logging.getLogger("sweeptrack").warning(message)

    def _note_starved_pruner(self) -> None:
        """A pruner that never got a value pruned nothing; a tag of a trial's run says so."""
        note = self.metric_check.pruner_starved(self.ledger.counts.done)
        if note is not None and self.metric_check.some_run is not None:
            self._pending_events.append(TagsSet(run_id=self.metric_check.some_run, tags={PRUNING_TAG: note}))

    def _note_best(self, trial: Running, value: float) -> None:
        goal = self.spec.metric.goal
        self.ledger.best.offer(goal, value, trial.number, trial.run_id, trial.params)
        target = self.spec.metric.target
        if not math.isfinite(value):  # a diverged trial (inf) meets no target
            return
        if target is not None and (
            value >= target if self.spec.metric.goal is Goal.MAXIMIZE else value <= target
        ):
            self._stop_new = True
            self._target_met = True

    def _refuse(self, run_id: str) -> None:
        """A trial sent a value no backend stores: stop it; it ends FAILED with the guard's reason."""
        trial = self.ledger.running.get(run_id)
        if trial is not None and trial.stop_reason is None:
            trial.stop_reason = self._guard.reason(run_id)
            self.executor.cancel(run_id, RunStatus.FAILED)

    def _log_output(self, run_id: str, log_path: Path) -> None:
        if not log_path.is_file() or log_path.stat().st_size == 0:
            return
        try:
            artifact = store_output(self.artifacts, log_path, OUTPUT_ARTIFACT)  # capped
        except SweepTrackError:
            return
        self._pending_events.append(ArtifactLogged(run_id=run_id, artifact=artifact))

    # -- stopping ---------------------------------------------------------------------------------
    def _check_signal(self) -> None:
        """Ctrl-C or SIGTERM arrived: end the running trials as interrupted and start none."""
        if self._signal is None or self._signal_handled:
            return
        self._signal_handled = True
        self._stop_new = True
        self._state = SweepState.STOPPED
        self._cancel_all(RunStatus.KILLED, interrupted(signal_cause(self._signal)))

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
            self._cancel_all(RunStatus.KILLED, interrupted(f"sweep timeout of {timeout:g} s reached"))
        if now - self._last_stop_check < _STOP_CHECK_EVERY_S:
            return
        self._last_stop_check = now
        if self.store.get_sweep(self.sweep_id).state is SweepState.STOPPING and not self._stop_new:
            self._stop_new = True
            self._state = SweepState.STOPPED

    def _cancel_all(self, status: RunStatus, reason: str, *, wait: bool = True) -> None:
        """Stop every running trial (``wait``: until they ended, at most 30 s); what is left is
        ended here. A staged trial withdrawn keeps its number for later."""
        for trial in list(self.ledger.running.values()):
            trial.stop_reason = reason
            self.executor.cancel(trial.run_id, status)
        deadline = time.monotonic() + (30 if wait else 0)
        while self.ledger.running and time.monotonic() < deadline:
            self._handle(self.executor.poll(0.1))
        self._flush_events(force=True)  # the runs of trials that started meanwhile exist first
        for trial in list(self.ledger.running.values()):
            del self.ledger.running[trial.run_id]
            self._requests.release(trial.run_id)
            self._drop_live_log(trial)
            if trial.started:  # a staged trial that never started left nothing to end
                self.store.end_run(trial.run_id, status, _now_ms(), reason)
                if trial.interrupted:
                    self.ledger.counts.interrupted += 1
                else:
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
        self._guard.apply(self.store, merge_metric_batches(events), self._refuse)

    def _note_live_logs(self) -> None:
        """Note where the output of each trial that has run for a while grows, for `runs logs
        --follow` (which waits that long for a note). Trials shorter than that are never noted:
        a note is two file writes, and sweeps of short trials start hundreds a second."""
        now = time.monotonic()
        for trial in self.ledger.running.values():
            if not trial.live_noted and trial.started and now - trial.since >= _NOTE_LIVE_AFTER_S:
                trial.live_noted = True
                self._live_logs.note(trial.run_id, _HOST, self.executor.live_log(trial.run_id))

    def _drop_live_log(self, trial: Running) -> None:
        if trial.live_noted:
            self._live_logs.drop(trial.run_id)

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
                interrupted=counts.interrupted,
                best_value=self.ledger.best.value,
                best_trial=self.ledger.best.number,
                elapsed=elapsed,
                eta=self._eta(counts, elapsed),
            )
        )

    def _eta(self, counts: Counts, elapsed: float) -> float | None:
        """None until a trial ended in this run: a resumed sweep's restored counts say nothing
        of how fast this run goes."""
        done_here = counts.done - self._done_before
        if self.budget is None or done_here <= 0:
            return None
        remaining = max(self.budget - counts.done, 0)
        return elapsed / done_here * remaining

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
            interrupted=counts.interrupted,
            stop_signal=self._signal,
            cap_reached=self._cap_reached,
            best_run_id=self.ledger.best.run_id,
            best_value=self.ledger.best.value,
            best_params=dict(self.ledger.best.params),
            elapsed=time.monotonic() - self._started,
            warnings=self.metric_check.warnings,
            pruner_starved=self.metric_check.pruner_starved(counts.done),
        )


def _attempt_tags(pending: Pending) -> dict[str, str]:
    """A later attempt of a number names its attempt and the run it follows (retried or interrupted)."""
    if pending.attempt == 1:
        return {}
    tags = {"sweeptrack.attempt": str(pending.attempt)}
    if pending.previous_run is not None:
        tags["sweeptrack.previous_run"] = pending.previous_run
    return tags


def _tail(error: str | None) -> str | None:
    if error is None or len(error) <= _TAIL:
        return error
    return "..." + error[-_TAIL:]


def _now_ms() -> int:
    return int(time.time() * 1000)
