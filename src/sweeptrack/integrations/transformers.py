"""Hugging Face transformers: ``Trainer(..., callbacks=[SweeptrackCallback()])``.

The TrainingArguments become params, every ``logs`` dict the Trainer reports (training loss,
learning rate, eval metrics) is logged at its global step, and inside a sweep trial a prune
decision stops training at the next log (``control.should_training_stop``; the trial ends PRUNED).
Pass ``report_to=[]`` (or ``"none"``) in TrainingArguments so no other tracker starts.

Example:
    >>> from sweeptrack.integrations.transformers import SweeptrackCallback   # doctest: +SKIP
    >>> trainer = Trainer(model=model, args=args, train_dataset=train, callbacks=[SweeptrackCallback()])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from sweeptrack.core.model import RunStatus
from sweeptrack.integrations._runs import IntegrationRun, numbers_of, params_of

__all__ = ["SweeptrackCallback"]


class SweeptrackCallback(TrainerCallback):
    """A Trainer callback that records to sweeptrack.

    Args:
        experiment: the run's experiment outside a sweep (default ``"default"``).
        name: the run's name outside a sweep.
        tags: tags set on the run.
        db: the database URL outside a sweep (default ``SWEEPTRACK_DB``, else ``sqlite:///sweeptrack.db``).
    """

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        db: str | None = None,
    ) -> None:
        self._target = IntegrationRun(experiment, name, tags, db)
        self.pruned = False

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.is_world_process_zero:
            self._target.run.log_params(params_of(args.to_dict()))

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        run = self._target.run
        run.log_metrics(numbers_of(logs), state.global_step)
        if run.should_prune():
            self.pruned = True
            control.should_training_stop = True

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.is_world_process_zero:
            self._target.close(RunStatus.FINISHED)
