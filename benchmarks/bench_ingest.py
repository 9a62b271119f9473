"""Rows 1 and 2: the cost of ``log_metric`` in a training loop, and end-to-end ingest rates."""

from __future__ import annotations

import sqlite3
import statistics
import time
import uuid
from pathlib import Path

from bench_common import MICRO, Row, log, pg_connect, pg_schema_url, pg_unavailable

import sweeptrack as st

LOG_GOAL_S = 10e-6
INGEST_GOAL = 200_000
INGEST_KEYS = ("loss", "acc", "lr", "grad_norm")


def bench_log_metric(workdir: Path, *, calls: int = 200_000, chunk: int = 1000) -> list[Row]:
    """Per-call cost of ``run.log_metric`` (and of ``st.log_metric``) with the writer thread running.

    Each chunk of ``chunk`` calls is timed as a whole (perf_counter_ns has ~50 ns overhead, more than
    a tenth of a call); the figure is the median over chunks of the per-call average. The loop's own
    overhead (a ``range`` step) is included: it is what a training loop pays too.
    """
    db = f"sqlite:///{workdir}/log_metric.db"
    log(f"1. log_metric: {calls:,} calls in chunks of {chunk} ({db})")
    per_call: list[float] = []
    fluent: list[float] = []
    with st.start_run(experiment="bench-log-metric", db=db, capture_environment=False) as run:
        log_metric = run.log_metric
        value = 0.25
        for base in range(0, calls, chunk):
            start = time.perf_counter_ns()
            for step in range(base, base + chunk):
                log_metric("loss", value, step)
            per_call.append((time.perf_counter_ns() - start) / chunk / 1e9)
        fluent_log = st.log_metric
        for base in range(calls, calls + calls // 4, chunk):
            start = time.perf_counter_ns()
            for step in range(base, base + chunk):
                fluent_log("val_loss", value, step)
            fluent.append((time.perf_counter_ns() - start) / chunk / 1e9)
    median = statistics.median(per_call)
    ordered = sorted(per_call)
    p99 = ordered[int(len(ordered) * 0.99)]
    note = (
        f"median of {len(per_call)} chunks; mean {statistics.fmean(per_call) * 1e6:.2f} {MICRO}s, "
        f"p99 chunk {p99 * 1e6:.2f} {MICRO}s, worst chunk {ordered[-1] * 1e6:.1f} {MICRO}s"
    )
    return [
        Row(
            section="1",
            name="run.log_metric per call (writer running)",
            value=median,
            unit="s",
            goal=f"< 10 {MICRO}s",
            ok=median < LOG_GOAL_S,
            note=note,
            details={"chunks_s": per_call},
        ),
        Row(
            section="1",
            name="st.log_metric (module function) per call",
            value=statistics.median(fluent),
            unit="s",
            note=f"median of {len(fluent)} chunks; adds the ContextVar lookup",
        ),
    ]


def _ingest(db: str, steps: int) -> dict[str, float]:
    """Log ``len(INGEST_KEYS) * steps`` points in one run; the phases' durations in seconds."""
    keys = INGEST_KEYS
    run = st.start_run(experiment="bench-ingest", db=db, capture_environment=False)
    with run:
        log_metric = run.log_metric
        first = time.perf_counter()
        for step in range(steps):
            value = 1.0 / (step + 1)
            for key in keys:
                log_metric(key, value, step)
        logged = time.perf_counter()
    done = time.perf_counter()
    return {"total": done - first, "log_loop": logged - first, "tail": done - logged, "run_id": run.id}


def _check_sqlite_rows(path: Path, expected: int) -> None:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("SELECT count(*) FROM metric_points").fetchone()
    if count != expected:
        raise RuntimeError(f"ingest benchmark stored {count} points, expected {expected}")


def _ingest_row(name: str, phases: dict[str, float], points: int, goal: bool) -> Row:
    rate = points / phases["total"]
    note = (
        f"{points:,} pts in {phases['total']:.2f} s: log loop {phases['log_loop']:.2f} s, "
        f"flush+commit at exit {phases['tail']:.2f} s"
    )
    return Row(
        section="2",
        name=name,
        value=rate,
        unit="/s",
        goal=f">= {INGEST_GOAL // 1000}k/s" if goal else "",
        ok=(rate >= INGEST_GOAL) if goal else None,
        note=note,
        details={k: v for k, v in phases.items() if k != "run_id"},
    )


def bench_ingest_sqlite(workdir: Path, *, points: int) -> Row:
    steps = points // len(INGEST_KEYS)
    path = workdir / "ingest.db"
    log(f"2. ingest into SQLite: {len(INGEST_KEYS)} keys x {steps:,} steps ({path})")
    phases = _ingest(f"sqlite:///{path}", steps)
    _check_sqlite_rows(path, steps * len(INGEST_KEYS))
    return _ingest_row("ingest, SQLite, end to end", phases, steps * len(INGEST_KEYS), goal=True)


def bench_ingest_postgres(*, points: int) -> Row:
    name = "ingest, PostgreSQL, end to end"
    why = pg_unavailable()
    if why:
        return Row(section="2", name=name, value=None, unit="/s", note=why)
    from sweeptrack.tracking.sql.store import SqlStore

    steps = points // len(INGEST_KEYS)
    schema = f"st_bench_ingest_{uuid.uuid4().hex[:8]}"
    log(f"2. ingest into PostgreSQL: {len(INGEST_KEYS)} keys x {steps:,} steps (schema {schema})")
    with pg_connect() as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        url = pg_schema_url(schema)
        SqlStore(url).upgrade_schema()
        phases = _ingest(url, steps)
        with pg_connect(schema) as conn:
            (count,) = conn.execute("SELECT count(*) FROM metric_points").fetchone()
        if count != steps * len(INGEST_KEYS):
            raise RuntimeError(
                f"PostgreSQL ingest stored {count} points, expected {steps * len(INGEST_KEYS)}"
            )
    finally:
        with pg_connect() as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
    return _ingest_row(name, phases, steps * len(INGEST_KEYS), goal=False)
