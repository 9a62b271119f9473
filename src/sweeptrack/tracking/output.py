"""A trial's captured output as an artifact, capped: the first and last 5 MiB, with a marker between.

A trial that prints without end would otherwise fill the artifact store with one blob; what a user
reads in a log is its start (the configuration, the first epochs) and its end (the error).
"""

from __future__ import annotations

from pathlib import Path

from sweeptrack.core.errors import ArtifactError
from sweeptrack.core.model import Artifact
from sweeptrack.tracking.artifacts import ArtifactRoot

__all__ = ["OUTPUT_KEEP", "capped_marker", "store_output"]

OUTPUT_KEEP = 5 * 2**20  # bytes kept from each end of a trial's output


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
