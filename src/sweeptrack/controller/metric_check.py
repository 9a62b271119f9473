"""Is the sweep's metric real? What the first finished trial logged, and whether pruning got a value.

A typo in the spec (``val_acc`` where the code logs ``val_f1``) would otherwise fail every trial
with "never logged" and leave the user to guess. The first trial to finish tells: when it never
logged the metric, one warning names the metrics it did log. The warning is kept as the
``sweeptrack.warning`` tag of that trial's run, so ``sweep show`` repeats it later.
"""

from __future__ import annotations

import difflib

from sweeptrack.core.events import MetricsLogged
from sweeptrack.spec.model import SweepSpec, starved_pruner_note

__all__ = ["SYSTEM_PREFIX", "MetricCheck"]

SYSTEM_PREFIX = "system/"  # sampled by sweeptrack, not logged by the trial's code


class MetricCheck:
    """Watches metric names until the first trial finishes, and whether the pruner was fed."""

    def __init__(self, spec: SweepSpec) -> None:
        self.names = tuple(metric.name for metric in spec.metrics)
        self.pruned_metric = spec.pruned_metric
        self.pruner_fed = False
        self.some_run: str | None = None  # a trial's run that ended, to carry a sweep's note
        self.warnings: tuple[str, ...] = ()
        self._logged: dict[str, set[str]] | None = {} if self.names else None  # None: checked

    def saw(self, run_id: str, event: MetricsLogged) -> None:
        """Note the metric names of one batch a trial logged (until the check is done)."""
        if self._logged is not None:
            self._logged.setdefault(run_id, set()).update(key for key, *_ in event.points)

    def first_finished(self, run_id: str, number: int) -> str | None:
        """The warning for the first trial that finished, when it lacks a metric; else None."""
        if self._logged is None:
            return None
        logged = {key for key in self._logged.get(run_id, set()) if not key.startswith(SYSTEM_PREFIX)}
        self._logged = None
        missing = [name for name in self.names if name not in logged]
        if not missing:
            return None
        message = _warning(number, missing, sorted(logged))
        self.warnings += (message,)
        return message

    def pruner_starved(self, trials: int) -> str | None:
        """The summary's note when the sweep has a pruner, ran trials, and no value reached it."""
        if self.pruned_metric is None or trials == 0 or self.pruner_fed:
            return None
        return starved_pruner_note(self.pruned_metric)


def _warning(number: int, missing: list[str], logged: list[str]) -> str:
    which = ", ".join(repr(name) for name in missing)
    noun = "metric" if len(missing) == 1 else "metrics"
    text = f"trial {number} finished without logging the sweep's {noun} {which}; "
    if not logged:
        return text + "it logged no metrics"
    close = difflib.get_close_matches(missing[0], logged, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return text + f"it logged: {', '.join(logged)}{hint}"
