"""Tables fit the terminal: the real CLI at 80, 120 and 200 columns, piped and through a pseudo-terminal.

Rows stay on one line (ids, numbers and timestamps whole; long names cropped with an ellipsis),
``params.*`` and ``metrics.*`` columns that do not fit are left out from the right with a note, and
``--columns`` picks the columns of every format. CSV, JSON and Markdown stay complete at any width.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from datetime import datetime
from fcntl import ioctl
from pathlib import Path
from typing import Any

import pytest

import sweeptrack as st
from sweeptrack.tracking.sql.store import SqlStore

SWEEPTRACK = str(Path(sys.executable).with_name("sweeptrack"))
NOTE = re.compile(r"^(\d+) more columns?: use --columns or --format csv$", re.MULTILINE)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
METRICS = ("val_f1", "loss", "train_accuracy", "val_precision_macro", "val_recall_macro")


@pytest.fixture(scope="module")
def wide_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Five "digits" runs with long names, six params (five that vary) and five metrics."""
    url = f"sqlite:///{tmp_path_factory.mktemp('tables')}/sweeptrack.db"
    for i in range(5):
        name = f"quickstart-trial-{i:02d}-lr-{10.0**-i:g}-batch-{32 * (i + 1)}"
        with st.start_run(experiment="digits", name=name, db=url, capture_environment=False):
            st.log_params(
                {
                    "lr": 10.0**-i,
                    "batch_size": 32 * (i + 1),
                    "optimizer": "adam",
                    "hidden_units": 64 * (i + 1),
                    "dropout": 0.1 * i,
                    "weight_decay": 1e-5 * (i + 1),
                }
            )
            for epoch in range(3):
                st.log_metrics({key: 0.5 + 0.01 * i + 0.1 * epoch for key in METRICS}, step=epoch)
    with SqlStore(url) as store:
        store.create_sweep(
            sweep_id=uuid.uuid4().hex, experiment="digits", name="quickstart", spec="method: grid\n"
        )
    return url


