"""Database URLs and engines: SQLite tuned for many writers, PostgreSQL through psycopg 3.

SQLite runs in WAL mode with a long busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that upgrades from reading to writing while another
process writes fails at once with "database is locked" whatever the timeout, an immediate one waits.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from sweeptrack.core.errors import StoreError

__all__ = ["WRITE", "make_engine", "parse_db_url", "sqlite_path"]

# Execution option that marks a connection whose transactions write (see module docstring).
WRITE = "sweeptrack_write"
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
    """Create (without connecting) the engine for a parsed URL."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )


def _sqlite_engine(url: URL) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_location(path)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
    if path is None:
        # One shared connection, so the writer thread and the caller see the same in-memory data.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: transactions are begun by the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if path is not None:
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


def _check_sqlite_location(path: Path) -> None:
    folder = path.parent
    if path.is_dir():
        raise StoreError(f"SQLite database path {path} is a directory; give a file path")
    if not folder.is_dir():
        raise StoreError(f"cannot open SQLite database {path}: folder {folder} does not exist")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StoreError(f"cannot open SQLite database {path}: the file is not writable")
    if not _folder_writable(folder):
        raise StoreError(
            f"cannot open SQLite database {path}: folder {folder} is not writable "
            "(SQLite needs it for its journal); choose another --db path"
        )


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
