"""Run: the object API used in training code, and the sinks its events go to.

A run validates what it is given (the limits of :mod:`sweeptrack.core.limits`, so a bad value
raises :class:`InvalidValueError` at the call), stamps it, and hands events to one :class:`Sink`.
Metric points are appended to a buffer in the caller's thread (a deque append: microseconds) and
handed to the sink in batches by a small flusher thread at least every ``flush_interval`` seconds,
so a point reaches the sink at most that late. ``StoreSink`` writes to a store through the
background writer, which starts a write as soon as a batch arrives: a point is committed at most
``flush_interval`` plus one write after it was logged, within :data:`LOSS_WINDOW_S` (what a run
killed with SIGKILL may lose). In a sweep the same events go to the controller, with no change to
training code.
"""

from __future__ import annotations

import abc
import collections
import math
import numbers
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sweeptrack.core.errors import InvalidValueError, SweepTrackError
from sweeptrack.core.events import (
    ArtifactLogged,
    DatasetLogged,
    EnvironmentCaptured,
    Event,
    MetricsLogged,
    ParamsLogged,
    PointTuple,
    RunEnded,
    RunStarted,
    TagsSet,
)
from sweeptrack.core.limits import (
    MAX_STEP,
    MIN_STEP,
    check_artifact_path,
    check_dataset,
    check_key,
    check_metric_value,
    check_param,
    check_step,
    check_tag,
)
from sweeptrack.core.model import Artifact, Dataset, RunStatus, encode_param

if TYPE_CHECKING:
    from sweeptrack.tracking.artifacts import ArtifactRoot
    from sweeptrack.tracking.store import Store
    from sweeptrack.tracking.writer import BatchedWriter

__all__ = ["FLUSH_INTERVAL", "LOSS_WINDOW_S", "Run", "RunKilled", "Sink", "StoreSink", "TrialPruned"]

_BUFFER_LIMIT = 20_000
# A point logged this long before the process dies (SIGKILL included) is committed: it waits at
# most FLUSH_INTERVAL in the buffer, and the rest is left for the write (tests/faults/test_loss_window).
LOSS_WINDOW_S = 0.5
FLUSH_INTERVAL = 0.25


class TrialPruned(Exception):
    """Raise inside a sweep trial when ``should_prune()`` is true; the run ends as PRUNED."""


class RunKilled(BaseException):
    """Raised in the main thread by SIGTERM while a run is active, so the run ends as KILLED."""


class Sink(abc.ABC):
    """Where a run's events go.

    Contract: ``emit`` is called from training code and must return quickly (hand the event over,
    do not wait for a database); events of one run are delivered in the order emitted; ``flush``
    returns once everything emitted so far is durable or handed to its final owner, and raises
    :class:`SweepTrackError` if that failed; ``close`` flushes and releases resources.
    """

    @abc.abstractmethod
    def emit(self, event: Event) -> None:
        """Hand one event over."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Block until every emitted event is delivered."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush and release."""

    def should_prune(self, run_id: str) -> bool:
        """Whether a sweep controller asked this run to stop; outside a sweep, never."""
        return False


