"""Reads for pages that must stay fast on a large database: a page of runs with its total, a
metric's curve downsampled in the database, and run counts per experiment and sweep.

Each is one or two statements whatever the size of the database: ``runs_page`` reads the rows of
one page off the summary index (sorted by a metric) and counts the matches once; ``metric_series``
folds a long history into min/max buckets with ``GROUP BY`` so only a few hundred rows leave the
database; ``run_counts`` is one ``GROUP BY`` over the runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select, text, true

from sweeptrack.tracking.sql import reads
from sweeptrack.tracking.sql import schema as t
from sweeptrack.tracking.sql.reads import _NEWEST_FIRST, _to_runs
from sweeptrack.tracking.store import MetricSeries, RunCounts, RunsPage

__all__ = ["metric_series", "run_counts", "runs_page"]


def _scope(
    experiment: str | None, sweep: str | None, filter: str | None, deleted: bool | None
) -> ColumnElement[bool]:
    from sweeptrack.tracking import query

    where: ColumnElement[bool] = true()
    if experiment is not None:
        where = and_(
            where,
            t.runs.c.experiment_id.in_(
                select(t.experiments.c.id).where(t.experiments.c.name == experiment).scalar_subquery()
            ),
        )
    if sweep is not None:
        where = and_(
            where,
            t.runs.c.sweep_id.in_(select(t.sweeps.c.id).where(t.sweeps.c.uuid == sweep).scalar_subquery()),
        )
    if deleted is not None:
        column = t.runs.c.deleted_at
        where = and_(where, column.is_not(None) if deleted else column.is_(None))
    return and_(where, query.compile_filter(query.parse_filter(filter)))


def _page_select() -> Select[Any]:
    """The runs' own columns: experiment and sweep names are looked up for the page's rows
    afterwards (joining them here costs PostgreSQL more planning than the lookups take)."""
    r = t.runs.c
    columns = (r.id, r.uuid, r.name, r.status, r.start_time, r.end_time, r.trial_number, r.error)
    return select(*columns, r.heartbeat_at, r.note, r.deleted_at, r.experiment_id, r.sweep_id)


def _named(conn: Connection, rows: Sequence[Any]) -> list[Any]:
    """The rows with ``experiment`` (name) and ``sweep_uuid`` added, as :func:`_to_runs` reads them."""
    experiments = {row.experiment_id for row in rows}
    sweeps = {row.sweep_id for row in rows if row.sweep_id is not None}
    e, w = t.experiments.c, t.sweeps.c
    names = dict(conn.execute(select(e.id, e.name).where(e.id.in_(experiments))).all()) if experiments else {}
    uuids = dict(conn.execute(select(w.id, w.uuid).where(w.id.in_(sweeps))).all()) if sweeps else {}
    return [
        SimpleNamespace(
            **row._mapping, experiment=names[row.experiment_id], sweep_uuid=uuids.get(row.sweep_id)
        )
        for row in rows
    ]


def runs_page(
    conn: Connection,
    *,
    experiment: str | None,
    sweep: str | None,
    filter: str | None,
    order_by: Sequence[str] | str | None,
    limit: int,
    offset: int,
    deleted: bool | None,
    count_up_to: int | None,
) -> RunsPage:
    """One page of the runs matching a filter, in order, and how many match (up to a cap)."""
    from sweeptrack.tracking import query

    where = _scope(experiment, sweep, filter, deleted)
    keys = query.parse_order_by(order_by)
    matching = select(t.runs.c.id).where(where)
    cap = None if count_up_to is None else offset + limit + count_up_to
    if cap is not None:
        matching = matching.limit(cap + 1)
    total = int(conn.execute(select(func.count()).select_from(matching.subquery())).scalar_one())
    if keys and keys[0].field.entity in (query.Entity.METRIC, query.Entity.PARAM):
        rows = _page_by_index(conn, where, keys, limit, offset)
    else:
        order = [*query.compile_order_by(keys), *_NEWEST_FIRST]
        stmt = _page_select().where(where).order_by(*order).limit(limit).offset(offset)
        rows = list(conn.execute(stmt).all())
    rows = _named(conn, rows)
    more = cap is not None and total > cap
    return RunsPage(
        runs=tuple(_to_runs(conn, rows)), total=min(total, cap) if cap is not None else total, more=more
    )


def _page_by_index(
    conn: Connection, where: ColumnElement[bool], keys: list[Any], limit: int, offset: int
) -> list[Any]:
    """Rows ``offset`` to ``offset + limit`` ordered by a metric summary or a param's number,
    walking that column's index (so only about ``offset + limit`` runs are looked at); the runs
    without a value come after, in the order :func:`compile_order_by` gives them."""
    from sweeptrack.tracking import query

    first, rest = keys[0], keys[1:]
    if first.field.entity is query.Entity.METRIC:
        table = t.metric_summaries.alias("order_metric")
        value = table.c[(first.field.summary or query.Summary.LAST).value]
        tie: list[Any] = []
    else:
        table = t.params.alias("order_param")
        value = table.c.value_num
        tie = [table.c.value.desc() if first.descending else table.c.value.asc()]
    has_value = and_(table.c.run_id == t.runs.c.id, table.c.key == first.field.key, value.is_not(None))
    tail = [*query.compile_order_by(rest), *_NEWEST_FIRST]
    head = (
        _page_select()
        .join(table, has_value)
        .where(where)
        .order_by(value.desc() if first.descending else value.asc(), *tie, *tail)
        .limit(limit)
        .offset(offset)
    )
    rows = list(conn.execute(head).all())
    if len(rows) == limit:
        return rows
    with_value = offset + len(rows)
    if not rows:
        counted = select(func.count()).select_from(t.runs.join(table, has_value)).where(where)
        with_value = int(conn.execute(counted).scalar_one())
    missing = ~select(table.c.run_id).where(has_value).correlate(t.runs).exists()
    others = (
        _page_select()
        .where(where, missing)
        .order_by(*query.compile_order_by(keys), *_NEWEST_FIRST)
        .limit(limit - len(rows))
        .offset(max(0, offset - with_value))
    )
    return rows + list(conn.execute(others).all())


_RANGE = text(
    "SELECT min(step) AS lo, max(step) AS hi, count(*) AS n FROM metric_points "
    "WHERE run_id = :run AND key_id = :key AND step >= :lo AND step <= :hi"
)
_RAW = text(
    "SELECT step, value FROM metric_points WHERE run_id = :run AND key_id = :key "
    "AND step >= :lo AND step <= :hi ORDER BY step, timestamp"
)
_BUCKETS = text(
    "SELECT (step - :lo) * :buckets / :span AS bucket, min(step) AS s0, max(step) AS s1, "
    "min(value) AS vmin, max(value) AS vmax FROM metric_points "
    "WHERE run_id = :run AND key_id = :key AND step >= :lo AND step <= :hi "
    "GROUP BY (step - :lo) * :buckets / :span ORDER BY bucket"
)
_MAX_STEP = 2**62


def metric_series(
    conn: Connection, run_id: str, key: str, *, max_points: int, start: int | None, end: int | None
) -> MetricSeries:
    """The points of one metric between steps ``start`` and ``end`` (inclusive), all of them
    when they are at most ``max_points``, else min/max buckets (two points each)."""
    run = reads._run_pk(conn, run_id)
    key_id = conn.execute(select(t.metric_keys.c.id).where(t.metric_keys.c.name == key)).scalar()
    if key_id is None:
        return MetricSeries(key=key, steps=(), values=(), total=0, downsampled=False)
    bounds = {"run": run, "key": key_id, "lo": -_MAX_STEP if start is None else start}
    bounds["hi"] = _MAX_STEP if end is None else end
    if start is None and end is None:
        lo, hi, total = _whole_range(conn, run, key, key_id)
    else:
        lo, hi, total = conn.execute(_RANGE, bounds).one()
    if total <= max_points:
        rows = conn.execute(_RAW, bounds).all()
        return MetricSeries(
            key=key,
            steps=tuple(r.step for r in rows),
            values=tuple(r.value for r in rows),
            total=total,
            downsampled=False,
        )
    assert lo is not None and hi is not None  # some points are in the range
    buckets = max(1, max_points // 2)
    params = {**bounds, "lo": lo, "hi": hi, "buckets": buckets, "span": hi - lo + 1}
    rows = conn.execute(_BUCKETS, params).all()
    steps: list[int] = []
    values: list[float | None] = []
    for index, row in enumerate(rows):
        here, after = _mid(row), (_mid(rows[index + 1]) if index + 1 < len(rows) else None)
        rising = here is not None and after is not None and after > here
        first, second = (row.vmin, row.vmax) if rising else (row.vmax, row.vmin)
        steps += [row.s0, row.s1]
        values += [first, second]
    return MetricSeries(key=key, steps=tuple(steps), values=tuple(values), total=total, downsampled=True)


_FIRST_STEP = text("SELECT min(step) FROM metric_points WHERE run_id = :run AND key_id = :key")
_SUMMARY = text("SELECT count, last_step FROM metric_summaries WHERE run_id = :run AND key = :name")


def _whole_range(conn: Connection, run: int, key: str, key_id: int) -> tuple[int | None, int | None, int]:
    """(first step, last step, points) of a whole history: one index seek and the summary, not a
    scan of every point."""
    summary = conn.execute(_SUMMARY, {"run": run, "name": key}).first()
    if summary is None:
        return None, None, 0
    first = conn.execute(_FIRST_STEP, {"run": run, "key": key_id}).scalar()
    count, last_step = summary  # by position: a Row's .count is tuple.count
    return first, int(last_step), int(count)


def _mid(row: Any) -> float | None:
    if row.vmin is None or row.vmax is None:
        return None
    return float(row.vmin + row.vmax) / 2


def run_counts(conn: Connection, sweep: str | None = None) -> list[RunCounts]:
    """Live runs per (experiment, sweep) and status, with the latest start, end and heartbeat;
    only a sweep's runs (read off its index) when ``sweep`` is given."""
    r = t.runs.c
    stmt = (
        select(
            t.experiments.c.name,
            t.sweeps.c.uuid,
            r.status,
            func.count(),
            func.max(r.start_time),
            func.max(r.end_time),
            func.max(r.heartbeat_at),
        )
        .select_from(
            t.runs.join(t.experiments, t.experiments.c.id == r.experiment_id).outerjoin(
                t.sweeps, t.sweeps.c.id == r.sweep_id
            )
        )
        .where(r.deleted_at.is_(None))
        .group_by(t.experiments.c.name, t.sweeps.c.uuid, r.status)
    )
    if sweep is not None:
        pk = select(t.sweeps.c.id).where(t.sweeps.c.uuid == sweep).scalar_subquery()
        stmt = stmt.where(r.sweep_id == pk)
    grouped: dict[tuple[str, str | None], dict[str, Any]] = {}
    for experiment, sweep, status, count, started, ended, beat in conn.execute(stmt):
        group = grouped.setdefault((experiment, sweep), {"counts": {}, "last": None})
        group["counts"][status] = int(count)
        latest = max(v for v in (started, ended, beat, group["last"]) if v is not None)
        group["last"] = latest
    return [
        RunCounts(experiment=experiment, sweep_id=sweep, counts=group["counts"], last_activity=group["last"])
        for (experiment, sweep), group in grouped.items()
    ]
