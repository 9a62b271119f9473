"""`sweeptrack report`: md and json checked against the database, files written atomically,
bad input answered with one line and no file; and the end of `sweep run` names the command."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sweepdata import T, rising, write_sweep

from sweeptrack.cli.main import cli
from sweeptrack.core.model import RunStatus
from sweeptrack.reports.leaderboard import leaderboard
from sweeptrack.tracking.sql.store import SqlStore

XSS = "<script>alert(1)</script>"


def invoke(db: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)


@pytest.fixture
def sweep_db(sqlite_url: str) -> str:
    with SqlStore(sqlite_url) as store:
        store.upgrade_schema()
        trials = [
            T(
                params={"lr": 0.01 * (i + 1), "model": ["sgd", XSS][i % 2], "seed": 1 + i % 2},
                metrics={"val_f1": rising(0.4 + 0.05 * i)},
            )
            for i in range(6)
        ]
        trials.append(T(params={"lr": 0.9, "model": "sgd", "seed": 1}, status=RunStatus.FAILED, error="boom"))
        write_sweep(store, trials, name="demo")
    return sqlite_url


def test_json_is_the_data_with_the_stores_ranking(sweep_db: str) -> None:
    result = invoke(sweep_db, "report", "demo", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    with SqlStore(sweep_db) as store:
        sweep_id = store.get_sweep("demo").id
        board = leaderboard(store, "val_f1", sweep=sweep_id, filter="status = 'finished'", top=50)
        runs = store.search_runs(sweep=sweep_id)
    assert [row["run_id"] for row in data["leaderboard"] if row["rank"]] == [r.run.id for r in board.rows]
    assert len(data["leaderboard"]) == len(runs) == 7
    assert data["summary"]["counts"]["failed"] == 1 and data["source"]["sweep_name"] == "demo"
    assert data["version"] == 1


def test_md_shows_the_top_rows_and_html_in_values_as_text(sweep_db: str) -> None:
    result = invoke(sweep_db, "report", "demo", "--format", "md", "--top", "3")
    assert result.exit_code == 0, result.output
    md = result.stdout
    with SqlStore(sweep_db) as store:
        board = leaderboard(store, "val_f1", sweep=store.get_sweep("demo").id, top=3)
    assert md.startswith("## Sweep demo")
    assert "### Top 3 of 7" in md
    for rank, row in enumerate(board.rows, start=1):
        assert f"| {rank} | {row.run.trial_number} | {row.run.name} | finished |" in md
    assert XSS not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "| 6 | trial-6 | failed | boom |" in md


def test_md_and_json_go_to_a_file_with_out(sweep_db: str, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    result = invoke(sweep_db, "report", "demo", "--format", "md", "--out", str(out), "--group-seeds")
    assert result.exit_code == 0 and result.stdout.strip() == f"report: {out}"
    assert "### Seed groups" in out.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.md")] == []  # no temp file left


def test_compare_picks_the_runs(sweep_db: str) -> None:
    result = invoke(sweep_db, "report", "demo", "--format", "json", "--compare", "trial-0,trial-6")
    assert json.loads(result.stdout)["comparison"]["names"] == ["trial-0", "trial-6"]


def md_table(md: str, title: str) -> list[list[str]]:
    """The body rows of the Markdown table under ``### title``, as lists of cells."""
    lines = md.split(f"### {title}", 1)[1].split("\n\n", 2)[1].splitlines()
    rows = [line for line in lines[2:] if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in rows]


