"""The shim follows W&B's semantics: steps and commit, nested keys, config, summary, define_metric,
rich values, artifacts, finish, and a clear error for what it does not have."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import sweeptrack.compat.wandb as wandb
from sweeptrack.core.errors import InvalidValueError
from sweeptrack.core.model import Run, RunStatus
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.sql.store import SqlStore

from .conftest import history


@pytest.fixture
def db(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{folder}/sweeptrack.db"
    monkeypatch.setenv("SWEEPTRACK_DB", url)
    yield url
    wandb.finish()


def stored(folder: Path) -> Run:
    store = SqlStore(f"sqlite:///{folder}/sweeptrack.db")
    try:
        (run,) = store.search_runs()
        return run
    finally:
        store.close()


def artifacts(folder: Path, run: Run) -> dict[str, bytes]:
    store = SqlStore(f"sqlite:///{folder}/sweeptrack.db")
    try:
        found = store.list_artifacts(run.id)
    finally:
        store.close()
    root = ArtifactRoot(folder / "artifacts")
    return {a.path: root.blob_path(a.sha256).read_bytes() for a in found}


def test_log_follows_wandb_step_and_commit_semantics(folder: Path, db: str) -> None:
    wandb.init(project="steps", settings=wandb.Settings(start_method="thread"), save_code=True)
    wandb.log({"a": 1.0})  # step 0
    wandb.log({"b": 2.0}, commit=False)  # accumulates at step 1
    wandb.log({"c": 3.0})  # commits step 1
    wandb.log({"d": 4.0}, step=5)  # jumps to 5, stays open
    wandb.log({"e": 5.0}, step=5)  # same row
    wandb.log({"f": 6.0}, step=7)  # commits 5, opens 7
    with pytest.warns(wandb.CompatWarning, match="below the current step"):
        wandb.log({"g": 7.0}, step=3)  # W&B drops rows for past steps
    assert wandb.run is not None and wandb.run.step == 7
    wandb.finish()  # commits the open row

    run = stored(folder)
    steps = {key: history(folder, run, key) for key in "abcdef"}
    assert steps == {
        "a": [(0, 1.0)],
        "b": [(1, 2.0)],
        "c": [(1, 3.0)],
        "d": [(5, 4.0)],
        "e": [(5, 5.0)],
        "f": [(7, 6.0)],
    }
    assert "g" not in run.metrics and run.status is RunStatus.FINISHED


def test_nested_values_numpy_and_define_metric_step_axis(folder: Path, db: str) -> None:
    run = wandb.init(project="axes")
    wandb.define_metric("val/*", step_metric="epoch")
    for batch in range(4):
        wandb.log({"train": {"loss": np.float32(1.0 / (batch + 1))}, "ok": True, "flag": np.bool_(False)})
        if batch % 2 == 1:
            wandb.log({"val": {"acc": 0.5 + batch / 10}, "epoch": batch // 2})
    assert run.summary["val/acc"] == pytest.approx(0.8)
    wandb.finish()

    stored_run = stored(folder)
    assert [step for step, _ in history(folder, stored_run, "train/loss")] == [0, 1, 3, 4]
    assert history(folder, stored_run, "val/acc") == [(0, pytest.approx(0.6)), (1, pytest.approx(0.8))]
    assert history(folder, stored_run, "ok")[0] == (0, 1.0) and history(folder, stored_run, "flag")[0] == (
        0,
        0.0,
    )


def test_config_takes_dicts_namespaces_and_refuses_silent_changes(folder: Path, db: str) -> None:
    import argparse

    wandb.init(config=argparse.Namespace(lr=0.1, path=Path("/data")))
    wandb.config.update({"model": {"depth": 3}})
    wandb.config.batch = 32
    wandb.config["lr"] = 0.1  # the same value: fine
    with pytest.raises(InvalidValueError, match="allow_val_change=True"):
        wandb.config.update({"lr": 0.5})
    wandb.config.update({"lr": 0.5}, allow_val_change=True)
    assert wandb.config.lr == 0.5 and wandb.config["model"] == {"depth": 3}
    wandb.finish()

    assert stored(folder).params == {"lr": 0.5, "path": "/data", "model.depth": 3, "batch": 32}


def test_summary_rich_values_and_artifacts_are_stored(folder: Path, db: str) -> None:
    run = wandb.init(project="media")
    table = wandb.Table(columns=["x", "y"], data=[[1, 2]])
    wandb.log({"pred": table, "hist": wandb.Histogram([1, 2, 2, 3], num_bins=3), "loss": 0.5})
    wandb.log({"img": wandb.Image(np.zeros((4, 4, 3), dtype=np.uint8))})
    with pytest.warns(wandb.CompatWarning, match="type str"):
        wandb.log({"note": "text"})
    wandb.log({"note": "again"})  # one warning per kind
    run.summary["best"] = 0.25
    run.summary["verdict"] = "good"
    (Path(run.dir) / "notes.txt").write_text("kept")
    model = Path("model.bin")
    model.write_bytes(b"weights")
    artifact = wandb.Artifact("model", type="model", metadata={"layers": 2})
    artifact.add_file(model)
    run.log_artifact(artifact)
    wandb.save(str(model))
    wandb.finish()

    stored_run = stored(folder)
    files = artifacts(folder, stored_run)
    assert json.loads(files["media/pred/0.table.json"]) == {"columns": ["x", "y"], "data": [[1, 2]]}
    assert json.loads(files["media/hist/0.histogram.json"])["counts"] == [1.0, 2.0, 1.0]
    image = files.get("media/img/1.png") or files["media/img/1.npy"]  # a PNG with Pillow installed
    assert image.startswith((b"\x89PNG", b"\x93NUMPY"))
    assert files["artifacts/model/model.bin"] == b"weights"
    assert json.loads(files["artifacts/model/artifact.json"])["metadata"] == {"layers": 2}
    assert files["model.bin"] == b"weights" and files["files/notes.txt"] == b"kept"
    assert stored_run.metrics["best"].last == 0.25 and stored_run.tags["summary.verdict"] == "good"


def test_finish_with_an_exit_code_fails_the_run_and_disabled_mode_records_nothing(
    folder: Path, db: str
) -> None:
    wandb.init(mode="disabled")
    wandb.log({"loss": 1.0})
    wandb.finish()
    assert not (folder / "sweeptrack.db").exists()

    with wandb.init(project="crash") as run:
        run.log({"loss": 1.0})
        assert wandb.init() is run  # no reinit: the current run
    wandb.init(project="crash", reinit=True)
    wandb.finish(exit_code=3)
    store = SqlStore(db)
    statuses = sorted((r.status.value, r.error or "") for r in store.search_runs())
    store.close()
    assert statuses == [("failed", "exit code 3"), ("finished", "")]


def test_unknown_calls_name_what_to_use_instead(db: str) -> None:
    with pytest.raises(AttributeError, match=r"wandb\.Api .*sweeptrack\.Client"):
        _ = wandb.Api
    with pytest.raises(AttributeError, match=r"wandb\.config: call wandb\.init"):
        _ = wandb.config
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        wandb.init(colour="red")
    run = wandb.init()
    with pytest.raises(AttributeError, match=r"wandb\.Run\.use_artifact"):
        run.use_artifact("x")
    with pytest.raises(ValueError, match="neither a sweep file"):
        wandb.agent("entity/project/abc123", function=lambda: None)


def test_watch_leaves_one_note(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    wandb.init()
    wandb.watch(object(), log="all")
    wandb.watch(object())
    assert capsys.readouterr().err.count("wandb.watch() records nothing") == 1


def train() -> None:
    """A W&B sweep function: no arguments, the config from wandb.config."""
    with wandb.init() as run:
        for step in range(3):
            wandb.log({"loss": (run.config.x - 2) ** 2 + step})


def test_agent_runs_a_sweep_with_the_training_function(folder: Path, db: str) -> None:
    sweep_id = wandb.sweep(
        {"method": "grid", "metric": {"name": "loss"}, "parameters": {"x": {"values": [1, 2, 3]}}},
        project="agent",
    )

    result = wandb.agent(sweep_id, function=train, count=2)

    store = SqlStore(db)
    runs = sorted(store.search_runs(), key=lambda r: r.trial_number or 0)
    store.close()
    assert [r.status for r in runs] == [RunStatus.FINISHED, RunStatus.FINISHED]
    assert all(r.experiment == "agent" for r in runs)
    assert [r.metrics["loss"].last for r in runs] == [(r.params["x"] - 2) ** 2 + 2 for r in runs]
    assert result.best_value == min(r.metrics["loss"].last for r in runs)
