"""Hugging Face transformers: one callback records the TrainingArguments and every log and eval
metric at its global step; in a sweep trial a prune decision stops the Trainer. The model is a tiny
randomly initialised BERT made from a config (HF_HUB_OFFLINE: nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeptrack.core.model import RunStatus

from .conftest import Trainer, steps_of, train_pruned

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

SCRIPT = """
import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import BertConfig, BertForSequenceClassification
from transformers import Trainer, TrainingArguments

from sweeptrack.integrations.transformers import SweeptrackCallback

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
args = parser.parse_args()


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        generator = torch.Generator().manual_seed(n)
        self.ids = torch.randint(0, 50, (n, 8), generator=generator)
        self.labels = (self.ids[:, 0] > 25).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


torch.manual_seed(0)
config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=16, num_labels=2)
arguments = TrainingArguments(
    output_dir="out", num_train_epochs=args.epochs, per_device_train_batch_size=16, learning_rate=1e-3,
    logging_steps=2, eval_strategy="epoch", save_strategy="no", report_to=[], use_cpu=True,
    disable_tqdm=True,
)
Trainer(
    model=BertForSequenceClassification(config),
    args=arguments,
    train_dataset=Tokens(64),
    eval_dataset=Tokens(32),
    callbacks=[SweeptrackCallback(experiment="hf")],
).train()
"""


def test_transformers_callback_records_a_training_run(tmp_path: Path, train_alone: Trainer) -> None:
    run = train_alone(SCRIPT, "--epochs", "2")

    assert run.status is RunStatus.FINISHED and run.experiment == "hf"
    assert run.params["learning_rate"] == 1e-3 and run.params["num_train_epochs"] == 2
    assert run.params["per_device_train_batch_size"] == 16
    db = tmp_path / "alone.db"
    assert steps_of(db, run, "loss") == [2, 4, 6, 8]  # 4 steps an epoch, logged every 2
    assert steps_of(db, run, "eval_loss") == [4, 8]
    assert run.metrics["train_runtime"].count == 1


@pytest.mark.slow  # a sweep whose trial imports the framework afresh
def test_transformers_trial_is_stopped_by_the_pruner(tmp_path: Path) -> None:
    run = train_pruned(tmp_path, SCRIPT, "eval_loss", epochs=30)

    assert run.status is RunStatus.PRUNED
    # Stopped at the first judged value (the Trainer evaluates once more as it stops), not 30 epochs later.
    assert run.metrics["eval_loss"].count <= 2
    assert run.metrics["epoch"].last <= 2
