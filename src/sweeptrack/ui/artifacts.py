"""Files of a run read for the dashboard, confined to the artifact root.

A download names a run and an artifact path; the path must be one the run logged, and the blob it
points to must resolve (symbolic links followed) to a regular file inside the artifact root. A
name with ``..`` or a blob replaced by a link to elsewhere is refused.
"""

from __future__ import annotations

from pathlib import Path

from sweeptrack.core.errors import ArtifactError, SweepTrackError
from sweeptrack.core.model import Artifact, Run, RunStatus
from sweeptrack.reports.logs import RunOutput, last_lines
from sweeptrack.tracking.artifacts import ArtifactRoot, check_name
from sweeptrack.tracking.output import OUTPUT_ARTIFACT, LiveLogs
from sweeptrack.tracking.store import Store

__all__ = ["GIT_DIFF", "OUTPUT_TAIL", "confined_blob", "find_artifact", "output_text", "read_text"]

GIT_DIFF = "environment/git.diff"
OUTPUT_TAIL = 400  # lines of captured output shown on the run page
_TEXT_CAP = 256 * 1024


class Refused(SweepTrackError):
    """A download that would leave the artifact root."""


def find_artifact(store: Store, run_id: str, path: str) -> Artifact:
    """The run's artifact named ``path``; raises ArtifactError for a bad name or none such."""
    name = check_name(path)
    for artifact in store.list_artifacts(run_id):
        if artifact.path == name:
            return artifact
    raise ArtifactError(f"run {run_id[:8]} has no artifact {name!r}")


def confined_blob(root: ArtifactRoot, artifact: Artifact) -> Path:
    """The artifact's blob, resolved; raises Refused when it is not a file inside the root."""
    base = root.root.resolve()
    try:
        blob = root.blob_path(artifact.sha256).resolve(strict=True)
    except (OSError, RuntimeError):
        raise ArtifactError(f"the blob of {artifact.path!r} is missing from the artifact root") from None
    if not blob.is_relative_to(base) or not blob.is_file():
        raise Refused(f"artifact {artifact.path!r} does not resolve to a file inside the artifact root")
    return blob


def read_text(root: ArtifactRoot, artifact: Artifact, cap: int = _TEXT_CAP) -> str:
    """The end of a text artifact (at most ``cap`` bytes), decoded leniently."""
    with confined_blob(root, artifact).open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - cap))
        return handle.read().decode("utf-8", errors="replace")


def output_text(store: Store, root: ArtifactRoot, run: Run) -> tuple[str | None, str | None]:
    """(the last lines of the run's captured output, or None; why there is none to show)."""
    stored = None
    for artifact in store.list_artifacts(run.id):
        if artifact.path == OUTPUT_ARTIFACT:
            try:
                stored = read_text(root, artifact).encode()
            except SweepTrackError as exc:
                return None, str(exc)
    live = LiveLogs(root.root).find(run.id) if run.status is RunStatus.RUNNING else None
    output = RunOutput(run=run, stored=stored, live=live)
    try:
        data = output.live_text() if run.status is RunStatus.RUNNING else output.ended_text()
    except SweepTrackError as exc:
        return None, str(exc)
    return last_lines(data, OUTPUT_TAIL).decode("utf-8", errors="replace"), None
