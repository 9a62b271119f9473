"""`sweeptrack sweep validate|run|list|show` through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import SpecWriter, sweeptrack_cli

PRUNED = """
name: cli-sweep
method: grid
metric: {name: loss, goal: minimize}
entrypoint: trialfns:slow
early_terminate: {type: median, n_startup_trials: 2, n_warmup_steps: 1}
parameters:
  x: {values: [3, 3.2, 60, 70]}
  epochs: {value: 8}
  delay: {value: 0.1}
"""


def cli(workdir: Path, *args: str) -> tuple[int, str, str]:
    proc = sweeptrack_cli(*args, cwd=workdir)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_validate_says_what_the_sweep_will_do(write_spec: SpecWriter, workdir: Path) -> None:
    code, out, err = cli(workdir, "sweep", "validate", str(write_spec("s.yaml", PRUNED)))
    assert code == 0, err
    assert "ok: method grid, 3 parameters, metric loss (minimize), pruner median, budget 4 trials" in out
    assert not (workdir / "sweeptrack.db").exists()


def test_validate_rejects_with_file_line_and_key(write_spec: SpecWriter, workdir: Path) -> None:
    path = write_spec("bad.yaml", PRUNED.replace("goal: minimize", "goal: minimise"))
    code, _, err = cli(workdir, "sweep", "validate", str(path))
    assert code == 2 and err.startswith("error: ") and "bad.yaml:4 metric.goal" in err


def test_run_prints_progress_lines_then_the_leaderboard(write_spec: SpecWriter, workdir: Path) -> None:
    code, out, err = cli(workdir, "sweep", "run", str(write_spec("s.yaml", PRUNED)))
    assert code == 0, err
    lines = out.splitlines()
    assert any(line.startswith("cli-sweep: 4/4 done") for line in lines)
    assert "finished" in out and "Leaderboard: loss (minimize)" in out
    assert any("cli-sweep-0" in line for line in lines)  # the best trial is listed

    code, out, _ = cli(workdir, "sweep", "list", "--format", "json")
    (row,) = json.loads(out)
    assert (row["name"], row["state"], row["trials"], row["pruned"]) == ("cli-sweep", "finished", 4, 2)

    code, out, _ = cli(workdir, "sweep", "show", "cli-sweep", "--format", "json")
    shown = json.loads(out)
    assert shown["trials pruned"] == 2 and shown["best value"] == 0.0
    assert shown["steps saved by pruning"].endswith("%)") and not shown["steps saved by pruning"].startswith(
        "0 "
    )
    assert "early_terminate" in shown["spec"]

    code, out, _ = cli(workdir, "leaderboard", "--sweep", "cli-sweep", "--metric", "loss", "--format", "json")
    board = json.loads(out)
    assert code == 0 and [row["status"] for row in board] == ["finished", "finished", "pruned", "pruned"]
