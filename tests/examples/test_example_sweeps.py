"""The shipped example sweeps run end to end through the installed ``sweeptrack`` console script.

Each test copies ``examples/`` and ``sweeps/`` into a temporary project folder (the layout a user
has), runs ``sweeptrack --db <tmp sqlite> sweep run sweeps/X.yaml --trials N`` there in a real
subprocess, and reads the results back from the database and from the CLI, as a user would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.core.model import Run, RunStatus

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 20  # what the quickstart and wandb_style sweeps train for


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project folder: the examples and the sweep files, nothing else."""
    ignore = shutil.ignore_patterns("__pycache__", "*.db*")
    shutil.copytree(REPO / "examples", tmp_path / "examples", ignore=ignore)
    shutil.copytree(REPO / "sweeps", tmp_path / "sweeps", ignore=ignore)
    return tmp_path


def sweeptrack(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``sweeptrack --db sqlite:///<project>/sweeptrack.db ARGS...`` run in ``project``; must exit 0."""
    script = shutil.which("sweeptrack", path=str(Path(sys.executable).parent))
    assert script, "the sweeptrack console script is not installed in this environment"
    done = subprocess.run(
        [script, "--db", db_url(project), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def db_url(project: Path) -> str:
    return f"sqlite:///{project}/sweeptrack.db"


def sweep_runs(project: Path) -> list[Run]:
    client = st.Client(db_url(project))
    try:
        return client.search_runs(experiment=None)
    finally:
        client.close()


def epochs_logged(project: Path, run: Run, key: str = "val_f1") -> list[int]:
    """The distinct steps of ``key`` in the run's history (the epochs it trained)."""
    client = st.Client(db_url(project))
    try:
        return sorted({point.step for point in client.get_metric_history(run.id, key)})
    finally:
        client.close()


def assert_trials_logged_per_epoch(project: Path, runs: list[Run], trials: int) -> None:
    """Every trial ended; finished ones logged each metric at every epoch; pruned ones stopped early."""
    assert len(runs) == trials
    assert all(run.sweep_id and run.trial_number is not None for run in runs)
    assert all(run.status in (RunStatus.FINISHED, RunStatus.PRUNED) for run in runs), [
        (run.name, run.status, run.error) for run in runs
    ]
    finished = [run for run in runs if run.status is RunStatus.FINISHED]
    assert finished
    for run in finished:
        assert {"loss", "val_loss", "val_accuracy", "val_f1"} <= set(run.metrics)
        assert run.metrics["val_accuracy"].count == EPOCHS
        assert epochs_logged(project, run) == list(range(EPOCHS))
        assert 0.5 < run.metrics["val_f1"].last <= 1.0
    for run in runs:
        if run.status is RunStatus.PRUNED:
            assert 0 < run.metrics["val_accuracy"].count < EPOCHS


def test_quickstart_sweep_prints_a_leaderboard_of_finished_trials(project: Path) -> None:
    done = sweeptrack(project, "sweep", "run", "sweeps/quickstart.yaml", "--trials", "4")

    runs = sweep_runs(project)
    assert_trials_logged_per_epoch(project, runs, trials=4)
    assert all(run.experiment == "digits" for run in runs)
    assert all(isinstance(run.params["lr"], float) and run.params["epochs"] == EPOCHS for run in runs)
    assert "val_f1" in done.stdout and "finished" in done.stdout

    board = sweeptrack(
        project, "leaderboard", "--sweep", "quickstart", "--metric", "val_f1", "--format", "json"
    )
    rows = json.loads(board.stdout)
    finished = {run.id[:8]: run for run in runs if run.status is RunStatus.FINISHED}
    assert {row["id"] for row in rows} >= set(finished)
    values = [row["val_f1"] for row in rows]
    assert values == sorted(values, reverse=True)
    for row in rows:
        if row["id"] in finished:
            assert row["val_f1"] == pytest.approx(finished[row["id"]].metrics["val_f1"].last)


def test_wandb_style_command_sweep_streams_the_script_metrics(project: Path) -> None:
    sweeptrack(project, "sweep", "run", "sweeps/wandb_style.yaml", "--trials", "3", "--parallel", "2")

    runs = sweep_runs(project)
    assert_trials_logged_per_epoch(project, runs, trials=3)
    for run in runs:
        # ${args} handed the sampled values to argparse; the script logged what it trained with.
        assert 1e-4 <= run.params["lr"] <= 0.5
        assert run.params["learning_rate"] in ("constant", "optimal")
        assert epochs_logged(project, run, "val_accuracy") == list(range(run.metrics["val_accuracy"].count))


def test_wandb_style_program_resolves_from_the_working_directory_too(project: Path) -> None:
    """``program: ../examples/train_cli.py`` is found from sweeps/ (cwd) as from the root (spec folder)."""
    done = sweeptrack(project / "sweeps", "sweep", "validate", "wandb_style.yaml")
    assert ": ok:" in done.stdout


def test_digits_torch_sweep_trains_the_pytorch_mlp(project: Path) -> None:
    pytest.importorskip("torch")
    sweeptrack(project, "sweep", "run", "sweeps/digits_torch.yaml", "--trials", "2", timeout=180)

    runs = sweep_runs(project)
    assert_trials_logged_per_epoch(project, runs, trials=2)
    for run in runs:
        # The nested optimizer block arrived as a dict and was logged with dotted names.
        assert run.params["optimizer.name"] in ("adam", "sgd")
        if run.status is RunStatus.FINISHED:
            assert run.metrics["n_params"].last > 0


@pytest.mark.parametrize("spec", sorted(p.name for p in (REPO / "sweeps").glob("*.yaml")))
def test_every_example_sweep_validates(project: Path, spec: str) -> None:
    done = sweeptrack(project, "sweep", "validate", f"sweeps/{spec}")
    assert ": ok:" in done.stdout
