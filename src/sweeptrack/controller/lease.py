"""A controller's lease on its sweep: one controller per sweep, and a visible end when it dies.

The controller takes the lease when it creates or resumes a sweep (one conditional UPDATE, so two
controllers on two machines cannot both win), then a daemon thread with a connection of its own
beats every ``Liveness.heartbeat_s`` seconds: it refreshes the lease and the heartbeat of the
sweep's running trials, whose events only the controller writes. The controller's loop can block
on a long poll; the thread cannot. A beat that finds the lease held by another controller (this
one was silent longer than the stale time, and someone resumed the sweep) marks the lease lost:
the controller starts no new trial and leaves the sweep's state to the new holder. The lease is
released, its columns cleared, when the controller ends in any way but SIGKILL; after that, the
stopped heartbeat shows the sweep as orphaned and frees it for ``sweep resume``.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from datetime import datetime

from sweeptrack.core.errors import SweepError, SweepTrackError
from sweeptrack.core.liveness import Liveness, process_gone
from sweeptrack.core.model import Lease, Sweep
from sweeptrack.tracking.sql.store import SqlStore
from sweeptrack.tracking.store import Store

__all__ = ["SweepLease", "holder_text"]


class SweepLease:
    """This process's hold on one sweep.

    Args:
        db: the tracking database URL (the heartbeat opens its own connection to it).
        liveness: heartbeat interval and stale time.
    """

    def __init__(self, db: str, liveness: Liveness | None = None) -> None:
        self.db = db
        self.liveness = liveness or Liveness()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.sweep_id: str | None = None
        self._name = ""
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = time.monotonic()  # of the last beat that found the lease ours
        self._last_try = 0.0  # of the last beat lost() wrote itself

    def claim(self) -> Lease:
        """The lease this process writes (with a new sweep, or over a free one), as of now."""
        now = _now_ms()
        return Lease(host=self.host, pid=self.pid, since=now, heartbeat_at=now)

    def hold(self, sweep_id: str, name: str) -> None:
        """Start beating for a sweep created with :meth:`claim`'s lease."""
        self.sweep_id, self._name = sweep_id, name
        self._last_beat = time.monotonic()
        self._thread = threading.Thread(target=self._beat, name="sweeptrack-lease", daemon=True)
        self._thread.start()

    def acquire(self, store: Store, sweep: Sweep) -> None:
        """Take ``sweep`` (free, stale or already ours) and start beating.

        Raises:
            SweepError: a controller that is alive holds it.
        """
        now = _now_ms()
        holder = store.acquire_sweep_lease(sweep.id, self.claim(), self.liveness.stale_before(now))
        if holder is not None and process_gone(holder):
            # Killed on this host: its last heartbeat counts as stale now. Still one conditional
            # write: a controller that took the sweep meanwhile has a newer heartbeat and keeps it.
            holder = store.acquire_sweep_lease(sweep.id, self.claim(), holder.heartbeat_at + 1)
        if holder is not None:
            stop = f"sweeptrack sweep stop {sweep.name}"
            raise SweepError(f"{holder_text(sweep.name, holder, now)}; stop it first with `{stop}`")
        self.hold(sweep.id, sweep.name)

    def lost(self) -> str | None:
        """Why this controller no longer holds its sweep, or None while it does.

        Cheap while the heartbeat is fresh. When it is not (this process was frozen, or its
        heartbeat thread starved, past the stale time), another controller may have taken the
        sweep meanwhile: the caller's thread beats itself, so nothing is written on a lost lease
        before the heartbeat thread would have noticed.
        """
        now = time.monotonic()
        stale = now - self._last_beat > self.liveness.lease_stale_s
        tried = now - self._last_try < self.liveness.heartbeat_s  # a database away: not every turn
        if self._lost is None and stale and not tried and self._thread is not None:
            self._last_try = now
            store = SqlStore(self.db)
            try:
                self._beat_once(store)
            finally:
                store.close()
        return self._lost

    def release(self) -> None:
        """Stop beating and clear the lease (when still ours). Safe to call more than once."""
        thread, self._thread = self._thread, None
        if thread is None or self.sweep_id is None:
            return
        self._stop.set()
        thread.join(timeout=30)
        if self._lost is not None:
            return
        store = SqlStore(self.db)
        try:
            store.release_sweep_lease(self.sweep_id, self.host, self.pid)
        except SweepTrackError as exc:  # the stale heartbeat frees it all the same
            print(f"sweeptrack: could not release the lease of sweep {self._name}: {exc}", file=sys.stderr)
        finally:
            store.close()

    def _beat(self) -> None:
        assert self.sweep_id is not None
        store = SqlStore(self.db)
        try:
            while not self._stop.wait(self.liveness.heartbeat_s) and self._lost is None:
                self._beat_once(store)
        finally:
            store.close()

    def _beat_once(self, store: Store) -> None:
        assert self.sweep_id is not None
        try:
            ours = store.heartbeat_sweep(self.sweep_id, self.host, self.pid, _now_ms())
        except SweepTrackError as exc:  # a database briefly away: the next beat tries again
            print(f"sweeptrack: heartbeat of sweep {self._name} failed: {exc}", file=sys.stderr)
            return
        if ours:
            self._last_beat = time.monotonic()
        elif self._lost is None:
            self._lost = self._why_lost(store)
            print(f"sweeptrack: {self._lost}; starting no new trial", file=sys.stderr)

    def _why_lost(self, store: Store) -> str:
        assert self.sweep_id is not None
        try:
            holder = store.get_sweep(self.sweep_id).lease
        except SweepTrackError:
            holder = None
        if holder is None:
            return f"sweep {self._name} lost its lease (this controller was silent too long)"
        return f"sweep {self._name} was taken over: {holder_text(self._name, holder, _now_ms())}"


def holder_text(name: str, lease: Lease, now_ms: int) -> str:
    """``sweep NAME is running under pid N on host H since TIME (last heartbeat S s ago)``."""
    since = datetime.fromtimestamp(lease.since / 1000).astimezone().isoformat(timespec="seconds")
    ago = max(now_ms - lease.heartbeat_at, 0) / 1000
    return (
        f"sweep {name} is running under pid {lease.pid} on host {lease.host} since {since} "
        f"(last heartbeat {ago:.0f} s ago)"
    )


def _now_ms() -> int:
    return int(time.time() * 1000)
