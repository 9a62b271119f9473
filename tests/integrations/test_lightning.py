"""PyTorch Lightning: one logger line records hyperparameters, every self.log metric at its global
step and the checkpoints; in a sweep trial a prune decision stops the Trainer."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeptrack.core.model import RunStatus

from .conftest import Trainer, artifact_paths, steps_of, train_pruned

# Lightning's own notes (few dataloader workers, a deprecated torch pytree name) are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

SCRIPT = """
import argparse

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from sweeptrack.integrations.lightning import SweeptrackLogger

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()


class Regressor(L.LightningModule):
    def __init__(self, lr: float, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        layers = [torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)]
        self.net = torch.nn.Sequential(*layers)

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
x = torch.randn(128, 4)
y = x.sum(dim=1, keepdim=True)
train = DataLoader(TensorDataset(x, y), batch_size=32)
val = DataLoader(TensorDataset(x[:32], y[:32]), batch_size=32)
trainer = L.Trainer(
    max_epochs=args.epochs,
    logger=SweeptrackLogger(experiment="lightning", log_model=True),
    log_every_n_steps=1,
    enable_progress_bar=False,
    enable_model_summary=False,
    default_root_dir="out",
)
trainer.fit(Regressor(args.lr), train, val)
"""


def test_lightning_logger_records_a_training_run(tmp_path: Path, train_alone: Trainer) -> None:
    run = train_alone(SCRIPT, "--epochs", "3")

    assert run.status is RunStatus.FINISHED and run.experiment == "lightning"
    assert run.params == {"lr": 0.05, "hidden": 8}
    db = tmp_path / "alone.db"
    assert steps_of(db, run, "train_loss") == list(range(12))  # 4 batches a epoch, at the global step
    assert steps_of(db, run, "val_loss") == [3, 7, 11]
    assert run.metrics["val_loss"].last < run.metrics["val_loss"].max
    (checkpoint,) = artifact_paths(db, run)
    assert checkpoint == "checkpoints/epoch=2-step=12.ckpt"


@pytest.mark.slow  # a sweep whose trial imports the framework afresh
def test_lightning_trial_is_stopped_by_the_pruner(tmp_path: Path) -> None:
    run = train_pruned(tmp_path, SCRIPT, "val_loss", epochs=30)

    assert run.status is RunStatus.PRUNED
    # The Trainer stopped at the first judged value, not 30 epochs later.
    assert 1 <= run.metrics["val_loss"].count <= 2
