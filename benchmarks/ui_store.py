"""The dashboard benchmark's database: 100,000 runs and 10,000,000 metric points (``--small``:
10,000 runs), on SQLite and on PostgreSQL, bulk-inserted with SQLAlchemy Core ``executemany``
(PostgreSQL's metric points with ``COPY``, what the store's ingest uses there too).

The rows are :mod:`bigstore`'s (4 params, a tag, ``loss`` and ``val_f1`` over 50 steps per run);
on top of them the first 20 % of the runs are the trials of 20 sweeps of 1,000, and one more run
logs both metrics over 100,000 steps (the run whose curves are timed). Each database is built once
and reused while its marker (sizes, generator, schema revision) matches.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_common import DATA_DIR, log, pg_connect, pg_schema_url, stopwatch
from bigstore import EXPERIMENTS, KEYS, SEED, TABLES, StoreSize, _run_chunk
from sqlalchemy import create_engine, insert, select, text

from sweeptrack.tracking.sql import schema as t
from sweeptrack.tracking.sql.schema import HEAD_REVISION
from sweeptrack.tracking.sql.store import SqlStore

GENERATOR = 1
SWEEP_SIZE = 1000
LONG_STEPS = 100_000
_CHUNK = 2000
_T0 = 1_700_000_000_000


@dataclass(frozen=True, slots=True)
class UiSize:
    runs: int
    steps: int
    sweeps: int

    @property
    def points(self) -> int:
        return self.runs * self.steps * len(KEYS) + LONG_STEPS * len(KEYS)

    @property
    def marker(self) -> str:
        return f"bench_ui g{GENERATOR} rev{HEAD_REVISION} {self.runs}r {self.points}p {self.sweeps}s"

    @property
    def sqlite_path(self) -> Path:
        return DATA_DIR / f"bench-ui-{self.runs}r-{self.points}p-rev{HEAD_REVISION}-g{GENERATOR}.db"

    @property
    def pg_schema(self) -> str:
        return f"st_bench_ui_{self.runs // 1000}k"

    @property
    def long_run_pk(self) -> int:
        return self.runs + 1


SIZES = {"full": UiSize(runs=100_000, steps=49, sweeps=20), "small": UiSize(runs=10_000, steps=20, sweeps=5)}


def sweep_spec(number: int) -> str:
    return textwrap.dedent(
        f"""\
        name: sweep-{number}
        experiment: {EXPERIMENTS[0]}
        entrypoint: train:main
        method: tpe
        run_cap: {SWEEP_SIZE}
        metric: {{name: val_f1, goal: maximize}}
        parameters:
          lr: {{distribution: log_uniform_values, min: 1.0e-5, max: 0.1}}
          batch_size: {{values: [16, 32, 64, 128, 256]}}
          optimizer: {{values: [adam, adamw, sgd]}}
        """
    )


def _rows(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _write(engine: Any, size: UiSize, postgres: bool) -> None:
    rng = random.Random(SEED)
    columns = dict(TABLES)
    with engine.begin() as conn:
        conn.execute(
            insert(t.experiments),
            [{"id": i + 1, "name": n, "created_at": _T0} for i, n in enumerate(EXPERIMENTS)],
        )
        conn.execute(insert(t.metric_keys), [{"id": i, "name": n} for i, n in KEYS])
        conn.execute(
            insert(t.sweeps),
            [
                {
                    "id": n,
                    "uuid": f"{n:032x}",
                    "experiment_id": 1,
                    "name": f"sweep-{n}",
                    "state": "finished",
                    "spec": sweep_spec(n),
                    "created_at": _T0,
                    "updated_at": _T0,
                }
                for n in range(1, size.sweeps + 1)
            ],
        )
    bigsize = StoreSize(runs=size.runs, steps=size.steps)
    for first in range(1, size.runs + 1, _CHUNK):
        chunk = _run_chunk(rng, first, min(first + _CHUNK - 1, size.runs), bigsize, _T0)
        runs = _rows("runs", columns["runs"], chunk["runs"])
        for run in runs:
            if run["id"] <= size.sweeps * SWEEP_SIZE:
                run["sweep_id"] = 1 + (run["id"] - 1) // SWEEP_SIZE
                run["trial_number"] = (run["id"] - 1) % SWEEP_SIZE
        with engine.begin() as conn:
            conn.execute(insert(t.runs), runs)
            for table in ("params", "tags", "metric_summaries"):
                conn.execute(insert(t.metadata.tables[table]), _rows(table, columns[table], chunk[table]))
            _points(conn, chunk["metric_points"], postgres)
        if (first // _CHUNK) % 10 == 0:
            log(f"   {first - 1:,}/{size.runs:,} runs written")
    _long_run(engine, size, postgres)


def _points(conn: Any, points: list[tuple[Any, ...]], postgres: bool) -> None:
    if not postgres:
        conn.execute(insert(t.metric_points), _rows("metric_points", dict(TABLES)["metric_points"], points))
        return
    raw = conn.connection.driver_connection
    with (
        raw.cursor() as cursor,
        cursor.copy("COPY metric_points (run_id, key_id, step, value, timestamp) FROM STDIN") as copy,
    ):
        for row in points:
            copy.write_row(row)


def _long_run(engine: Any, size: UiSize, postgres: bool) -> None:
    pk = size.long_run_pk
    start = _T0 + pk * 60_000
    loss = [0.1 + 2.0 / (1 + s / 1000) + 0.01 * ((s * 7919) % 13) / 13 for s in range(LONG_STEPS)]
    f1 = [1.0 - v / 2.2 for v in loss]
    with engine.begin() as conn:
        conn.execute(
            insert(t.runs),
            [
                {
                    "id": pk,
                    "uuid": f"{pk:032x}",
                    "experiment_id": 2,
                    "name": "long-run",
                    "status": "finished",
                    "start_time": start,
                    "end_time": start + LONG_STEPS * 1000,
                }
            ],
        )
        conn.execute(
            insert(t.params),
            [{"run_id": pk, "key": "lr", "kind": "float", "value": "0.001", "value_num": 1e-3}],
        )
        points = []
        for key_id, name in KEYS:
            values = loss if name == "loss" else f1
            points += [(pk, key_id, s, values[s], start + s) for s in range(LONG_STEPS)]
            conn.execute(
                insert(t.metric_summaries),
                [
                    {
                        "run_id": pk,
                        "key": name,
                        "last": values[-1],
                        "min": min(values),
                        "max": max(values),
                        "count": LONG_STEPS,
                        "last_step": LONG_STEPS - 1,
                        "last_timestamp": start + LONG_STEPS - 1,
                    }
                ],
            )
        _points(conn, points, postgres)


def _marker_ok(url: str, size: UiSize) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(t.experiments.c.name).where(t.experiments.c.id == 999)).first()
            return row is not None and row[0] == size.marker
    except Exception:
        return False
    finally:
        engine.dispose()


def _mark(url: str, size: UiSize) -> None:
    """A hidden experiment row names the build: written last, so only a complete one carries it."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(t.experiments).values(id=999, name=size.marker, created_at=_T0))
        if engine.dialect.name == "postgresql":
            for table in ("experiments", "sweeps", "runs", "metric_keys"):
                last = f"(SELECT max(id) FROM {table})"
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})"))
    engine.dispose()


