"""The Ray executor: trials on a Ray cluster (or a local Ray it starts), one long-lived actor per slot.

Example:
    >>> executor = RayExecutor(4, address="10.0.0.5:6379", log_dir=Path("logs"),   # doctest: +SKIP
    ...                        resources=Resources(cpu=1, gpu=0.5))
    >>> executor.submit(request)                                                  # doctest: +SKIP
    >>> messages = executor.poll(1.0)                # TrialEvents ..., TrialFinished

How it works: at most ``parallel`` slot actors (:class:`~sweeptrack.executors.ray_slot.TrialSlot`,
kept by a :class:`~sweeptrack.executors.ray_pool.SlotPool`) are created, each once, with the
trials' resources (``num_cpus``, ``num_gpus`` including fractions, custom resources), so Ray
places them and a trial costs one actor call, not an actor or a process start; a trial goes only
to a slot Ray has placed. Each slot runs its trial on its own node the way the local executor does and
is driven by short calls (``call(commands, 0.2)``) that hand it submits, prunes and cancels and
bring back what the trial emitted: prune decisions reach a trial within a fraction of a second,
and a trial's events are its slot's call results, so they reach the controller through Ray.

Short trials are staged: while trials lately kept their slots busy for under 0.1 s, the executor
takes trials beyond ``parallel`` (its :attr:`~RayExecutor.lookahead`) and queues them on the busy
slots' nodes, as many as cover a round trip (:class:`~sweeptrack.executors.ray_pool.Pace`), so the
next trial starts the moment one ends and one call brings back the ends of several. A staged
trial's start comes back as a :class:`~sweeptrack.executors.base.TrialStarted`.

A slot whose actor dies (its process killed, its node lost) fails its trial with the reason
("ray actor died: ...") and is replaced on the next dispatch; the controller re-queues the trial
under the spec's retries. Timeouts, the grace after a prune and crashes of the trial itself are
handled on the slot's node by its local executor, with the same outcomes as on one machine.

As the local executor, all decisions are taken in the controller's thread inside :meth:`poll`.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeptrack.core.channel import Cancel, Prune, ShippedEvents, SlotCommand, Submit
from sweeptrack.core.errors import SweepError
from sweeptrack.core.model import RunStatus
from sweeptrack.executors.base import (
    Executor,
    TrialFinished,
    TrialMessage,
    TrialRequest,
    TrialStarted,
)
from sweeptrack.executors.ray_cluster import (
    Connection,
    actor_options,
    alive_node_resources,
    check_resources,
    connect,
    death_reason,
    lost_node,
)
from sweeptrack.executors.ray_gpus import cluster_shape
from sweeptrack.executors.ray_pool import Slot, SlotPool
from sweeptrack.executors.ray_slot import TrialSlot, land_blobs, land_log, pack, unpack
from sweeptrack.executors.resources import available_cpus
from sweeptrack.spec.model import Resources

__all__ = ["RayExecutor"]

# How long one slot call waits for a trial's messages: bounds the delay of a prune or a cancel.
_SLOT_POLL = 0.2
_SHUTDOWN_WAIT = 5.0
# An actor Ray calls unavailable (a lost connection) is called again for this long before its
# trial fails; a lost node turns into "actor died" once the head has noticed (seconds).
_UNREACHABLE_LIMIT = 60.0
_RETRY_DELAY = 0.5
# A trial with a timeout whose slot says nothing (e.g. its actor can no longer be placed) is failed
# by the controller this long after its node-side timeout and grace should have ended it.
_BACKSTOP_SLACK = 30.0


@dataclass(eq=False)
class _Trial:
    request: TrialRequest
    staged: bool = False  # submitted beyond the capacity: its start is reported (TrialStarted)
    slot: Slot | None = None
    started_at: float | None = None  # when it started on its slot (as seen here)
    outcome: tuple[RunStatus, str | None] | None = None  # asked by prune/cancel
    backstop: float | None = None  # past its timeout and every grace, with no word from its slot

    @property
    def id(self) -> str:
        return self.request.trial_id


class RayExecutor(Executor):
    """Runs trials on Ray, at most ``parallel`` at a time.

    Args:
        parallel: Most trials running at once (and most slot actors).
        address: The cluster: ``host:port`` (the head's GCS), ``ray://host:10001``, ``auto``; None
            or ``"none"`` starts a local Ray, shut down with the executor. Nothing connects until
            the first :meth:`submit`; a process already connected to Ray keeps its connection.
        grace: Seconds between SIGTERM and SIGKILL when a trial times out, and the default grace of
            :meth:`prune` and :meth:`cancel`.
        log_dir: Folder for the trials' output logs (``<trial id>.log``), copied back from the nodes.
        resources: What each trial needs, until a request says otherwise.
        shared_artifact_root: Whether the nodes can write the requests' artifact root. When not,
            artifacts are stored on the trial's node, shipped through Ray and stored here with the
            same digests. Default: shared for a local Ray, not shared for a cluster.
    """

    def __init__(
        self,
        parallel: int,
        *,
        address: str | None,
        grace: float = 5.0,
        log_dir: Path,
        resources: Resources | None = None,
        shared_artifact_root: bool | None = None,
    ) -> None:
        if parallel < 1:
            raise SweepError(f"parallel: {parallel}: must be at least 1")
        self.parallel = parallel
        self.address = address
        self.grace = grace
        self.log_dir = Path(log_dir)
        self._shape = resources or Resources()
        local = address is None or address.lower() == "none"
        self.shared_artifact_root = local if shared_artifact_root is None else shared_artifact_root
        self._connection: Connection | None = None
        self._slot_class: Any = None
        self._shapes: list[tuple[Resources, Resources]] = []  # checked requests, as Ray is asked them
        self._pool = SlotPool(parallel, self._new_actor, self._slot_failed)
        self._trials: dict[str, _Trial] = {}
        self._waiting: deque[_Trial] = deque()
        self._outbox: list[TrialMessage] = []
        self._pickled: tuple[Any, bytes] | None = None  # the last function shipped, and its pickle
        self._closed = False

    # -- the Executor interface ----------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return max(0, self.parallel - len(self._trials))

    @property
    def lookahead(self) -> int:
        """Trials to stage in the slots' queues: as many as keep each slot busy while its results
        travel (see :class:`~sweeptrack.executors.ray_pool.Pace`); none for long trials."""
        depth = self._pool.pace.depth
        if depth == 0:
            return 0
        return max(0, self.parallel * (1 + depth) - max(len(self._trials), self.parallel))

    @property
    def running(self) -> int:
        return len(self._trials)

    def live_log(self, trial_id: str) -> str | None:
        return None  # the output grows on the trial's node; it is copied back when the trial ends

    def submit(self, request: TrialRequest) -> None:
        """Start ``request`` on a free slot (or as soon as one is free).

        Raises:
            SweepError: The request does not name exactly one of entrypoint, function and command,
                its trial id is already running, the cluster cannot be reached, no node of it can satisfy the
                request's resources (or it has no GPU for a GPU request), or the executor was
                shut down.
        """
        if self._closed:
            raise SweepError("the Ray executor was shut down; create a new one")
        if [request.entrypoint, request.function, request.argv].count(None) != 2:
            raise SweepError(f"trial {request.trial_id}: give exactly one of entrypoint, function and argv")
        if request.trial_id in self._trials:
            raise SweepError(f"trial {request.trial_id} is already running")
        self.check(request.resources)
        self._shape = request.resources
        trial = _Trial(request=request, staged=self.capacity == 0)
        if not trial.staged:
            self._set_backstop(trial)
        self._trials[request.trial_id] = trial
        self._waiting.append(trial)
        self._dispatch()

    def check(self, resources: Resources) -> None:
        """Connect and refuse at once ``resources`` that no node of the cluster can satisfy (a
        controller may call this before it writes anything; :meth:`submit` does it too).

        Raises:
            SweepError: The cluster cannot be reached, has no GPU for a GPU request, or no node
                has what ``resources`` asks for.
        """
        if self._closed:
            raise SweepError("the Ray executor was shut down; create a new one")
        self._start()
        if self._ray_shape(resources) is None:
            shape = cluster_shape(resources)
            check_resources(shape, alive_node_resources())
            self._shapes.append((resources, shape))
        self._pool.prestart(resources)

    def poll(self, timeout: float) -> list[TrialMessage]:
        if self._closed:
            return []
        end = time.monotonic() + timeout
        if self._connection is None:
            time.sleep(max(timeout, 0.0))
            return []
        import ray

        # Slots whose messages the previous poll returned: the controller has handled those (and
        # sent any prune) before polling again, so a trial waiting for a verdict gets the right one.
        for slot in self._pool.slots:
            if slot.delivered:
                slot.delivered = False
                if slot.ref is None and slot.retry_at is None and (slot.trial is not None or slot.commands):
                    self._call(slot)
        while not self._outbox:
            now = time.monotonic()
            self._check_backstops(now)
            for slot in self._pool.slots:
                if slot.retry_at is not None and now >= slot.retry_at:
                    slot.retry_at = None
                    self._call(slot)
            calls = {slot.ref: slot for slot in self._pool.slots if slot.ref is not None}
            if self._waiting:  # trials wait for a slot to be placed, too
                calls.update({slot.info: slot for slot in self._pool.unplaced()})
            retries = [slot.retry_at for slot in self._pool.slots if slot.retry_at is not None]
            wait = min([end, *retries]) - now
            if not calls:
                time.sleep(max(wait, 0.0))
                if time.monotonic() >= end:
                    break
                continue
            ready, _ = ray.wait(list(calls), num_returns=1, timeout=max(wait, 0.0))
            if ready and len(calls) > 1:  # every call that is back, in one go
                ready, _ = ray.wait(list(calls), num_returns=len(calls), timeout=0)
            for ref in ready:
                if ref is calls[ref].info:
                    self._pool.on_info(calls[ref])
                else:
                    self._receive(calls[ref], ref)
            self._dispatch()
            if time.monotonic() >= end:
                break
        out, self._outbox = self._outbox, []
        return out

    def prune(self, trial_id: str, grace: float | None = None) -> None:
        """Ask the trial to stop (``st.should_prune()`` turns true); after ``grace`` seconds
        (default: the executor's) it is stopped on its node. It finishes PRUNED."""
        trial = self._trials.get(trial_id)
        if trial is None or trial.outcome is not None:
            return
        trial.outcome = (RunStatus.PRUNED, None)
        self._command(trial, Prune(trial_id, self.grace if grace is None else grace))

    def cancel(self, trial_id: str, status: RunStatus = RunStatus.KILLED, grace: float | None = None) -> None:
        """Stop the trial now (SIGTERM, SIGKILL ``grace`` seconds later); it finishes ``status``."""
        trial = self._trials.get(trial_id)
        if trial is None:
            return
        trial.outcome = (status, None)
        self._command(trial, Cancel(trial_id, status, self.grace if grace is None else grace))

    def shutdown(self) -> None:
        """Stop every trial and slot actor (and a local Ray this executor started). No message is
        delivered afterwards."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(_SHUTDOWN_WAIT)
        self._trials.clear()
        self._waiting.clear()
        self._outbox.clear()
        if self._connection is not None:
            self._connection.close()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- slots ---------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._connection is not None:
            return
        import math

        import ray

        cpus = max(available_cpus(), math.ceil(self.parallel * max(self._shape.cpu, 0.0)))
        self._connection = connect(self.address, num_cpus=cpus)
        self._slot_class = ray.remote(max_restarts=0, max_task_retries=0)(TrialSlot)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def _dispatch(self) -> None:
        """Give waiting trials, in order, to idle slots (making or replacing slots as needed), and
        staged ones to the queues of busy slots when no slot is idle."""
        while self._waiting:
            trial = self._waiting[0]
            slot = self._pool.slot_for(trial.request.resources, staged=trial.staged)
            if slot is None:
                return
            if not self._waiting or self._waiting[0] is not trial:
                continue  # that trial failed meanwhile (a slot of its shape could not start)
            self._waiting.popleft()
            trial.slot = slot
            slot.assign(trial)
            if not trial.staged:  # it starts now (a staged trial's slot says when it started)
                trial.started_at = time.monotonic()
            slot.commands.append(self._submit(trial))
            if slot.ref is None and slot.retry_at is None:
                self._call(slot)

    def _submit(self, trial: _Trial) -> Submit:
        """The slot's submit: a function travels pickled by value (a function of a notebook or a
        script's ``__main__`` cannot be imported on the node), once per function object."""
        function = trial.request.function
        if function is None:
            return Submit(trial.request, trial.staged)
        if self._pickled is None or self._pickled[0] is not function:
            from ray import cloudpickle

            self._pickled = (function, cloudpickle.dumps(function))
        request = dataclasses.replace(trial.request, function=None)
        return Submit(request, trial.staged, self._pickled[1])

    def _slot_failed(self, slot: Slot, exc: Exception) -> None:
        """A slot's actor could not start: the first trial waiting for its shape fails with the
        reason, so a slot that never starts does not hold trials for ever."""
        reason = death_reason(exc, lost_node(slot.info))
        trial = next((t for t in self._waiting if t.request.resources == slot.shape), None)
        if trial is not None:
            self._finish(trial, RunStatus.FAILED, reason)

    def _ray_shape(self, resources: Resources) -> Resources | None:
        return next((shape for checked, shape in self._shapes if checked == resources), None)

    def _new_actor(self, request: Resources) -> Any:
        options = actor_options(self._ray_shape(request) or request)
        return self._slot_class.options(**options).remote(self.grace, not self.shared_artifact_root)

    def _call(self, slot: Slot) -> None:
        commands, slot.commands = slot.commands, []
        slot.ref = slot.actor.call.remote(pack(commands), _SLOT_POLL)

    def _command(self, trial: _Trial, command: SlotCommand) -> None:
        slot = trial.slot
        if slot is None:  # still waiting for a slot
            assert trial.outcome is not None
            self._finish(trial, *trial.outcome)
            return
        slot.commands.append(command)
        if slot.ref is None and not slot.delivered and slot.retry_at is None:
            self._call(slot)

    def _receive(self, slot: Slot, ref: Any) -> None:
        import ray

        slot.ref = None
        try:
            messages = unpack(ray.get(ref))
        except ray.exceptions.ActorUnavailableError as exc:
            now = time.monotonic()
            if slot.unreachable_since is None:
                slot.unreachable_since = now
            if now - slot.unreachable_since < _UNREACHABLE_LIMIT:
                slot.retry_at = now + _RETRY_DELAY
            else:
                self._slot_died(slot, exc)
            return
        except ray.exceptions.RayError as exc:
            self._slot_died(slot, exc)
            return
        slot.unreachable_since = None
        for shipped in messages:
            message = shipped if isinstance(shipped, TrialStarted) else shipped.message
            trial = self._trials.get(message.trial_id)
            if trial is None or trial.slot is not slot:
                continue
            if isinstance(shipped, ShippedEvents):
                land_blobs(trial.request.artifact_root, shipped.message, shipped.blobs)
                self._outbox.append(shipped.message)
            elif isinstance(shipped, TrialStarted):
                self._started(slot, trial, shipped)
            else:
                end = shipped.message
                slot.ended(trial.started_at, self._pool.pace)
                self._finish(trial, end.status, end.error, end.result, shipped.log)
        if messages:
            slot.delivered = True
        elif slot.trial is not None or slot.commands:
            self._call(slot)

    def _slot_died(self, slot: Slot, exc: Exception) -> None:
        reason = death_reason(exc, lost_node(slot.info))
        trial = self._drop(slot)
        if trial is not None:
            self._finish(trial, RunStatus.FAILED, reason)

    def _drop(self, slot: Slot) -> _Trial | None:
        """Drop ``slot``: its staged trials, which never started, wait for another slot in their
        order; its running trial (returned) is the caller's to end."""
        self._pool.drop(slot)
        trial, queued = slot.release()
        for staged in reversed(queued):
            staged.slot = None
            self._waiting.appendleft(staged)
        return trial

    def _check_backstops(self, now: float) -> None:
        for trial in [t for t in self._trials.values() if t.backstop is not None and now >= t.backstop]:
            if trial.slot is not None:
                self._drop(trial.slot)
            error = f"timed out after {trial.request.timeout:g} s (its Ray actor never answered)"
            self._finish(trial, RunStatus.FAILED, error)

    def _set_backstop(self, trial: _Trial) -> None:
        if trial.request.timeout is not None:
            trial.backstop = time.monotonic() + trial.request.timeout + 2 * self.grace + _BACKSTOP_SLACK

    # -- messages ------------------------------------------------------------------------------
    def _started(self, slot: Slot, trial: _Trial, message: TrialStarted) -> None:
        """A staged trial started on its slot's node: the next in its queue, or at once."""
        slot.started(trial)
        trial.started_at = time.monotonic()
        self._set_backstop(trial)
        if trial.staged:
            trial.staged = False
            self._outbox.append(message)

    def _finish(
        self,
        trial: _Trial,
        status: RunStatus,
        error: str | None = None,
        result: object = None,
        log: bytes | None = None,
    ) -> None:
        if self._trials.pop(trial.id, None) is None:
            return
        if trial in self._waiting:  # (deque.remove would build a message with its repr)
            self._waiting.remove(trial)
        if trial.slot is not None:
            trial.slot.forget(trial)
        if trial.outcome is not None and status is not trial.outcome[0]:
            # The trial ended otherwise than asked (e.g. its actor died while it was pruned).
            status, error = trial.outcome[0], trial.outcome[1] or error
        log_path = land_log(self.log_dir, trial.id, log)
        self._outbox.append(
            TrialFinished(trial_id=trial.id, status=status, error=error, result=result, log_path=log_path)
        )
