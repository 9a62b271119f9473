"""SqlStore: the store on SQLite or PostgreSQL through SQLAlchemy 2.x Core."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, text
from sqlalchemy.engine import URL

from sweeptrack.core.errors import RunNotFoundError, SchemaError, StoreError
from sweeptrack.core.events import Event, PointTuple
from sweeptrack.core.model import (
    Artifact,
    Dataset,
    Experiment,
    Lease,
    MetricPoint,
    Run,
    RunStatus,
    Sweep,
    SweepState,
    encode_param,
)
from sweeptrack.tracking.sql import edits, errors, ingest, migrate, pages, reads, sweeps
from sweeptrack.tracking.sql import schema as t
from sweeptrack.tracking.sql.engine import WRITE, make_engine, parse_db_url, read_only_reason, sqlite_path
from sweeptrack.tracking.store import KeysInScope, MetricSeries, RunCounts, RunsPage, Store

__all__ = ["SqlStore"]


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqlStore(Store):
    """The tracking store on a SQLAlchemy URL (or a plain SQLite file path).

    Construction is cheap; the first operation connects and checks the schema revision. An embedded
    SQLite file that is missing or older is upgraded in place; any other database that is not at the
    current revision raises :class:`SchemaError` telling to run ``sweeptrack db upgrade``. With
    ``create=False`` (what read-only commands use) a missing SQLite file is an error, not a new file.
    A SQLite file this process cannot write is opened read-only: reads work, a write raises
    :class:`StoreError` saying why.

    Example:
        >>> store = SqlStore("sqlite:///sweeptrack.db")          # doctest: +SKIP
        >>> store.search_runs(filter="metrics.val_f1 > 0.9")      # doctest: +SKIP
    """

    def __init__(self, url: str | URL, *, auto_upgrade: bool | None = None, create: bool = True) -> None:
        self.url = url if isinstance(url, URL) else parse_db_url(url)
        self._create = create
        self._auto_upgrade = (
            sqlite_path(self.url) is not None or self.url.database == ":memory:"
            if auto_upgrade is None
            else auto_upgrade
        )
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._run_pks: dict[str, int] = {}
        self._key_ids: dict[str, int] = {}
        self._experiment_ids: dict[str, int] = {}
        self._sweep_pks: dict[str, int] = {}
        self._open = threading.local()  # .conn: this thread's write transaction, while one is open

    # -- connection and schema ----------------------------------------------------------------
    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The engine, connected and schema-checked on first use."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._check_exists()
                    engine = make_engine(self.url)
                    try:
                        self._check_schema(engine)
                    except BaseException:
                        engine.dispose()
                        raise
                    self._engine = engine
        return self._engine

    def _check_exists(self) -> None:
        path = sqlite_path(self.url)
        if not self._create and path is not None and not path.exists():
            raise StoreError(
                f"no tracking database at {path}; check --db (or SWEEPTRACK_DB), or log a run there first"
            )

    def _check_schema(self, engine: Engine) -> None:
        with self._translate_errors():
            with engine.connect() as conn:
                revision = migrate.current_revision(conn)
            if revision == t.HEAD_REVISION:
                return
            if revision is not None and revision not in migrate.known_revisions():
                raise SchemaError(
                    f"database {self.display_url} is at schema revision {revision!r}, newer than "
                    f"this sweeptrack knows ({t.HEAD_REVISION!r}); upgrade sweeptrack"
                )
            read_only = read_only_reason(engine)
            if self._auto_upgrade and read_only is None:
                migrate.upgrade(engine)
                return
            state = "has no sweeptrack schema" if revision is None else f"is at {revision!r}"
            where = "" if read_only is None else f" with write access to it ({read_only} here)"
            raise SchemaError(
                f"database {self.display_url} {state}, this sweeptrack needs "
                f"{t.HEAD_REVISION!r}; run `sweeptrack --db URL db upgrade`{where}"
            )

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            error = errors.translate_error(exc, self.display_url)
            if error is None:
                raise
            raise error from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; inside another one of this thread, that one (see :meth:`apply`)."""
        outer: Connection | None = getattr(self._open, "conn", None)
        if outer is not None:
            yield outer
            return
        self._check_writable(self.engine)
        try:
            with self._translate_errors(), self.engine.connect() as conn:
                conn = conn.execution_options(**{WRITE: True})
                with conn.begin():
                    self._open.conn = conn
                    try:
                        yield conn
                    finally:
                        self._open.conn = None
        except BaseException:
            # Ids cached inside a transaction that rolled back may name rows that do not exist.
            self._run_pks.clear()
            self._key_ids.clear()
            self._experiment_ids.clear()
            self._sweep_pks.clear()
            raise

    def apply(self, events: Sequence[Event]) -> None:
        """Write ``events`` in order, in one transaction: all of them or, on an error, none."""
        with self._write():
            super().apply(events)

    def _check_writable(self, engine: Engine) -> None:
        reason = read_only_reason(engine)
        if reason is not None:
            raise StoreError(
                f"cannot write to database {self.display_url}: {reason}, so it is open read-only; "
                "give a database you can write with --db"
            )

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._translate_errors(), self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- ids ----------------------------------------------------------------------------------
    def _run_pk(self, conn: Connection, run_id: str) -> int:
        pk = self._run_pks.get(run_id)
        if pk is None:
            pk = conn.execute(select(t.runs.c.id).where(t.runs.c.uuid == run_id)).scalar()
            if pk is None:
                raise RunNotFoundError(f"no run with id {run_id!r}")
            self._run_pks[run_id] = pk
        return pk

    def _sweep_pk(self, conn: Connection, sweep_id: str) -> int:
        pk = self._sweep_pks.get(sweep_id)
        if pk is None:
            pk = self._sweep_pks[sweep_id] = sweeps.sweep_pk(conn, sweep_id)
        return pk

    def _ensure_key_ids(self, keys: set[str]) -> dict[str, int]:
        missing = keys - self._key_ids.keys()
        if missing:
            with self._write() as conn:
                conn.execute(
                    text("INSERT INTO metric_keys (name) VALUES (:name) ON CONFLICT (name) DO NOTHING"),
                    [{"name": key} for key in sorted(missing)],
                )
                rows = conn.execute(
                    select(t.metric_keys.c.name, t.metric_keys.c.id).where(t.metric_keys.c.name.in_(missing))
                )
                self._key_ids.update({name: kid for name, kid in rows})
        return self._key_ids

    def _experiment_id(self, conn: Connection, name: str) -> int:
        cached = self._experiment_ids.get(name)
        if cached is not None:
            return cached
        conn.execute(
            text(
                "INSERT INTO experiments (name, created_at) VALUES (:name, :now) "
                "ON CONFLICT (name) DO NOTHING"
            ),
            {"name": name, "now": _now_ms()},
        )
        return int(conn.execute(select(t.experiments.c.id).where(t.experiments.c.name == name)).scalar_one())

    # -- writes -------------------------------------------------------------------------------
    def create_run(
        self,
        *,
        run_id: str,
        experiment: str,
        name: str,
        start_time: int,
        tags: Mapping[str, str] | None = None,
        sweep_id: str | None = None,
        trial_number: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        with self._write() as conn:
            exp_id = self._experiment_id(conn, experiment)
            row = {
                "uuid": run_id,
                "experiment_id": exp_id,
                "sweep_id": None if sweep_id is None else self._sweep_pk(conn, sweep_id),
                "trial_number": trial_number,
                "name": name,
                "status": RunStatus.RUNNING.value,
                "start_time": start_time,
            }
            pk = conn.execute(_INSERT_RUN, row).scalar_one()
            if tags:
                _upsert_tags(conn, pk, tags)
            if params:
                _upsert_params(conn, pk, params)
        self._run_pks[run_id] = pk
        self._experiment_ids[experiment] = exp_id  # only once committed

    def end_run(self, run_id: str, status: RunStatus, end_time: int, error: str | None) -> None:
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            conn.execute(_END_RUN, {"pk": pk, "status": status.value, "end_time": end_time, "error": error})

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        if not params:
            return
        with self._write() as conn:  # a bad value raises before any row is written
            _upsert_params(conn, self._run_pk(conn, run_id), params)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        if not tags:
            return
        with self._write() as conn:
            _upsert_tags(conn, self._run_pk(conn, run_id), tags)

    # -- edits ------------------------------------------------------------------------------------
    def delete_tag(self, run_id: str, key: str) -> None:
        with self._write() as conn:
            edits.delete_tag(conn, self._run_pk(conn, run_id), key)

    def set_run_note(self, run_id: str, note: str | None) -> None:
        with self._write() as conn:
            edits.set_note(conn, self._run_pk(conn, run_id), note)

    def rename_run(self, run_id: str, name: str) -> None:
        with self._write() as conn:
            edits.rename_run(conn, self._run_pk(conn, run_id), name)

    def delete_run(self, run_id: str, when_ms: int) -> None:
        with self._write() as conn:
            edits.delete_run(conn, self._run_pk(conn, run_id), when_ms)

    def restore_run(self, run_id: str) -> None:
        with self._write() as conn:
            edits.restore_run(conn, self._run_pk(conn, run_id))

    def log_metrics(self, run_id: str, points: Sequence[PointTuple]) -> None:
        if not points:
            return
        summaries = ingest.summarize(points)
        key_ids = self._ensure_key_ids(set(summaries))
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            ingest.insert_points(conn, pk, key_ids, points)
            ingest.upsert_summaries(conn, pk, summaries)

    def log_artifact(self, run_id: str, artifact: Artifact) -> None:
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            conn.execute(
                text(
                    "INSERT INTO artifacts (run_id, path, size, sha256, created_at) "
                    "VALUES (:run_id, :path, :size, :sha256, :created_at) "
                    "ON CONFLICT (run_id, path) DO UPDATE SET size = excluded.size, "
                    "sha256 = excluded.sha256, created_at = excluded.created_at"
                ),
                {
                    "run_id": pk,
                    "path": artifact.path,
                    "size": artifact.size,
                    "sha256": artifact.sha256,
                    "created_at": artifact.created_at or _now_ms(),
                },
            )

    def log_dataset(self, run_id: str, dataset: Dataset) -> None:
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            same = (t.datasets.c.run_id == pk) & (t.datasets.c.name == dataset.name)
            if dataset.context is None:
                same &= t.datasets.c.context.is_(None)
            else:
                same &= t.datasets.c.context == dataset.context
            conn.execute(t.datasets.delete().where(same))
            conn.execute(
                insert(t.datasets).values(
                    run_id=pk,
                    name=dataset.name,
                    source=dataset.source,
                    digest=dataset.digest,
                    size=dataset.size,
                    context=dataset.context,
                )
            )

    def log_environment(self, run_id: str, environment: Mapping[str, Any]) -> None:
        data = json.dumps(environment, sort_keys=True, default=str)
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            conn.execute(t.environments.delete().where(t.environments.c.run_id == pk))
            conn.execute(insert(t.environments).values(run_id=pk, data=data))

    def create_sweep(
        self,
        *,
        sweep_id: str,
        experiment: str,
        name: str,
        spec: str,
        environment: Mapping[str, Any] | None = None,
        source: str | None = None,
        lease: Lease | None = None,
    ) -> Sweep:
        with self._write() as conn:
            exp_id = self._experiment_id(conn, experiment)
            sweeps.create_sweep(
                conn,
                sweep_id=sweep_id,
                experiment_id=exp_id,
                name=name,
                spec=spec,
                environment=environment,
                source=source,
                now=_now_ms(),
                lease=lease,
            )
        return self.get_sweep(sweep_id)

    def set_sweep_state(self, sweep_id: str, state: SweepState) -> None:
        with self._write() as conn:
            sweeps.set_state(conn, sweep_id, state, _now_ms())

    def set_sweep_trial_cap(self, sweep_id: str, cap: int | None) -> None:
        with self._write() as conn:
            sweeps.set_trial_cap(conn, sweep_id, cap, _now_ms())

    # -- leases and heartbeats ---------------------------------------------------------------
    def acquire_sweep_lease(self, sweep_id: str, lease: Lease, stale_before: int) -> Lease | None:
        for _ in range(3):  # a holder that let go between the UPDATE and the read: try again
            with self._write() as conn:
                taken, holder = sweeps.acquire_lease(conn, sweep_id, lease, stale_before)
            if taken or holder is not None:
                return holder
        raise StoreError(f"could not take the lease of sweep {sweep_id!r}: it changed hands three times")

    def heartbeat_sweep(self, sweep_id: str, host: str, pid: int, now: int) -> bool:
        with self._write() as conn:
            return sweeps.heartbeat(conn, sweep_id, host, pid, now)

    def release_sweep_lease(self, sweep_id: str, host: str, pid: int) -> None:
        with self._write() as conn:
            sweeps.release_lease(conn, sweep_id, host, pid)

    def heartbeat_runs(self, run_ids: Sequence[str], now: int) -> None:
        if not run_ids:
            return
        with self._write() as conn:
            conn.execute(_HEARTBEAT_RUNS, [{"run_uuid": run_id, "now": now} for run_id in run_ids])

    # -- reads --------------------------------------------------------------------------------
    def list_experiments(self) -> list[Experiment]:
        with self._read() as conn:
            return reads.list_experiments(conn)

    def get_run(self, run_id: str) -> Run:
        with self._read() as conn:
            found = reads.load_runs(conn, t.runs.c.uuid == run_id, order=[], limit=None)
        if not found:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        return found[0]

    def resolve_run(self, ref: str) -> str:
        with self._read() as conn:
            return reads.resolve_run(conn, ref)

    def search_runs(
        self,
        *,
        experiment: str | None = None,
        sweep: str | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        limit: int | None = None,
        deleted: bool | None = False,
    ) -> list[Run]:
        with self._read() as conn:
            return reads.search_runs(
                conn,
                experiment=experiment,
                sweep=sweep,
                filter=filter,
                order_by=order_by,
                limit=limit,
                deleted=deleted,
            )

    def runs_page(
        self,
        *,
        experiment: str | None = None,
        sweep: str | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        limit: int = 50,
        offset: int = 0,
        deleted: bool | None = False,
        count_up_to: int | None = 1000,
    ) -> RunsPage:
        with self._read() as conn:
            return pages.runs_page(
                conn,
                experiment=experiment,
                sweep=sweep,
                filter=filter,
                order_by=order_by,
                limit=limit,
                offset=offset,
                deleted=deleted,
                count_up_to=count_up_to,
            )

    def metric_series(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int = 1000,
        start: int | None = None,
        end: int | None = None,
    ) -> MetricSeries:
        with self._read() as conn:
            return pages.metric_series(conn, run_id, key, max_points=max_points, start=start, end=end)

    def run_counts(self, sweep: str | None = None) -> list[RunCounts]:
        with self._read() as conn:
            return pages.run_counts(conn, sweep)

    def keys_in_scope(self, *, experiment: str | None = None, sweep: str | None = None) -> KeysInScope:
        with self._read() as conn:
            return reads.keys_in_scope(conn, experiment=experiment, sweep=sweep)

    def get_sweep(self, ref: str) -> Sweep:
        with self._read() as conn:
            return sweeps.get_sweep(conn, ref)

    def list_sweeps(self, experiment: str | None = None) -> list[Sweep]:
        with self._read() as conn:
            return sweeps.list_sweeps(conn, experiment)

    def sweeps_named(self, name: str) -> list[Sweep]:
        with self._read() as conn:
            return sweeps.sweeps_named(conn, name)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        with self._read() as conn:
            return reads.metric_history(conn, run_id, key)

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        with self._read() as conn:
            return reads.list_artifacts(conn, run_id)

    def list_datasets(self, run_id: str) -> list[Dataset]:
        with self._read() as conn:
            return reads.list_datasets(conn, run_id)

    def get_environment(self, run_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            return reads.environment(conn, run_id)

    def schema_revision(self) -> str | None:
        """The revision the database is at (without upgrading or checking it)."""
        engine = make_engine(self.url)
        try:
            with self._translate_errors(), engine.connect() as conn:
                return migrate.current_revision(conn)
        finally:
            engine.dispose()

    def upgrade_schema(self) -> tuple[str | None, str]:
        """Bring the database to the current revision; returns (before, after)."""
        engine = make_engine(self.url)
        try:
            self._check_writable(engine)
            with self._translate_errors():
                return migrate.upgrade(engine)
        finally:
            engine.dispose()


# The statements a sweep runs for every trial, built once (building one costs more than running it).
_INSERT_RUN = insert(t.runs).returning(t.runs.c.id)
_END_RUN = (
    t.runs.update()
    .where(t.runs.c.id == bindparam("pk"))
    .values(status=bindparam("status"), end_time=bindparam("end_time"), error=bindparam("error"))
)
_HEARTBEAT_RUNS = (
    t.runs.update().where(t.runs.c.uuid == bindparam("run_uuid")).values(heartbeat_at=bindparam("now"))
)
_UPSERT_PARAMS = text(
    "INSERT INTO params (run_id, key, kind, value, value_num) "
    "VALUES (:run_id, :key, :kind, :value, :num) ON CONFLICT (run_id, key) DO "
    "UPDATE SET kind = excluded.kind, value = excluded.value, value_num = excluded.value_num"
)
_UPSERT_TAGS = text(
    "INSERT INTO tags (run_id, key, value) VALUES (:run_id, :key, :value) "
    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"
)


def _upsert_params(conn: Connection, run_pk: int, params: Mapping[str, Any]) -> None:
    rows = []
    for key, value in params.items():
        kind, value_text, number = encode_param(value)
        rows.append(
            {"run_id": run_pk, "key": str(key), "kind": kind.value, "value": value_text, "num": number}
        )
    conn.execute(_UPSERT_PARAMS, rows)


def _upsert_tags(conn: Connection, run_pk: int, tags: Mapping[str, str]) -> None:
    conn.execute(_UPSERT_TAGS, [{"run_id": run_pk, "key": str(k), "value": str(v)} for k, v in tags.items()])
