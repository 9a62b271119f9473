"""Keras 3: ``model.fit(..., callbacks=[SweeptrackCallback()])``.

Every epoch's logs (loss, metrics, validation metrics) are logged at the epoch number, each batch's
too with ``log_every_batch=True`` (as ``batch/NAME`` at the batch count), the fit's settings and
the optimizer's config become params, and inside a sweep trial a prune decision stops training
after the epoch (``model.stop_training``; the trial ends PRUNED). Works with every Keras backend.

Example:
    >>> from sweeptrack.integrations.keras import SweeptrackCallback   # doctest: +SKIP
    >>> model.fit(x, y, epochs=10, validation_split=0.2, callbacks=[SweeptrackCallback()])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from sweeptrack.core.model import RunStatus
from sweeptrack.integrations._runs import IntegrationRun, numbers_of, params_of

__all__ = ["SweeptrackCallback"]


class SweeptrackCallback(keras.callbacks.Callback):
    """A Keras callback that records to sweeptrack.

    Args:
        experiment: the run's experiment outside a sweep (default ``"default"``).
        name: the run's name outside a sweep.
        tags: tags set on the run.
        log_every_batch: also log each training batch's logs as ``batch/NAME``.
        db: the database URL outside a sweep (default ``SWEEPTRACK_DB``, else ``sqlite:///sweeptrack.db``).
    """

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        log_every_batch: bool = False,
        db: str | None = None,
    ) -> None:
        super().__init__()
        self._target = IntegrationRun(experiment, name, tags, db)
        self.log_every_batch = log_every_batch
        self.pruned = False
        self._batches = 0

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        settings: dict[str, Any] = {"fit": dict(self.params or {})}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            config = optimizer.get_config()
            settings["optimizer"] = {k: v for k, v in config.items() if not isinstance(v, Mapping)}
        self._target.run.log_params(params_of(settings))

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self.log_every_batch and logs:
            values = numbers_of(logs)
            self._target.run.log_metrics({f"batch/{k}": v for k, v in values.items()}, self._batches)
            self._batches += 1

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        run = self._target.run
        run.log_metrics(numbers_of(logs or {}), epoch)
        if run.should_prune():
            self.pruned = True
            self.model.stop_training = True

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self._target.close(RunStatus.FINISHED)