class StoreSink(Sink):
    """Writes events to a store: run creation synchronously (so a bad database fails at once),
    everything else through a :class:`BatchedWriter`."""

    def __init__(self, store: Store) -> None:
        from sweeptrack.tracking.writer import BatchedWriter

        self.store = store
        self._writer: BatchedWriter = BatchedWriter(store)

    def emit(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._writer.flush()
            self.store.apply([event])
            return
        self._writer.submit(event)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self.store.close()


def _now_ms() -> int:
    return int(time.time() * 1000)


def as_metric_value(key: str, value: Any) -> float:
    """A float from an int, float, numpy scalar or 0-d tensor; anything else is refused."""
    if type(value) is float:
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return check_metric_value(key, value)
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        try:
            inner = item()
        except (TypeError, ValueError):
            inner = None
        if isinstance(inner, numbers.Real) and not isinstance(inner, bool):
            return check_metric_value(key, inner)
    raise InvalidValueError(
        f"metric {key!r}: value {value!r} ({type(value).__name__}) is not a number; "
        "log ints, floats, NaN or infinity"
    )


class Run:
    """An active run. Use it as a context manager, or call :meth:`end` yourself.

    Example:
        >>> with st.start_run(experiment="digits") as run:       # doctest: +SKIP
        ...     run.log_metrics({"loss": 0.3}, step=1)
    """

    def __init__(
        self,
        *,
        experiment: str,
        name: str | None,
        sink: Sink,
        artifacts: ArtifactRoot | None = None,
        tags: Mapping[str, str] | None = None,
        run_id: str | None = None,
        flush_interval: float = FLUSH_INTERVAL,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.id = run_id or uuid.uuid4().hex
        self.experiment = check_key("experiment name", experiment)
        self.name = check_key("run name", name or f"run-{self.id[:8]}")
        clean_tags = dict(check_tag(k, v) for k, v in (tags or {}).items())
        self.sink = sink
        self.artifacts = artifacts
        self.params: dict[str, Any] = dict(params or {})
        self.status: RunStatus = RunStatus.RUNNING
        self._points: collections.deque[PointTuple] = collections.deque()
        self._steps: dict[str, int] = {}
        self._ended = False
        self._drain_lock = threading.Lock()
        self.end_hooks: list[Callable[[], None]] = []
        self.start_time = _now_ms()
        sink.emit(
            RunStarted(
                run_id=self.id,
                experiment=experiment,
                name=self.name,
                start_time=self.start_time,
                tags=clean_tags,
            )
        )
        _FLUSHER.add(self, flush_interval)

    # -- logging -------------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log typed params (int, float, str, bool or JSON-serialisable values)."""
        clean = {}
        for key, value in params.items():  # refuse bad values here, not in the writer thread
            key = check_param(key, value)
            encode_param(value)
            clean[key] = value
        self.params.update(clean)
        self.sink.emit(ParamsLogged(run_id=self.id, params=clean))

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.sink.emit(TagsSet(run_id=self.id, tags=dict(check_tag(k, v) for k, v in tags.items())))

    def log_metric(self, key: str, value: Any, step: int | None = None, timestamp: int | None = None) -> None:
        """Buffer one point; ``step`` defaults to the key's previous step + 1 (from 0)."""
        if type(value) is not float:
            value = as_metric_value(key, value)
        steps = self._steps
        previous = steps.get(key)
        if previous is None:
            check_key("metric key", key)  # once per key: this is the hot path
            previous = -1
        if step is None:
            step = previous + 1
        elif type(step) is not int:
            step = _as_step(key, step)
        if not MIN_STEP <= step <= MAX_STEP:
            check_step(key, step)
        steps[key] = step
        points = self._points
        points.append((key, value, step, timestamp or int(time.time() * 1000)))
        if len(points) >= _BUFFER_LIMIT:
            self._drain()

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Buffer several metrics at one step (each key's own next step when ``step`` is None)."""
        now = int(time.time() * 1000)
        if step is not None and (type(step) is not int or not MIN_STEP <= step <= MAX_STEP):
            for key, value in metrics.items():  # log_metric converts the step or names the bad one
                self.log_metric(key, value, step, now)
            return
        # A float under a key seen before is appended here (one call per row, not per key: wandb.log
        # and the integrations log whole rows); the first point of a key and other values take
        # log_metric's checks.
        steps = self._steps
        append = self._points.append
        for key, value in metrics.items():
            previous = steps.get(key)
            if previous is None or type(value) is not float:
                self.log_metric(key, value, step, now)
                continue
            at = previous + 1 if step is None else step
            if at > MAX_STEP:
                check_step(key, at)
            steps[key] = at
            append((key, value, at, now))
        if len(self._points) >= _BUFFER_LIMIT:
            self._drain()

    def log_artifact(self, path: str | Path, name: str | None = None) -> list[Artifact]:
        """Copy a file or a directory into the artifact store (content-addressed) and record it."""
        if self.artifacts is None:
            raise SweepTrackError("this run has no artifact store")
        source = Path(path)
        if name is not None:
            check_artifact_path(name)
        if source.is_dir():
            stored = self.artifacts.store_directory(source, name)
        else:
            stored = [self.artifacts.store_file(source, name)]
        for artifact in stored:  # all checked before any is recorded
            check_artifact_path(artifact.path)
        for artifact in stored:
            self.sink.emit(ArtifactLogged(run_id=self.id, artifact=artifact))
        return stored

    def log_artifact_bytes(self, name: str, data: bytes) -> Artifact:
        """Store bytes as an artifact named ``name``."""
        if self.artifacts is None:
            raise SweepTrackError("this run has no artifact store")
        check_artifact_path(name)
        artifact = self.artifacts.store_bytes(name, data)
        self.sink.emit(ArtifactLogged(run_id=self.id, artifact=artifact))
        return artifact

    def log_dataset(self, name: str, source: str | Path, context: str | None = None) -> Dataset:
        """Record a dataset with a digest of its content (a URI is digested by its text)."""
        from sweeptrack.tracking.datasets import digest_dataset

        check_dataset(name, str(source), context)
        dataset = digest_dataset(name, source, context)
        self.sink.emit(DatasetLogged(run_id=self.id, dataset=dataset))
        return dataset

    def log_environment(self, environment: Mapping[str, Any]) -> None:
        self.sink.emit(EnvironmentCaptured(run_id=self.id, environment=dict(environment)))

    def should_prune(self) -> bool:
        """True when a sweep controller decided this trial should stop (never outside a sweep)."""
        return self.sink.should_prune(self.id)

    @property
    def ended(self) -> bool:
        return self._ended

    # -- ending --------------------------------------------------------------------------------
    def flush(self) -> None:
        """Hand buffered points to the sink and wait until the sink delivered them."""
        self._drain()
        self.sink.flush()

    def end(self, status: RunStatus = RunStatus.FINISHED, error: str | None = None) -> None:
        """Flush everything and record the terminal status (a second call does nothing)."""
        if self._ended:
            return
        self._ended = True
        self.status = status
        _FLUSHER.remove(self)
        self._drain()  # after a drain of the flusher's that may be under way (the lock orders them)
        try:
            self.sink.emit(RunEnded(run_id=self.id, status=status, end_time=_now_ms(), error=error))
            self.sink.close()
        finally:
            for hook in self.end_hooks:
                hook()

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.end(*status_for_exception(exc))

    # -- internals -----------------------------------------------------------------------------
    def _drain(self) -> None:
        # Appends need no lock (deque.append is atomic); two drains must not race for the same items.
        with self._drain_lock:
            points = self._points
            count = len(points)
            if count:
                popleft = points.popleft
                batch = [popleft() for _ in range(count)]
                self.sink.emit(MetricsLogged(run_id=self.id, points=batch))


class _Flusher:
    """One daemon thread that drains every live run's buffered points at the run's interval, so a
    run costs no thread of its own to start and to join (a short trial notices that)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[Run, tuple[float, float]] = {}  # run -> (interval, next drain: monotonic)
        self._changed = threading.Event()
        self._thread: threading.Thread | None = None
        self._wakes_at = 0.0  # when the thread's wait ends by itself (monotonic)

    def add(self, run: Run, interval: float) -> None:
        with self._lock:
            due = time.monotonic() + interval
            self._due[run] = (interval, due)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="sweeptrack-flusher", daemon=True)
                self._thread.start()
            # Waking the thread costs a thread switch per run; a run due after the thread wakes
            # anyway (the usual case: every trial of a sweep has the same interval) is found then.
            wake = due < self._wakes_at
        if wake:
            self._changed.set()

    def remove(self, run: Run) -> None:
        with self._lock:
            self._due.pop(run, None)

    def _loop(self) -> None:
        while True:
            self._changed.clear()  # before the due times are read: an add from now on wakes the wait
            with self._lock:
                now = time.monotonic()
                ready = [run for run, (_, at) in self._due.items() if at <= now]
                for run in ready:
                    interval = self._due[run][0]
                    self._due[run] = (interval, now + interval)
                wait = min((at for _, at in self._due.values()), default=now + 60.0) - now
                self._wakes_at = now + max(wait, 0.0)
            for run in ready:
                try:
                    run._drain()
                except SweepTrackError:  # its sink is gone: nothing more can go out
                    self.remove(run)
            self._changed.wait(max(wait, 0.0))


_FLUSHER = _Flusher()


def _fresh_flusher() -> None:
    """A forked child gets a flusher of its own (the parent's lock may have been held at the fork)."""
    global _FLUSHER
    _FLUSHER = _Flusher()


os.register_at_fork(after_in_child=_fresh_flusher)


def status_for_exception(exc: BaseException | None) -> tuple[RunStatus, str | None]:
    """The status a run ends with when leaving its block with ``exc``."""
    if exc is None:
        return RunStatus.FINISHED, None
    if isinstance(exc, TrialPruned):
        return RunStatus.PRUNED, None
    if isinstance(exc, RunKilled | KeyboardInterrupt):
        return RunStatus.KILLED, f"{type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return RunStatus.FINISHED, None
    return RunStatus.FAILED, f"{type(exc).__name__}: {exc}"


def _as_step(key: str, step: Any) -> int:
    if isinstance(step, numbers.Integral) and not isinstance(step, bool):
        return int(step)
    if isinstance(step, float) and math.isfinite(step) and step.is_integer():
        return int(step)
    raise InvalidValueError(f"metric {key!r}: step {step!r} is not an integer")
