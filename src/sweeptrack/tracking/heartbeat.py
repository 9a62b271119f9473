"""RunHeartbeat: a daemon thread that keeps the heartbeat of a process's live runs fresh.

A run logs when it likes (an epoch can take an hour), so its writes say nothing about whether its
process is alive; this thread beats for every run it was given, at a fixed interval, whether the
run logs or not. A run whose heartbeat stopped (its process was SIGKILLed, its machine died) shows
as ``crashed`` (see :mod:`sweeptrack.core.liveness`).
"""

from __future__ import annotations

import sys
import threading
import time

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.tracking.store import Store

__all__ = ["RunHeartbeat"]


class RunHeartbeat:
    """Beats every ``every`` seconds for the runs added and not yet discarded.

    Args:
        store: where the heartbeats go; the heartbeat owns it (a connection of its own, so the
            run's writer closing its store does not stop the beat) and closes it.
        every: seconds between beats.
    """

    def __init__(self, store: Store, *, every: float) -> None:
        self.store = store
        self.every = every
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run_id: str) -> None:
        """Beat for ``run_id`` from now on (the thread starts with the first run)."""
        with self._lock:
            self._runs.add(run_id)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._loop, name="sweeptrack-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, run_id: str) -> None:
        """Stop beating for ``run_id`` (it ended)."""
        with self._lock:
            self._runs.discard(run_id)

    def close(self) -> None:
        """Stop the thread and close the store; no beat is under way when this returns."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        self.store.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with self._lock:
                runs = sorted(self._runs)
            try:
                self.store.heartbeat_runs(runs, int(time.time() * 1000))
            except SweepTrackError as exc:  # a database briefly away: the next beat tries again
                print(f"sweeptrack: run heartbeat failed: {exc}", file=sys.stderr)
            except Exception as exc:  # a driver error the store did not translate: the same
                print(f"sweeptrack: run heartbeat failed: {type(exc).__name__}: {exc}", file=sys.stderr)
