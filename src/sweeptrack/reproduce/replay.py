"""Sweep replay for audits: the exact configs of an earlier sweep, in its order, and trial by trial
whether the new result matched the recorded one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sweeptrack.core.errors import SweepError
from sweeptrack.core.model import Run
from sweeptrack.reports.formats import Report, Table
from sweeptrack.reproduce.agreement import compare_runs_metrics
from sweeptrack.spec.model import SweepSpec
from sweeptrack.tracking.store import Store

__all__ = ["ReplayRow", "recorded_trials", "replay_report", "replay_rows"]

REPLAYS_TAG = "sweeptrack.reproduces"


def recorded_trials(store: Store, ref: str) -> list[Run]:
    """The sweep's trials by number, each its last attempt (what the sweep's result is).

    Raises:
        SweepNotFoundError: no such sweep.
        SweepError: the sweep has no trial.
    """
    sweep = store.get_sweep(ref)
    last: dict[int, Run] = {}
    for run in store.search_runs(sweep=sweep.id, order_by="start_time ASC"):
        if run.trial_number is not None:
            last[run.trial_number] = run
    if not last:
        raise SweepError(f"sweep {sweep.name} ({sweep.id[:8]}) has no trials to replay")
    return [last[number] for number in sorted(last)]


def configs(trials: list[Run]) -> list[Mapping[str, Any]]:
    """The params of each trial, in trial order."""
    return [dict(run.params) for run in trials]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayRow:
    """One trial number: its recorded run, its replay, their objectives, whether they matched."""

    number: int
    original: Run
    replay: Run | None
    original_objective: float | None
    replay_objective: float | None
    matched: bool


def replay_rows(
    store: Store, spec: SweepSpec, originals: list[Run], replay_sweep: str, rtol: float
) -> list[ReplayRow]:
    """Pair each recorded trial with its replay (tagged as reproducing it) and compare them."""
    replays: dict[int, Run] = {}
    for run in store.search_runs(sweep=replay_sweep, order_by="start_time ASC"):
        if run.trial_number is not None:
            replays[run.trial_number] = run
    rows = []
    for number, original in enumerate(originals):
        replay = replays.get(number)
        if replay is not None:
            store.set_tags(replay.id, {REPLAYS_TAG: original.id})
        matched = replay is not None and compare_runs_metrics(original, replay, rtol).within
        rows.append(
            ReplayRow(
                number=number,
                original=original,
                replay=replay,
                original_objective=_objective(spec, original),
                replay_objective=None if replay is None else _objective(spec, replay),
                matched=matched,
            )
        )
    return rows


def replay_report(rows: list[ReplayRow]) -> Report:
    """Trial by trial: both runs, their statuses and objectives, and whether they matched."""
    table = Table(
        columns=("trial", "original", "replay", "status", "objective", "replayed", "matched"),
        rows=tuple(
            (
                row.number,
                row.original.id[:8],
                "" if row.replay is None else row.replay.id[:8],
                row.original.status.value
                + (
                    ""
                    if row.replay is None or row.replay.status is row.original.status
                    else f" -> {row.replay.status.value}"
                ),
                row.original_objective,
                row.replay_objective,
                row.matched,
            )
            for row in rows
        ),
        title="Replay",
        name="replay",
        highlight=tuple(not row.matched for row in rows),
    )
    return Report(tables=(table,))


def _objective(spec: SweepSpec, run: Run) -> float | None:
    if not spec.metrics:
        return None
    values = spec.objective_values(run)
    return None if values is None else values[0]
