"""The executor contract: TrialRequest in, TrialMessages out.

The controller submits a :class:`TrialRequest` for each trial (its run already exists in the
database), then calls :meth:`Executor.poll` in its loop. Poll returns, in order per trial:
:class:`TrialEvents` (what the training code logged: metric batches, params, tags, artifacts, ...)
and exactly one final :class:`TrialFinished`. Every event a trial emitted before it ended is
delivered before its TrialFinished.

Crashes are outcomes, not errors: an exception, ``sys.exit(3)``, ``os._exit``, SIGKILL or
MemoryError in a trial gives ``TrialFinished(status=FAILED, error=...)`` and the executor goes on
with the next trial. ``prune`` asks a trial to stop (``st.should_prune()`` turns true); a trial
that has not ended ``grace`` seconds later is sent SIGTERM, then SIGKILL, and finishes PRUNED.

Staging: an executor whose :attr:`Executor.lookahead` is above 0 takes that many trials beyond its
:attr:`~Executor.capacity` and holds them ready where they will run, so one starts the moment a
slot frees instead of a round trip later. A trial that did not start when it was submitted gets a
:class:`TrialStarted` when it starts, before any of its events; one that never starts (cancelled
while it waits) gets only its TrialFinished.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sweeptrack.core.channel import TrialEvents, TrialFinished, TrialMessage, TrialStarted
from sweeptrack.core.model import RunStatus
from sweeptrack.spec.model import Resources

__all__ = ["Executor", "TrialEvents", "TrialFinished", "TrialMessage", "TrialRequest", "TrialStarted"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialRequest:
    """One trial to run.

    Exactly one of ``entrypoint`` (``module:function``, called with ``call_params``), ``function``
    (a callable, called the same way; the local executor forks its worker from this process, the
    Ray executor ships it by value) and ``argv`` (a command, macros already expanded) is set.
    ``search_path`` lists folders to import the entrypoint module from and to resolve relative
    paths against, in order.
    """

    trial_id: str  # the trial's run id
    number: int
    experiment: str
    name: str
    params: Mapping[str, Any]  # flat, dotted names (what is logged)
    call_params: Mapping[str, Any]  # as the function receives them (nested blocks nested)
    entrypoint: str | None = None
    argv: tuple[str, ...] | None = None
    cwd: str = "."
    search_path: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None  # seconds
    resources: Resources = field(default_factory=Resources)
    artifact_root: str | None = None
    function: Callable[..., Any] | None = field(default=None, compare=False)


class Executor(abc.ABC):
    """Runs trials. Not thread-safe: one controller thread drives it."""

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """How many more trials can be submitted now without queueing (0 when full)."""

    @property
    def lookahead(self) -> int:
        """How many more trials it takes now beyond :attr:`capacity`, to start them as soon as a
        slot frees (see staging in the module docstring); 0: none."""
        return 0

    @abc.abstractmethod
    def check(self, resources: Resources) -> None:
        """Raise SweepError, before anything is dispatched, when no trial with these resources
        could ever run here (naming the request and what the machine or cluster has)."""

    @abc.abstractmethod
    def submit(self, request: TrialRequest) -> None:
        """Start a trial (returns at once)."""

    @abc.abstractmethod
    def poll(self, timeout: float) -> list[TrialMessage]:
        """Messages that arrived, waiting up to ``timeout`` seconds for the first one."""

    @abc.abstractmethod
    def prune(self, trial_id: str, grace: float = 5.0) -> None:
        """Ask a running trial to stop; it finishes PRUNED (forced after ``grace`` seconds)."""

    @abc.abstractmethod
    def cancel(self, trial_id: str, status: RunStatus = RunStatus.KILLED, grace: float = 5.0) -> None:
        """Stop a running trial (timeout, sweep stop); it finishes with ``status``."""

    @abc.abstractmethod
    def live_log(self, trial_id: str) -> str | None:
        """The file on this machine where a submitted trial's output (stdout and stderr) grows
        while it runs, or None where the output stays on a worker node until the trial ends (its
        TrialFinished's ``log_path`` then has it)."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Stop every trial and worker; no message is delivered afterwards."""

    @property
    @abc.abstractmethod
    def running(self) -> int:
        """Trials submitted and not yet finished."""
