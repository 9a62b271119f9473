"""A run's captured output (``sweeptrack runs logs``): the stored log of an ended trial, and the
live log of a running one, followed until it ends.

A sweep trial's stdout and stderr grow in a file of its executor while it runs (on the
controller's machine for the local executor, on a worker node for Ray); when it ends, the
controller stores them as the run's ``logs/output.log`` artifact. A plain tracked script's output
is not captured.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import Run, RunStatus
from sweeptrack.reports.runs import short_id
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.output import OUTPUT_ARTIFACT, LiveLog, LiveLogs
from sweeptrack.tracking.store import Store

__all__ = ["Follow", "RunOutput", "last_lines", "run_output"]

_POLL_S = 0.2  # how often a followed file is read for more
_STATUS_EVERY_S = 1.0  # how often the run's status is read while following
_NOTE_WAIT_S = 3.0  # a trial that just ended: its end reaches the database within this


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutput:
    """What is known of one run's output: the stored log (ended trials) and where a running
    trial's output grows."""

    run: Run
    stored: bytes | None
    live: LiveLog | None

    @property
    def label(self) -> str:
        return f"run {self.run.name} ({short_id(self.run.id)})"

    def ended_text(self) -> bytes:
        """The stored output of an ended run; a one-line error when there is none to show."""
        if self.stored is not None:
            return self.stored
        self._check_trial()
        return b""  # a trial that printed nothing

    def live_text(self) -> bytes:
        """A running trial's output so far; a one-line error when it is not readable here."""
        path = self.readable()
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return b""  # it has not started yet

    def readable(self) -> Path:
        """The running trial's live log file on this machine; a one-line error where there is none."""
        self._check_trial()
        live = self.live
        if live is None or live.path is None or live.host != socket.gethostname():
            raise SweepTrackError(
                f"{self.label} is running and its output is not readable here: {self.where()}"
            )
        return live.path

    def _check_trial(self) -> None:
        if self.run.sweep_id is None:
            raise SweepTrackError(
                f"{self.label} has no captured output; only sweep trials' output is captured"
            )

    def where(self) -> str:
        """Why a running trial's live output cannot be read on this machine, in a few words."""
        live = self.live
        if live is not None and live.host is None:
            return "it runs on a Ray worker node, and its output is stored when it ends"
        if live is not None and live.host != socket.gethostname():
            return f"it grows on host {live.host}, where the sweep's controller runs"
        return "no live log of it is noted under this artifact root (give the sweep's --artifacts)"


def run_output(store: Store, artifacts: ArtifactRoot, ref: str) -> RunOutput:
    """The output of the run whose id, id prefix or name is ``ref``.

    Raises:
        RunNotFoundError: ``ref`` matches no run, or more than one.
    """
    run = store.get_run(store.resolve_run(ref))
    live = LiveLogs(artifacts.root).find(run.id) if run.status is RunStatus.RUNNING else None
    deadline = time.monotonic() + _NOTE_WAIT_S
    trial = run.sweep_id is not None  # a plain script's output is never captured: no wait
    while trial and run.status is RunStatus.RUNNING and live is None and time.monotonic() < deadline:
        time.sleep(_POLL_S)  # a trial that just ended: its note is gone, its end is on its way
        run = store.get_run(run.id)
        live = LiveLogs(artifacts.root).find(run.id) if run.status is RunStatus.RUNNING else None
    stored = None
    for artifact in store.list_artifacts(run.id):
        if artifact.path == OUTPUT_ARTIFACT:
            try:
                stored = artifacts.blob_path(artifact.sha256).read_bytes()
            except OSError as exc:
                raise SweepTrackError(
                    f"the output of run {run.name} is not under the artifact root {artifacts.root}: "
                    f"{exc.strerror}; give the sweep's --artifacts (or SWEEPTRACK_ARTIFACTS)"
                ) from None
    return RunOutput(run=run, stored=stored, live=live)


def last_lines(data: bytes, count: int | None) -> bytes:
    """The last ``count`` lines of ``data`` (all of it for None).

    Example:
        >>> last_lines(b"a\\nb\\nc\\n", 2)
        b'b\\nc\\n'
    """
    if count is None:
        return data
    if count == 0:
        return b""
    lines = data.splitlines(keepends=True)
    return b"".join(lines[-count:])


@dataclass(slots=True, kw_only=True)
class Follow:
    """Stream a running trial's live log to ``out`` until its run ends, then what remains.

    ``follow()`` returns the run as it ended, or None when its heartbeat stopped (its
    controller is gone: nothing will end it).
    """

    store: Store
    output: RunOutput
    artifacts: ArtifactRoot
    out: BinaryIO
    liveness: Liveness
    tail: int | None = None
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000)

    def follow(self) -> Run | None:
        path = self.output.readable()
        done = 0
        first = True
        next_status = 0.0
        while True:
            try:
                with path.open("rb") as log:
                    log.seek(done)
                    more = log.read()
            except FileNotFoundError:  # not started yet, or the sweep ended and removed it
                more = b""
            if first and more:
                self._write(last_lines(more, self.tail))
                first = False
            elif more:
                self._write(more)
            done += len(more)
            now = time.monotonic()
            if now >= next_status:
                next_status = now + _STATUS_EVERY_S
                run = self.store.get_run(self.output.run.id)
                if run.status.is_terminal:
                    self._rest(path, done)
                    return run
                if self.liveness.run_crashed(run, self.now_ms()):
                    return None
            time.sleep(_POLL_S)

    def _rest(self, path: Path, done: int) -> None:
        """What the trial wrote after the last read: from its file when it is still there, else
        from the stored log (a log capped in the middle is printed from where it was)."""
        try:
            with path.open("rb") as log:
                log.seek(done)
                self._write(log.read())
                return
        except FileNotFoundError:
            pass
        ended = run_output(self.store, self.artifacts, self.output.run.id)
        if ended.stored is not None and len(ended.stored) > done:
            self._write(ended.stored[done:])

    def _write(self, data: bytes) -> None:
        if data:
            self.out.write(data)
            self.out.flush()
