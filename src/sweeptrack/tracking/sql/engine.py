"""Database URLs and engines: SQLite tuned for many writers, PostgreSQL through psycopg 3.

SQLite runs in WAL mode with a long busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that upgrades from reading to writing while another
process writes fails at once with "database is locked" whatever the timeout, an immediate one waits.

A SQLite file this process cannot write (its mode, a read-only folder or mount) is opened read-only
so that it can still be read (``mode=ro`` or ``immutable=1``, see :func:`_read_only_url`), and
creates no file beside it; :func:`read_only_reason` says why such an engine cannot write.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from sweeptrack.core.errors import StoreError

__all__ = ["WRITE", "make_engine", "parse_db_url", "read_only_reason", "sqlite_path"]

# Execution option that marks a connection whose transactions write (see module docstring).
WRITE = "sweeptrack_write"
# Execution option of an engine opened read-only: why it cannot write (absent when it can).
READ_ONLY = "sweeptrack_read_only"
BUSY_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 10


def parse_db_url(raw: str) -> URL:
    """Turn a --db value (a SQLAlchemy URL or a plain path to a SQLite file) into a URL.

    Raises:
        StoreError: for an unknown scheme or a malformed URL.
    """
    text = raw.strip()
    if not text:
        raise StoreError("database URL is empty; give a path or a URL such as sqlite:///sweeptrack.db")
    if "://" not in text:
        return make_url("sqlite:///" + str(Path(text).expanduser()))
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise StoreError(f"malformed database URL {text!r}: {exc}") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        if url.get_driver_name() not in ("psycopg", "psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
        if url.get_driver_name() == "psycopg2":
            url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            raise StoreError(f"database URL {url.render_as_string()!r} names no database")
        return url
    if backend == "sqlite":
        return url
    raise StoreError(
        f"unsupported database URL scheme {url.drivername!r} in {text!r}; "
        "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
    )


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for in-memory SQLite and other backends."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser().absolute()


def make_engine(url: URL) -> Engine:
    """Create (without connecting) the engine for a parsed URL; a SQLite file that this process
    cannot write is opened read-only (see :func:`read_only_reason`)."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    engine = create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # psycopg prepares a statement run five times; PostgreSQL may then plan it once for any
        # values (a generic plan), which for a filter of EXISTS on params walks the wrong index:
        # 400 ms instead of 10. Plan every execution for its values instead.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()

    return engine


def read_only_reason(engine: Engine) -> str | None:
    """Why ``engine`` was opened read-only (``"folder /x is read-only"``), or None if it can write."""
    reason = engine.get_execution_options().get(READ_ONLY)
    return None if reason is None else str(reason)


def _sqlite_engine(url: URL) -> Engine:
    path = sqlite_path(url)
    reason = None if path is None else _check_sqlite_location(path)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
    if path is None:
        # One shared connection, so the writer thread and the caller see the same in-memory data.
        kwargs["poolclass"] = StaticPool
    elif reason is not None:
        url = _read_only_url(path)
        kwargs["execution_options"] = {READ_ONLY: reason}
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: transactions are begun by the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if path is not None and reason is None:
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA cache_size = -65536")  # 64 MiB: index inserts stay in memory
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _use_wal(cursor: Any) -> None:
    """WAL mode is kept in the file: set it once. Switching needs the file to itself and SQLite
    does not wait for that (no busy timeout), so a connection opened while another one creates
    the schema would fail with "database is locked": it tries again, up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _check_sqlite_location(path: Path) -> str | None:
    """Refuse a path SQLite cannot use; None if the file can be written (or created), else why
    it must be opened read-only."""
    folder = path.parent
    if path.is_dir():
        raise StoreError(f"SQLite database path {path} is a directory; give a file path")
    if not folder.is_dir():
        raise StoreError(f"cannot open SQLite database {path}: folder {folder} does not exist")
    if not path.exists():
        if not _folder_writable(folder):
            raise StoreError(
                f"cannot open SQLite database {path}: folder {folder} is not writable "
                "(SQLite needs it for its journal); choose another --db path"
            )
        return None
    # Opening is the honest test: os.access says yes to root, even on a read-only mount.
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        try:
            os.close(os.open(path, os.O_RDONLY))
        except OSError as exc_read:
            raise StoreError(f"cannot open SQLite database {path}: {exc_read.strerror}") from None
        return f"{path} is read-only ({exc.strerror})"
    if not _folder_writable(folder):
        return f"folder {folder} is read-only"
    return None


def _read_only_url(path: Path) -> URL:
    """A URL that opens ``path`` read-only.

    With a ``-wal`` file beside it (a writer is at work, or died) it is ``mode=ro``, which reads
    the WAL through the existing ``-shm`` file. Without one no writer is at work, and the file is
    read as immutable: ``mode=ro`` would have to create ``-wal`` and ``-shm`` files, which a
    read-only folder refuses, and which elsewhere would stay behind, owned by the reader, where
    the owner's next writer could not write them.
    """
    wal = path.with_name(path.name + "-wal")
    query = {"mode": "ro"} if wal.exists() else {"immutable": "1"}
    return URL.create("sqlite", database=f"file:{quote(str(path))}", query={**query, "uri": "true"})


def _folder_writable(folder: Path) -> bool:
    # os.access says yes to root everywhere; creating a file is the only honest test (a name of
    # its own: threads of one process may open stores at the same time).
    try:
        fd, probe = tempfile.mkstemp(prefix=".sweeptrack-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return True
