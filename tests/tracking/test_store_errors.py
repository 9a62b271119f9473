"""Bad database locations get one clear StoreError, and nothing is created."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sweeptrack.core.errors import StoreError
from sweeptrack.tracking.sql.store import SqlStore


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "database URL is empty"),
        ("foo://x", "unsupported database URL scheme 'foo'"),
        ("postgresql+psycopg://", "names no database"),
        ("sqlite:////proc/sweeptrack.db", "folder /proc is not writable"),
        ("sqlite:////no/such/folder/x.db", "folder /no/such/folder does not exist"),
    ],
)
def test_bad_location_is_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        SqlStore(url).list_experiments()


def test_a_directory_given_as_the_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        SqlStore(str(tmp_path)).list_experiments()
    assert list(tmp_path.iterdir()) == []


def test_unreachable_postgres_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot use database postgresql\+psycopg://postgres@127.0.0.1:1/x"):
        SqlStore("postgresql+psycopg://postgres@127.0.0.1:1/x").list_experiments()
    assert time.monotonic() - started < 15


def test_a_plain_path_means_a_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    SqlStore(str(db)).list_experiments()
    assert db.exists()
