"""The metric hot path: bulk insert of points and summary upserts, per dialect.

SQLAlchemy Core inserts reach about half of what the driver does, so points go straight to the
driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL. Summaries are folded in Python over the
batch (one row per key) and merged with ``INSERT ... ON CONFLICT DO UPDATE``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from sweeptrack.core.errors import InvalidValueError
from sweeptrack.core.events import PointTuple

__all__ = ["insert_points", "nan_if_none", "summarize", "upsert_summaries"]

# (last, last_step, last_timestamp, min, max, count); NaN is None in last/min/max.
SummaryRow = tuple[float | None, int, int, float | None, float | None, int]

_NEWER = (
    "(excluded.last_step > metric_summaries.last_step OR "
    "(excluded.last_step = metric_summaries.last_step AND "
    "excluded.last_timestamp >= metric_summaries.last_timestamp))"
)
_UPSERT = text(
    "INSERT INTO metric_summaries (run_id, key, last, min, max, count, last_step, last_timestamp) "
    "VALUES (:run_id, :key, :last, :min, :max, :count, :last_step, :last_timestamp) "
    "ON CONFLICT (run_id, key) DO UPDATE SET "
    f"last = CASE WHEN {_NEWER} THEN excluded.last ELSE metric_summaries.last END, "
    f"last_timestamp = CASE WHEN {_NEWER} THEN excluded.last_timestamp "
    "ELSE metric_summaries.last_timestamp END, "
    f"last_step = CASE WHEN {_NEWER} THEN excluded.last_step ELSE metric_summaries.last_step END, "
    "min = CASE WHEN excluded.min IS NULL THEN metric_summaries.min "
    "WHEN metric_summaries.min IS NULL OR excluded.min < metric_summaries.min THEN excluded.min "
    "ELSE metric_summaries.min END, "
    "max = CASE WHEN excluded.max IS NULL THEN metric_summaries.max "
    "WHEN metric_summaries.max IS NULL OR excluded.max > metric_summaries.max THEN excluded.max "
    "ELSE metric_summaries.max END, "
    "count = metric_summaries.count + excluded.count"
)


def summarize(points: Sequence[PointTuple]) -> dict[str, SummaryRow]:
    """Fold a batch of (key, value, step, timestamp) into one summary row per key.

    It also refuses a value that is not a number or a step that is not an integer (the run API
    checks earlier; a store checks too), in the same pass because this is the hot path.
    """
    acc: dict[str, list[Any]] = {}
    for key, value, step, ts in points:
        if type(value) is not float or type(step) is not int:
            _check_point(key, value, step)
        entry = acc.get(key)
        finite = value if value == value else None
        if entry is None:
            acc[key] = [finite, step, ts, finite, finite, 1]
            continue
        if step > entry[1] or (step == entry[1] and ts >= entry[2]):
            entry[0], entry[1], entry[2] = finite, step, ts
        if finite is not None:
            if entry[3] is None or finite < entry[3]:
                entry[3] = finite
            if entry[4] is None or finite > entry[4]:
                entry[4] = finite
        entry[5] += 1
    return {key: (e[0], e[1], e[2], e[3], e[4], e[5]) for key, e in acc.items()}


def _check_point(key: str, value: Any, step: Any) -> None:
    if not isinstance(value, float | int) or isinstance(value, bool):
        raise InvalidValueError(f"metric {key!r} at step {step}: value {value!r} is not a number")
    if not isinstance(step, int) or isinstance(step, bool):
        raise InvalidValueError(f"metric {key!r}: step {step!r} is not an integer")


def insert_points(
    conn: Connection, run_pk: int, key_ids: Mapping[str, int], points: Sequence[PointTuple]
) -> None:
    """Append points through the driver (the caller holds the transaction)."""
    rows = [
        (run_pk, key_ids[key], step, value if value == value else None, ts) for key, value, step, ts in points
    ]
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        raw.executemany(
            "INSERT INTO metric_points (run_id, key_id, step, value, timestamp) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        return
    with (
        raw.cursor() as cursor,
        cursor.copy("COPY metric_points (run_id, key_id, step, value, timestamp) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def upsert_summaries(conn: Connection, run_pk: int, summaries: Mapping[str, SummaryRow]) -> None:
    """Merge batch summaries into the stored ones."""
    conn.execute(
        _UPSERT,
        [
            {
                "run_id": run_pk,
                "key": key,
                "last": row[0],
                "last_step": row[1],
                "last_timestamp": row[2],
                "min": row[3],
                "max": row[4],
                "count": row[5],
            }
            for key, row in summaries.items()
        ],
    )


def nan_if_none(value: float | None) -> float:
    """Stored NULL back to NaN."""
    return math.nan if value is None else float(value)
