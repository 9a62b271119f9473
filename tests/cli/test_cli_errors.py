"""Bad input gives one line `error: ...` on stderr and exit status 2, never a traceback.

Most cases run in-process with CliRunner; the last ones run the installed `sweeptrack` console
script in a real subprocess, which is what users and shell scripts see.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import sweeptrack as st
from sweeptrack.tracking.sql.schema import HEAD_REVISION
from sweeptrack.tracking.sql.store import SqlStore

Invoke = Callable[..., Result]

UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:1/none"
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_unknown_run(invoke: Invoke) -> None:
    line = one_error_line(invoke("runs", "show", "no-such-run", expect=None))
    assert "no run with id, id prefix or name 'no-such-run'" in line


def test_ambiguous_prefix_and_name(tmp_path: Path, invoke: Invoke) -> None:
    url = f"sqlite:///{tmp_path}/ambiguous.db"
    with SqlStore(url) as store:
        for suffix, name in (("1", "dup"), ("2", "dup")):
            store.create_run(run_id="abcd" + suffix * 28, experiment="e", name=name, start_time=1)

    by_prefix = one_error_line(invoke("runs", "show", "abcd", db=url, expect=None))
    assert "ambiguous" in by_prefix and "abcd1111" in by_prefix and "abcd2222" in by_prefix
    by_name = one_error_line(invoke("runs", "compare", "dup", "abcd1", db=url, expect=None))
    assert "'dup' is ambiguous" in by_name
    assert "abcd2222" in invoke("runs", "show", "abcd2", "--format", "json", db=url).stdout


def test_malformed_filter_names_the_column(invoke: Invoke) -> None:
    line = one_error_line(invoke("runs", "list", "--filter", "metrics.loss >> 1", expect=None))
    assert "column" in line

    board = one_error_line(invoke("leaderboard", "--metric", "loss", "--filter", "params.lr <", expect=None))
    assert "column 12" in board  # the user's own filter text, not the combined one


def test_unknown_order_by_field(invoke: Invoke) -> None:
    line = one_error_line(invoke("runs", "list", "--order-by", "bogus DESC", expect=None))
    assert "bogus" in line


def test_malformed_url(invoke: Invoke) -> None:
    line = one_error_line(invoke("runs", "list", db="foo://x", expect=None))
    assert "unsupported database URL scheme 'foo'" in line


def test_unreachable_postgres_fails_fast(invoke: Invoke) -> None:
    started = time.monotonic()
    line = one_error_line(invoke("runs", "list", db=UNREACHABLE_PG, expect=None))
    assert time.monotonic() - started < 5
    assert "127.0.0.1" in line and "none" in line


def test_usage_errors_keep_click_exit_status(invoke: Invoke) -> None:
    result = invoke("leaderboard", expect=2)
    assert "Missing option '--metric'" in result.stderr
    assert invoke("runs", "list", "--format", "xml", expect=2).stderr.count("Traceback") == 0


def test_db_upgrade_creates_a_fresh_sqlite_file_then_current_is_up_to_date(
    tmp_path: Path, invoke: Invoke
) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"

    assert "none (no sweeptrack schema" in invoke("db", "current", db=url).stdout
    upgraded = invoke("db", "upgrade", db=url).stdout
    assert upgraded.strip().endswith(f"none -> {HEAD_REVISION}")
    assert f"{HEAD_REVISION} (up to date)" in invoke("db", "current", db=url).stdout
    assert "already up to date" in invoke("db", "upgrade", db=url).stdout


@pytest.mark.postgres
def test_out_of_date_postgres_says_to_upgrade_then_upgrade_fixes_it(
    invoke: Invoke, empty_pg_url: str
) -> None:
    url = empty_pg_url
    line = one_error_line(invoke("runs", "list", db=url, expect=None))
    assert "has no sweeptrack schema" in line and "run `sweeptrack --db URL db upgrade`" in line
    assert f"none -> {HEAD_REVISION}" in invoke("db", "upgrade", db=url).stdout
    assert "(up to date)" in invoke("db", "current", db=url).stdout
    assert invoke("runs", "list", "--format", "json", db=url).stdout.strip() == "[]"


# -- the real console script ---------------------------------------------------------------------


def sweeptrack_script() -> str:
    found = shutil.which("sweeptrack", path=str(Path(sys.executable).parent))
    assert found, "the sweeptrack console script is not installed in this environment"
    return found


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SWEEPTRACK_DB"}
    return subprocess.run(
        [sweeptrack_script(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--db", "foo://x", "runs", "list"), "unsupported database URL scheme"),
        (("--db", UNREACHABLE_PG, "runs", "list"), "cannot use database"),
        (("runs", "show", "nope"), "no run with id, id prefix or name 'nope'"),
        (("runs", "list", "--filter", "status = "), "column"),
    ],
)
def test_console_script_errors_are_one_line_with_status_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    SqlStore(str(tmp_path / "sweeptrack.db")).list_experiments()
    done = run_script(*args, cwd=tmp_path)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert message in done.stderr


def test_read_commands_do_not_create_a_database(tmp_path: Path) -> None:
    done = run_script("--db", str(tmp_path / "typo.db"), "runs", "list", cwd=tmp_path)
    assert done.returncode == 2 and "no tracking database at" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_console_script_reads_the_db_from_the_environment(tmp_path: Path, db_url: str) -> None:
    env = {**os.environ, "SWEEPTRACK_DB": db_url}
    done = subprocess.run(
        [sweeptrack_script(), "leaderboard", "--metric", "val_f1", "--format", "csv"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert done.stdout.splitlines()[1].startswith("1,") and "solo" in done.stdout.splitlines()[1]
    assert not (tmp_path / "sweeptrack.db").exists()


def test_console_script_version_and_help(tmp_path: Path) -> None:
    assert run_script("--version", cwd=tmp_path).stdout.strip() == f"sweeptrack, version {st.__version__}"
    usage = run_script("--help", cwd=tmp_path)
    assert usage.returncode == 0
    for command in ("runs", "leaderboard", "db"):
        assert command in usage.stdout
