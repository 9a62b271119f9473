"""Re-running a recorded run: where (a temporary worktree, or the current tree) and how (the
recorded command line, or the sweep trial's entrypoint or command through a one-trial replay)."""

from __future__ import annotations

import dataclasses
import enum
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeptrack.core.errors import ReproduceError
from sweeptrack.core.model import Run
from sweeptrack.fluent import ENV_REPRODUCES, REPRODUCES_TAG
from sweeptrack.reproduce.drift import (
    Difference,
    Kind,
    code_differences,
    dataset_differences,
    environment_differences,
)
from sweeptrack.reproduce.record import Recipe, load_recipe
from sweeptrack.reproduce.worktree import Worktree, repository_root, tree_state
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.store import Store

__all__ = ["Mode", "Plan", "plan_reproduction", "rerun"]


class Mode(enum.Enum):
    """Where the run is re-run: a temporary worktree at the recorded commit, or the current tree."""

    WORKTREE = "worktree"
    HERE = "here"


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A recipe, the repository it runs in, and what differs from its record now."""

    recipe: Recipe
    repo: Path | None
    differences: tuple[Difference, ...]

    @property
    def tree_differs(self) -> bool:
        return any(d.kind in (Kind.COMMIT, Kind.DIFF) for d in self.differences)

    @property
    def default_mode(self) -> Mode:
        return Mode.WORKTREE if self.tree_differs else Mode.HERE


def plan_reproduction(store: Store, artifacts: ArtifactRoot, ref: str, cwd: Path) -> Plan:
    """Load what run ``ref`` recorded and find what differs now (datasets first).

    Raises:
        RunNotFoundError: no such run.
        ReproduceError: the run recorded nothing to re-run.
    """
    from sweeptrack.tracking.environment import capture_environment

    recipe = load_recipe(store, artifacts, ref)
    repo = _repository(recipe, cwd)
    differences = dataset_differences(recipe.datasets)
    if recipe.commit is not None or repo is not None:
        commit, diff = tree_state(repo) if repo is not None else (None, None)
        differences += code_differences(recipe, commit, diff)
    now = capture_environment([], cwd).data
    differences += environment_differences(recipe.environment, now)
    return Plan(recipe=recipe, repo=repo, differences=tuple(differences))


def rerun(
    store: Store,
    plan: Plan,
    *,
    mode: Mode,
    allow_drift: bool,
    db: str,
    artifacts: ArtifactRoot,
    on_drift: Callable[[list[Difference]], None] = lambda found: None,
) -> Run:
    """Run the recipe again and return the new run (tagged ``sweeptrack.reproduces``).

    Raises:
        ReproduceError: no commit to check out, a commit not in the repository, a diff that no
            longer applies, or (without ``allow_drift``) a dataset that changed or is gone.
    """
    recipe = plan.recipe
    with _tree(plan, mode) as (folder, mapped):
        drift = dataset_differences(recipe.datasets, mapped)
        if drift and not allow_drift:
            shown = "; ".join(str(d) for d in drift)
            raise ReproduceError(f"{shown}; restore the data, or pass --allow-drift to run on it anyway")
        on_drift(drift)
        run_dir = _run_dir(recipe, folder, mapped)
        if recipe.sweep is not None:
            return _rerun_trial(store, recipe, run_dir, mapped, db, artifacts)
        return _rerun_script(store, recipe, run_dir, db, artifacts)


def _run_dir(recipe: Recipe, folder: Path, mapped: Callable[[Path], Path]) -> Path:
    """Where the run ran, in ``folder``: runs recorded before the directory in the repository was
    kept have only their absolute working directory."""
    if recipe.cwd_in_repo is not None:
        return folder / recipe.cwd_in_repo
    return mapped(recipe.cwd) if recipe.cwd is not None else folder


@contextmanager
def _tree(plan: Plan, mode: Mode) -> Iterator[tuple[Path, Callable[[Path], Path]]]:
    """(the repository folder to run in, path mapping from the recorded tree into it)."""
    recipe = plan.recipe
    if mode is Mode.HERE:
        folder = plan.repo or recipe.root or recipe.cwd or Path.cwd()
        root = recipe.root or plan.repo
        yield folder, (lambda path: _move(path, root, folder))
        return
    if recipe.commit is None:
        raise ReproduceError(
            f"run {recipe.run.id[:8]} recorded no git commit, so there is nothing to check out; use --here"
        )
    if plan.repo is None:
        where = recipe.root or "its working directory"
        raise ReproduceError(
            f"run {recipe.run.id[:8]} was made in the git repository at {where}, which is not here; "
            "run reproduce inside a clone of it"
        )
    with Worktree(plan.repo, recipe.commit, recipe.diff) as tree:
        root = recipe.root or plan.repo

        def mapped(path: Path) -> Path:
            return _move(path, root, tree)

        _link_untracked_data(recipe, mapped)
        yield tree, mapped


def _move(path: Path, root: Path | None, folder: Path) -> Path:
    if root is None:
        return path
    try:
        relative = Path(os.path.realpath(path)).relative_to(os.path.realpath(root))
    except ValueError:
        return path  # outside the repository: read where it was
    return folder / relative


def _link_untracked_data(recipe: Recipe, mapped: Callable[[Path], Path]) -> None:
    """A dataset inside the repository that git does not track is not in the worktree: it is
    linked there from the user's tree (and checked like any other)."""
    for dataset in recipe.datasets:
        source = Path(dataset.source)
        target = mapped(source)
        if target != source and not target.exists() and source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source.resolve(), target_is_directory=source.is_dir())


