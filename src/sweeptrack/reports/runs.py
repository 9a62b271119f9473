"""Run listings and the detail view of one run (``sweeptrack runs list`` and ``runs show``).

Both show a RUNNING run whose heartbeat stopped as ``crashed`` (see :mod:`sweeptrack.core.liveness`).
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sweeptrack.core.liveness import Liveness
from sweeptrack.core.model import Artifact, Dataset, Run
from sweeptrack.reports.formats import Report, Table, format_time
from sweeptrack.tracking.store import Store

__all__ = [
    "NO_GPU",
    "RunDetails",
    "duration_s",
    "environment_summary",
    "run_details",
    "runs_report",
    "short_id",
    "varying_params",
]

NO_GPU = "no NVIDIA GPU"
_SHORT = 8


def short_id(run_id: str) -> str:
    """The first 8 characters of a run id: what tables show and what ``runs show`` accepts."""
    return run_id[:_SHORT]


def duration_s(run: Run) -> float | None:
    """Seconds from start to end, None while the run has not ended."""
    return None if run.end_time is None else round((run.end_time - run.start_time) / 1000, 3)


def runs_report(
    runs: Sequence[Run],
    liveness: Liveness | None = None,
    now_ms: int | None = None,
    *,
    deleted_column: bool = False,
) -> Report:
    """One row per run: short id, name, experiment, status, start time, duration, then the params
    that differ between the runs shown and the last value of every metric. Params that are the
    same in every run are hidden columns (``--columns`` can name them). A RUNNING run whose
    heartbeat stopped (by ``liveness``, at ``now_ms``: default the current time) shows ``crashed``.
    With ``deleted_column`` a ``deleted`` column after the status holds when each deleted run
    was deleted (empty for live runs). An empty listing notes ``0 runs`` under its table."""
    liveness = liveness or Liveness()
    now_ms = _now_ms() if now_ms is None else now_ms
    varying = varying_params(runs)
    params = sorted({key for run in runs for key in run.params}, key=lambda key: (key not in varying, key))
    metrics = sorted({key for run in runs for key in run.metrics})
    columns = (
        "id",
        "name",
        "experiment",
        "status",
        *(("deleted",) if deleted_column else ()),
        "started",
        "duration_s",
        *(f"params.{key}" for key in params),
        *(f"metrics.{key}" for key in metrics),
    )
    rows = tuple(
        (
            short_id(run.id),
            run.name,
            run.experiment,
            liveness.run_status_shown(run, now_ms),
            *((format_time(run.deleted_at),) if deleted_column else ()),
            format_time(run.start_time),
            duration_s(run),
            *(run.params.get(key) for key in params),
            *(run.metrics[key].last if key in run.metrics else None for key in metrics),
        )
        for run in runs
    )
    hidden = frozenset(f"params.{key}" for key in params if key not in varying)
    table = Table(columns=columns, rows=rows, name="runs", hidden=hidden)
    return Report(tables=(table,), notes=() if runs else ("0 runs",))


def varying_params(runs: Sequence[Run]) -> tuple[str, ...]:
    """Param keys, sorted, whose value is not the same in every run (absent counts as a value)."""
    keys = sorted({key for run in runs for key in run.params})
    return tuple(
        key
        for key in keys
        if len({json.dumps(run.params.get(key), sort_keys=True, default=str) for run in runs}) > 1
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetails:
    """Everything ``runs show`` prints about one run."""

    run: Run
    datasets: tuple[Dataset, ...]
    artifacts: tuple[Artifact, ...]
    environment: Mapping[str, Any] | None
    status: str | None = None  # what to show: ``crashed`` for a dead RUNNING run; None: the status

    def report(self) -> Report:
        """Sections as tables, an empty one left out (a run without datasets gets no datasets
        table); JSON gets one object with every section, empty ones too."""
        overview, *sections = self._tables()
        return Report(tables=(overview, *(table for table in sections if table.rows)), data=self._data())

    def _overview(self) -> dict[str, Any]:
        run = self.run
        return {
            "id": run.id,
            "name": run.name,
            "experiment": run.experiment,
            "status": self.status or run.status.value,
            "deleted": format_time(run.deleted_at),
            "heartbeat": format_time(run.heartbeat_at),
            "sweep": run.sweep_id,
            "trial": run.trial_number,
            "started": format_time(run.start_time),
            "ended": format_time(run.end_time),
            "duration_s": duration_s(run),
            "error": run.error,
            "note": run.note,
        }

    def _data(self) -> dict[str, Any]:
        metrics = {
            key: {"last": m.last, "min": m.min, "max": m.max, "count": m.count, "last_step": m.last_step}
            for key, m in sorted(self.run.metrics.items())
        }
        return {
            **self._overview(),
            "params": dict(sorted(self.run.params.items())),
            "metrics": metrics,
            "tags": dict(sorted(self.run.tags.items())),
            "datasets": [
                {"name": d.name, "context": d.context, "digest": d.digest, "size": d.size, "source": d.source}
                for d in self.datasets
            ],
            "environment": environment_summary(self.environment),
            "artifacts": [{"path": a.path, "size": a.size, "sha256": a.sha256} for a in self.artifacts],
        }

    def _tables(self) -> tuple[Table, ...]:
        run = self.run
        overview = tuple((k, v) for k, v in self._overview().items() if v is not None)
        environment = environment_summary(self.environment)
        return (
            Table(columns=("field", "value"), rows=overview, title=f"Run {run.name}", name="run"),
            Table(
                columns=("param", "value"),
                rows=tuple(sorted(run.params.items())),
                title="Params",
                name="params",
            ),
            Table(
                columns=("metric", "last", "min", "max", "count", "last_step"),
                rows=tuple(
                    (k, m.last, m.min, m.max, m.count, m.last_step) for k, m in sorted(run.metrics.items())
                ),
                title="Metrics",
                name="metrics",
            ),
            Table(columns=("tag", "value"), rows=tuple(sorted(run.tags.items())), title="Tags", name="tags"),
            Table(
                columns=("dataset", "context", "digest", "size", "source"),
                rows=tuple((d.name, d.context, d.digest, d.size, d.source) for d in self.datasets),
                title="Datasets",
                name="datasets",
            ),
            Table(
                columns=("field", "value"),
                rows=tuple((k, _environment_text(v)) for k, v in environment.items()),
                title="Environment",
                name="environment",
            ),
            Table(
                columns=("artifact", "size", "sha256"),
                rows=tuple((a.path, a.size, a.sha256) for a in self.artifacts),
                title="Artifacts",
                name="artifacts",
            ),
        )


def run_details(store: Store, ref: str, liveness: Liveness | None = None) -> RunDetails:
    """Gather what ``runs show`` prints for the run whose id, id prefix or name is ``ref``.

    Raises:
        RunNotFoundError: ``ref`` matches no run, or more than one.
    """
    run_id = store.resolve_run(ref)
    run = store.get_run(run_id)
    return RunDetails(
        run=run,
        status=(liveness or Liveness()).run_status_shown(run, _now_ms()),
        datasets=tuple(store.list_datasets(run_id)),
        artifacts=tuple(store.list_artifacts(run_id)),
        environment=store.get_environment(run_id),
    )


def environment_summary(env: Mapping[str, Any] | None) -> dict[str, Any]:
    """The facts of a captured environment worth a glance (see ``tracking.environment``).

    A part whose capture failed shows as ``error: ...``; an absent environment gives ``{}``.
    """
    if env is None:
        return {}
    python, platform, cpu, git = (env.get(k) for k in ("python", "platform", "cpu", "git"))
    packages = env.get("packages")
    return {
        "python": _part(python, lambda p: f"{p['version']} ({p['implementation']})"),
        "platform": _part(platform, lambda p: p["platform"]),
        "host": _part(env.get("hostname"), str),
        "cpu": _part(cpu, lambda c: f"{c['model'] or 'unknown'} ({c['count']} cores)"),
        "ram": _part(env.get("ram_bytes"), _gib),
        "git_commit": _part(git, lambda g: g.get("commit")),
        "git_branch": _part(git, lambda g: g.get("branch")),
        "git_dirty": _part(git, lambda g: g.get("dirty")),
        "gpus": _gpus(env),
        "command": _part(env.get("command"), shlex.join),
        "packages": _part(packages, len),
    }


def _part(value: Any, describe: Callable[[Any], Any]) -> Any:
    """``describe(value)`` for a captured part; its error text if it failed; None if absent."""
    if value is None:
        return None
    if isinstance(value, Mapping) and set(value) == {"error"}:
        return f"error: {value['error']}"
    try:
        return describe(value)
    except (KeyError, TypeError, AttributeError):
        return str(value)


def _gpus(env: Mapping[str, Any]) -> Any:
    gpus = env.get("gpus")
    if isinstance(gpus, Mapping) and "error" in gpus:
        return f"error: {gpus['error']}"
    if not gpus:
        return env.get("gpu_status", NO_GPU)
    return [f"{gpu.get('name')} ({_gib(gpu.get('memory_total_bytes'))})" for gpu in gpus]


def _gib(size: Any) -> str:
    return f"{size / 2**30:.1f} GiB" if isinstance(size, int | float) else "? GiB"


def _environment_text(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return value


def _now_ms() -> int:
    return int(time.time() * 1000)
