"""Function sweeps, as ``wandb.agent(sweep_id, function=train)`` runs them: a spec with neither
program nor entrypoint, and ``st.run_sweep(spec, function=train)`` with ``train`` defined in the
calling script's ``__main__`` (or any closure), on the local executor and on Ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import sweeptrack as st
from sweeptrack.core.errors import SweepError
from sweeptrack.core.model import RunStatus, SweepState
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.sql.store import SqlStore

CLI = str(Path(sys.executable).with_name("sweeptrack"))

SPEC = """
name: fsweep
method: grid
metric: {name: loss, goal: minimize}
parallel: 2
parameters:
  x: {values: [1, 2, 3, 4]}
"""

SCRIPT = """
import os
import sys
import time

import sweeptrack as st

if __name__ == "__main__":
    scale = float(sys.argv[2])  # a local of __main__: the function sees it

    def train(config):
        for epoch in range(3):
            st.log_metrics({"loss": scale * (config["x"] - 3) ** 2 + 1 / (epoch + 1)}, step=epoch)
        st.set_tag("pid", str(os.getpid()))
        time.sleep(0.2)  # long enough for the two workers to both take a trial
        return scale * (config["x"] - 3) ** 2

    result = st.run_sweep("sweep.yaml", db=sys.argv[1], function=train)
    print(f"state={result.state.value} finished={result.finished} best={dict(result.best_params)}")
    print(f"controller={os.getpid()}")
"""


def runs_of(db: str) -> list[Any]:
    store = SqlStore(db)
    try:
        return store.search_runs()
    finally:
        store.close()


def test_a_script_runs_a_function_of_its_main_on_two_forked_workers(tmp_path: Path) -> None:
    (tmp_path / "sweep.yaml").write_text(SPEC)
    (tmp_path / "script.py").write_text(SCRIPT)
    db = f"sqlite:///{tmp_path}/st.db"
    done = subprocess.run(
        [sys.executable, "script.py", db, "2"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "state=finished finished=4 best={'x': 3}" in done.stdout
    controller = done.stdout.split("controller=")[1].strip()
    runs = runs_of(db)
    assert sorted(r.params["x"] for r in runs) == [1, 2, 3, 4]
    assert all(r.status is RunStatus.FINISHED for r in runs)
    assert {r.params["x"]: r.metrics["loss"].count for r in runs} == {1: 3, 2: 3, 3: 3, 4: 3}
    assert {r.params["x"]: r.metrics["loss"].last for r in runs}[1] == pytest.approx(8 + 1 / 3)
    pids = {r.tags["pid"] for r in runs}
    assert len(pids) == 2 and controller not in pids, "two workers, forked from the script"


def test_a_dict_spec_and_a_closure(tmp_path: Path) -> None:
    offset = 10.0

    def train(config: dict[str, Any]) -> float:
        print(f"training x={config['x']}")  # to the trial's log, whatever this process's stdout is
        st.log_metrics({"loss": offset + config["x"]}, step=0)
        return offset + config["x"]

    spec = {
        "name": "dictsweep",
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [3, 1, 2]}},
    }
    db = f"sqlite:///{tmp_path}/st.db"
    result = st.run_sweep(spec, db=db, function=train)
    assert (result.state, result.finished, result.name) == (SweepState.FINISHED, 3, "dictsweep")
    assert dict(result.best_params) == {"x": 1} and result.best_value == 11.0
    runs = runs_of(db)
    assert sorted(r.metrics["loss"].last for r in runs) == [11.0, 12.0, 13.0]
    store = SqlStore(db)
    try:
        for run in runs:
            (log,) = [a for a in store.list_artifacts(run.id) if a.path == "logs/output.log"]
            text = ArtifactRoot(tmp_path / "artifacts").blob_path(log.sha256).read_text()
            assert f"training x={run.params['x']}" in text
    finally:
        store.close()


@pytest.mark.parametrize(
    ("extra", "function", "message"),
    [
        (
            "entrypoint: trials:train\n",
            print,
            "sweep.yaml: give either function= or the spec's program/entrypoint, not both",
        ),
        (
            "program: train.py\n",
            print,
            "sweep.yaml: give either function= or the spec's program/entrypoint, not both",
        ),
        (
            "",
            None,
            "sweep.yaml: nothing to run: give entrypoint: 'module:function' or program:, or pass the "
            "training function: st.run_sweep(spec, function=train)",
        ),
        ("", "train", "function='train': not callable; pass the training function itself"),
    ],
)
def test_bad_function_sweeps_are_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, function: Any, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sweep.yaml").write_text(SPEC + extra)
    db = f"sqlite:///{tmp_path}/st.db"
    with pytest.raises(SweepError) as caught:
        st.run_sweep("sweep.yaml", db=db, function=function)
    assert str(caught.value) == message
    assert not (tmp_path / "st.db").exists()


def test_a_dict_spec_with_a_value_yaml_cannot_hold_is_refused(tmp_path: Path) -> None:
    spec = {"method": "grid", "metric": {"name": "loss"}, "parameters": {"data": {"value": Path("d")}}}
    with pytest.raises(SweepError) as caught:
        st.run_sweep(spec, db=f"sqlite:///{tmp_path}/st.db", function=print)
    assert str(caught.value) == (
        "the spec dict holds a PosixPath (PosixPath('d')), which a sweep spec cannot hold; use numbers, "
        "strings, booleans, lists and dicts"
    )
    assert not (tmp_path / "st.db").exists()


def test_the_cli_says_a_spec_with_nothing_to_run_needs_a_function(tmp_path: Path) -> None:
    (tmp_path / "sweep.yaml").write_text(SPEC)
    done = subprocess.run(
        [CLI, "--db", f"sqlite:///{tmp_path}/st.db", "sweep", "run", "sweep.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: sweep.yaml: this sweep has neither program nor entrypoint; run it from Python with "
        'st.run_sweep("sweep.yaml", function=train)'
    )


@pytest.mark.ray
@pytest.mark.slow
def test_a_function_of_main_runs_on_ray(ray_cluster: Any, tmp_path: Path) -> None:
    spec = SPEC + f'executor: {{type: ray, address: "{ray_cluster.address}"}}\n'
    (tmp_path / "sweep.yaml").write_text(spec)
    (tmp_path / "script.py").write_text(SCRIPT)
    db = f"sqlite:///{tmp_path}/st.db"
    done = subprocess.run(
        [sys.executable, "script.py", db, "2"], cwd=tmp_path, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert "state=finished finished=4 best={'x': 3}" in done.stdout
    runs = runs_of(db)
    assert {r.params["x"]: r.metrics["loss"].count for r in runs} == {1: 3, 2: 3, 3: 3, 4: 3}
