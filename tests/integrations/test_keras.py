"""Keras 3 (torch backend): one callback records each epoch's metrics (and each batch's when
asked) and the fit's settings; in a sweep trial a prune decision stops fit()."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeptrack.core.model import RunStatus

from .conftest import Trainer, steps_of, train_pruned

# Keras' torch backend converts tensors the way numpy 2 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

SCRIPT = """
import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

from sweeptrack.integrations.keras import SweeptrackCallback

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

rng = np.random.default_rng(0)
x = rng.normal(size=(128, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse", metrics=["mae"])
model.fit(x, y, epochs=args.epochs, batch_size=32, validation_split=0.25, verbose=0,
          callbacks=[SweeptrackCallback(experiment="keras", log_every_batch=True)])
"""


@pytest.fixture(autouse=True)
def torch_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "torch")


def test_keras_callback_records_a_training_run(tmp_path: Path, train_alone: Trainer) -> None:
    run = train_alone(SCRIPT, "--epochs", "3")

    assert run.status is RunStatus.FINISHED and run.experiment == "keras"
    assert run.params["fit.epochs"] == 3 and run.params["optimizer.name"] == "sgd"
    assert run.params["optimizer.learning_rate"] == pytest.approx(0.01)
    db = tmp_path / "alone.db"
    for key in ("loss", "mae", "val_loss", "val_mae"):
        assert steps_of(db, run, key) == [0, 1, 2]
    assert steps_of(db, run, "batch/loss") == list(range(9))  # 3 batches an epoch
    assert run.metrics["loss"].last < run.metrics["loss"].max


@pytest.mark.slow  # a sweep whose trial imports the framework afresh
def test_keras_trial_is_stopped_by_the_pruner(tmp_path: Path) -> None:
    run = train_pruned(tmp_path, SCRIPT, "val_loss", epochs=30)

    assert run.status is RunStatus.PRUNED
    assert 1 <= run.metrics["val_loss"].count <= 2  # of 30 epochs
