"""Row 5: ``search_runs`` on a big store (SQLite and PostgreSQL), with query plans when slow.

Each query is timed through the public ``SqlStore.search_runs`` (parse, compile, main query, loading
params/tags/summaries of the page) as the median of 5 after one warm-up. One more, untimed, call
records the statements it executes so the main query can be timed alone and EXPLAINed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench_common import Row, log, median_of, spread
from sqlalchemy import event

from sweeptrack.tracking.sql.store import SqlStore

REPEAT = 5


@dataclass(frozen=True, slots=True)
class Query:
    key: str
    name: str
    filter: str
    order_by: tuple[str, ...]
    limit: int
    goal_s: float


QUERIES = (
    Query(
        key="a",
        name="leaderboard top 10",
        filter="params.lr < 0.01 and params.optimizer = 'adam' and metrics.val_f1 IS NOT NULL",
        order_by=("metrics.val_f1 DESC",),
        limit=10,
        goal_s=0.100,
    ),
    Query(
        key="b",
        name="runs list 100",
        filter="params.batch_size >= 64 and metrics.loss < 0.5",
        order_by=("metrics.loss ASC",),
        limit=100,
        goal_s=0.300,
    ),
)


class StatementRecorder:
    """Records (statement, parameters, seconds in cursor.execute) for every statement of an engine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.statements: list[tuple[str, Any, float]] = []
        self._started = 0.0

    def __enter__(self) -> StatementRecorder:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        self.statements.append((statement, parameters, time.perf_counter() - self._started))


def time_raw(store: SqlStore, statement: str, parameters: Any, repeat: int = 3) -> float:
    """Median seconds to execute one captured statement on the driver and fetch all its rows."""

    def once() -> float:
        with store.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            start = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            elapsed = time.perf_counter() - start
            cursor.close()
            return elapsed

    return median_of(once, repeat)[0]


def explain(store: SqlStore, statement: str, parameters: Any) -> str:
    """The plan of one captured statement: EXPLAIN QUERY PLAN (SQLite), EXPLAIN ANALYZE (PostgreSQL)."""
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            if conn.dialect.name == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                depth: dict[int, int] = {0: -1}
                lines = []
                for node, parent, _unused, detail in cursor.fetchall():
                    depth[node] = depth.get(parent, -1) + 1
                    lines.append("  " * depth[node] + detail)
                return "\n".join(lines)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.close()


def _search(store: SqlStore, query: Query) -> list[Any]:
    return store.search_runs(filter=query.filter, order_by=list(query.order_by), limit=query.limit)


def time_query(store: SqlStore, backend: str, query: Query, *, show_plan: bool) -> Row:
    def once() -> float:
        start = time.perf_counter()
        _search(store, query)
        return time.perf_counter() - start

    median, samples = median_of(once, REPEAT, warmup=1)
    with StatementRecorder(store.engine) as recorder:
        found = _search(store, query)
    # Skip BEGIN (SQLite's begin hook); the first SELECT is the page query, the rest load details.
    selects = [entry for entry in recorder.statements if entry[0].lstrip().upper().startswith("SELECT")]
    main_sql, main_params, _ = selects[0]
    main_s = time_raw(store, main_sql, main_params)
    ok = median < query.goal_s
    note = (
        f"{len(found)} rows; page query alone {main_s * 1e3:.1f} ms (+{len(selects) - 1} detail "
        f"queries, parse, objects); {spread(samples, unit='s')}"
    )
    details: dict[str, Any] = {"samples_s": samples, "sql": main_sql, "main_query_s": main_s}
    if show_plan or not ok:
        plan = explain(store, main_sql, main_params)
        details["plan"] = plan
        log(f"   plan of 5{query.key} on {backend} ({'over goal' if not ok else 'asked'}):\n{plan}")
    return Row(
        section="5",
        name=f"{query.key}) {query.name}, {backend}",
        value=median,
        unit="s",
        goal=f"< {query.goal_s * 1e3:.0f} ms",
        ok=ok,
        note=note,
        details=details,
    )


def bench_queries(url: str, backend: str, *, show_plan: bool) -> list[Row]:
    store = SqlStore(url)
    try:
        rows = []
        for query in QUERIES:
            log(f"5{query.key}. {query.name} on {backend}: median of {REPEAT} after a warm-up")
            rows.append(time_query(store, backend, query, show_plan=show_plan))
        return rows
    finally:
        store.close()
