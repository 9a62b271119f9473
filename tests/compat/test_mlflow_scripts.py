"""MLflow scripts run unchanged after the import line: the five-step workflow as a plain script and
as a sweep's program; nested runs, datasets, dicts and texts, and the settings MLflow users call."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import sweeptrack.compat.mlflow as mlflow
from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.sql.store import SqlStore

from .conftest import all_runs, child_env, history, run_script, run_sweep_cli, write

FIVE_STEPS = """
import argparse
from pathlib import Path

import sweeptrack.compat.mlflow as mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()

mlflow.start_run()
mlflow.log_param("lr", args.lr)
for epoch in range(3):
    mlflow.log_metric("loss", args.lr / (epoch + 1), step=epoch)
Path("model.txt").write_text(f"lr={args.lr}")
mlflow.log_artifact("model.txt")
mlflow.end_run()
"""


def test_five_step_workflow_runs_as_a_plain_script(folder: Path) -> None:
    write(folder, "train.py", FIVE_STEPS)

    run_script(folder, "train.py", "--lr", "0.3")

    (run,) = all_runs(folder)
    assert run.status is RunStatus.FINISHED and run.params == {"lr": 0.3}
    assert history(folder, run, "loss") == [(0, 0.3), (1, 0.15), (2, pytest.approx(0.1))]
    store = SqlStore(f"sqlite:///{folder}/sweeptrack.db")
    (artifact,) = [a for a in store.list_artifacts(run.id) if a.path == "model.txt"]
    store.close()
    assert ArtifactRoot(folder / "artifacts").blob_path(artifact.sha256).read_text() == "lr=0.3"


def test_five_step_workflow_runs_as_a_sweep_program(folder: Path) -> None:
    write(folder, "train.py", FIVE_STEPS)
    write(
        folder,
        "sweep.yaml",
        "program: train.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n  lr: {values: [0.2, 0.4]}\n",
    )

    done = run_sweep_cli(folder, "sweep.yaml")

    assert done.returncode == 0, done.stderr
    runs = all_runs(folder)
    assert [run.status for run in runs] == [RunStatus.FINISHED] * 2  # ending a trial's run only flushes
    for run in runs:
        assert history(folder, run, "loss")[-1] == (2, pytest.approx(run.params["lr"] / 3))


@pytest.fixture
def db(folder: Path) -> Iterator[str]:
    url = f"sqlite:///{folder}/ml.db"
    mlflow.set_tracking_uri(url)
    yield url
    while mlflow.active_run() is not None:
        mlflow.end_run()


def test_nested_runs_datasets_and_files(folder: Path, db: str) -> None:
    (folder / "train.csv").write_text("x,y\n1,2\n")
    mlflow.set_experiment("cv")
    with mlflow.start_run(run_name="search", tags={"team": "ml"}) as parent:
        mlflow.log_params({"model": "ridge", "folds": 2})
        mlflow.log_input("train.csv", context="training")
        mlflow.log_input(mlflow.data.from_numpy(np.arange(6).reshape(3, 2), name="holdout"), context="eval")
        for fold in range(2):
            with mlflow.start_run(run_name=f"fold-{fold}", nested=True):
                mlflow.log_metrics({"score": 0.5 + fold / 10}, synchronous=True)
                assert mlflow.active_run().info.run_name == f"fold-{fold}"
        mlflow.log_dict({"alpha": [1, 2]}, "config/params.yaml")
        mlflow.log_text("done", "notes.txt")
        mlflow.set_tags({"stage": "cv"})
    assert mlflow.active_run() is None and mlflow.last_active_run() is parent

    store = SqlStore(db)
    runs = {run.name: run for run in store.search_runs()}
    sets = {name: store.list_datasets(run.id) for name, run in runs.items()}
    files = sorted(a.path for a in store.list_artifacts(parent.info.run_id))
    store.close()
    assert set(runs) == {"search", "fold-0", "fold-1"} and {r.experiment for r in runs.values()} == {"cv"}
    assert runs["fold-1"].tags["mlflow.parentRunId"] == parent.info.run_id
    assert runs["fold-1"].metrics["score"].last == pytest.approx(0.6)
    assert runs["search"].tags == {"team": "ml", "stage": "cv"}
    assert runs["search"].params == {"model": "ridge", "folds": 2}
    by_name = {d.name: d for d in sets["search"]}
    assert by_name["train"].context == "training" and by_name["train"].size == 8
    assert by_name["holdout"].context == "eval" and len(by_name["holdout"].digest) == 64
    assert files == ["config/params.yaml", "notes.txt"]


def test_a_second_top_level_run_and_foreign_tracking_uris_are_refused(db: str) -> None:
    mlflow.start_run()
    with pytest.raises(RuntimeError, match="nested=True"):
        mlflow.start_run()
    mlflow.end_run("FAILED")
    with pytest.raises(ValueError, match=r"sqlite:///mlflow\.db"):
        mlflow.set_tracking_uri("http://127.0.0.1:5000")
    with pytest.raises(AttributeError, match=r"mlflow\.register_model .*sweeptrack"):
        _ = mlflow.register_model
    store = SqlStore(db)
    (run,) = store.search_runs()
    store.close()
    assert run.status is RunStatus.FAILED


def test_autolog_leaves_one_note(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    mlflow.autolog()
    mlflow.autolog(log_models=False)
    assert capsys.readouterr().err.count("mlflow.autolog() records nothing") == 1


def test_log_dict_writes_json_by_default(folder: Path, db: str) -> None:
    with mlflow.start_run() as run:
        mlflow.log_dict({"a": 1}, "d.json")
    store = SqlStore(db)
    (artifact,) = store.list_artifacts(run.info.run_id)
    store.close()
    assert json.loads(ArtifactRoot(folder / "artifacts").blob_path(artifact.sha256).read_text()) == {"a": 1}


# Runs real.py under mlflow, then reads back what mlflow recorded (one interpreter: mlflow loads once).
RUN_AND_READ_MLFLOW = """
import json, runpy, sys
from mlflow.tracking import MlflowClient

sys.argv = ["real.py", "--lr", "0.3"]
runpy.run_path("real.py", run_name="__main__")
client = MlflowClient()
(run,) = client.search_runs(["0"])
points = {k: client.get_metric_history(run.info.run_id, k) for k in run.data.metrics}
history = {k: [[m.step, m.value] for m in found] for k, found in points.items()}
files = [f.path for f in client.list_artifacts(run.info.run_id)]
print(json.dumps({"params": run.data.params, "metrics": history, "files": files, "status": run.info.status}))
"""


def test_the_same_script_records_what_mlflow_itself_records(folder: Path) -> None:
    """The five steps under the real mlflow (a test-only dependency) and under the shim agree."""
    write(folder, "real.py", FIVE_STEPS.replace("import sweeptrack.compat.mlflow as mlflow", "import mlflow"))
    write(folder, "shim.py", FIVE_STEPS)
    env = child_env(MLFLOW_TRACKING_URI=f"sqlite:///{folder}/mlflow.db")
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_READ_MLFLOW],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    real = json.loads(done.stdout.splitlines()[-1])
    run_script(folder, "shim.py", "--lr", "0.3")

    (ours,) = all_runs(folder)
    assert real["status"] == "FINISHED" and ours.status is RunStatus.FINISHED
    assert real["params"] == {key: str(value) for key, value in ours.params.items()}
    assert real["metrics"] == {key: [list(p) for p in history(folder, ours, key)] for key in ours.metrics}
    store = SqlStore(f"sqlite:///{folder}/sweeptrack.db")
    assert real["files"] == [a.path for a in store.list_artifacts(ours.id)]
    store.close()
