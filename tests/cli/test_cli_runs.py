"""`sweeptrack runs list|show|compare` in every output format, against a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import platform
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import sweeptrack as st

Invoke = Callable[..., Result]


def records(text: str) -> Any:
    return json.loads(text)


# -- runs list -------------------------------------------------------------------------------------


def test_list_json_is_newest_first_with_short_ids_and_local_iso_times(invoke: Invoke) -> None:
    rows = records(invoke("runs", "list", "--format", "json").stdout)

    assert [row["name"] for row in rows] == ["solo", "lr-0.001", "lr-0.01", "lr-0.1"]
    assert all(len(row["id"]) == 8 and row["status"] == "finished" for row in rows)
    started = datetime.fromisoformat(rows[0]["started"])
    assert started.utcoffset() is not None and started.tzinfo is not None


def test_list_shows_params_that_differ_and_last_metric_values(invoke: Invoke) -> None:
    rows = records(invoke("runs", "list", "-e", "digits", "--format", "json").stdout)
    by_name = {row["name"]: row for row in rows}
    assert by_name["lr-0.01"]["params.lr"] == 0.01
    assert all("metrics.val_f1" in row for row in rows)


def test_list_filters_by_experiment_filter_and_limit(invoke: Invoke) -> None:
    only_digits = records(invoke("runs", "list", "-e", "digits", "--format", "json").stdout)
    assert {row["experiment"] for row in only_digits} == {"digits"} and len(only_digits) == 3

    small_lr = invoke(
        "runs", "list", "--filter", "params.lr < 0.05 and metrics.val_f1 > 0.8", "--format", "json"
    )
    assert [row["name"] for row in records(small_lr.stdout)] == ["lr-0.01"]

    assert len(records(invoke("runs", "list", "--limit", "2", "--format", "json").stdout)) == 2


def test_list_order_by_takes_repeats_and_comma_lists(invoke: Invoke) -> None:
    repeated = invoke(
        "runs", "list", "-e", "digits", "-o", "params.batch_size DESC", "-o", "params.lr", "--format", "json"
    )
    comma = invoke(
        "runs", "list", "-e", "digits", "--order-by", "params.batch_size DESC, params.lr", "--format", "json"
    )

    expected = ["lr-0.001", "lr-0.01", "lr-0.1"]
    assert [row["name"] for row in records(repeated.stdout)] == expected
    assert [row["name"] for row in records(comma.stdout)] == expected


def test_list_csv_md_and_table(invoke: Invoke) -> None:
    rows = list(csv.DictReader(io.StringIO(invoke("runs", "list", "--format", "csv").stdout)))
    assert [row["name"] for row in rows][-1] == "lr-0.1" and set(rows[0]) >= {"id", "status", "started"}

    md = invoke("runs", "list", "--format", "md").stdout.splitlines()
    assert md[0].startswith("| id | name | experiment | status |") and md[1].startswith("| --- |")
    assert len(md) == 2 + 4

    table = invoke("runs", "list").stdout
    assert "lr-0.001" in table and "experiment" in table
    # A time is never folded onto two lines; a table shows it as local time to the second.
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d │", table)) == 4


# -- runs show -------------------------------------------------------------------------------------


def test_show_json_has_every_section(invoke: Invoke, db_url: str) -> None:
    shown = records(invoke("runs", "show", "lr-0.001", "--format", "json").stdout)

    assert shown["name"] == "lr-0.001" and len(shown["id"]) == 32
    assert shown["params"] == {"batch_size": 64, "lr": 0.001, "optimizer": "adam"}
    assert shown["metrics"]["loss"] == {"last": 0.3, "min": 0.3, "max": 1.0, "count": 3, "last_step": 2}
    assert shown["metrics"]["grad_norm"]["last"] == "nan"  # valid JSON: NaN as a string
    assert shown["tags"] == {"team": "vision"}
    [dataset] = shown["datasets"]
    assert dataset["name"] == "train" and len(dataset["digest"]) == 64
    [artifact] = [a for a in shown["artifacts"] if a["path"] == "model.bin"]  # beside a git diff, maybe
    assert (artifact["path"], artifact["size"], len(artifact["sha256"])) == ("model.bin", 70, 64)
    env = shown["environment"]
    assert env["python"].startswith(platform.python_version())
    assert env["packages"] > 5 and env["host"] and env["cpu"] and env["ram"].endswith("GiB")
    assert env["gpus"] == "no NVIDIA GPU" or isinstance(env["gpus"], list)
    assert env["git_commit"] is None or len(env["git_commit"]) == 40
    assert datetime.fromisoformat(shown["started"]).tzinfo is not None


def test_show_accepts_an_id_prefix_and_prints_nan_in_table(invoke: Invoke) -> None:
    run_id = records(invoke("runs", "show", "lr-0.001", "--format", "json").stdout)["id"]

    table = invoke("runs", "show", run_id[:10]).stdout

    assert run_id in table
    for section in ("Params", "Metrics", "Tags", "Datasets", "Environment", "Artifacts"):
        assert section in table
    grad_norm = next(line for line in table.splitlines() if "grad_norm" in line)
    assert "nan" in grad_norm


def test_show_csv_and_md_have_a_block_per_section(invoke: Invoke) -> None:
    text = invoke("runs", "show", "lr-0.01", "--format", "csv").stdout
    assert "# Params\nparam,value\n" in text and "lr,0.01\n" in text
    md = invoke("runs", "show", "lr-0.01", "--format", "md").stdout
    assert "### Metrics" in md and "| val_f1 | 0.9 | 0.6 | 0.9 | 3 | 2 |" in md


# -- runs compare ----------------------------------------------------------------------------------


def compare_rows(invoke: Invoke, *args: str) -> dict[str, dict[str, Any]]:
    rows = records(invoke("runs", "compare", *args, "--format", "json").stdout)
    return {f"{row['section']}.{row['key']}": row for row in rows}


def test_compare_json_flags_rows_that_differ(invoke: Invoke) -> None:
    rows = compare_rows(invoke, "lr-0.1", "lr-0.01")

    assert rows["params.lr"]["differs"] is True
    assert rows["params.batch_size"]["differs"] is False
    assert rows["params.optimizer"]["differs"] is False
    assert rows["metrics.val_f1.last"]["differs"] is True
    assert rows["metrics.loss.count"]["differs"] is False
    assert rows["datasets.train"]["differs"] is False
    assert rows["git.commit"]["differs"] is False
    run_columns = [key for key in rows["params.lr"] if key not in ("section", "key", "differs")]
    assert len(run_columns) == 2 and all(len(column) == 8 for column in run_columns)
    assert [rows["params.lr"][column] for column in run_columns] == [0.1, 0.01]


def test_compare_hides_identical_packages_unless_all(invoke: Invoke) -> None:
    hidden = compare_rows(invoke, "lr-0.1", "lr-0.01")
    shown = compare_rows(invoke, "lr-0.1", "lr-0.01", "--all")

    assert not any(key.startswith("packages.") for key in hidden)
    assert shown["packages.click"]["differs"] is False


def test_compare_shows_a_package_version_that_differs(invoke: Invoke, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/envs.db"
    for version in ("1.0", "2.0"):
        with st.start_run(experiment="e", name=f"numpy-{version}", db=url, capture_environment=False) as run:
            run.log_environment({"packages": {"numpy": version, "click": "8.1"}, "git": {"commit": "a" * 40}})

    result = invoke("runs", "compare", "numpy-1.0", "numpy-2.0", "--format", "json", db=url)
    rows = {f"{row['section']}.{row['key']}": row for row in records(result.stdout)}

    assert rows["packages.numpy"]["differs"] is True
    assert "packages.click" not in rows
    assert rows["git.commit"]["differs"] is False


def test_compare_csv_md_and_table(invoke: Invoke) -> None:
    rows = list(
        csv.DictReader(io.StringIO(invoke("runs", "compare", "lr-0.1", "lr-0.001", "--format", "csv").stdout))
    )
    lr = next(row for row in rows if row["key"] == "lr")
    assert lr["differs"] == "true"
    nan_row = next(row for row in rows if row["key"] == "grad_norm.last")
    assert list(nan_row.values())[2:4] == ["", "nan"]

    md = invoke("runs", "compare", "lr-0.1", "lr-0.001", "--format", "md").stdout
    assert "| differs |" in md.splitlines()[2] and "| params | lr | 0.1 | 0.001 | true |" in md

    table = invoke("runs", "compare", "lr-0.1", "lr-0.001").stdout
    assert "batch_size" in table and "differs" in table


def test_compare_needs_two_runs(invoke: Invoke) -> None:
    result = invoke("runs", "compare", "lr-0.1", expect=2)
    assert "at least two runs" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "md"])
def test_every_tabular_command_takes_every_format(invoke: Invoke, fmt: str) -> None:
    for args in (
        ("runs", "list"),
        ("runs", "show", "lr-0.01"),
        ("runs", "compare", "lr-0.1", "lr-0.01"),
        ("leaderboard", "--metric", "val_f1"),
    ):
        result = invoke(*args, "--format", fmt)
        assert result.stdout.strip(), args
        assert "Traceback" not in result.output
