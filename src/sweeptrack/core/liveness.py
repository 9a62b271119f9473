"""Heartbeats and what their absence means: an orphaned sweep, a crashed run.

A sweep's controller holds a lease on it and beats every ``heartbeat_s`` seconds; a lease whose
last beat is older than ``lease_stale_s`` is free, and a RUNNING or STOPPING sweep without a live
lease shows as ``orphaned``. A run's writer (the sweep's controller, for a trial) beats every
``run_heartbeat_s``; a RUNNING run whose last beat (or start, when it never beat) is older than
``run_crashed_s`` shows as ``crashed``. Both are shown states, computed when read: the database
keeps the state the process last wrote, so a late heartbeat makes the thing alive again.

A lease taken on this host (same host name) whose process no longer exists is gone at once, without
waiting for the stale time: a controller killed on this machine can be resumed right away.

The CLI reads overrides from the environment (:meth:`Liveness.from_environ`); the library takes
a :class:`Liveness` as an argument and never reads the environment itself.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.model import Lease, Run, RunStatus, Sweep, SweepState

__all__ = [
    "CRASHED",
    "ENV_HEARTBEAT",
    "ENV_LEASE_STALE",
    "ENV_RUN_CRASHED",
    "ENV_RUN_HEARTBEAT",
    "HEARTBEAT_S",
    "LEASE_STALE_S",
    "ORPHANED",
    "RUN_CRASHED_S",
    "RUN_HEARTBEAT_S",
    "Liveness",
    "process_gone",
]

HEARTBEAT_S = 5.0  # a controller beats this often
LEASE_STALE_S = 20.0  # four missed beats: the controller is gone, its sweep is orphaned
RUN_HEARTBEAT_S = 30.0  # a run's writer beats this often, even when the run logs nothing
RUN_CRASHED_S = 300.0  # ten missed beats: the run's process is gone, the run crashed

ENV_HEARTBEAT = "SWEEPTRACK_HEARTBEAT_S"
ENV_LEASE_STALE = "SWEEPTRACK_LEASE_STALE_S"
ENV_RUN_HEARTBEAT = "SWEEPTRACK_RUN_HEARTBEAT_S"
ENV_RUN_CRASHED = "SWEEPTRACK_RUN_CRASHED_S"

ORPHANED = "orphaned"
CRASHED = "crashed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Liveness:
    """How often processes beat and how long a silence means they are gone (seconds).

    Example:
        >>> Liveness().sweep_state_shown(sweep, now_ms)   # doctest: +SKIP
        'orphaned'
    """

    heartbeat_s: float = HEARTBEAT_S
    lease_stale_s: float = LEASE_STALE_S
    run_heartbeat_s: float = RUN_HEARTBEAT_S
    run_crashed_s: float = RUN_CRASHED_S

    def __post_init__(self) -> None:
        for name, beat, stale in (
            ("lease", self.heartbeat_s, self.lease_stale_s),
            ("run", self.run_heartbeat_s, self.run_crashed_s),
        ):
            if not (math.isfinite(beat) and beat > 0 and math.isfinite(stale)):
                raise SweepTrackError(f"{name} heartbeat of {beat:g} s: must be a positive number")
            if stale < 2 * beat:
                raise SweepTrackError(
                    f"{name} heartbeat every {beat:g} s, gone after {stale:g} s: the silence must be "
                    "at least two heartbeats, or live processes would look gone"
                )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Liveness:
        """The defaults, with ``SWEEPTRACK_HEARTBEAT_S``, ``SWEEPTRACK_LEASE_STALE_S``,
        ``SWEEPTRACK_RUN_HEARTBEAT_S`` and ``SWEEPTRACK_RUN_CRASHED_S`` applied where set."""
        values: dict[str, float] = {}
        for field_name, variable in (
            ("heartbeat_s", ENV_HEARTBEAT),
            ("lease_stale_s", ENV_LEASE_STALE),
            ("run_heartbeat_s", ENV_RUN_HEARTBEAT),
            ("run_crashed_s", ENV_RUN_CRASHED),
        ):
            text = environ.get(variable, "").strip()
            if not text:
                continue
            try:
                values[field_name] = float(text)
            except ValueError:
                raise SweepTrackError(f"{variable}={text!r}: not a number of seconds") from None
        return cls(**values)

    # -- sweeps -------------------------------------------------------------------------------
    def lease_fresh(self, sweep: Sweep, now_ms: int) -> bool:
        """Whether a controller holds ``sweep``, beat within the stale time and is not known dead."""
        lease = sweep.lease
        if lease is None or now_ms - lease.heartbeat_at > self.lease_stale_s * 1000:
            return False
        return not process_gone(lease)

    def stale_before(self, now_ms: int) -> int:
        """A lease whose heartbeat is older than this (ms) is free."""
        return now_ms - int(self.lease_stale_s * 1000)

    def sweep_orphaned(self, sweep: Sweep, now_ms: int) -> bool:
        """RUNNING or STOPPING, but no controller beats for it (killed, or a database from before
        leases): nobody will finish or stop it, and it can be resumed at once."""
        if sweep.state not in (SweepState.RUNNING, SweepState.STOPPING):
            return False
        return not self.lease_fresh(sweep, now_ms)

    def sweep_state_shown(self, sweep: Sweep, now_ms: int) -> str:
        """``orphaned`` for an orphaned sweep, else its state's value."""
        return ORPHANED if self.sweep_orphaned(sweep, now_ms) else sweep.state.value

    # -- runs ---------------------------------------------------------------------------------
    def run_crashed(self, run: Run, now_ms: int) -> bool:
        """RUNNING, and neither a heartbeat nor (never beaten) its start within the crash time."""
        if run.status is not RunStatus.RUNNING:
            return False
        last = run.heartbeat_at if run.heartbeat_at is not None else run.start_time
        return now_ms - last > self.run_crashed_s * 1000

    def run_status_shown(self, run: Run, now_ms: int) -> str:
        """``crashed`` for a crashed run, else its status's value."""
        return CRASHED if self.run_crashed(run, now_ms) else run.status.value


def process_gone(lease: Lease) -> bool:
    """Whether the lease's process is known to be dead: it ran on this host, and no process has
    its pid any more. False for another host's lease (only its heartbeat can tell)."""
    if lease.host != socket.gethostname():
        return False
    try:
        os.kill(lease.pid, 0)  # signal 0: nothing is sent, only whether the pid exists
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    return False
