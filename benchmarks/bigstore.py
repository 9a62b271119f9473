"""Row 5's data: a big tracking store written straight into the sweeptrack tables.

The data is generated once into a SQLite file under ``benchmarks/.data`` (named by size, schema
revision and generator version, so a change of any of them makes a new file) with raw ``sqlite3``
``executemany`` in one transaction; the PostgreSQL copy is loaded from that file with ``COPY`` into a
fixed schema (``st_bench_100k``), so both backends hold the same rows. Both are reused while their
row counts and revision match; ``--regenerate`` rebuilds them.

Every run has 4 params (float ``lr`` log-uniform in [1e-5, 1e-1], int ``batch_size`` in 16..256,
str ``optimizer`` in adam/adamw/sgd, int ``seed``), a ``dataset`` tag, and two metrics (``loss``
decreasing, ``val_f1`` rising) over ``steps`` steps each, with summaries folded from the same values.
"""

from __future__ import annotations

import os
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_common import DATA_DIR, log, pg_connect, pg_schema_url, stopwatch

from sweeptrack.core.model import encode_param
from sweeptrack.tracking.sql.schema import HEAD_REVISION
from sweeptrack.tracking.sql.store import SqlStore

GENERATOR_VERSION = 1
SEED = 20240601
EXPERIMENTS = ("bench-a", "bench-b", "bench-c", "bench-d", "bench-e")
OPTIMIZERS = ("adam", "adamw", "sgd")
BATCH_SIZES = (16, 32, 64, 128, 256)
DATASETS = ("digits", "cifar10", "imagenet-mini")
KEYS = ((1, "loss"), (2, "val_f1"))
_CHUNK_RUNS = 2000

# (table, columns) in load order; every table the generator fills.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("experiments", ("id", "name", "created_at")),
    ("metric_keys", ("id", "name")),
    (
        "runs",
        (
            "id",
            "uuid",
            "experiment_id",
            "sweep_id",
            "trial_number",
            "name",
            "status",
            "start_time",
            "end_time",
            "error",
        ),
    ),
    ("params", ("run_id", "key", "kind", "value", "value_num")),
    ("tags", ("run_id", "key", "value")),
    ("metric_summaries", ("run_id", "key", "last", "min", "max", "count", "last_step", "last_timestamp")),
    ("metric_points", ("run_id", "key_id", "step", "value", "timestamp")),
)


@dataclass(frozen=True, slots=True)
class StoreSize:
    runs: int
    steps: int  # per metric; points per run = 2 * steps

    @property
    def points(self) -> int:
        return self.runs * self.steps * len(KEYS)

    @property
    def label(self) -> str:
        return f"{self.runs // 1000}k" if self.runs >= 1000 else str(self.runs)

    @property
    def sqlite_path(self) -> Path:
        name = f"bigstore-{self.runs}r-{self.points}p-rev{HEAD_REVISION}-g{GENERATOR_VERSION}.db"
        return DATA_DIR / name

    @property
    def pg_schema(self) -> str:
        return f"st_bench_{self.label}"


SIZES = {"full": StoreSize(runs=100_000, steps=50), "small": StoreSize(runs=10_000, steps=50)}


# -- generation ----------------------------------------------------------------------------------


def _placeholders(columns: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in columns)


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_placeholders(columns)})"


def _run_chunk(rng: random.Random, first: int, last: int, size: StoreSize, t0: int) -> dict[str, list[Any]]:
    """Rows of every table for runs ``first..last`` (inclusive), run pk = index."""
    out: dict[str, list[Any]] = {table: [] for table, _ in TABLES}
    runs, params, tags = out["runs"], out["params"], out["tags"]
    summaries, points = out["metric_summaries"], out["metric_points"]
    steps = size.steps
    step_range = range(steps)
    rand = rng.random
    for pk in range(first, last + 1):
        start = t0 + pk * 60_000
        status, error = ("failed", "RuntimeError: CUDA out of memory") if pk % 37 == 0 else ("finished", None)
        experiment = 1 + pk * len(EXPERIMENTS) // (size.runs + 1)
        uuid = f"{rng.getrandbits(128):032x}"
        runs.append(
            (pk, uuid, experiment, None, None, f"trial-{pk}", status, start, start + steps * 1000, error)
        )
        for key, value in (
            ("lr", 10 ** rng.uniform(-5, -1)),
            ("batch_size", rng.choice(BATCH_SIZES)),
            ("optimizer", rng.choice(OPTIMIZERS)),
            ("seed", rng.randrange(1_000_000)),
        ):
            kind, text, number = encode_param(value)
            params.append((pk, key, kind.value, text, number))
        tags.append((pk, "dataset", rng.choice(DATASETS)))
        final, begin, decay = rng.uniform(0.05, 1.5), rng.uniform(2.0, 2.6), rng.uniform(0.80, 0.97)
        top, rise = rng.uniform(0.3, 0.99), rng.uniform(0.80, 0.97)
        loss = [final + (begin - final) * decay**s + (rand() - 0.5) * 0.02 for s in step_range]
        f1 = [min(1.0, max(0.0, top * (1.0 - rise ** (s + 1)) + (rand() - 0.5) * 0.01)) for s in step_range]
        for (key_id, key), values in zip(KEYS, (loss, f1), strict=True):
            points.extend((pk, key_id, s, values[s], start + s * 1000) for s in step_range)
            last_ts = start + (steps - 1) * 1000
            summaries.append((pk, key, values[-1], min(values), max(values), steps, steps - 1, last_ts))
    return out


