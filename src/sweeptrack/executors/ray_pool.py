"""The Ray executor's slot actors: made for the trials' resources, placed by Ray, kept, dropped.

A :class:`SlotPool` holds at most ``size`` slots. Each slot is one
:class:`~sweeptrack.executors.ray_slot.TrialSlot` actor made for one shape of resources, and it
runs that shape's trials, one at a time, for as long as trials of that shape come; staged trials
wait in its queue on its node (see :class:`Pace`). A slot takes a trial only once Ray has placed it
(its ``info()`` answered): on a cluster that can place only some of the slots, a trial must not
wait on an unplaced slot while a placed one idles and keeps the resources the other waits for.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.channel import SlotCommand
from sweeptrack.spec.model import Resources

__all__ = ["PRESTART_WAIT", "Pace", "Slot", "SlotPool"]

# How long a sweep's start waits for its first slot to be placed and ready (on a busy cluster its
# trials then simply wait for their slots).
PRESTART_WAIT = 60.0

# Staging: trials that lately kept a slot busy for less than STAGE_BELOW seconds are queued on its
# node behind its running one, as many as cover ROUND_TRIP (a call there and back, with the
# controller's turn), at most MAX_DEPTH: the next trial starts the moment one ends instead of a
# round trip later. Longer trials gain nothing from it (and the search would see results later).
STAGE_BELOW = 0.1
ROUND_TRIP = 0.01
MAX_DEPTH = 16
_PACE_WEIGHT = 0.1


@dataclass(eq=False)
class Slot:
    """One slot actor and what the executor is doing with it."""

    actor: Any
    shape: Resources  # the request it was made for
    info: Any  # a ref to the actor's info(): its node, once placed
    placed: bool = False  # its info() answered: Ray placed it and its worker is up
    trial: Any = None  # the executor's trial running on it
    queue: deque[Any] = field(default_factory=deque)  # staged trials sent to it, to run next in order
    last_end: float = 0.0  # when the end of its last trial came back
    ref: Any = None  # the call in flight
    commands: list[SlotCommand] = field(default_factory=list)
    delivered: bool = False  # its last call brought messages: call again at the next poll
    unreachable_since: float | None = None  # Ray says the actor is unavailable (for now)
    retry_at: float | None = None  # when to call an unavailable actor again

    def assign(self, trial: Any) -> None:
        """Run ``trial`` on this slot: at once when it is idle, else after the trials queued."""
        if self.trial is None:
            self.trial = trial
        else:
            self.queue.append(trial)

    def started(self, trial: Any) -> None:
        """Its node started ``trial``: the next in its queue (the one before it has ended)."""
        if self.trial is not trial:
            _discard(self.queue, trial)
            self.trial = trial

    def forget(self, trial: Any) -> None:
        """``trial`` ended (or never started): it is off this slot."""
        if self.trial is trial:
            self.trial = None
        _discard(self.queue, trial)

    def release(self) -> tuple[Any, list[Any]]:
        """Its running trial and its queued ones, in order, taken off it (the slot is dropped)."""
        trial, queued = self.trial, list(self.queue)
        self.trial = None
        self.queue.clear()
        return trial, queued

    def ended(self, started_at: float | None, pace: Pace) -> None:
        """A trial that started at ``started_at`` ended on it: how long it kept the slot busy
        (from its start, or from the end of the one before, which ever came later: several may
        end in one call) goes into ``pace``."""
        now = time.monotonic()
        if started_at is not None:
            pace.note(now - max(started_at, self.last_end))
        self.last_end = now


class SlotPool:
    """At most ``size`` slots.

    Args:
        size: Most slots at once (the executor's ``parallel``).
        make: Creates the actor of a slot for a request's resources.
        on_failed: Called with a slot whose actor could not start (already dropped) and why.
    """

    def __init__(
        self,
        size: int,
        make: Callable[[Resources], Any],
        on_failed: Callable[[Slot, Exception], None],
    ) -> None:
        self.size = size
        self.slots: list[Slot] = []
        self.pace = Pace()  # how long trials lately kept the slots busy: how deep to stage
        self._make = make
        self._on_failed = on_failed

    def idle_for(self, shape: Resources) -> Slot | None:
        """An idle, placed slot for ``shape``; or None, and the trial waits: this shape's slots
        are being placed (new ones are made in place of idle slots of other shapes)."""
        idle = [slot for slot in self.slots if slot.trial is None]
        same = [slot for slot in idle if slot.shape == shape]
        for slot in same:
            if slot.placed or self.check_placed(slot):
                return slot
        if same:
            return None
        if len(self.slots) >= self.size:
            if not idle:
                return None
            for slot in idle:  # made for other resources: Ray holds those for each one's lifetime
                self.drop(slot)
        while len(self.slots) < self.size:
            self._new(shape)
        return None

    def queue_for(self, shape: Resources) -> Slot | None:
        """A placed, busy slot for ``shape`` with fewer trials queued behind its running one than
        the :attr:`pace` asks for (the one with the fewest), to stage a trial on; or None."""
        depth = self.pace.depth
        busy = [s for s in self.slots if s.shape == shape and s.placed and s.trial is not None]
        open_ = [slot for slot in busy if len(slot.queue) < depth]
        return min(open_, key=lambda slot: len(slot.queue), default=None)

    def slot_for(self, shape: Resources, *, staged: bool) -> Slot | None:
        """An idle, placed slot for ``shape`` (see :meth:`idle_for`); else, for a ``staged``
        trial, a busy one to queue on (see :meth:`queue_for`)."""
        return self.idle_for(shape) or (self.queue_for(shape) if staged else None)

    def unplaced(self) -> list[Slot]:
        return [slot for slot in self.slots if not slot.placed]

    def check_placed(self, slot: Slot) -> bool:
        """Whether ``slot`` is placed, asking Ray without waiting."""
        import ray

        ready, _ = ray.wait([slot.info], timeout=0)
        if ready:
            self.on_info(slot)
        return slot.placed

    def on_info(self, slot: Slot) -> None:
        """``slot.info`` is back: the slot is placed, or its actor could not start (dropped)."""
        import ray

        try:
            ray.get(slot.info)
        except ray.exceptions.RayError as exc:
            self.drop(slot)
            self._on_failed(slot, exc)
            return
        slot.placed = True

    def prestart(self, shape: Resources) -> None:
        """Make every slot for ``shape`` now (unless there are slots), and wait a bounded while for
        them to be placed and their worker to be up: no trial's run time then includes starting
        an actor."""
        if self.slots:
            return
        import ray

        slots = [self._new(shape) for _ in range(self.size)]
        began = time.monotonic()
        ready, pending = ray.wait([slot.info for slot in slots], num_returns=1, timeout=PRESTART_WAIT)
        if ready and pending:  # slots the cluster cannot place now must not hold the sweep back
            window = max(2.0, 2 * (time.monotonic() - began))
            ray.wait(pending, num_returns=len(pending), timeout=window)
        for slot in slots:
            self.check_placed(slot)

    def drop(self, slot: Slot) -> None:
        import ray

        with contextlib.suppress(ValueError):
            self.slots.remove(slot)
        with contextlib.suppress(Exception):
            ray.kill(slot.actor, no_restart=True)

    def shutdown(self, wait: float) -> None:
        """Stop every slot (its trial and processes), waiting at most ``wait`` seconds, then kill it."""
        if not self.slots:
            return
        import ray

        stops = [slot.actor.shutdown.remote() for slot in self.slots]
        with contextlib.suppress(Exception):
            ray.wait(stops, num_returns=len(stops), timeout=wait)
        for slot in self.slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor, no_restart=True)
        self.slots.clear()

    def _new(self, shape: Resources) -> Slot:
        actor = self._make(shape)
        slot = Slot(actor=actor, shape=shape, info=actor.info.remote())
        self.slots.append(slot)
        return slot


class Pace:
    """How long trials lately kept a slot busy (a moving average), and how deep to stage for it."""

    def __init__(self) -> None:
        self.seconds: float | None = None

    def note(self, took: float) -> None:
        self.seconds = took if self.seconds is None else self.seconds + _PACE_WEIGHT * (took - self.seconds)

    @property
    def depth(self) -> int:
        """Trials to queue behind each slot's running one (0: none)."""
        if self.seconds is None or self.seconds >= STAGE_BELOW:
            return 0
        return min(MAX_DEPTH, 1 + math.ceil(ROUND_TRIP / max(self.seconds, 1e-6)))


def _discard(trials: deque[Any], trial: Any) -> None:
    """Remove ``trial`` if it is there (``deque.remove`` would build a message with its repr)."""
    if trial in trials:
        trials.remove(trial)
