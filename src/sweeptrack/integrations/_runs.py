"""The run an integration logs to: the active run (a sweep trial's, or one the script started),
else a run of its own, which it ends when training ends (training again starts another)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweeptrack import fluent
from sweeptrack.compat._values import as_float, flatten, is_number, plain_param
from sweeptrack.core.model import RunStatus
from sweeptrack.run import Run

__all__ = ["IntegrationRun", "numbers_of", "params_of"]


class IntegrationRun:
    """Opens the run on first use; :meth:`close` ends it only if it was opened here."""

    def __init__(
        self,
        experiment: str | None,
        name: str | None,
        tags: Mapping[str, Any] | None,
        db: str | None,
    ) -> None:
        self._options = (experiment, name, dict(tags or {}), db)
        self._run: Run | None = None
        self.owned = False

    @property
    def run(self) -> Run:
        if self._run is None or (self.owned and self._run.ended):
            experiment, name, tags, db = self._options
            active = fluent.active_run()
            if active is not None:
                if tags:
                    active.set_tags(tags)
                self._run = active
            else:
                self._run = fluent.start_run(experiment=experiment, name=name, tags=tags, db=db)
                self.owned = True
        return self._run

    @property
    def started(self) -> bool:
        return self._run is not None

    def close(self, status: RunStatus = RunStatus.FINISHED, error: str | None = None) -> None:
        """End a run opened here; flush one that belongs to someone else."""
        run = self._run
        if run is None or run.ended:
            return
        if self.owned:
            run.end(status, error)
        else:
            run.flush()


def params_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """Nested settings as dotted params of storable values."""
    return {key: plain_param(value) for key, value in flatten(values, ".").items()}


def numbers_of(values: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of a framework's logs as floats (tensors, numpy scalars and bools too)."""
    return {key: as_float(value) for key, value in values.items() if is_number(value)}