def _generate_sqlite(size: StoreSize, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    SqlStore(f"sqlite:///{tmp}").upgrade_schema()
    t0 = 1_700_000_000_000
    rng = random.Random(SEED)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")  # a half-written file is thrown away, never used
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        conn.executemany(_insert_sql(*TABLES[0]), [(i + 1, n, t0) for i, n in enumerate(EXPERIMENTS)])
        conn.executemany(_insert_sql(*TABLES[1]), KEYS)
        for first in range(1, size.runs + 1, _CHUNK_RUNS):
            rows = _run_chunk(rng, first, min(first + _CHUNK_RUNS - 1, size.runs), size, t0)
            for table, columns in TABLES[2:]:
                conn.executemany(_insert_sql(table, columns), rows[table])
            if first // _CHUNK_RUNS % 10 == 0:
                log(f"   SQLite: {first - 1:,}/{size.runs:,} runs written")
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    os.replace(tmp, path)


def _sqlite_counts(path: Path) -> tuple[int, int, str | None]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (runs,) = conn.execute("SELECT count(*) FROM runs").fetchone()
        (points,) = conn.execute("SELECT coalesce(max(rowid), 0) FROM metric_points").fetchone()
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        conn.close()
    return runs, points, revision


def ensure_sqlite(size: StoreSize, *, regenerate: bool) -> Path:
    """The cached SQLite store of ``size``, generated if missing, stale or asked for."""
    path = size.sqlite_path
    if path.exists() and not regenerate:
        try:
            if _sqlite_counts(path) == (size.runs, size.points, HEAD_REVISION):
                log(f"5. reusing {path.relative_to(DATA_DIR.parent.parent)}")
                return path
        except sqlite3.Error as exc:
            log(f"5. {path.name} is unreadable ({exc}); generating it again")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    log(f"5. generating SQLite store: {size.runs:,} runs, {size.points:,} points -> {path.name}")
    with stopwatch() as took:
        _generate_sqlite(size, path)
    log(f"   SQLite store generated in {took[0]:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")
    return path


# -- PostgreSQL copy -----------------------------------------------------------------------------


def _pg_marker(size: StoreSize) -> str:
    return (
        f"sweeptrack benchmark store: generator {GENERATOR_VERSION}, {size.runs} runs, {size.points} points"
    )


def _pg_counts(schema: str, marker: str) -> tuple[int, int, str | None] | None:
    with pg_connect() as conn:
        found = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", [schema]
        ).fetchone()
        if found is None or found[0] != marker:
            return None
    try:
        with pg_connect(schema) as conn:
            (runs,) = conn.execute("SELECT count(*) FROM runs").fetchone()
            (points,) = conn.execute("SELECT count(*) FROM metric_points").fetchone()
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except Exception:  # a half-built schema (missing table): rebuild it
        return None
    return runs, points, revision


def _copy_table(src: sqlite3.Connection, dst: Any, table: str, columns: tuple[str, ...]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = src.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
    with dst.cursor() as out, out.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        while batch := cursor.fetchmany(50_000):
            for row in batch:
                copy.write_row(row)


def _load_postgres(size: StoreSize, sqlite_path: Path) -> None:
    schema = size.pg_schema
    with pg_connect() as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {schema}")
    SqlStore(pg_schema_url(schema)).upgrade_schema()
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        with pg_connect(schema, autocommit=False) as conn:
            # The points' index is built once after the load: faster than maintaining it row by row.
            (index_sql,) = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                [schema, "ix_metric_points_run_key_step"],
            ).fetchone()
            conn.execute("DROP INDEX ix_metric_points_run_key_step")
            for table, columns in TABLES:
                with stopwatch() as took:
                    _copy_table(src, conn, table, columns)
                log(f"   PostgreSQL: COPY {table} {took[0]:.1f} s")
            conn.execute(index_sql)
            for table in ("experiments", "metric_keys", "runs"):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            conn.commit()
    finally:
        src.close()
    with pg_connect(schema) as conn:
        for table, _ in TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")  # what autovacuum would do soon after a load
        # Marks a complete load of this generator's data (checked before reuse).
        conn.execute(f"COMMENT ON SCHEMA {schema} IS '{_pg_marker(size)}'")


def ensure_postgres(size: StoreSize, sqlite_path: Path, *, regenerate: bool) -> str:
    """The URL of the PostgreSQL copy of the store, loaded if missing, stale or asked for."""
    schema = size.pg_schema
    current = None if regenerate else _pg_counts(schema, _pg_marker(size))
    if current == (size.runs, size.points, HEAD_REVISION):
        log(f"5. reusing PostgreSQL schema {schema}")
        return pg_schema_url(schema)
    log(f"5. loading PostgreSQL schema {schema} from {sqlite_path.name}")
    with stopwatch() as took:
        _load_postgres(size, sqlite_path)
    log(f"   PostgreSQL store loaded in {took[0]:.1f} s")
    return pg_schema_url(schema)