def _rerun_script(store: Store, recipe: Recipe, run_dir: Path, db: str, artifacts: ArtifactRoot) -> Run:
    assert recipe.argv is not None
    python = _python(recipe.environment)
    env = {
        **os.environ,
        **recipe.variables,
        "SWEEPTRACK_DB": db,
        "SWEEPTRACK_ARTIFACTS": str(artifacts.root),
        ENV_REPRODUCES: recipe.run.id,
    }
    started = int(time.time() * 1000)
    if not run_dir.is_dir():
        raise ReproduceError(f"the run's working directory {run_dir} does not exist in the tree")
    done = subprocess.run([python, *recipe.argv], cwd=run_dir, env=env, check=False)
    found = store.search_runs(
        filter=f"tags.`{REPRODUCES_TAG}` = '{recipe.run.id}' and start_time >= {started}",
        order_by="start_time DESC",
        limit=1,
    )
    if not found:
        raise ReproduceError(
            f"`{recipe.what}` exited with status {done.returncode} and tracked no run in this database; "
            "does the script take its database from SWEEPTRACK_DB?"
        )
    return found[0]


def _rerun_trial(
    store: Store,
    recipe: Recipe,
    run_dir: Path,
    mapped: Callable[[Path], Path],
    db: str,
    artifacts: ArtifactRoot,
) -> Run:
    from sweeptrack.controller.session import open_sweep
    from sweeptrack.spec.load import load_spec_text
    from sweeptrack.spec.model import ExecutorSpec

    sweep = recipe.sweep
    assert sweep is not None
    source = mapped(Path(sweep.source)) if sweep.source else run_dir / "<string>"
    spec = load_spec_text(sweep.spec, source=str(source), base_dir=source.parent)
    spec = dataclasses.replace(
        spec, name=f"{sweep.name}-reproduce", executor=ExecutorSpec(), parallel=1, register=None
    )
    controller = open_sweep(spec, db, replay=[dict(recipe.run.params)], cwd=run_dir, artifacts=artifacts.root)
    result = controller.run()
    (run,) = store.search_runs(sweep=result.sweep_id, limit=1)
    store.set_tags(run.id, {REPRODUCES_TAG: recipe.run.id})
    return store.get_run(run.id)


def _python(environment: Mapping[str, Any]) -> str:
    """The interpreter the run used when it is still there, else this one."""
    python = environment.get("python")
    executable = python.get("executable") if isinstance(python, Mapping) else None
    if isinstance(executable, str) and Path(executable).is_file() and os.access(executable, os.X_OK):
        return executable
    return sys.executable


def _repository(recipe: Recipe, cwd: Path) -> Path | None:
    """The repository to reproduce in: the recorded one when it is still there, else the one
    containing the working directory."""
    for folder in (recipe.root, recipe.cwd):
        found = repository_root(folder) if folder is not None else None
        if found is not None:
            return found
    return repository_root(cwd)
