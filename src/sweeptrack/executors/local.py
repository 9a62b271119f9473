"""The local executor: function trials on a pool of long-lived worker processes, command trials as
subprocesses, every trial's events relayed over a private Unix socket.

Example:
    >>> executor = LocalExecutor(2, log_dir=Path("logs"))             # doctest: +SKIP
    >>> executor.submit(TrialRequest(trial_id="t1", number=0, experiment="digits", name="trial-0",
    ...                              params={"lr": 0.1}, call_params={"lr": 0.1},
    ...                              entrypoint="train:main", search_path=("/work",)))
    >>> messages = executor.poll(1.0)                                   # TrialEvents ..., TrialFinished

How it works: the executor listens on ``channel.sock`` in a private temporary folder, with a random
key. A function trial goes to an idle worker (``python -m sweeptrack.executors.worker``, started on
demand, at most ``parallel`` of them, each in its own process group), which runs it with the
trial's run active and its output in the trial's log file; a trial of a function given as an
object goes to a worker forked from this process, which has that function. A command trial is a
fresh process (in its own process group) whose environment names the socket, the key and the trial
(:func:`sweeptrack.trial.trial_env`), so ``import sweeptrack as st; st.log_metrics(...)`` in it
reaches the controller. Reader threads turn everything that happens into one queue that
:meth:`LocalExecutor.poll` drains; all decisions (timeouts, the grace after a prune, which trial
starts next) are taken in the controller's thread inside :meth:`~LocalExecutor.poll`, so the
controller must keep polling while trials run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sweeptrack.core.channel import (
    Events,
    ExecutorSide,
    Finished,
    Prune,
    Sync,
    SyncAck,
    TrialHello,
    TrialSide,
    WorkerHello,
)
from sweeptrack.core.errors import SweepError
from sweeptrack.core.events import Event
from sweeptrack.core.model import RunStatus
from sweeptrack.executors.base import (
    Executor,
    TrialEvents,
    TrialFinished,
    TrialMessage,
    TrialRequest,
    TrialStarted,
)
from sweeptrack.executors.channel import ChannelServer, Closed, Connected, Exited, Inbound, Received
from sweeptrack.executors.gpus import GpuInventory, NvmlInventory
from sweeptrack.executors.processes import (
    Process,
    describe_exit,
    fork_worker,
    gpu_env,
    log_tail,
    resolve_argv,
    run_message,
    signal_group,
    start_command,
    start_worker,
)
from sweeptrack.executors.resources import ResourcePool, available_cpus
from sweeptrack.spec.model import Resources
from sweeptrack.trial import trial_env

__all__ = ["LocalExecutor"]

# How long a process that exited may take to deliver what is still in its socket.
_DRAIN_WAIT = 2.0
_SHUTDOWN_WAIT = 2.0


@dataclass(eq=False)
class _Worker:
    key: int
    proc: Process
    gpus: tuple[str, ...]
    log_path: Path
    function: Callable[..., Any] | None = None  # a forked worker's own function
    conn_id: int | None = None
    trial: _Trial | None = None
    returncode: int | None = None
    exited_at: float = 0.0
    closed: bool = False  # its connection ended
    retired: bool = False  # gets no more trials (being stopped, or gone)


@dataclass(eq=False)
class _Trial:
    request: TrialRequest
    log_path: Path
    started: bool = False
    report_start: bool = False  # it gets a TrialStarted when it starts
    gpus: tuple[str, ...] = ()
    worker: _Worker | None = None
    proc: Process | None = None
    conns: set[int] = field(default_factory=set)
    returncode: int | None = None
    exited_at: float = 0.0
    outcome: tuple[RunStatus, str | None] | None = None  # decided by prune/cancel/timeout
    pruning: bool = False
    deadline: float | None = None  # the request's timeout
    term_at: float | None = None
    kill_at: float | None = None
    stop_grace: float = 0.0
    done: bool = False

    @property
    def id(self) -> str:
        return self.request.trial_id


class LocalExecutor(Executor):
    """Runs trials on this machine, at most ``parallel`` at a time.

    Args:
        parallel: Most trials running at once (and most worker processes).
        cpu_count: CPUs to share among trials by their ``resources.cpu`` (default: the CPUs this
            process may use).
        gpus: The GPUs to hand out by ``resources.gpu`` and ``resources.gpu_memory`` (a trial's
            ``CUDA_VISIBLE_DEVICES``): an inventory, or plain ids (cards of unknown memory); default:
            those NVML finds (only those the ``CUDA_VISIBLE_DEVICES`` of this process lists, when it
            is set). With none, a request for a GPU is refused at :meth:`submit`; a trial that asks
            for no GPU gets no ``CUDA_VISIBLE_DEVICES`` from the executor.
        grace: Seconds between SIGTERM and SIGKILL when a trial times out, and the default grace of
            :meth:`prune` and :meth:`cancel`.
        log_dir: Folder for the trials' log files (``<trial id>.log``) and the workers' own logs.
        resources: What each trial needs, until a request says otherwise (sizes :attr:`capacity`).
    """

    def __init__(
        self,
        parallel: int,
        *,
        cpu_count: int | None = None,
        gpus: GpuInventory | Sequence[int | str] | None = None,
        grace: float = 5.0,
        log_dir: Path,
        resources: Resources | None = None,
    ) -> None:
        if parallel < 1:
            raise SweepError(f"parallel: {parallel}: must be at least 1")
        self.parallel = parallel
        self.grace = grace
        self.log_dir = Path(log_dir)
        if gpus is None:
            gpus = NvmlInventory(os.environ.get("CUDA_VISIBLE_DEVICES"))
        self._pool = ResourcePool(cpu_count if cpu_count is not None else available_cpus(), gpus)
        self._shape = resources or Resources()
        self._server: ChannelServer | None = None  # the socket is made at the first submit
        self._trials: dict[str, _Trial] = {}  # submitted and not finished
        self._waiting: deque[_Trial] = deque()
        self._started = 0  # trials started and not finished
        self._workers: dict[int, _Worker] = {}
        self._procs: dict[int, _Worker | _Trial] = {}  # by process key, until its exit is handled
        self._conns: dict[int, _Worker | _Trial | None] = {}  # by connection id, until it closes
        self._settling: set[_Worker | _Trial] = set()  # exited, waiting for their last messages
        self._outbox: list[TrialMessage] = []
        self._syncs_seen: list[tuple[int, int]] = []  # (connection, token) asked during this poll
        self._syncs_due: list[tuple[int, int]] = []  # answered at the start of the next poll
        self._keys = itertools.count(1)
        self._closed = False

    # -- the Executor interface ----------------------------------------------------------------
    @property
    def capacity(self) -> int:
        limit = min(self.parallel, self._pool.slots(self._shape))
        return max(0, limit - len(self._trials))

    @property
    def running(self) -> int:
        return len(self._trials)

    def live_log(self, trial_id: str) -> str | None:
        return str((self.log_dir / f"{trial_id}.log").absolute())

    def check(self, resources: Resources) -> None:
        self._pool.check(resources)

    def prestart(self, wait: float = 0.0) -> None:
        """Start one idle worker process for function trials now, so that the first trial does not
        wait for a Python start; wait up to ``wait`` seconds for it to be ready."""
        if self._closed or self._workers:
            return
        self._open_server()
        worker = self._spawn_worker(())
        deadline = time.monotonic() + wait
        while worker.conn_id is None and worker.returncode is None and time.monotonic() < deadline:
            self.poll(0.02)  # handles its hello; no trial runs yet, so nothing is returned

    def _open_server(self) -> None:
        if self._server is None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._server = ChannelServer()

    def submit(self, request: TrialRequest, *, report_start: bool = False) -> None:
        """Start ``request`` now, or as soon as a slot and its resources are free. A trial that
        waits (or any, with ``report_start``) gets a TrialStarted when it starts, in order with
        the other messages.

        Raises:
            SweepError: The request does not name exactly one of entrypoint, function and command,
                its trial id is already running, it asks for resources this machine does not have, or the
                executor was shut down.
        """
        if self._closed:
            raise SweepError("the local executor was shut down; create a new one")
        if [request.entrypoint, request.function, request.argv].count(None) != 2:
            raise SweepError(f"trial {request.trial_id}: give exactly one of entrypoint, function and argv")
        if request.trial_id in self._trials:
            raise SweepError(f"trial {request.trial_id} is already running")
        self._pool.check(request.resources)
        self._open_server()
        self._shape = request.resources
        log_path = self.log_dir / f"{request.trial_id}.log"
        trial = _Trial(request=request, log_path=log_path, report_start=report_start)
        self._trials[request.trial_id] = trial
        self._waiting.append(trial)
        self._dispatch()
        if not trial.started:  # it waits: its start will be told
            trial.report_start = True

    def poll(self, timeout: float, *, more: bool = False) -> list[TrialMessage]:
        """Messages that arrived, waiting up to ``timeout`` seconds for the first one.

        ``more``: this poll gathers more for a previous one whose messages have not reached the
        controller yet (they go out together), so trials waiting in ``should_prune()`` for a
        verdict on those events keep waiting until the next plain poll.
        """
        if self._closed:
            return []
        server = self._server
        end = time.monotonic() + timeout
        if server is None:
            time.sleep(max(timeout, 0.0))
            return []
        if not more:
            # Trials waiting in should_prune() for a verdict on events the previous poll delivered:
            # the controller has handled those (and sent any prune message) before polling again.
            self._answer_syncs(self._syncs_due)
            self._syncs_due = []
        while True:
            self._drain(server)
            now = time.monotonic()
            self._tick(now)
            if self._outbox or (more and now >= end):
                out, self._outbox = self._outbox, []
                self._syncs_due, self._syncs_seen = self._syncs_due + self._syncs_seen, []
                return out
            if not more:
                self._answer_syncs(self._syncs_seen)  # their events went out in an earlier poll
                self._syncs_seen = []
            wait = end - now
            timer = self._next_timer()
            if timer is not None:
                wait = min(wait, timer - now)
            if now >= end:
                return []
            try:
                item = server.inbox.get(timeout=max(wait, 0.0))
            except queue.Empty:
                continue
            self._handle(server, item)

    def prune(self, trial_id: str, grace: float | None = None) -> None:
        """Ask the trial to stop (``st.should_prune()`` turns true); after ``grace`` seconds
        (default: the executor's) it gets SIGTERM, ``grace`` later SIGKILL. It finishes PRUNED."""
        trial = self._trials.get(trial_id)
        if trial is None or trial.outcome is not None:
            return
        if not trial.started:
            self._finish(trial, RunStatus.PRUNED)
            return
        trial.outcome = (RunStatus.PRUNED, None)
        trial.pruning = True
        trial.stop_grace = self.grace if grace is None else grace
        trial.term_at = time.monotonic() + trial.stop_grace
        for conn_id in self._trial_conns(trial):
            self._send(conn_id, Prune(trial_id))

    def cancel(self, trial_id: str, status: RunStatus = RunStatus.KILLED, grace: float | None = None) -> None:
        """Stop the trial now (SIGTERM, SIGKILL ``grace`` seconds later); it finishes ``status``."""
        trial = self._trials.get(trial_id)
        if trial is not None:
            self._stop(trial, status, None, self.grace if grace is None else grace)

    def shutdown(self) -> None:
        """Stop every trial and worker (their process groups: SIGTERM, then SIGKILL) and remove the
        socket folder. No message is delivered afterwards."""
        if self._closed:
            return
        self._closed = True
        procs = [w.proc for w in self._workers.values()]
        procs += [t.proc for t in self._trials.values() if t.proc is not None]
        for proc in procs:
            signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + min(self.grace, _SHUTDOWN_WAIT)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for proc in procs:  # also whatever the trials started in their groups
            signal_group(proc.pid, signal.SIGKILL)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if self._server is not None:
            self._server.close()
        self._trials.clear()
        self._waiting.clear()
        self._workers.clear()
        self._procs.clear()
        self._conns.clear()
        self._settling.clear()
        self._outbox.clear()

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- starting trials -----------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Start waiting trials, in order, while a slot and their resources are free."""
        while self._waiting:
            if self._started >= self.parallel:
                return
            trial = self._waiting[0]
            gpus = self._pool.take(trial.request.resources)
            if gpus is None:
                return
            self._waiting.popleft()
            trial.started, trial.gpus = True, gpus
            self._started += 1
            now = time.monotonic()
            if trial.request.timeout is not None:
                trial.deadline = now + trial.request.timeout
            if trial.report_start:
                self._outbox.append(TrialStarted(trial_id=trial.id))
            if trial.request.argv is None:
                self._start_function(trial)
            else:
                self._start_command(trial)

    def _start_function(self, trial: _Trial) -> None:
        function = trial.request.function
        worker = self._idle_worker(trial.gpus, function)
        if worker is None:
            try:
                worker = self._spawn_worker(trial.gpus, function)
            except OSError as exc:
                self._finish(trial, RunStatus.FAILED, f"cannot start a worker process: {exc}")
                return
        worker.trial, trial.worker = trial, worker
        if worker.conn_id is not None:
            self._send_run(worker, trial)

    def _idle_worker(self, gpus: tuple[str, ...], function: Callable[..., Any] | None) -> _Worker | None:
        idle = [w for w in self._workers.values() if not w.retired and w.trial is None]
        for worker in idle:
            if worker.gpus == gpus and worker.function is function:
                return worker
        if idle and len([w for w in self._workers.values() if not w.retired]) >= self.parallel:
            # A worker's GPUs are fixed when it starts (CUDA reads them once), and so is a forked
            # worker's function: replace one.
            self._retire(idle[0], signal.SIGKILL)
        return None

    def _spawn_worker(self, gpus: tuple[str, ...], function: Callable[..., Any] | None = None) -> _Worker:
        server = self._server
        assert server is not None
        key = next(self._keys)
        log_path = self.log_dir / "workers" / f"worker-{os.getpid()}-{key}.log"
        proc: Process
        if function is None:
            proc = start_worker(server.address, server.authkey, key, gpus, log_path)
        else:
            fds = server.descriptors()
            proc = fork_worker(server.address, server.authkey, key, gpus, log_path, function, fds)
        worker = _Worker(key=key, proc=proc, gpus=gpus, log_path=log_path, function=function)
        self._workers[key] = worker
        self._procs[key] = worker
        server.watch(key, proc)
        return worker

    def _send_run(self, worker: _Worker, trial: _Trial) -> None:
        assert worker.conn_id is not None
        if self._send(worker.conn_id, run_message(trial.request, trial.log_path)) and trial.pruning:
            self._send(worker.conn_id, Prune(trial.id))

    def _start_command(self, trial: _Trial) -> None:
        assert self._server is not None
        request = trial.request
        assert request.argv is not None
        argv = resolve_argv(request.argv, request.cwd, request.search_path)
        env = {
            **os.environ,
            **request.env,
            **trial_env(
                address=self._server.address,
                authkey=self._server.authkey,
                trial_id=request.trial_id,
                params=request.params,
                experiment=request.experiment,
                name=request.name,
                artifact_root=request.artifact_root,
            ),
        }
        env.update(gpu_env(trial.gpus))
        try:
            proc = start_command(argv, request.cwd, env, trial.log_path)
        except OSError as exc:
            self._finish(trial, RunStatus.FAILED, str(exc))
            return
        key = next(self._keys)
        trial.proc = proc
        self._procs[key] = trial
        self._server.watch(key, proc)

    # -- what arrives --------------------------------------------------------------------------
    def _drain(self, server: ChannelServer) -> None:
        for _ in range(10_000):  # bounded, so that a flood cannot keep poll from returning
            try:
                item = server.inbox.get_nowait()
            except queue.Empty:
                return
            self._handle(server, item)

    def _handle(self, server: ChannelServer, item: Inbound) -> None:
        if isinstance(item, Received):
            self._on_message(item.conn_id, item.message)
        elif isinstance(item, Connected):
            server.reported(item)
            self._on_hello(item.conn_id, item.hello)
        elif isinstance(item, Closed):
            server.reported(item)
            if item.conn_id is not None:
                server.release(item.conn_id)
                self._on_closed(item.conn_id)
        else:
            self._on_exit(item)
        self._settle()

    def _on_hello(self, conn_id: int, hello: object) -> None:
        owner: _Worker | _Trial | None = None
        if isinstance(hello, WorkerHello):
            worker = self._workers.get(hello.key)
            if worker is not None and worker.returncode is None:
                owner = worker
                worker.conn_id = conn_id
                if worker.trial is not None:
                    self._send_run(worker, worker.trial)
        elif isinstance(hello, TrialHello):
            trial = self._trials.get(hello.trial_id)
            if trial is not None and trial.started and trial.proc is not None and not trial.done:
                owner = trial
                trial.conns.add(conn_id)
                if trial.pruning:
                    self._send(conn_id, Prune(trial.id))
        self._conns[conn_id] = owner
        if owner is None:  # a late or unknown caller: hang up
            self._dropconn(conn_id)

    def _answer_syncs(self, syncs: list[tuple[int, int]]) -> None:
        for conn_id, token in syncs:
            self._send(conn_id, SyncAck(token))

    def _on_message(self, conn_id: int, message: TrialSide) -> None:
        if isinstance(message, Sync):
            self._syncs_seen.append((conn_id, message.token))
            return
        owner = self._conns.get(conn_id)
        if isinstance(owner, _Worker):
            trial = owner.trial
            if trial is None or trial.done:
                return
            if isinstance(message, Events):
                self._emit_events(trial, message.events)
            elif isinstance(message, Finished) and message.trial_id == trial.id:
                owner.trial = None
                owner.retired = owner.retired or message.leaving
                self._finish(trial, message.status, message.error, message.result)
        elif isinstance(owner, _Trial) and not owner.done and isinstance(message, Events):
            self._emit_events(owner, message.events)

    def _on_closed(self, conn_id: int) -> None:
        owner = self._conns.pop(conn_id, None)
        if isinstance(owner, _Worker):
            owner.closed = True
            if owner.returncode is None:  # alive without its channel: it cannot run trials
                self._retire(owner, signal.SIGKILL)
            else:
                self._settling.add(owner)
        elif isinstance(owner, _Trial):
            owner.conns.discard(conn_id)

    def _on_exit(self, item: Exited) -> None:
        owner = self._procs.pop(item.key, None)
        if owner is None:
            return
        now = time.monotonic()
        if isinstance(owner, _Worker):
            owner.returncode, owner.exited_at, owner.retired = item.returncode, now, True
            signal_group(owner.proc.pid, signal.SIGKILL)  # what its trials left running
        else:
            owner.returncode, owner.exited_at = item.returncode, now
            if owner.proc is not None:
                signal_group(owner.proc.pid, signal.SIGKILL)  # what it left running
        self._settling.add(owner)

    def _settle(self) -> None:
        """Finish exited workers and command trials once their last messages are in."""
        if not self._settling:
            return
        assert self._server is not None
        settled = self._server.settled()
        now = time.monotonic()
        for owner in list(self._settling):
            if owner.returncode is None:
                continue
            late = now >= owner.exited_at + _DRAIN_WAIT
            if isinstance(owner, _Worker):
                reading = owner.conn_id is not None and not owner.closed
                if (reading or (owner.conn_id is None and not settled)) and not late:
                    continue
                self._settling.discard(owner)
                self._worker_gone(owner)
            else:
                if (owner.conns or not settled) and not late:
                    continue
                self._settling.discard(owner)
                self._command_done(owner)

    def _worker_gone(self, worker: _Worker) -> None:
        self._workers.pop(worker.key, None)
        trial, worker.trial = worker.trial, None
        if trial is not None and not trial.done:
            if worker.conn_id is None:
                error = f"the worker process failed to start: {describe_exit(worker.returncode)}"
                tail = log_tail(worker.log_path)
            else:
                error = f"worker died: {describe_exit(worker.returncode)}"
                tail = log_tail(trial.log_path)
            self._finish(trial, RunStatus.FAILED, f"{error}\n{tail}" if tail else error)
        self._dispatch()

    def _command_done(self, trial: _Trial) -> None:
        for conn_id in list(trial.conns):
            self._dropconn(conn_id)
        if trial.returncode == 0:
            self._finish(trial, RunStatus.FINISHED)
            return
        error = f"command failed: {describe_exit(trial.returncode)}"
        tail = log_tail(trial.log_path)
        self._finish(trial, RunStatus.FAILED, f"{error}\n{tail}" if tail else error)

    def _emit_events(self, trial: _Trial, events: list[Event]) -> None:
        last = self._outbox[-1] if self._outbox else None
        if isinstance(last, TrialEvents) and last.trial_id == trial.id:
            cast(list[Event], last.events).extend(events)  # a list this executor made: still open
        else:
            self._outbox.append(TrialEvents(trial_id=trial.id, events=list(events)))

    def _finish(
        self, trial: _Trial, status: RunStatus, error: str | None = None, result: object = None
    ) -> None:
        if trial.done:
            return
        trial.done = True
        if trial.outcome is not None:
            status, error = trial.outcome
        self._trials.pop(trial.id, None)
        if trial.started:
            self._started -= 1
            self._pool.give(trial.request.resources, trial.gpus)
        else:
            with contextlib.suppress(ValueError):
                self._waiting.remove(trial)
        log_path = str(trial.log_path) if trial.log_path.exists() else None
        self._outbox.append(
            TrialFinished(trial_id=trial.id, status=status, error=error, result=result, log_path=log_path)
        )
        self._dispatch()

    # -- stopping ------------------------------------------------------------------------------
    def _stop(self, trial: _Trial, status: RunStatus, error: str | None, grace: float) -> None:
        """SIGTERM the trial's process group now and SIGKILL it ``grace`` seconds later."""
        if trial.done:
            return
        trial.outcome = (status, error)
        if not trial.started:
            self._finish(trial, status, error)
            return
        trial.term_at = None
        trial.kill_at = time.monotonic() + grace
        self._signal_trial(trial, signal.SIGTERM)

    def _signal_trial(self, trial: _Trial, signum: signal.Signals) -> None:
        if trial.worker is not None:
            trial.worker.retired = True  # it exits after SIGTERM
            signal_group(trial.worker.proc.pid, signum)
        elif trial.proc is not None:
            signal_group(trial.proc.pid, signum)

    def _retire(self, worker: _Worker, signum: signal.Signals) -> None:
        worker.retired = True
        signal_group(worker.proc.pid, signum)

    def _tick(self, now: float) -> None:
        for trial in [t for t in self._trials.values() if t.started]:
            if trial.deadline is not None and now >= trial.deadline:
                trial.deadline = None
                timeout = trial.request.timeout
                self._stop(trial, RunStatus.FAILED, f"timed out after {timeout:g} s", self.grace)
            if trial.term_at is not None and now >= trial.term_at:
                trial.term_at = None
                trial.kill_at = now + trial.stop_grace
                self._signal_trial(trial, signal.SIGTERM)
            if trial.kill_at is not None and now >= trial.kill_at:
                trial.kill_at = None
                self._signal_trial(trial, signal.SIGKILL)
        self._settle()

    def _next_timer(self) -> float | None:
        times = [
            moment
            for t in self._trials.values()
            for moment in (t.deadline, t.term_at, t.kill_at)
            if moment is not None
        ]
        times += [owner.exited_at + _DRAIN_WAIT for owner in self._settling]
        return min(times) if times else None

    # -- connections ---------------------------------------------------------------------------
    def _trial_conns(self, trial: _Trial) -> list[int]:
        if trial.worker is not None:
            return [trial.worker.conn_id] if trial.worker.conn_id is not None else []
        return list(trial.conns)

    def _send(self, conn_id: int, message: ExecutorSide) -> bool:
        assert self._server is not None
        return self._server.send(conn_id, message)

    def _dropconn(self, conn_id: int) -> None:
        assert self._server is not None
        self._server.drop(conn_id)