def test_md_comparison_lists_only_the_rows_that_differ(sweep_db: str) -> None:
    """Two pruned runs: their shared experiment and status are said once, under the table."""
    with SqlStore(sweep_db) as store:
        pruned = [
            T(params={"lr": lr, "model": "sgd", "seed": 1}, status=RunStatus.PRUNED, metrics={"val_f1": [f1]})
            for lr, f1 in ((0.5, 0.1), (0.7, 0.2))
        ]
        _, run_ids = write_sweep(store, pruned, name="stopped")

    result = invoke(sweep_db, "report", "stopped", "--format", "md", "--compare", ",".join(run_ids))

    md = result.stdout
    rows = md_table(md, "Comparison of 2 runs (rows that differ)")
    assert [(row[0], row[1]) for row in rows] == [
        ("params", "lr"),
        ("metrics", "val_f1.last"),
        ("metrics", "val_f1.min"),
        ("metrics", "val_f1.max"),
    ]
    assert all(len(set(row[2:])) == 2 for row in rows)  # every row listed differs
    assert "Same in both runs: experiment exp, status pruned, 5 more identical rows" in md  # model, seed, ...
    comparison = md.split("### Comparison", 1)[1].split("###", 1)[0]
    assert comparison.count("pruned") == 1


def test_experiment_report(sweep_db: str) -> None:
    result = invoke(sweep_db, "report", "--experiment", "exp", "--metric", "val_f1", "--format", "json")
    data = json.loads(result.stdout)
    assert data["source"]["kind"] == "experiment" and data["leaderboard"][0]["name"] == "trial-5"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "nope"], "error: no sweep"),
        (["report", "demo", "--compare", "trial-0,ghost"], "error: "),
        (["report", "--experiment", "exp"], "needs --metric"),
        (["report", "--experiment", "ghost", "--metric", "m"], "no experiment named 'ghost'"),
    ],
)
def test_bad_input_one_line_nonzero_no_file(
    sweep_db: str, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out.html"
    result = CliRunner().invoke(cli, ["--db", sweep_db, *args, "--out", str(out)])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert list(tmp_path.glob("out.html*")) == [] and not list(tmp_path.glob(".out.html*"))


TRAIN = """
import sweeptrack as st

def train(params):
    for epoch in range(3):
        st.log_metrics({"val_f1": params["x"] * (epoch + 1) / 3}, step=epoch)
"""

SPEC = """
name: tiny
method: grid
metric: {name: val_f1, goal: maximize}
entrypoint: tinytrain:train
parameters:
  x: {values: [0.2, 0.5, 0.9]}
"""


def test_sweep_run_prints_the_report_command_that_works(tmp_path: Path) -> None:
    (tmp_path / "tinytrain.py").write_text(TRAIN)
    (tmp_path / "tiny.yaml").write_text(SPEC)
    exe = str(Path(sys.executable).with_name("sweeptrack"))
    env = {k: v for k, v in os.environ.items() if k != "SWEEPTRACK_DB"}
    env["PATH"] = f"{Path(exe).parent}:{env['PATH']}"  # the printed command names `sweeptrack`
    db = f"sqlite:///{tmp_path}/st.db"

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    done = run([exe, "--db", db, "sweep", "run", "tiny.yaml"])
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("report: ")]
    command = shlex.split(line.removeprefix("report: "))
    assert command == ["sweeptrack", "--db", db, "report", "tiny", "--out", "tiny-report.html"]
    md = run([exe, *command[1:-2], "--format", "md"])
    assert md.returncode == 0, md.stderr
    assert "| 1 | 2 | " in md.stdout  # x = 0.9, trial 2, ranks first
    html = run(command)
    assert html.returncode == 0, html.stderr
    page = tmp_path / "tiny-report.html"
    assert html.stdout.strip() == "report: tiny-report.html"
    # Importances computed in the report's worker process, both evaluators.
    json_out = run([exe, *command[1:-2], "--format", "json"])
    importances = json.loads(json_out.stdout)["importances"]
    assert set(importances["fanova"]) == set(importances["ped_anova"]) == {"x"}
    assert '"fANOVA"' in page.read_text(encoding="utf-8")
    mask = os.umask(0)
    os.umask(mask)
    assert page.stat().st_mode & 0o777 == 0o666 & ~mask  # a normal file, not a private temp file
