"""The trial side of a sweep: a run whose events go to the sweep controller, not to the database.

An executor starts a trial with its context in environment variables (a command trial) or hands a
worker process the same facts (a function trial). Training code stays the ordinary run API: the
first ``st.log_metrics`` or ``st.start_run()`` attaches to the trial's run (:func:`attach_from_env`)
instead of creating one, and ``st.should_prune()`` turns true once the controller sent a prune
message over the channel.

The channel is a :mod:`multiprocessing.connection` connection to the executor's Unix socket,
authenticated with a random key. Messages are the pickled dataclasses of
:mod:`sweeptrack.core.channel`: a connection opens with a ``Hello``; the trial sends ``Events`` and
``Sync`` (and a worker ``Finished``); the executor sends ``Prune`` and ``SyncAck`` (and a worker
``RunTrial``).

Example:
    >>> run = attach_from_env(os.environ)      # doctest: +SKIP
    >>> run.log_metric("loss", 0.3, step=0)    # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeptrack.core.channel import (
    Events,
    ExecutorSide,
    Hello,
    Prune,
    Sync,
    SyncAck,
    TrialHello,
    TrialSide,
    pack,
    unpack_executor_side,
)
from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.events import Event, RunEnded, RunStarted
from sweeptrack.core.model import RunStatus
from sweeptrack.run import Run, Sink

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from sweeptrack.tracking.artifacts import ArtifactRoot

__all__ = [
    "ENV_ADDRESS",
    "ENV_ARTIFACTS",
    "ENV_AUTHKEY",
    "ENV_EXPERIMENT",
    "ENV_ID",
    "ENV_NAME",
    "ENV_PARAMS",
    "TRIAL_FLUSH_INTERVAL",
    "Channel",
    "ChannelSink",
    "TrialRun",
    "artifact_store",
    "attach_from_env",
    "shutdown_connection",
    "trial_env",
]

ENV_ADDRESS = "SWEEPTRACK_TRIAL_ADDRESS"  # the executor's Unix socket path
ENV_AUTHKEY = "SWEEPTRACK_TRIAL_AUTHKEY"  # hex
ENV_ID = "SWEEPTRACK_TRIAL_ID"  # the trial's run id
ENV_PARAMS = "SWEEPTRACK_TRIAL_PARAMS"  # JSON object of the flat (dotted) params
ENV_EXPERIMENT = "SWEEPTRACK_TRIAL_EXPERIMENT"
ENV_NAME = "SWEEPTRACK_TRIAL_NAME"
ENV_ARTIFACTS = "SWEEPTRACK_ARTIFACTS"  # the artifact root, as outside a sweep

# A reported value should reach the pruner fast: metric points are handed over at least this often.
TRIAL_FLUSH_INTERVAL = 0.1
# should_prune() waits at most this long for the controller's verdict on the latest points.
_SYNC_TIMEOUT_S = 0.25


class Channel:
    """One authenticated connection to the executor, safe to send on from several threads.

    A daemon thread reads what the executor sends: prune messages go to :attr:`pruned`, anything
    else to :attr:`inbox` (``None`` there means the executor is gone).
    """

    def __init__(self, conn: Connection, on_lost: Callable[[], None] | None = None) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._on_lost = on_lost
        self.lost = False
        self.pruned: set[str] = set()
        self._synced = threading.Condition()
        self._synced_token = -1
        self.inbox: queue.SimpleQueue[ExecutorSide | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, name="sweeptrack-channel", daemon=True)
        self._reader.start()

    @classmethod
    def connect(
        cls, address: str, authkey: bytes, hello: Hello, on_lost: Callable[[], None] | None = None
    ) -> Channel:
        """Connect to the executor at ``address`` and introduce this process with ``hello``.

        Raises:
            SweepTrackError: The socket is not there or the key is refused.
        """
        from multiprocessing import AuthenticationError
        from multiprocessing.connection import Client

        try:
            conn = Client(address, family="AF_UNIX", authkey=authkey)
            conn.send(hello)
        except (OSError, EOFError, AuthenticationError) as exc:
            raise SweepTrackError(
                f"cannot reach the sweep controller at {address}: {exc}; this process runs as a sweep "
                f"trial ({ENV_ID} is set) and its controller must be running"
            ) from exc
        return cls(conn, on_lost)

    def send(self, message: TrialSide) -> None:
        """Hand ``message`` to the socket (blocks only while the executor's buffer is full)."""
        with self._lock:
            if self.lost:
                raise SweepTrackError("lost the connection to the sweep controller; it has stopped")
            try:
                self._conn.send_bytes(pack(message))
            except OSError as exc:
                self.lost = True
                raise SweepTrackError(f"lost the connection to the sweep controller: {exc}") from exc

    def sync(self, token: int, timeout: float) -> bool:
        """Wait until the controller has judged everything sent before this call (the executor
        answers once the controller took those events, after any prune message); False on timeout."""
        self.send(Sync(token))
        with self._synced:
            return self._synced.wait_for(lambda: self._synced_token >= token or self.lost, timeout)

    def flush(self) -> None:
        """Wait for a send in progress in another thread; everything sent before is in the socket."""
        with self._lock:
            if self.lost:
                raise SweepTrackError("lost the connection to the sweep controller; it has stopped")

    def close(self) -> None:
        """Close the connection (ending it on purpose is not a lost controller)."""
        self._on_lost = None
        with self._lock:
            self.lost = True
            # Wake the reader with an end of file first: closing a descriptor that a thread still
            # reads from lets that thread read whatever file reuses the number next.
            shutdown_connection(self._conn)
            if self._reader is not threading.current_thread():
                self._reader.join(timeout=1)
            self._conn.close()

    def _read(self) -> None:
        conn = self._conn
        while True:
            try:
                message = unpack_executor_side(conn.recv_bytes())
            except Exception:  # end of file, a closed socket or a garbled message: the link is gone
                break
            if isinstance(message, Prune):
                self.pruned.add(message.trial_id)
            elif isinstance(message, SyncAck):
                with self._synced:
                    self._synced_token = max(self._synced_token, message.token)
                    self._synced.notify_all()
            else:
                self.inbox.put(message)
        self.lost = True
        self.inbox.put(None)
        if self._on_lost is not None:
            self._on_lost()


class ChannelSink(Sink):
    """Sends a trial's events to the controller, in order, as they are emitted.

    ``RunStarted`` and ``RunEnded`` are not sent: the controller created the run, and it ends it
    from the executor's ``TrialFinished``.
    """

    def __init__(self, channel: Channel, *, owns_channel: bool = True) -> None:
        self.channel = channel
        self._owns_channel = owns_channel

    def emit(self, event: Event) -> None:
        if isinstance(event, RunStarted | RunEnded):
            return
        self.channel.send(Events([event]))

    def flush(self) -> None:
        self.channel.flush()

    def close(self) -> None:
        try:
            self.channel.flush()
        finally:
            if self._owns_channel:
                self.channel.close()

    def should_prune(self, run_id: str) -> bool:
        return run_id in self.channel.pruned


class TrialRun(Run):
    """The run of a sweep trial. Training code cannot end it: leaving ``with st.start_run()``,
    ``run.end()`` and ``st.end_run()`` only flush, so events logged later are not lost. The process
    that runs the trial ends it with :meth:`finish` (its status comes from the executor)."""

    _sync_token = 0
    _last_sync = -math.inf
    _rtt = 0.001

    def end(self, status: RunStatus = RunStatus.FINISHED, error: str | None = None) -> None:
        if not self.ended:
            self.flush()

    def should_prune(self) -> bool:
        """Hands the points logged since the last call to the controller and waits for its verdict
        on them, so a trial stops at the epoch the pruner judged, not an epoch or a flush later.

        The wait is a round trip (about a millisecond); it is skipped while the trial checks more
        often than ten round trips apart, so it never costs a fast loop more than about a tenth.
        """
        if self.ended:
            return super().should_prune()
        fresh = len(self._points) > 0
        self._drain()
        sink = self.sink
        now = time.monotonic()
        if fresh and isinstance(sink, ChannelSink) and now - self._last_sync >= 10 * self._rtt:
            self._sync_token += 1
            if sink.channel.sync(self._sync_token, timeout=_SYNC_TIMEOUT_S):
                self._rtt = time.monotonic() - now
            self._last_sync = time.monotonic()
        return super().should_prune()

    def finish(self, status: RunStatus = RunStatus.FINISHED, error: str | None = None) -> None:
        """Flush every event and release the channel (a second call does nothing)."""
        Run.end(self, status, error)


def attach_from_env(environ: Mapping[str, str]) -> TrialRun | None:
    """The trial's run when ``environ`` describes a sweep trial (``SWEEPTRACK_TRIAL_ID`` set), else None.

    Connects to the controller; the run's params are the trial's sampled config. If the controller
    goes away while the trial runs, the process gets SIGTERM.

    Raises:
        SweepTrackError: The trial context is incomplete or the controller cannot be reached.
    """
    trial_id = environ.get(ENV_ID)
    if not trial_id:
        return None
    try:
        address, authkey = environ[ENV_ADDRESS], bytes.fromhex(environ[ENV_AUTHKEY])
        params = json.loads(environ.get(ENV_PARAMS) or "{}")
    except (KeyError, ValueError) as exc:
        raise SweepTrackError(
            f"{ENV_ID} is set but the trial context is incomplete ({exc}); run sweep trials through "
            f"the sweep controller, or unset {ENV_ID}"
        ) from exc
    channel = Channel.connect(address, authkey, TrialHello(trial_id), on_lost=_controller_gone)
    root = environ.get(ENV_ARTIFACTS)
    run = TrialRun(
        experiment=environ.get(ENV_EXPERIMENT) or "default",
        name=environ.get(ENV_NAME) or None,
        sink=ChannelSink(channel),
        artifacts=artifact_store(root),
        run_id=trial_id,
        flush_interval=TRIAL_FLUSH_INTERVAL,
        params=params,
    )
    _sample_system_metrics(run, environ)
    return run


def _sample_system_metrics(run: TrialRun, environ: Mapping[str, str]) -> None:
    """Sample system metrics into the run at the interval the sweep set, until the run ends."""
    from sweeptrack.tracking.sysmetrics import NvmlProbe, SystemMetricsSampler, interval_from_env

    interval = interval_from_env(environ)
    if interval > 0:
        probe = NvmlProbe(environ.get("CUDA_VISIBLE_DEVICES"))
        sampler = SystemMetricsSampler(run.log_metrics, interval=interval, gpus=probe)
        sampler.start()
        run.end_hooks.append(sampler.stop)


def _controller_gone() -> None:
    """The controller went away mid-trial: nothing will record this trial, so stop it the way the
    executor would (SIGTERM: an active run ends KILLED, its ``finally`` blocks run)."""
    import signal

    os.kill(os.getpid(), signal.SIGTERM)


def trial_env(
    *,
    address: str,
    authkey: bytes,
    trial_id: str,
    params: Mapping[str, Any],
    experiment: str,
    name: str,
    artifact_root: str | None,
) -> dict[str, str]:
    """The environment variables that make a subprocess attach to a trial (see :func:`attach_from_env`)."""
    env = {
        ENV_ADDRESS: address,
        ENV_AUTHKEY: authkey.hex(),
        ENV_ID: trial_id,
        ENV_PARAMS: json.dumps(dict(params), default=str),
        ENV_EXPERIMENT: experiment,
        ENV_NAME: name,
    }
    if artifact_root:
        env[ENV_ARTIFACTS] = os.fspath(artifact_root)
    return env


def shutdown_connection(conn: Connection) -> None:
    """End both directions of a connection's socket without closing its descriptor."""
    import socket

    try:
        sock = socket.socket(fileno=conn.fileno())
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()


def artifact_store(root: str | None) -> ArtifactRoot | None:
    """The trial's artifact store at ``root`` (None: the trial cannot log artifacts)."""
    if not root:
        return None
    from sweeptrack.tracking.artifacts import ArtifactRoot

    return ArtifactRoot(Path(root).expanduser().absolute())