def ensure_sqlite(size: UiSize, *, regenerate: bool) -> str:
    url = f"sqlite:///{size.sqlite_path}"
    if not regenerate and size.sqlite_path.exists() and _marker_ok(url, size):
        log(f"reusing {size.sqlite_path.name}")
        return url
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    tmp = size.sqlite_path.with_name(size.sqlite_path.name + ".tmp")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), size.sqlite_path):
        leftover.unlink(missing_ok=True)
    log(f"building SQLite {size.runs:,} runs, {size.points:,} points -> {size.sqlite_path.name}")
    SqlStore(f"sqlite:///{tmp}").upgrade_schema()
    engine = create_engine(f"sqlite:///{tmp}")
    with stopwatch() as took:
        _write(engine, size, postgres=False)
    engine.dispose()
    _mark(f"sqlite:///{tmp}", size)
    tmp.rename(size.sqlite_path)
    log(f"   built in {took[0]:.0f} s")
    return url


def ensure_postgres(size: UiSize, *, regenerate: bool) -> str:
    url = pg_schema_url(size.pg_schema)
    if not regenerate and _marker_ok(url, size):
        log(f"reusing PostgreSQL schema {size.pg_schema}")
        return url
    with pg_connect() as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {size.pg_schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {size.pg_schema}")
    SqlStore(url).upgrade_schema()
    log(f"building PostgreSQL {size.runs:,} runs, {size.points:,} points -> schema {size.pg_schema}")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_metric_points_run_key_step"))  # built once after the load
    with stopwatch() as took:
        _write(engine, size, postgres=True)
        with engine.begin() as conn:
            conn.execute(
                text("CREATE INDEX ix_metric_points_run_key_step ON metric_points (run_id, key_id, step)")
            )
    engine.dispose()
    with pg_connect(size.pg_schema) as conn:
        for table in ("runs", "params", "tags", "metric_summaries", "metric_points", "sweeps", "experiments"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    _mark(url, size)
    log(f"   built in {took[0]:.0f} s")
    return url
