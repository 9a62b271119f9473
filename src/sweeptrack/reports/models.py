"""Reports of the model registry: the models, one version's lineage, the alias history.

A version's lineage is everything that made it: the run, its sweep, params, metric summaries,
dataset digests, git commit, and the registered artifact's digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.registry import AliasMove, ModelVersion, RegisteredModel
from sweeptrack.reports.formats import Report, Table, Timestamp, format_time
from sweeptrack.tracking.store import Store

__all__ = ["history_report", "lineage_report", "models_report", "versions_report"]


def models_report(models: Sequence[RegisteredModel]) -> Report:
    """One row per model: its versions, newest version and aliases."""
    rows = tuple(
        (
            model.name,
            model.versions,
            model.latest_version,
            ", ".join(f"{alias}={number}" for alias, number in sorted(model.aliases.items())),
            Timestamp(format_time(model.created_at)),
        )
        for model in models
    )
    table = Table(columns=("name", "versions", "latest", "aliases", "created"), rows=rows, name="models")
    return Report(tables=(table,), notes=() if rows else ("no model is registered yet",))


def versions_report(versions: Sequence[ModelVersion]) -> Report:
    """One row per version of a model, oldest first."""
    rows = tuple(
        (
            version.version,
            ", ".join(version.aliases),
            version.run_id[:8],
            version.artifact_path,
            version.sha256[:12],
            version.created_by or "",
            Timestamp(format_time(version.created_at)),
        )
        for version in versions
    )
    columns = ("version", "aliases", "run", "artifact", "sha256", "by", "created")
    return Report(tables=(Table(columns=columns, rows=rows, name="versions"),))


def history_report(moves: Sequence[AliasMove]) -> Report:
    """Every alias move, oldest first: the alias, from which version to which, who and when."""
    rows = tuple(
        (
            Timestamp(format_time(move.moved_at)),
            move.alias,
            "" if move.previous_version is None else move.previous_version,
            "removed" if move.version is None else move.version,
            move.moved_by,
        )
        for move in moves
    )
    table = Table(columns=("moved_at", "alias", "from", "to", "by"), rows=rows, name="history")
    return Report(tables=(table,), notes=() if rows else ("no alias was ever set",))


def lineage_report(store: Store, version: ModelVersion) -> Report:
    """A version with what made it: run, sweep, params, metrics, datasets, git commit, digest."""
    run = store.get_run(version.run_id)
    environment = store.get_environment(run.id) or {}
    git = environment.get("git") if isinstance(environment.get("git"), dict) else {}
    sweep = _sweep_label(store, run.sweep_id)
    overview: list[tuple[str, Any]] = [
        ("model", version.model),
        ("version", version.version),
        ("aliases", ", ".join(version.aliases)),
        ("artifact", version.artifact_path),
        ("sha256", version.sha256),
        ("size", version.size),
        ("description", version.description or ""),
        ("registered_by", version.created_by or ""),
        ("registered_at", Timestamp(format_time(version.created_at))),
        ("run", f"{run.name} ({run.id})"),
        ("experiment", run.experiment),
        ("status", run.status.value),
        ("sweep", sweep),
        ("trial", "" if run.trial_number is None else run.trial_number),
        ("git_commit", (git or {}).get("commit") or ""),
        ("git_dirty", (git or {}).get("dirty", "")),
    ]
    metrics = tuple(
        (key, summary.last, summary.min, summary.max, summary.count)
        for key, summary in sorted(run.metrics.items())
    )
    datasets = tuple(
        (found.name, found.context or "", found.digest, found.source) for found in store.list_datasets(run.id)
    )
    tables = (
        Table(columns=("field", "value"), rows=tuple(overview), title=f"Model {version.ref}", name="version"),
        Table(
            columns=("param", "value"), rows=tuple(sorted(run.params.items())), title="Params", name="params"
        ),
        Table(
            columns=("metric", "last", "min", "max", "count"), rows=metrics, title="Metrics", name="metrics"
        ),
        Table(
            columns=("dataset", "context", "digest", "source"),
            rows=datasets,
            title="Datasets",
            name="datasets",
        ),
    )
    return Report(tables=tables)


def _sweep_label(store: Store, sweep_id: str | None) -> str:
    if sweep_id is None:
        return ""
    try:
        sweep = store.get_sweep(sweep_id)
    except SweepTrackError:
        return sweep_id
    return f"{sweep.name} ({sweep.id[:8]})"
