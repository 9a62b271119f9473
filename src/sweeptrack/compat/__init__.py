"""Drop-in modules for scripts written against other trackers, over sweeptrack's run API.

- :mod:`sweeptrack.compat.wandb`: ``import sweeptrack.compat.wandb as wandb`` and a W&B training
  script runs as it is (inside a program sweep ``import wandb`` resolves to it by itself).
- :mod:`sweeptrack.compat.mlflow`: ``import sweeptrack.compat.mlflow as mlflow`` for MLflow's
  fluent tracking API.

Importing this package imports neither module (nor anything heavy).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["shim_dir"]


def shim_dir() -> Path:
    """The folder that, first on a trial's ``PYTHONPATH``, makes ``import wandb`` load the shim."""
    return Path(__file__).resolve().parent / "_shim"
