"""run_details() and the environment summary of `runs show`; the `runs list` table."""

from __future__ import annotations

import json
from collections.abc import Callable

from sweeptrack.reports.formats import Format, render
from sweeptrack.reports.runs import NO_GPU, environment_summary, run_details, runs_report
from sweeptrack.tracking.sql.store import SqlStore

MakeRun = Callable[..., str]

CAPTURED = {
    "python": {"version": "3.11.9", "implementation": "CPython", "executable": "/usr/bin/python3"},
    "platform": {"platform": "Linux-6.1-x86_64", "system": "Linux"},
    "hostname": "node-7",
    "cpu": {"count": 16, "model": "AMD EPYC 9354"},
    "ram_bytes": 64 * 2**30,
    "packages": {"numpy": "2.0", "torch": "2.3"},
    "git": {"commit": "c" * 40, "branch": "main", "dirty": True},
    "command": ["train.py", "--lr", "0.1 0.2"],
    "gpus": [{"index": 0, "name": "NVIDIA H100", "memory_total_bytes": 80 * 2**30, "driver": "550"}],
}


def test_environment_summary_of_a_full_capture() -> None:
    assert environment_summary(CAPTURED) == {
        "python": "3.11.9 (CPython)",
        "platform": "Linux-6.1-x86_64",
        "host": "node-7",
        "cpu": "AMD EPYC 9354 (16 cores)",
        "ram": "64.0 GiB",
        "git_commit": "c" * 40,
        "git_branch": "main",
        "git_dirty": True,
        "gpus": ["NVIDIA H100 (80.0 GiB)"],
        "command": "train.py --lr '0.1 0.2'",
        "packages": 2,
    }


def test_environment_summary_without_gpus_git_and_with_failed_parts() -> None:
    summary = environment_summary(
        {
            "python": {"error": "OSError: boom"},
            "gpus": [],
            "gpu_status": NO_GPU,
            "packages": {"error": "RuntimeError: no metadata"},
        }
    )
    assert summary["python"] == "error: OSError: boom"
    assert summary["gpus"] == "no NVIDIA GPU"
    assert summary["packages"] == "error: RuntimeError: no metadata"
    assert summary["git_commit"] is None
    assert environment_summary(None) == {}


def test_run_details_json_and_table(store: SqlStore, make_run: MakeRun) -> None:
    run_id = make_run(
        "r",
        params={"lr": 0.1},
        metrics={"loss": [2.0, 1.0, float("inf")]},
        environment=CAPTURED,
    )

    details = run_details(store, "r")
    data = json.loads(render(details.report(), Format.JSON))
    table = render(details.report(), Format.TABLE)

    assert data["id"] == run_id and data["params"] == {"lr": 0.1}
    assert data["metrics"]["loss"] == {"last": "inf", "min": 1.0, "max": "inf", "count": 3, "last_step": 2}
    assert data["environment"]["gpus"] == ["NVIDIA H100 (80.0 GiB)"]
    assert "NVIDIA H100 (80.0 GiB)" in table and "AMD EPYC 9354 (16 cores)" in table
    assert "inf" in next(line for line in table.splitlines() if "loss" in line)


def test_runs_report_columns(store: SqlStore, make_run: MakeRun) -> None:
    make_run("r1")
    table = runs_report(store.search_runs()).tables[0]
    assert table.columns == ("id", "name", "experiment", "status", "started", "duration_s")
    assert table.rows[0][:4][1:] == ("r1", "exp", "finished")
