"""The Ray side of the Ray executor: one long-lived actor per slot, running one trial at a time.

A slot actor is created once with the trials' resources (Ray places it, and sets
``CUDA_VISIBLE_DEVICES`` in it for a GPU request) and hosts a one-slot
:class:`~sweeptrack.executors.local.LocalExecutor` on its own node: function trials run on that
executor's long-lived worker process, command trials as subprocesses, their events relayed over a
Unix socket local to the node, exactly as on one machine. The controller drives the slot with
:meth:`TrialSlot.call`: it hands over commands (submit, prune, cancel) and waits a short while for
what the trial emitted, so events reach the controller through Ray and never through a database.
Trials submitted while one runs wait in that executor's queue and start the moment it ends.

What a trial leaves on its node travels back with its messages: its output log with its
``TrialFinished``, and, when the artifact root is not shared with the controller, the bytes of
every artifact it logged (staged in a node-local store, keyed by digest).

This module runs inside Ray worker processes; :func:`pack`, :func:`unpack` and the ``land_*``
functions are the controller's side of what travels.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sweeptrack.core.channel import (
    Cancel,
    Prune,
    ShippedEnd,
    ShippedEvents,
    SlotCommand,
    SlotOutbound,
    Submit,
    pack_list,
    unpack_slot_commands,
    unpack_slot_outbound,
)
from sweeptrack.core.events import ArtifactLogged
from sweeptrack.executors.base import TrialEvents, TrialMessage, TrialRequest, TrialStarted
from sweeptrack.executors.local import LocalExecutor
from sweeptrack.spec.model import Resources
from sweeptrack.tracking.artifacts import ArtifactRoot

__all__ = ["LOG_LIMIT", "TrialSlot", "land_blobs", "land_log", "pack", "unpack"]

_PROTOCOL = pickle.HIGHEST_PROTOCOL
# How long a new slot waits for its worker process to start (a trial then waits no more for it).
_WORKER_START_WAIT = 30.0

# How long a call keeps gathering after a trial's first message, while trials are still here.
LINGER = 0.004
# The most of a trial's output log that travels back (its tail).
LOG_LIMIT = 8 * 1024 * 1024


class TrialSlot:
    """Runs trials one at a time on this node (see the module docstring).

    Args:
        grace: The local executor's grace between SIGTERM and SIGKILL.
        ship_artifacts: Stage artifacts in a node-local store and send their bytes back, because
            the controller's artifact root is not reachable from here.
    """

    def __init__(self, grace: float, ship_artifacts: bool) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="sweeptrack-slot-"))
        self.local = LocalExecutor(1, cpu_count=1, gpus=[], grace=grace, log_dir=self.folder / "logs")
        self.local.prestart(wait=_WORKER_START_WAIT)  # the slot is ready when its worker is
        self.staging = self.folder / "artifacts" if ship_artifacts else None
        self._functions: dict[bytes, Any] = {}  # pickled function -> the function, loaded once

    def info(self) -> dict[str, Any]:
        """Where this slot runs: its node, its process id, the devices Ray gave it."""
        import ray

        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        }

    def call(self, commands: bytes, timeout: float) -> bytes:
        """Apply ``commands`` (a pickled list of :data:`~sweeptrack.core.channel.SlotCommand`) in
        order, then return what arrived within ``timeout`` seconds (a pickled list of
        :data:`~sweeptrack.core.channel.SlotOutbound`): as soon as anything but trial starts has
        arrived, else at the timeout. A staged trial's start is reported (a TrialStarted),
        whenever it comes.

        Both travel as plain pickles of (kind, field values) tuples
        (:func:`~sweeptrack.core.channel.pack_list`): Ray's own serializer costs about a
        millisecond more per call for these dataclasses, which is most of a short trial's cost.
        """
        for command in unpack_slot_commands(commands):
            self._apply(command)
        return pack_list([self._outbound(message) for message in self._messages(timeout)])

    def shutdown(self) -> None:
        """Stop the trial and its processes and remove this slot's files."""
        self.local.shutdown()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _messages(self, timeout: float) -> list[TrialMessage]:
        """What the trials emit within ``timeout``: once something other than a start has come,
        up to ``LINGER`` more while trials are still here (staged short trials end in a row: one
        call brings several back)."""
        messages: list[TrialMessage] = []
        end = time.monotonic() + timeout
        linger_end = None
        more = False
        while True:
            limit = end if linger_end is None else min(end, linger_end)
            messages += self.local.poll(max(0.0, limit - time.monotonic()), more=more)
            more = True
            now = time.monotonic()
            if now >= end:
                return messages
            if linger_end is None and any(not isinstance(m, TrialStarted) for m in messages):
                linger_end = now + LINGER
            if linger_end is not None and (now >= linger_end or self.local.running == 0):
                return messages

    def _apply(self, command: SlotCommand) -> None:
        if isinstance(command, Submit):
            request: TrialRequest = command.request
            # Ray already reserved the trial's CPUs and GPUs for this actor; inside it, the trial
            # simply has the slot.
            changes: dict[str, Any] = {"resources": Resources(cpu=0.0)}
            if self.staging is not None and request.artifact_root:
                changes["artifact_root"] = str(self.staging)
            if command.function is not None:
                changes["function"] = self._function(command.function)
            # A staged trial's start is reported, after whatever the one before it sent.
            self.local.submit(dataclasses.replace(request, **changes), report_start=command.staged)
        elif isinstance(command, Prune):
            self.local.prune(command.trial_id, command.grace)
        elif isinstance(command, Cancel):
            self.local.cancel(command.trial_id, command.status, command.grace)

    def _function(self, pickled: bytes) -> Any:
        """The function a submit shipped (the same one each time: its workers are kept)."""
        function = self._functions.get(pickled)
        if function is None:
            function = self._functions[pickled] = pickle.loads(pickled)
        return function

    def _outbound(self, message: TrialMessage) -> SlotOutbound:
        if isinstance(message, TrialStarted):
            return message
        if isinstance(message, TrialEvents):
            return ShippedEvents(message, self._blobs(message))
        log = _read_tail(message.log_path)
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        if message.log_path:
            with contextlib.suppress(OSError):
                os.unlink(message.log_path)
        return ShippedEnd(message, log)

    def _blobs(self, message: TrialEvents) -> dict[str, bytes]:
        if self.staging is None:
            return {}
        store = ArtifactRoot(self.staging)
        blobs = {}
        for event in message.events:
            if isinstance(event, ArtifactLogged):
                digest = event.artifact.sha256
                with contextlib.suppress(OSError):
                    blobs[digest] = store.blob_path(digest).read_bytes()
        return blobs


