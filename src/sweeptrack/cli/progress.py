"""Live sweep progress: a rich progress bar on a terminal; plain lines in a log or CI.

On a terminal the bar shows trials done of the budget, the counts by outcome, the best value so
far and the ETA (once the sweep can estimate it). Without one (CI, ``| tee``), a line at the
start, then one every 10 seconds or each time another tenth of the budget is done, whichever
comes first, and a last line at the end.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeptrack.controller import SweepProgress

__all__ = ["ProgressDisplay", "describe"]

PLAIN_EVERY_S = 10.0  # a plain line at least this often, so a CI log shows the sweep is alive
PLAIN_STEPS = 10  # and one at each tenth of the budget
_BAR_EVERY_S = 0.1


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _done(p: SweepProgress) -> int:
    return p.finished + p.pruned + p.failed + p.killed


def _outcomes(p: SweepProgress) -> str:
    interrupted = f", {p.interrupted} interrupted" if p.interrupted else ""
    killed = f", {p.killed} killed" if p.killed else ""
    return f"{p.finished} finished, {p.pruned} pruned, {p.failed} failed{killed}{interrupted}"


def _best(p: SweepProgress, metric: str | None) -> str:
    if metric is None:  # a sweep without a metric ranks nothing
        return ""
    best = "-" if p.best_value is None else f"{p.best_value:.6g} (trial {p.best_trial})"
    return f"best {metric} {best}"


def describe(p: SweepProgress, metric: str | None) -> str:
    """One line of progress; no ETA until the sweep can estimate one (a trial ended in this run).

    Example: ``digits: 3/20 done, 2 running, 2 finished, 1 pruned, 0 failed | best val_f1 0.93
    (trial 1) | elapsed 0:00:12 ETA 0:01:08``
    """
    total = "" if p.budget is None else f"/{p.budget}"
    best = _best(p, metric)
    ranked = f" | {best}" if best else ""
    eta = "" if p.eta is None else f" ETA {_clock(p.eta)}"
    return (
        f"{p.name}: {_done(p)}{total} done, {p.running} running, {_outcomes(p)}{ranked} "
        f"| elapsed {_clock(p.elapsed)}{eta}"
    )


class ProgressDisplay:
    """Callable given to the controller; use as a context manager around the sweep.

    Args:
        metric: The sweep's first metric (its best value is shown), or None.
        live: A progress bar (True) or plain lines (False); default: a bar when standard output
            is a terminal.
        clock: Seconds on a monotonic clock (for the plain lines' cadence).
    """

    def __init__(
        self,
        metric: str | None,
        *,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metric = metric
        self.live = sys.stdout.isatty() if live is None else live
        self._clock = clock
        self._bar: _Bar | None = None
        self._latest: SweepProgress | None = None
        self._printed: str | None = None  # the last plain line, without its times
        self._printed_at = -math.inf
        self._step = -1  # the tenth of the budget the last plain line showed

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            self._bar = _Bar(self.metric)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close(self._latest)
        elif self._latest is not None and _key(describe(self._latest, self.metric)) != self._printed:
            self._print(self._latest)

    def __call__(self, progress: SweepProgress) -> None:
        self._latest = progress
        if self._bar is not None:
            self._bar.update(progress, self._clock())
            return
        step = self._tenth(progress)
        now = self._clock()
        if step > self._step or now - self._printed_at >= PLAIN_EVERY_S:
            self._step = max(step, self._step)
            self._print(progress)

    def _tenth(self, p: SweepProgress) -> int:
        """How many tenths of the budget are done (0 without a budget: only time counts)."""
        if not p.budget:
            return 0
        return min(_done(p), p.budget) * PLAIN_STEPS // p.budget

    def _print(self, progress: SweepProgress) -> None:
        line = describe(progress, self.metric)
        self._printed = _key(line)
        self._printed_at = self._clock()
        print(line, flush=True)


def _key(line: str) -> str:
    """A line without its times: the same key means nothing but time changed."""
    return line.split(" | elapsed")[0]


class _Bar:
    """The rich progress bar of a sweep on a terminal."""

    def __init__(self, metric: str | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.metric = metric
        # One text column after the bar: a narrow terminal crops its end, not every column.
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[state]}", markup=False),
            refresh_per_second=8,
        )
        self.task: Any = None
        self._drawn_at = -math.inf
        self.progress.start()

    def update(self, p: SweepProgress, now: float, *, force: bool = False) -> None:
        if not force and now - self._drawn_at < _BAR_EVERY_S:
            return
        self._drawn_at = now
        running = f"{p.running} running, " if p.running else ""
        best = _best(p, self.metric)
        eta = "" if p.eta is None else f" ETA {_clock(p.eta)}"
        state = f"{running}{_outcomes(p)}{' | ' + best if best else ''} | {_clock(p.elapsed)}{eta}"
        if self.task is None:
            self.task = self.progress.add_task(p.name, total=p.budget, completed=_done(p), state=state)
        else:
            self.progress.update(self.task, total=p.budget, completed=_done(p), state=state)

    def close(self, latest: SweepProgress | None) -> None:
        """The bar with the sweep's last state stays on the screen."""
        if latest is not None:
            self.update(latest, math.inf, force=True)
        self.progress.stop()
