"""Run a training script that uses an integration twice, as its users do: alone (its own run in
SQLite; in this process, which imports the framework once for the session) and as the program of
a one-trial sweep whose pruner stops it at the first reported value."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from sweeptrack.core.model import Run
from sweeptrack.tracking.sql.store import SqlStore

# Every threshold is crossed: the trial is pruned at its first reported value of the metric.
PRUNED_SWEEP = """
program: train.py
method: grid
metric: {{name: {metric}, goal: minimize}}
parameters:
  epochs: {{value: {epochs}}}
early_terminate: {{type: threshold, upper: -1.0}}
"""


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SWEEPTRACK_")}
    return {**base, "HF_HUB_OFFLINE": "1", "KERAS_BACKEND": "torch", "OMP_NUM_THREADS": "1", **extra}


Trainer = Callable[..., Run]


@pytest.fixture
def train_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Trainer:
    """Run a script as ``python train.py ARGS`` would, in this process; the one run it tracked."""

    def train(script: str, *args: str) -> Run:
        (tmp_path / "train.py").write_text(textwrap.dedent(script).lstrip())
        monkeypatch.chdir(tmp_path)
        for key in [k for k in os.environ if k.startswith("SWEEPTRACK_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("SWEEPTRACK_DB", f"sqlite:///{tmp_path}/alone.db")
        monkeypatch.setattr(sys, "argv", ["train.py", *args])
        runpy.run_path("train.py", run_name="__main__")
        (run,) = runs_in(tmp_path / "alone.db")
        return run

    return train


def train_pruned(folder: Path, script: str, metric: str, epochs: int) -> Run:
    """Run ``script`` as the program of a one-trial sweep that prunes at the first ``metric`` value."""
    (folder / "train.py").write_text(textwrap.dedent(script).lstrip())
    (folder / "sweep.yaml").write_text(PRUNED_SWEEP.format(metric=metric, epochs=epochs))
    exe = Path(sys.executable).with_name("sweeptrack")
    done = subprocess.run(
        [str(exe), "--db", f"sqlite:///{folder}/sweep.db", "sweep", "run", "sweep.yaml"],
        cwd=folder,
        env=env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = runs_in(folder / "sweep.db")
    return run


def runs_in(path: Path) -> list[Run]:
    store = SqlStore(f"sqlite:///{path}")
    try:
        return store.search_runs()
    finally:
        store.close()


def steps_of(path: Path, run: Run, key: str) -> list[int]:
    store = SqlStore(f"sqlite:///{path}")
    try:
        return [point.step for point in store.get_metric_history(run.id, key)]
    finally:
        store.close()


def artifact_paths(path: Path, run: Run) -> dict[str, int]:
    store = SqlStore(f"sqlite:///{path}")
    try:
        return {a.path: a.size for a in store.list_artifacts(run.id)}
    finally:
        store.close()
