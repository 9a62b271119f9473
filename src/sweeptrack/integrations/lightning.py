"""PyTorch Lightning: ``Trainer(logger=SweeptrackLogger())``.

Hyperparameters (``save_hyperparameters()``) become params, every ``self.log`` metric is logged at
the trainer's global step, and checkpoints are stored as artifacts when asked (``log_model=True``:
the best and last at the end; ``"all"``: each one as it is saved). Inside a sweep trial the logger
reports to the trial, and once the trial is pruned it raises :class:`sweeptrack.TrialPruned`
from the next logging call, which stops the Trainer (the trial ends PRUNED).

Example:
    >>> from sweeptrack.integrations.lightning import SweeptrackLogger      # doctest: +SKIP
    >>> trainer = L.Trainer(max_epochs=10, logger=SweeptrackLogger(experiment="mnist"))
    >>> trainer.fit(model, train_loader, val_loader)
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from sweeptrack.core.model import RunStatus
from sweeptrack.integrations._runs import IntegrationRun, numbers_of, params_of
from sweeptrack.run import Run, TrialPruned

__all__ = ["SweeptrackLogger"]


class SweeptrackLogger(Logger):
    """A Lightning logger that records to sweeptrack.

    Args:
        experiment: the run's experiment outside a sweep (default ``"default"``).
        name: the run's name outside a sweep.
        tags: tags set on the run.
        log_model: store checkpoints as artifacts: ``True`` the best and last when training ends,
            ``"all"`` every checkpoint when it is saved, ``False`` none.
        db: the database URL outside a sweep (default ``SWEEPTRACK_DB``, else ``sqlite:///sweeptrack.db``).
    """

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        log_model: bool | Literal["all"] = False,
        db: str | None = None,
    ) -> None:
        super().__init__()
        self._target = IntegrationRun(experiment, name, tags, db)
        self._experiment_name = experiment or "default"
        self._log_model = log_model
        self._checkpoint_callback: Any = None
        self._stored: set[str] = set()

    @property
    def name(self) -> str:
        return self._experiment_name

    @property
    def version(self) -> str:
        return self.experiment.id

    @property
    def save_dir(self) -> str | None:
        return None

    @property
    @rank_zero_experiment
    def experiment(self) -> Run:
        """The sweeptrack run (the trial's inside a sweep)."""
        return self._target.run

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        values = vars(params) if isinstance(params, Namespace) else dict(params)
        self.experiment.log_params(params_of(values))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        run = self.experiment
        run.log_metrics(numbers_of(metrics), step)
        if run.should_prune():
            raise TrialPruned(f"the sweep pruned this trial at step {step}")

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self._checkpoint_callback = checkpoint_callback
        if self._log_model == "all":
            self._store_checkpoints()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._log_model is True and status == "success":
            self._store_checkpoints()
        if status == "success":
            self._target.close(RunStatus.FINISHED)
        else:
            self._target.close(RunStatus.FAILED, f"training ended: {status}")

    def _store_checkpoints(self) -> None:
        callback = self._checkpoint_callback
        if callback is None:
            return
        paths = {getattr(callback, "best_model_path", ""), getattr(callback, "last_model_path", "")}
        paths |= set(getattr(callback, "best_k_models", {}))
        for path in sorted(p for p in paths if p and p not in self._stored and Path(p).is_file()):
            self.experiment.log_artifact(path, f"checkpoints/{Path(path).name}")
            self._stored.add(path)
