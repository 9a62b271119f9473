"""BatchedWriter: a background thread that writes run events to a store in batches.

Training code hands events over in microseconds; the thread writes them within ``interval`` seconds
(metric points of one run coalesced into one transaction), and ``flush`` blocks until everything
handed over so far is committed. A write that fails is retried with back-off, so a database that is
briefly locked or unreachable delays points but loses none; ``flush`` and ``close`` raise the last
error if the events still could not be written by their deadline.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass, field

from sweeptrack.core.errors import StoreError, SweepTrackError
from sweeptrack.core.events import Event, merge_metric_batches
from sweeptrack.tracking.store import Store

__all__ = ["BatchedWriter"]


@dataclass(slots=True)
class _Barrier:
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class BatchedWriter:
    """Writes events to ``store`` from a daemon thread.

    Args:
        store: where events go.
        interval: the longest a handed-over event waits before its write starts, in seconds.
        flush_timeout: how long ``flush`` waits for a stuck database before raising.
    """

    def __init__(self, store: Store, *, interval: float = 0.5, flush_timeout: float = 120.0) -> None:
        self.store = store
        self.interval = interval
        self.flush_timeout = flush_timeout
        self._queue: queue.SimpleQueue[Event | _Barrier | None] = queue.SimpleQueue()
        self._pending: list[Event] = []
        self._error: BaseException | None = None  # why pending events are not written yet
        self._dropped: BaseException | None = None  # bad data dropped since the last flush
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sweeptrack-writer", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> None:
        """Hand an event over; returns at once."""
        if self._closed:
            raise StoreError("the run's writer is closed; start a new run to log more")
        self._queue.put(event)

    def flush(self) -> None:
        """Block until every event submitted so far is committed."""
        barrier = _Barrier()
        self._queue.put(barrier)
        if not barrier.done.wait(self.flush_timeout):
            raise StoreError(
                f"could not write to the tracking database within {self.flush_timeout:.0f} s"
                + (f": {self._error}" if self._error else "")
            )
        if barrier.error is not None:
            error = barrier.error
            if isinstance(error, SweepTrackError):
                raise error
            raise StoreError(f"writing to the tracking database failed: {error}") from error

    def close(self) -> None:
        """Flush and stop the thread."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=5)

    # -- the thread ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            deadline = time.monotonic() + self.interval
            stop = False
            barriers: list[_Barrier] = []
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, _Barrier):
                    barriers.append(item)
                else:
                    self._pending.append(item)
                if barriers or stop:
                    # Drain what is already queued, without waiting for more.
                    try:
                        item = self._queue.get_nowait()
                        continue
                    except queue.Empty:
                        break
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    break
            self._write_pending(retry_until=time.monotonic() + self.flush_timeout if barriers else None)
            for barrier in barriers:
                barrier.error = self._error or self._dropped
                barrier.done.set()
            if barriers:
                self._dropped = None
            if stop:
                return

    def _write_pending(self, retry_until: float | None) -> None:
        # One event, one transaction: on a failure, what was written is off the list and is never
        # written twice by the retry.
        self._pending = merge_metric_batches(self._pending)
        delay = 0.05
        transient: BaseException | None = None
        while self._pending:
            try:
                self.store.apply(self._pending[:1])
            except SweepTrackError as exc:
                if not _is_transient(exc):
                    # Bad data (an unknown run, a bad value): drop it so later events still land.
                    self._pending.pop(0)
                    self._dropped = exc
                    print(f"sweeptrack: {exc}", file=sys.stderr)
                    continue
                transient = exc
            except Exception as exc:  # a driver error the store did not translate
                transient = exc
            else:
                self._pending.pop(0)
                continue
            if retry_until is None or time.monotonic() > retry_until:
                break
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        self._error = transient if self._pending else None


def _is_transient(exc: SweepTrackError) -> bool:
    return type(exc) is StoreError
