"""BatchedWriter: a background thread that writes run events to a store.

Training code hands events over in microseconds; the thread writes what has been handed over as
soon as it arrives (the run's flusher already batches metric points, and consecutive batches of one
run that queued up during a write are merged into one transaction), and ``flush`` blocks until
everything handed over so far is committed.

Two kinds of failure are told apart. A database that is briefly locked or unreachable (a
connection-level :class:`StoreError`) delays events but loses none: the write is retried with
back-off, and ``flush`` raises that error, cause included, if they still could not be written by
its deadline. A value the database refuses (:class:`InvalidValueError`, an unknown run) is
permanent: the writer isolates the offending event, bisecting a metric batch down to the point,
drops it with one warning on the ``sweeptrack`` logger naming the key and the reason, and writes
everything else.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from sweeptrack.core.errors import InvalidValueError, StoreError, SweepTrackError
from sweeptrack.core.events import (
    ArtifactLogged,
    Event,
    MetricsLogged,
    ParamsLogged,
    TagsSet,
    merge_metric_batches,
)
from sweeptrack.tracking.store import Store

__all__ = ["BatchedWriter", "describe_event"]

log = logging.getLogger("sweeptrack")


@dataclass(slots=True)
class _Barrier:
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class BatchedWriter:
    """Writes events to ``store`` from a daemon thread.

    Args:
        store: where events go.
        flush_timeout: how long ``flush`` waits for a stuck database before raising.
    """

    def __init__(self, store: Store, *, flush_timeout: float = 120.0) -> None:
        self.store = store
        self.flush_timeout = flush_timeout
        self._queue: queue.SimpleQueue[Event | _Barrier | None] = queue.SimpleQueue()
        self._pending: list[Event] = []
        self._error: BaseException | None = None  # why pending events are not written yet
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sweeptrack-writer", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> None:
        """Hand an event over; returns at once."""
        if self._closed:
            raise StoreError("the run's writer is closed; start a new run to log more")
        self._queue.put(event)

    def flush(self) -> None:
        """Block until every event submitted so far is committed (or dropped as invalid)."""
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
        retry_until: float | None = None
        while True:
            # Wait for work only when nothing is left to retry; then take all that is queued.
            item: Event | _Barrier | _Empty | None = (
                self._queue.get() if not self._pending else self._get(timeout=0.5)
            )
            stop = False
            barriers: list[_Barrier] = []
            while not isinstance(item, _Empty):
                if item is None:
                    stop = True
                elif isinstance(item, _Barrier):
                    barriers.append(item)
                else:
                    self._pending.append(item)
                item = self._get(timeout=None)
            if barriers:
                retry_until = time.monotonic() + self.flush_timeout
            self._write_pending(retry_until)
            if not self._pending:
                retry_until = None
            for barrier in barriers:
                barrier.error = self._error
                barrier.done.set()
            if stop:
                return

    def _get(self, timeout: float | None) -> Event | _Barrier | _Empty | None:
        try:
            return self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return _EMPTY

    def _write_pending(self, retry_until: float | None) -> None:
        # One event, one transaction: on a failure, what was written is off the list and is never
        # written twice by the retry.
        self._pending = merge_metric_batches(self._pending)
        delay = 0.05
        while self._pending:
            try:
                self.store.apply(self._pending[:1])
            except Exception as exc:
                if not _is_transient(exc):
                    self._isolate(exc)
                    continue
                self._error = exc  # at once: a flush that gives up says why
                if retry_until is None or time.monotonic() > retry_until:
                    return
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                self._pending.pop(0)
        self._error = None

    def _isolate(self, exc: BaseException) -> None:
        """The first pending event holds a value the store refuses: split a metric batch in halves
        (each written, or split again, in turn), or drop a single point or event with a warning."""
        event = self._pending[0]
        # Only a refused value is worth bisecting for; an unknown run refuses every point alike.
        if isinstance(exc, InvalidValueError) and isinstance(event, MetricsLogged) and len(event.points) > 1:
            half = len(event.points) // 2
            self._pending[0:1] = [
                MetricsLogged(run_id=event.run_id, points=event.points[:half]),
                MetricsLogged(run_id=event.run_id, points=event.points[half:]),
            ]
            return
        self._pending.pop(0)
        log.warning("sweeptrack: dropped %s: %s", describe_event(event), exc)


def describe_event(event: Event) -> str:
    """A short name for what ``event`` logs, for a message (the keys it carries and its run).

    Example:
        >>> describe_event(MetricsLogged(run_id="abc", points=[("loss", 1.0, 3, 0)]))
        "metric 'loss' at step 3 of run abc"
    """
    run = f"of run {event.run_id}"
    if isinstance(event, MetricsLogged):
        if len(event.points) == 1:
            key, _, step, _ = event.points[0]
            return f"metric {key!r} at step {step} {run}"
        names = sorted({str(point[0]) for point in event.points})
        return f"{len(event.points)} points of metrics {', '.join(map(repr, names))} {run}"
    if isinstance(event, ParamsLogged | TagsSet):
        kind = "param" if isinstance(event, ParamsLogged) else "tag"
        keys = list(event.params if isinstance(event, ParamsLogged) else event.tags)
        plural = "s" if len(keys) > 1 else ""
        return f"{kind}{plural} {', '.join(repr(str(k)) for k in keys)} {run}"
    if isinstance(event, ArtifactLogged):
        return f"artifact {event.artifact.path!r} {run}"
    return f"{type(event).__name__} event {run}"


class _Empty:
    """Nothing was queued."""


_EMPTY = _Empty()


def _is_transient(exc: BaseException) -> bool:
    """A refused value (or an unknown run) fails the same way again: not worth retrying. A
    connection-level failure is; so is an error nobody classified (a flush then says what it was)."""
    if isinstance(exc, SweepTrackError):
        return type(exc) is StoreError
    return not isinstance(exc, ValueError | TypeError | OverflowError)
