"""What a run recorded that re-running it needs: its command or entrypoint, code, data, environment.

A plain tracked run (``python train.py --lr 0.1``) recorded its command line, its working directory
relative to the git root, the environment variables that change results, the git commit and the
uncommitted diff (the artifact ``environment/git.diff``). A sweep trial has its sweep's spec, its
params, and the environment the sweep's controller captured (with the diff in ``git_diff``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sweeptrack.core.errors import ReproduceError, SweepTrackError
from sweeptrack.core.model import Dataset, Run, Sweep
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.store import Store

__all__ = ["DIFF_ARTIFACT", "Recipe", "load_recipe"]

DIFF_ARTIFACT = "environment/git.diff"
_NOT_A_SCRIPT = frozenset({"", "-c", "-", "-m"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """Everything recorded about how a run was made.

    ``argv`` is a plain run's command line (what followed ``python``); ``sweep`` is set for a
    trial, whose spec says what ran. ``root`` is the git repository's folder at the time,
    ``cwd_in_repo`` the working directory relative to it.
    """

    run: Run
    environment: Mapping[str, Any]
    datasets: tuple[Dataset, ...]
    commit: str | None
    diff: str | None
    root: Path | None
    cwd: Path | None
    cwd_in_repo: str | None
    variables: Mapping[str, str] = field(default_factory=dict)
    argv: tuple[str, ...] | None = None
    sweep: Sweep | None = None

    @property
    def what(self) -> str:
        """The command or entrypoint, as a person reads it."""
        if self.argv is not None:
            import shlex

            return "python " + shlex.join(self.argv)
        assert self.sweep is not None
        return f"trial {self.run.trial_number} of sweep {self.sweep.name} ({self.sweep.id[:8]})"


def load_recipe(store: Store, artifacts: ArtifactRoot, ref: str) -> Recipe:
    """The recipe of the run whose id, id prefix or name is ``ref``.

    Raises:
        RunNotFoundError: ``ref`` matches no run.
        ReproduceError: the run recorded no command or entrypoint to re-run.
    """
    run = store.get_run(store.resolve_run(ref))
    environment = store.get_environment(run.id) or {}
    git = _part(environment, "git")
    sweep = store.get_sweep(run.sweep_id) if run.sweep_id else None
    argv = None if sweep is not None else _argv(run, environment)
    if sweep is not None:
        _check_trial_runs_something(run, sweep)
    diff = environment.get("git_diff") if sweep is not None else _diff_artifact(store, artifacts, run)
    cwd = environment.get("cwd")
    return Recipe(
        run=run,
        environment=environment,
        datasets=tuple(store.list_datasets(run.id)),
        commit=git.get("commit"),
        diff=diff if isinstance(diff, str) and diff else None,
        root=Path(git["root"]) if isinstance(git.get("root"), str) else None,
        cwd=Path(cwd) if isinstance(cwd, str) else None,
        cwd_in_repo=environment.get("cwd_in_repo")
        if isinstance(environment.get("cwd_in_repo"), str)
        else None,
        variables=_part(environment, "variables"),
        argv=argv,
        sweep=sweep,
    )


def _part(environment: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = environment.get(key)
    return dict(value) if isinstance(value, Mapping) and "error" not in value else {}


def _argv(run: Run, environment: Mapping[str, Any]) -> tuple[str, ...]:
    command = environment.get("command")
    if not isinstance(command, list) or not command or str(command[0]) in _NOT_A_SCRIPT:
        shown = "no environment" if not environment else f"command {command!r}"
        raise ReproduceError(
            f"run {run.name} ({run.id[:8]}) recorded no command or entrypoint to re-run ({shown}); "
            "only runs of a script (python train.py ...) and sweep trials can be reproduced"
        )
    return tuple(str(arg) for arg in command)


def _check_trial_runs_something(run: Run, sweep: Sweep) -> None:
    from sweeptrack.spec.load import load_spec_text

    try:
        spec = load_spec_text(sweep.spec, source=sweep.source or "<string>")
    except SweepTrackError as exc:
        raise ReproduceError(f"the spec of sweep {sweep.name} no longer loads: {exc}") from None
    if spec.entrypoint is None and spec.command is None:
        raise ReproduceError(
            f"run {run.name} ({run.id[:8]}) recorded no command or entrypoint to re-run: its sweep "
            f"{sweep.name} ran a Python function given to st.run_sweep(function=...)"
        )


def _diff_artifact(store: Store, artifacts: ArtifactRoot, run: Run) -> str | None:
    for artifact in store.list_artifacts(run.id):
        if artifact.path == DIFF_ARTIFACT:
            blob = artifacts.blob_path(artifact.sha256)
            if not blob.is_file():
                raise ReproduceError(
                    f"run {run.name} ({run.id[:8]}) recorded an uncommitted diff, but its file {blob} is "
                    "missing; point --artifacts (SWEEPTRACK_ARTIFACTS) at the run's artifact root"
                )
            return blob.read_text(encoding="utf-8")
    return None
