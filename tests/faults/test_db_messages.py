"""A database at an older schema revision is refused with the command that fixes it, in the order
the CLI accepts (`sweeptrack --db URL db upgrade`), and that command does fix it: on PostgreSQL
(never upgraded behind the user's back) and on a SQLite file that cannot be written (which
cannot be upgraded in place)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import sweeptrack as st
from sweeptrack.tracking.sql import migrate
from sweeptrack.tracking.sql.engine import make_engine, parse_db_url
from sweeptrack.tracking.sql.schema import HEAD_REVISION
from sweeptrack.tracking.sql.store import SqlStore

from ._hardening_helpers import error_line, ok, read_only, sweeptrack

GOLDEN = Path(__file__).parents[1] / "tracking" / "golden"
FIX = "run `sweeptrack --db URL db upgrade`"


@pytest.fixture
def old_pg_url(empty_pg_url: str) -> str:
    """A PostgreSQL schema at the first revision."""
    engine = make_engine(parse_db_url(empty_pg_url))
    try:
        migrate.upgrade(engine, "0001")
    finally:
        engine.dispose()
    return empty_pg_url


@pytest.mark.postgres
def test_old_postgres_names_the_command_that_works(old_pg_url: str) -> None:
    display = SqlStore(old_pg_url).display_url
    message = f"database {display} is at '0001', this sweeptrack needs {HEAD_REVISION!r}; {FIX}"

    assert error_line(sweeptrack("runs", "list", db=old_pg_url)) == message
    with pytest.raises(st.SweepTrackError) as caught:
        st.Client(old_pg_url).search_runs()
    assert str(caught.value) == message
    wrong_order = sweeptrack("db", "upgrade", "--db", old_pg_url)  # what the message used to say
    assert wrong_order.returncode == 2 and "Error: No such option '--db'." in wrong_order.stderr

    upgraded = ok(sweeptrack("--db", old_pg_url, "db", "upgrade"))  # what it says now

    assert upgraded == f"{display}: 0001 -> {HEAD_REVISION}\n"
    assert ok(sweeptrack("runs", "list", "--format", "json", db=old_pg_url)) == "[]\n"


@pytest.mark.postgres
def test_postgres_without_schema_names_the_command(empty_pg_url: str) -> None:
    display = SqlStore(empty_pg_url).display_url
    message = f"database {display} has no sweeptrack schema, this sweeptrack needs {HEAD_REVISION!r}; {FIX}"

    assert error_line(sweeptrack("sweep", "list", db=empty_pg_url)) == message


def test_old_read_only_sqlite_is_not_upgraded_and_says_why(tmp_path: Path) -> None:
    path = Path(shutil.copy(GOLDEN / "rev0001.db", tmp_path / "old.db"))
    url = f"sqlite:///{path}"

    with read_only(tmp_path):
        line = error_line(sweeptrack("runs", "list", db=url))
        assert ok(sweeptrack("db", "current", db=url)).startswith(f"{url}: 0001 (out of date")

    assert line == (
        f"database {url} is at '0001', this sweeptrack needs {HEAD_REVISION!r}; {FIX} "
        f"with write access to it (folder {tmp_path} is read-only here)"
    )
    assert ok(sweeptrack("--db", url, "db", "upgrade")) == f"{url}: 0001 -> {HEAD_REVISION}\n"
    assert ok(sweeptrack("runs", "list", "--format", "json", db=url)).startswith("[")
