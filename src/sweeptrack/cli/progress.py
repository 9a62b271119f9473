"""Live sweep progress: a rich status line on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeptrack.controller import SweepProgress

__all__ = ["ProgressDisplay"]

_PLAIN_EVERY_S = 2.0


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def describe(p: SweepProgress, metric: str | None) -> str:
    """One line of progress; a sweep without a metric has no best value to show."""
    total = "" if p.budget is None else f"/{p.budget}"
    done = p.finished + p.pruned + p.failed + p.killed
    best = "-" if p.best_value is None else f"{p.best_value:.6g} (trial {p.best_trial})"
    ranked = "" if metric is None else f" | best {metric} {best}"
    interrupted = f", {p.interrupted} interrupted" if p.interrupted else ""
    return (
        f"{p.name}: {done}{total} done, {p.running} running, {p.finished} finished, {p.pruned} pruned, "
        f"{p.failed} failed{interrupted}{ranked} | elapsed {_clock(p.elapsed)} ETA {_clock(p.eta)}"
    )


class ProgressDisplay:
    """Callable given to the controller; use as a context manager around the sweep."""

    def __init__(self, metric: str | None, *, live: bool | None = None) -> None:
        self.metric = metric
        self.live = sys.stdout.isatty() if live is None else live
        self._live: Any = None
        self._last_line = ""
        self._pending = ""
        self._last_draw = -_PLAIN_EVERY_S

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            from rich.live import Live

            self._live = Live("", refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
        elif self._pending and self._pending.split(" | elapsed")[0] != self._last_line:
            print(self._pending, flush=True)

    def __call__(self, progress: SweepProgress) -> None:
        line = describe(progress, self.metric)
        self._pending = line
        if self._live is not None:
            now = time.monotonic()
            if now - self._last_draw > 0.1:
                self._live.update(line)
                self._last_draw = now
            return
        # Plain output (a log, CI): a line when trials end, at most one every few seconds, and
        # always the last one.
        key = line.split(" | elapsed")[0]
        now = time.monotonic()
        finished = (
            progress.running == 0 and progress.budget is not None and self._done(progress) >= progress.budget
        )
        if key != self._last_line and (now - self._last_draw >= _PLAIN_EVERY_S or finished):
            self._last_line = key
            self._last_draw = now
            print(line, flush=True)

    @staticmethod
    def _done(p: SweepProgress) -> int:
        return p.finished + p.pruned + p.failed + p.killed
