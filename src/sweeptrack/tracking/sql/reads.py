"""Queries of the SQL store; rows become frozen core objects here and go no further."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, or_, select, true

from sweeptrack.core.errors import RunNotFoundError
from sweeptrack.core.model import (
    Artifact,
    Dataset,
    Experiment,
    MetricPoint,
    MetricSummary,
    ParamKind,
    Run,
    RunStatus,
    decode_param,
)
from sweeptrack.tracking.sql import schema as t
from sweeptrack.tracking.sql.ingest import nan_if_none
from sweeptrack.tracking.sql.sweeps import sweep_environment
from sweeptrack.tracking.store import KeysInScope

__all__ = ["keys_in_scope", "list_experiments", "load_runs", "resolve_run", "search_runs"]

_CHUNK = 500


def list_experiments(conn: Connection) -> list[Experiment]:
    rows = conn.execute(select(t.experiments).order_by(t.experiments.c.id))
    return [Experiment(id=r.id, name=r.name, created_at=r.created_at) for r in rows]


def _base_select() -> Select[Any]:
    return select(
        t.runs.c.id,
        t.runs.c.uuid,
        t.runs.c.name,
        t.runs.c.status,
        t.runs.c.start_time,
        t.runs.c.end_time,
        t.runs.c.trial_number,
        t.runs.c.error,
        t.runs.c.heartbeat_at,
        t.runs.c.note,
        t.runs.c.deleted_at,
        t.experiments.c.name.label("experiment"),
        t.sweeps.c.uuid.label("sweep_uuid"),
    ).select_from(
        t.runs.join(t.experiments, t.experiments.c.id == t.runs.c.experiment_id).outerjoin(
            t.sweeps, t.sweeps.c.id == t.runs.c.sweep_id
        )
    )


def search_runs(
    conn: Connection,
    *,
    experiment: str | None,
    sweep: str | None,
    filter: str | None,
    order_by: Sequence[str] | str | None,
    limit: int | None,
    deleted: bool | None = False,
) -> list[Run]:
    """Runs matching the filter string, ordered (default newest first); ``deleted``: False the
    live runs, True the soft-deleted ones, None both."""
    from sweeptrack.tracking import query  # the grammar loads only when runs are searched

    where: ColumnElement[bool] = true()
    if deleted is not None:
        where = t.runs.c.deleted_at.is_not(None) if deleted else t.runs.c.deleted_at.is_(None)
    if experiment is not None:
        where = and_(where, t.experiments.c.name == experiment)
    if sweep is not None:
        where = and_(where, t.sweeps.c.uuid == sweep)
    node = query.parse_filter(filter)
    if node is not None:
        where = and_(where, query.compile_filter(node))
    keys = query.parse_order_by(order_by)
    if keys and keys[0].field.entity is query.Entity.METRIC and limit is not None:
        return _top_by_metric(conn, where, keys, limit)
    order = [*query.compile_order_by(keys), *_NEWEST_FIRST]
    return load_runs(conn, where, order=order, limit=limit)


_NEWEST_FIRST = (t.runs.c.start_time.desc(), t.runs.c.id.desc())


def keys_in_scope(conn: Connection, *, experiment: str | None, sweep: str | None) -> KeysInScope:
    """The keys the runs of the scope logged: three DISTINCT reads off the key indexes."""
    scope = select(t.runs.c.id).join(t.experiments, t.experiments.c.id == t.runs.c.experiment_id)
    if experiment is not None:
        scope = scope.where(t.experiments.c.name == experiment)
    if sweep is not None:
        scope = scope.join(t.sweeps, t.sweeps.c.id == t.runs.c.sweep_id).where(t.sweeps.c.uuid == sweep)

    def keys(table: Any) -> tuple[str, ...]:
        stmt = select(table.c.key).distinct()
        if experiment is not None or sweep is not None:
            stmt = stmt.where(table.c.run_id.in_(scope))
        return tuple(sorted(conn.execute(stmt).scalars()))

    return KeysInScope(metrics=keys(t.metric_summaries), params=keys(t.params), tags=keys(t.tags))


def _top_by_metric(conn: Connection, where: ColumnElement[bool], keys: list[Any], limit: int) -> list[Run]:
    """The first ``limit`` runs ordered by a metric summary, read off the summary index.

    Ordering by a correlated subquery makes the database look at every matching run; joining the
    summary and ordering by its indexed column (with plain ASC/DESC, which PostgreSQL can walk
    backwards) stops after ``limit`` rows. Runs without the metric come after, as NULLs last would.
    """
    from sweeptrack.tracking import query

    first, rest = keys[0], keys[1:]
    summary = t.metric_summaries.alias("order_metric")
    value = summary.c[(first.field.summary or query.Summary.LAST).value]
    has_value = and_(summary.c.run_id == t.runs.c.id, summary.c.key == first.field.key, value.is_not(None))
    tail = [*query.compile_order_by(rest), *_NEWEST_FIRST]
    head = (
        _base_select()
        .join(summary, has_value)
        .where(where)
        .order_by(value.desc() if first.descending else value.asc(), *tail)
        .limit(limit)
    )
    rows = list(conn.execute(head).all())
    if len(rows) < limit:
        missing = ~select(summary.c.run_id).where(has_value).correlate(t.runs).exists()
        others = _base_select().where(where, missing).order_by(*tail).limit(limit - len(rows))
        rows += conn.execute(others).all()
    return _to_runs(conn, rows)


def load_runs(
    conn: Connection,
    where: ColumnElement[bool],
    *,
    order: Sequence[Any],
    limit: int | None,
) -> list[Run]:
    """Runs matching a SQL condition, with params, tags and summaries loaded in bulk."""
    stmt = _base_select().where(where).order_by(*order)
    if limit is not None:
        stmt = stmt.limit(limit)
    return _to_runs(conn, conn.execute(stmt).all())


def _to_runs(conn: Connection, rows: Sequence[Any]) -> list[Run]:
    pks = [r.id for r in rows]
    params, tags, summaries = _details(conn, pks)
    return [
        Run(
            id=r.uuid,
            experiment=r.experiment,
            name=r.name,
            status=RunStatus(r.status),
            start_time=r.start_time,
            end_time=r.end_time,
            sweep_id=r.sweep_uuid,
            trial_number=r.trial_number,
            error=r.error,
            params=params.get(r.id, {}),
            tags=tags.get(r.id, {}),
            metrics=summaries.get(r.id, {}),
            heartbeat_at=r.heartbeat_at,
            note=r.note,
            deleted_at=r.deleted_at,
        )
        for r in rows
    ]


def _details(
    conn: Connection, pks: list[int]
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, str]], dict[int, dict[str, MetricSummary]]]:
    params: dict[int, dict[str, Any]] = defaultdict(dict)
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    summaries: dict[int, dict[str, MetricSummary]] = defaultdict(dict)
    for start in range(0, len(pks), _CHUNK):
        chunk = pks[start : start + _CHUNK]
        p = t.params.c
        for row in conn.execute(select(p.run_id, p.key, p.kind, p.value).where(p.run_id.in_(chunk))):
            params[row.run_id][row.key] = decode_param(ParamKind(row.kind), row.value)
        g = t.tags.c
        for tag in conn.execute(select(g.run_id, g.key, g.value).where(g.run_id.in_(chunk))):
            tags[tag.run_id][tag.key] = tag.value
        s = t.metric_summaries.c
        for summary in conn.execute(select(t.metric_summaries).where(s.run_id.in_(chunk))):
            m = summary._mapping
            summaries[m["run_id"]][m["key"]] = MetricSummary(
                key=m["key"],
                last=nan_if_none(m["last"]),
                min=nan_if_none(m["min"]),
                max=nan_if_none(m["max"]),
                count=m["count"],
                last_step=m["last_step"],
            )
    return params, tags, summaries


def resolve_run(conn: Connection, ref: str) -> str:
    """The id of the run whose id, unique id prefix or name is ``ref``."""
    ref = ref.strip()
    if not ref:
        raise RunNotFoundError("empty run reference; give a run id, id prefix or name")
    r = t.runs.c
    exact = conn.execute(select(r.uuid).where(r.uuid == ref.lower())).scalar()
    if exact is not None:
        return str(exact)
    # A name and an id prefix can both match ("beef"): the user must then say which.
    match: ColumnElement[bool] = r.name == ref
    if all(ch in "0123456789abcdef" for ch in ref.lower()):
        match = or_(match, r.uuid.startswith(ref.lower(), autoescape=True))
    rows = conn.execute(select(r.uuid, r.name).where(match).order_by(r.id).limit(6))
    candidates: list[tuple[str, str]] = [(row.uuid, row.name) for row in rows]
    if len(candidates) == 1:
        return candidates[0][0]
    if not candidates:
        raise RunNotFoundError(f"no run with id, id prefix or name {ref!r}")
    shown = ", ".join(f"{uuid[:12]} ({name})" for uuid, name in candidates[:5])
    more = " and more" if len(candidates) > 5 else ""
    raise RunNotFoundError(
        f"run reference {ref!r} is ambiguous: it matches {shown}{more}; "
        "give a longer id prefix or the full id"
    )


def _run_pk(conn: Connection, run_id: str) -> int:
    pk = conn.execute(select(t.runs.c.id).where(t.runs.c.uuid == run_id)).scalar()
    if pk is None:
        raise RunNotFoundError(f"no run with id {run_id!r}")
    return int(pk)


def metric_history(conn: Connection, run_id: str, key: str) -> list[MetricPoint]:
    pk = _run_pk(conn, run_id)
    m = t.metric_points.c
    stmt = (
        select(m.step, m.value, m.timestamp)
        .join_from(t.metric_points, t.metric_keys, t.metric_keys.c.id == m.key_id)
        .where(m.run_id == pk, t.metric_keys.c.name == key)
        .order_by(m.step, m.timestamp)
    )
    return [
        MetricPoint(key=key, step=row.step, value=nan_if_none(row.value), timestamp=row.timestamp)
        for row in conn.execute(stmt)
    ]


def list_artifacts(conn: Connection, run_id: str) -> list[Artifact]:
    pk = _run_pk(conn, run_id)
    a = t.artifacts.c
    rows = conn.execute(select(t.artifacts).where(a.run_id == pk).order_by(a.path))
    return [Artifact(path=r.path, size=r.size, sha256=r.sha256, created_at=r.created_at) for r in rows]


def list_datasets(conn: Connection, run_id: str) -> list[Dataset]:
    pk = _run_pk(conn, run_id)
    d = t.datasets.c
    rows = conn.execute(select(t.datasets).where(d.run_id == pk).order_by(d.name, d.id))
    return [
        Dataset(name=r.name, source=r.source, digest=r.digest, size=r.size, context=r.context) for r in rows
    ]


def environment(conn: Connection, run_id: str) -> dict[str, Any] | None:
    """The run's environment; a trial without its own has its sweep's (captured once per sweep)."""
    pk = _run_pk(conn, run_id)
    data = conn.execute(select(t.environments.c.data).where(t.environments.c.run_id == pk)).scalar()
    if data is not None:
        return dict(json.loads(data))
    sweep_pk = conn.execute(select(t.runs.c.sweep_id).where(t.runs.c.id == pk)).scalar()
    return None if sweep_pk is None else sweep_environment(conn, sweep_pk)
