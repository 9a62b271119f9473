"""A trial's captured output as an artifact, capped: the first and last 5 MiB, with a marker between.

A trial that prints without end would otherwise fill the artifact store with one blob; what a user
reads in a log is its start (the configuration, the first epochs) and its end (the error).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from sweeptrack.core.errors import ArtifactError
from sweeptrack.core.model import Artifact
from sweeptrack.tracking.artifacts import ArtifactRoot

__all__ = ["OUTPUT_ARTIFACT", "OUTPUT_KEEP", "LiveLog", "LiveLogs", "capped_marker", "store_output"]

OUTPUT_KEEP = 5 * 2**20  # bytes kept from each end of a trial's output
OUTPUT_ARTIFACT = "logs/output.log"  # the artifact that holds a trial's output once it ended
_REMOTE = "remote"
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveLog:
    """Where a running trial's output grows: ``path`` on ``host``; both None when it grows on a
    worker node (Ray) and reaches the controller only when the trial ends."""

    host: str | None
    path: Path | None


@dataclass(frozen=True, slots=True)
class LiveLogs:
    """Notes, under the artifact root's ``live`` folder, of where each running trial's output
    grows, so that ``sweeptrack runs logs --follow`` finds it while the output is not yet an
    artifact. The controller writes a trial's note when it starts and removes it when it ends;
    a controller killed leaves its notes behind, and readers go by the run's status first.

    Args:
        root: The artifact root (see :class:`~sweeptrack.tracking.artifacts.ArtifactRoot`).
    """

    root: Path

    def _note(self, run_id: str) -> Path:
        if not run_id or not all(ch in _HEX for ch in run_id):  # ids come from the database
            raise ArtifactError(f"{run_id!r} is not a run id")
        return self.root / "live" / f"{run_id}.txt"

    def note(self, run_id: str, host: str, path: str | None) -> None:
        """Note that the run's output grows in ``path`` on ``host`` (None: on a worker node).
        A note that cannot be written only costs ``--follow`` its live view: it is skipped."""
        note = self._note(run_id)
        try:
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(_REMOTE if path is None else f"{host}:{path}", encoding="utf-8")
        except OSError:
            pass

    def drop(self, run_id: str) -> None:
        """Remove the run's note (its trial ended), and the folder once it is empty."""
        note = self._note(run_id)
        with contextlib.suppress(OSError):
            note.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # other trials (of this or another sweep) still use it
            note.parent.rmdir()

    def find(self, run_id: str) -> LiveLog | None:
        """The run's live log, or None when no note of it is here."""
        try:
            text = self._note(run_id).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ArtifactError):
            return None
        host, sep, path = text.partition(":")
        if text == _REMOTE or not sep or not path:
            return LiveLog(host=None, path=None)
        return LiveLog(host=host, path=Path(path))


def capped_marker(omitted: int, keep: int = OUTPUT_KEEP) -> bytes:
    """The line that stands for the ``omitted`` middle bytes of a capped output log.

    Example:
        >>> capped_marker(1000, keep=10)
        b'\\n[sweeptrack: 1000 bytes of output omitted here; the first and last 10 bytes are kept]\\n'
    """
    return (
        f"\n[sweeptrack: {omitted} bytes of output omitted here; the first and last {keep} bytes are kept]\n"
    ).encode()


def store_output(root: ArtifactRoot, log: Path, name: str, keep: int = OUTPUT_KEEP) -> Artifact:
    """Store the output log ``log`` as artifact ``name``: whole when it is at most ``2 * keep``
    bytes, else its first and last ``keep`` bytes with :func:`capped_marker` between.

    Raises:
        ArtifactError: The log cannot be read or the artifact root cannot be written.
    """
    try:
        size = log.stat().st_size
        if size <= 2 * keep:
            return root.store_file(log, name)
        with log.open("rb") as source:
            head = source.read(keep)
            source.seek(size - keep)
            tail = source.read(keep)
    except OSError as exc:
        raise ArtifactError(f"cannot read the output log {log}: {exc}") from exc
    return root.store_bytes(name, head + capped_marker(size - 2 * keep, keep) + tail)