def sweeptrack(
    db: str, *args: str, columns: int | None = None, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess whose output is a pipe, with ``COLUMNS`` set (or unset: None)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    done = subprocess.run(
        [SWEEPTRACK, "--db", db, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == expect, done.stderr
    return done


def in_terminal(db: str, *args: str, columns: int, rows: int = 40) -> str:
    """The CLI's output through a real pseudo-terminal ``columns`` wide (no COLUMNS variable)."""
    parent, child = pty.openpty()
    ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(
        [SWEEPTRACK, "--db", db, *args], stdin=child, stdout=child, stderr=child, env=env, close_fds=True
    )
    os.close(child)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([parent], [], [], 1)
        if ready:
            try:
                chunk = os.read(parent, 65536)
            except OSError:  # EIO: the child side is closed, everything has been read
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(parent)
    assert process.wait(timeout=30) == 0, output
    return output.decode()


def records(db: str, *args: str) -> Any:
    return json.loads(sweeptrack(db, *args, "--format", "json").stdout)


def header(text: str) -> list[str]:
    """The column names of the rich table in ``text`` (its first line framed by ┃)."""
    line = next(line for line in text.splitlines() if line.startswith("┃"))
    return [cell.strip() for cell in line.strip("┃").split("┃")]


def body(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("│")]


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize("width", [80, 120, 200])
def test_runs_list_fits_the_width_with_one_line_per_run(wide_db: str, width: int) -> None:
    table = sweeptrack(wide_db, "runs", "list", columns=width).stdout
    runs = records(wide_db, "runs", "list")
    all_columns = list(runs[0])

    assert widest(table) <= width
    assert len(body(table)) == len(runs)  # nothing wraps onto a second line
    for run, line in zip(runs, body(table), strict=True):
        started = datetime.fromisoformat(run["started"])
        assert f"│ {run['id']} │" in line  # the short id, whole
        assert started.strftime("%Y-%m-%d %H:%M:%S") in line  # local time, to the second
    assert "+00:00" not in table and "T" not in body(table)[0].split("│")[5]
    shown = header(table)
    assert shown == all_columns[: len(shown)]  # columns are left out from the right only
    note = NOTE.search(table)
    if len(shown) < len(all_columns):
        assert note is not None and int(note[1]) == len(all_columns) - len(shown)
        assert table.rstrip().endswith(note[0])
    else:
        assert note is None


def test_narrow_terminals_show_fewer_columns_and_crop_names_with_an_ellipsis(wide_db: str) -> None:
    shown = {w: header(sweeptrack(wide_db, "runs", "list", columns=w).stdout) for w in (80, 120, 200)}

    assert len(shown[80]) < len(shown[120]) < len(shown[200])
    assert shown[80][:6] == ["id", "name", "experiment", "status", "started", "duration_s"]
    assert any(column.startswith("params.") for column in shown[120])
    names = {w: name_cells(sweeptrack(wide_db, "runs", "list", columns=w).stdout) for w in (80, 200)}
    assert all(name.endswith("…") for name in names[80])
    assert len(names[80][0]) < len(names[200][0])
    picked = sweeptrack(wide_db, "runs", "list", "-c", "id,name,status", columns=80).stdout
    assert name_cells(picked)[-1] == "quickstart-trial-00-lr-1-batch-32"


def name_cells(table: str) -> list[str]:
    return [line.split("│")[2].strip() for line in body(table)]


def test_piped_output_without_columns_is_80_wide(wide_db: str) -> None:
    table = sweeptrack(wide_db, "runs", "list", columns=None).stdout

    assert widest(table) <= 80 and NOTE.search(table)


def test_a_real_terminal_of_120_columns(wide_db: str) -> None:
    raw = in_terminal(wide_db, "runs", "list", columns=120)
    text = ANSI.sub("", raw).replace("\r\n", "\n")

    assert "\x1b[" in raw  # rich saw a terminal
    assert widest(text) <= 120
    assert len(body(text)) == 5
    assert header(text) == header(sweeptrack(wide_db, "runs", "list", columns=120).stdout)
    assert NOTE.search(text)


def test_leaderboard_and_runs_show_fit_80_columns(wide_db: str) -> None:
    board = sweeptrack(wide_db, "leaderboard", "--metric", "val_f1", columns=80).stdout
    assert widest(board) <= 80 and len(body(board)) == 5
    assert header(board)[:5] == ["rank", "id", "name", "status", "val_f1"]

    shown = sweeptrack(wide_db, "runs", "show", "quickstart-trial-03-lr-0.001-batch-128", columns=80).stdout
    assert widest(shown) <= 80
    assert "quickstart-trial-03-lr-0.001-batch-128" in shown.replace("│", "").replace(" ", "").replace(
        "\n", ""
    )  # a field/value section folds long text instead of cropping it


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_csv_json_md_are_complete_at_any_width(wide_db: str, fmt: str) -> None:
    narrow = sweeptrack(wide_db, "runs", "list", "--format", fmt, columns=80).stdout
    wide = sweeptrack(wide_db, "runs", "list", "--format", fmt, columns=200).stdout

    assert narrow == wide
    assert "more columns" not in narrow
    assert "quickstart-trial-00-lr-1-batch-32" in narrow


def test_columns_picks_and_orders_columns_in_every_format(wide_db: str) -> None:
    wanted = "name,status,params.lr,metrics.val_f1"
    table = sweeptrack(wide_db, "runs", "list", "--columns", wanted, columns=80).stdout
    assert header(table) == wanted.split(",")
    assert NOTE.search(table) is None and widest(table) <= 80

    rows = list(
        csv.reader(
            io.StringIO(sweeptrack(wide_db, "runs", "list", "--columns", wanted, "--format", "csv").stdout)
        )
    )
    assert rows[0] == wanted.split(",") and len(rows) == 6
    assert list(records(wide_db, "runs", "list", "--columns", wanted)[0]) == wanted.split(",")
    md = sweeptrack(wide_db, "runs", "list", "--columns", wanted, "--format", "md").stdout
    assert md.splitlines()[0] == "| name | status | params.lr | metrics.val_f1 |"


def test_columns_can_name_a_param_that_is_the_same_in_every_run(wide_db: str) -> None:
    assert "params.optimizer" not in records(wide_db, "runs", "list")[0]  # unchanged default

    picked = records(wide_db, "runs", "list", "-c", "name,params.optimizer")
    assert {row["params.optimizer"] for row in picked} == {"adam"}
    board = records(wide_db, "leaderboard", "-m", "val_f1", "-c", "rank,name,metrics.loss,params.optimizer")
    assert list(board[0]) == ["rank", "name", "metrics.loss", "params.optimizer"]


@pytest.mark.parametrize("width", [80, 120, 200])
def test_sweep_list_keeps_ids_counts_and_times_whole_by_leaving_columns_out(wide_db: str, width: int) -> None:
    table = sweeptrack(wide_db, "sweep", "list", columns=width).stdout
    (sweep,) = records(wide_db, "sweep", "list")
    shown = header(table)

    assert widest(table) <= width and len(body(table)) == 1
    assert shown == list(sweep)[: len(shown)] and shown[:4] == ["id", "name", "experiment", "state"]
    assert body(table)[0].startswith(f"│ {sweep['id']} │ quick")  # the name may be cropped
    left_out = len(sweep) - len(shown)
    note = NOTE.search(table)
    assert (int(note[1]) if note else 0) == left_out
    if "created" in shown:
        assert datetime.fromisoformat(sweep["created"]).strftime("%Y-%m-%d %H:%M:%S") in table
    if width == 80:
        assert left_out > 0
    if width == 200:
        assert left_out == 0


def test_columns_on_compare_and_sweep_list(wide_db: str) -> None:
    runs = records(wide_db, "runs", "list")
    compared = sweeptrack(
        wide_db, "runs", "compare", runs[0]["id"], runs[1]["id"], "-c", "key,differs", "--format", "csv"
    ).stdout
    assert compared.splitlines()[0] == "key,differs"
    listed = sweeptrack(wide_db, "sweep", "list", "-c", "name,state", "--format", "csv").stdout
    assert listed.splitlines() == ["name,state", "quickstart,orphaned"]  # no controller holds it


def test_an_unknown_column_names_the_nearest_ones(wide_db: str) -> None:
    done = sweeptrack(wide_db, "runs", "list", "--columns", "name,params.lrr", expect=2)

    assert done.stderr == "error: no column 'params.lrr' in --columns; did you mean params.lr?\n"
    assert done.stdout == ""
    other = sweeptrack(wide_db, "leaderboard", "-m", "val_f1", "-c", "zzz", expect=2).stderr
    assert other.startswith(
        "error: no column 'zzz' in --columns; the columns are rank, id, name, status, val_f1"
    )
