"""What differs between a run's record and now, most important first.

Datasets (recomputed from their recorded sources), then the git commit and uncommitted diff, then
packages (added, removed, changed), Python, the platform, and the GPU model and driver.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeptrack.core.errors import ArtifactError
from sweeptrack.core.model import Dataset
from sweeptrack.reproduce.record import Recipe
from sweeptrack.tracking.datasets import digest_dataset

__all__ = ["Difference", "Kind", "code_differences", "dataset_differences", "environment_differences"]


class Kind(enum.Enum):
    """What a difference is about, in order of importance."""

    DATASET = "dataset"
    COMMIT = "git commit"
    DIFF = "git diff"
    PACKAGE = "package"
    PYTHON = "python"
    PLATFORM = "platform"
    GPU = "gpu"


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    """One fact that is not what the run recorded: ``recorded`` and ``now`` as short text."""

    kind: Kind
    key: str
    recorded: str
    now: str

    def __str__(self) -> str:
        label = self.kind.value if not self.key else f"{self.kind.value} {self.key}"
        return f"{label}: recorded {self.recorded}, now {self.now}"


def dataset_differences(
    datasets: tuple[Dataset, ...], where: Callable[[Path], Path] = lambda path: path
) -> list[Difference]:
    """Each local dataset whose content changed or that is gone, read at ``where(source)``."""
    found = []
    for dataset in datasets:
        source = _local(dataset.source)
        if source is None:
            continue  # a remote URI's digest is that of the URI: nothing to recompute
        path = where(source)
        name = dataset.name if dataset.context is None else f"{dataset.name} ({dataset.context})"
        try:
            now = digest_dataset(dataset.name, path, context=dataset.context).digest
        except ArtifactError:
            found.append(
                Difference(kind=Kind.DATASET, key=name, recorded=dataset.digest[:12], now=f"gone ({path})")
            )
            continue
        if now != dataset.digest:
            found.append(
                Difference(
                    kind=Kind.DATASET, key=name, recorded=dataset.digest[:12], now=f"{now[:12]} ({path})"
                )
            )
    return found


def code_differences(recipe: Recipe, commit: str | None, diff: str | None) -> list[Difference]:
    """The commit and the uncommitted diff of the tree now against the recorded ones."""
    found = []
    if recipe.commit != commit:
        found.append(Difference(kind=Kind.COMMIT, key="", recorded=_short(recipe.commit), now=_short(commit)))
    if (recipe.diff or None) != (diff or None):
        found.append(
            Difference(kind=Kind.DIFF, key="", recorded=_diff_text(recipe.diff), now=_diff_text(diff))
        )
    return found


def environment_differences(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[Difference]:
    """Packages, Python, platform and GPUs that differ between two captured environments."""
    return [*_packages(recorded, now), *_others(recorded, now)]


def _packages(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> Iterator[Difference]:
    before, after = _mapping(recorded, "packages"), _mapping(now, "packages")
    if not before:
        return  # nothing recorded (or its capture failed): no basis for a comparison
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old != new:
            yield Difference(
                kind=Kind.PACKAGE,
                key=name,
                recorded="not installed" if old is None else str(old),
                now="not installed" if new is None else str(new),
            )


def _others(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> Iterator[Difference]:
    facts: list[tuple[Kind, Callable[[Mapping[str, Any]], str]]] = [
        (Kind.PYTHON, lambda env: str(_mapping(env, "python").get("version", ""))),
        (Kind.PLATFORM, lambda env: str(_mapping(env, "platform").get("platform", ""))),
        (Kind.GPU, _gpus),
    ]
    for kind, describe in facts:
        old, new = describe(recorded), describe(now)
        if old and old != new:
            yield Difference(kind=kind, key="", recorded=old, now=new or "none")


def _gpus(env: Mapping[str, Any]) -> str:
    gpus = env.get("gpus")
    if not isinstance(gpus, list):
        return ""
    if not gpus:
        return "none"
    return ", ".join(
        f"{gpu.get('name')} (driver {gpu.get('driver')})" for gpu in gpus if isinstance(gpu, dict)
    )


def _mapping(env: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = env.get(key)
    return value if isinstance(value, Mapping) and "error" not in value else {}


def _local(source: str) -> Path | None:
    if "://" in source and not source.startswith("file://"):
        return None
    return Path(source.removeprefix("file://"))


def _short(commit: str | None) -> str:
    return "none" if commit is None else commit[:12]


def _diff_text(diff: str | None) -> str:
    if not diff:
        return "no uncommitted changes"
    files = sum(1 for line in diff.splitlines() if line.startswith("diff --git "))
    return f"uncommitted changes to {files} file{'s' if files != 1 else ''}"