def _read_tail(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - LOG_LIMIT))
            return log.read()
    except OSError:
        return None


def pack(commands: list[SlotCommand]) -> bytes:
    """Commands for :meth:`TrialSlot.call`, as it takes them."""
    return pack_list(commands)


def land_blobs(artifact_root: str | None, message: TrialEvents, blobs: Mapping[str, bytes]) -> None:
    """Store the artifact bytes that came with ``message`` in the controller's artifact root,
    under the digests the trial logged them with."""
    if not blobs or not artifact_root:
        return
    root = ArtifactRoot(Path(artifact_root))
    for event in message.events:
        if isinstance(event, ArtifactLogged) and event.artifact.sha256 in blobs:
            root.store_bytes(event.artifact.path, blobs[event.artifact.sha256])


def land_log(log_dir: Path, trial_id: str, log: bytes | None) -> str | None:
    """Write a trial's output that came with its end to ``<log_dir>/<trial id>.log``; its path,
    or None for no output (an empty one is not worth a file: the controller skips it anyway)."""
    if not log:
        return None
    path = log_dir / f"{trial_id}.log"
    path.write_bytes(log)
    return str(path)


def unpack(outbound: bytes) -> list[SlotOutbound]:
    """What :meth:`TrialSlot.call` returned."""
    return unpack_slot_outbound(outbound)
