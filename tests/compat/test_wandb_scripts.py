"""W&B training scripts, written as W&B users write them, run unchanged: as a program sweep (where
``import wandb`` resolves to sweeptrack's shim) and as plain scripts after the one-line import change."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeptrack.core.model import RunStatus

from .conftest import all_runs, history, run_script, run_sweep_cli, write

TRAIN = """
import argparse
import math

import wandb

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--optimizer", default="sgd")
args = parser.parse_args()

run = wandb.init(project="mnist", config=vars(args), tags=["baseline"], group="cnn")
config = wandb.config
best = math.inf
for epoch in range(config.epochs):
    loss = config.lr * (config.epochs - epoch)
    wandb.log({"train": {"loss": loss}}, commit=False)
    wandb.log({"val_loss": loss / 2, "epoch": epoch})
    best = min(best, loss / 2)
run.summary["best_val_loss"] = best
wandb.finish()
"""

SWEEP = """
program: train.py
method: grid
metric: {name: val_loss, goal: minimize}
parameters:
  lr: {values: [0.1, 0.2]}
  epochs: {value: 3}
"""

CONFIG_ONLY = """
import wandb

wandb.init(config={"lr": 0.5, "layers": 2, "model": {"width": 8}})
for step in range(5):
    wandb.log({"loss": wandb.config["lr"] * (5 - step), "width": wandb.config.model["width"]})
"""


def test_wandb_sweep_and_script_run_unchanged_as_a_program_sweep(folder: Path) -> None:
    write(folder, "train.py", TRAIN)
    write(folder, "sweep.yaml", SWEEP)

    done = run_sweep_cli(folder, "sweep.yaml")

    assert done.returncode == 0, done.stderr
    runs = all_runs(folder)
    assert [run.status for run in runs] == [RunStatus.FINISHED, RunStatus.FINISHED]
    assert sorted(run.params["lr"] for run in runs) == [0.1, 0.2]
    for run in runs:
        lr = run.params["lr"]
        assert run.params["epochs"] == 3 and run.params["optimizer"] == "sgd"  # argparse's default
        assert run.experiment == "default"  # the sweep's experiment, not the script's project
        assert run.tags["baseline"] == "true" and run.tags["group"] == "cnn"
        assert history(folder, run, "val_loss") == [(0, lr * 1.5), (1, lr * 1.0), (2, lr * 0.5)]
        assert history(folder, run, "train/loss") == [(0, lr * 3), (1, lr * 2), (2, lr * 1)]
        assert run.metrics["best_val_loss"].last == pytest.approx(lr * 0.5)
    assert "val_loss" in done.stdout  # the leaderboard ranked the trials by the W&B-logged metric


def test_wandb_script_runs_as_a_plain_script_after_the_import_line(folder: Path) -> None:
    write(folder, "train.py", TRAIN.replace("import wandb", "import sweeptrack.compat.wandb as wandb"))

    run_script(folder, "train.py", "--lr", "0.3", "--epochs", "2")

    (run,) = all_runs(folder)
    assert run.status is RunStatus.FINISHED and run.experiment == "mnist"
    assert run.params == {"lr": 0.3, "epochs": 2, "optimizer": "sgd"}
    assert history(folder, run, "val_loss") == [(0, pytest.approx(0.3)), (1, pytest.approx(0.15))]
    assert history(folder, run, "epoch") == [(0, 0.0), (1, 1.0)]


def test_config_only_script_gets_the_sampled_values_in_a_sweep(folder: Path) -> None:
    write(folder, "train.py", CONFIG_ONLY)
    write(
        folder, "sweep.yaml", "program: train.py\nmethod: grid\nparameters:\n  lr: {values: [0.01, 0.02]}\n"
    )

    done = run_sweep_cli(folder, "sweep.yaml")

    assert done.returncode == 0, done.stderr
    runs = all_runs(folder)
    assert sorted(run.params["lr"] for run in runs) == [0.01, 0.02]  # the sweep's value won
    for run in runs:
        assert run.params["layers"] == 2 and run.params["model.width"] == 8
        assert history(folder, run, "loss")[0] == (0, pytest.approx(run.params["lr"] * 5))
        assert run.metrics["width"].count == 5


def test_wandb_real_in_the_spec_leaves_import_wandb_alone(folder: Path) -> None:
    """With ``wandb: real`` the trial imports the installed wandb: here there is none, so it fails."""
    write(folder, "train.py", CONFIG_ONLY)
    write(
        folder, "sweep.yaml", "program: train.py\nmethod: grid\nwandb: real\nparameters:\n  lr: {value: 1}\n"
    )

    run_sweep_cli(folder, "sweep.yaml")

    (run,) = all_runs(folder)
    assert run.status is RunStatus.FAILED
    assert "No module named 'wandb'" in (run.error or "")


STEPPED = """
import wandb

wandb.init(config={"epochs": 3})
for epoch in range(wandb.config.epochs):
    wandb.log({"acc": epoch / 10}, step=epoch)  # each row stays open until the next step
"""


@pytest.mark.parametrize("how", ["sweep", "script"])
def test_the_row_left_open_by_an_explicit_step_is_kept_at_exit(folder: Path, how: str) -> None:
    """W&B commits the last open row when the script ends, without ``wandb.finish()``."""
    if how == "sweep":
        write(folder, "train.py", STEPPED)
        write(folder, "sweep.yaml", "program: train.py\nmethod: grid\nparameters:\n  epochs: {value: 3}\n")
        assert run_sweep_cli(folder, "sweep.yaml").returncode == 0
    else:
        write(folder, "train.py", STEPPED.replace("import wandb", "import sweeptrack.compat.wandb as wandb"))
        run_script(folder, "train.py")

    (run,) = all_runs(folder)
    assert run.status is RunStatus.FINISHED
    assert history(folder, run, "acc") == [(0, 0.0), (1, 0.1), (2, 0.2)]
