"""The store contract as tests: subclass :class:`StoreConformance` and provide a ``store`` fixture.

Example:
    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            yield MyStore(tmp_path)
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from sweeptrack.core.errors import (
    InvalidValueError,
    QueryError,
    RunNotFoundError,
    RunStateError,
    SweepNotFoundError,
    TagNotFoundError,
)
from sweeptrack.core.model import Artifact, Dataset, RunStatus, SweepState
from sweeptrack.tracking.store import Store

__all__ = ["StoreConformance"]


def new_run(store: Store, name: str, experiment: str = "exp", start: int = 1_000, **tags: str) -> str:
    run_id = uuid.uuid4().hex
    store.create_run(run_id=run_id, experiment=experiment, name=name, start_time=start, tags=tags)
    return run_id


class StoreConformance:
    """Every test takes the ``store`` fixture: an empty store at the current schema."""

    def test_run_round_trip(self, store: Store) -> None:
        run_id = new_run(store, "baseline", team="vision")
        run = store.get_run(run_id)
        assert (run.name, run.experiment, run.status, run.tags) == (
            "baseline",
            "exp",
            RunStatus.RUNNING,
            {"team": "vision"},
        )
        store.end_run(run_id, RunStatus.FAILED, 2_000, "ValueError: boom")
        ended = store.get_run(run_id)
        assert (ended.status, ended.end_time, ended.error) == (RunStatus.FAILED, 2_000, "ValueError: boom")
        assert [e.name for e in store.list_experiments()] == ["exp"]

    def test_params_keep_their_types(self, store: Store) -> None:
        run_id = new_run(store, "p")
        values: dict[str, Any] = {"lr": 1e-3, "bs": 32, "opt": "adam", "aug": False, "layers": [64, 32]}
        store.log_params(run_id, values)
        store.log_params(run_id, {"bs": 64})
        assert dict(store.get_run(run_id).params) == {**values, "bs": 64}

    def test_tags_replace(self, store: Store) -> None:
        run_id = new_run(store, "t", keep="no")
        store.set_tags(run_id, {"keep": "yes", "team": "nlp"})
        assert dict(store.get_run(run_id).tags) == {"keep": "yes", "team": "nlp"}

    def test_metric_summaries_and_history(self, store: Store) -> None:
        run_id = new_run(store, "m")
        nan, inf = math.nan, math.inf
        store.log_metrics(run_id, [("loss", 0.9, 0, 10), ("loss", nan, 1, 11), ("loss", 0.5, 2, 12)])
        store.log_metrics(run_id, [("loss", 0.1, 1, 13), ("loss", inf, 3, 14), ("acc", nan, 0, 15)])
        loss = store.get_run(run_id).metrics["loss"]
        assert (loss.last, loss.min, loss.max, loss.count, loss.last_step) == (inf, 0.1, inf, 5, 3)
        acc = store.get_run(run_id).metrics["acc"]
        assert math.isnan(acc.last) and math.isnan(acc.min) and acc.count == 1
        history = store.get_metric_history(run_id, "loss")
        assert [(p.step, p.timestamp) for p in history] == [(0, 10), (1, 11), (1, 13), (2, 12), (3, 14)]
        assert math.isnan(history[1].value) and history[4].value == inf

    def test_last_is_the_highest_step_not_the_latest_batch(self, store: Store) -> None:
        run_id = new_run(store, "late")
        store.log_metrics(run_id, [("loss", 0.2, 5, 10)])
        store.log_metrics(run_id, [("loss", 0.7, 2, 20)])
        summary = store.get_run(run_id).metrics["loss"]
        assert (summary.last, summary.last_step, summary.count) == (0.2, 5, 2)

    def test_bad_metric_value_writes_nothing(self, store: Store) -> None:
        run_id = new_run(store, "bad")
        with pytest.raises(InvalidValueError, match="not a number"):
            store.log_metrics(run_id, [("loss", 0.5, 0, 1), ("loss", "abc", 1, 2)])  # type: ignore[list-item]
        assert store.get_run(run_id).metrics == {}
        assert store.get_metric_history(run_id, "loss") == []

    def test_unknown_run_is_refused(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError, match="no run"):
            store.log_metrics("f" * 32, [("loss", 0.5, 0, 1)])
        with pytest.raises(RunNotFoundError):
            store.get_run("f" * 32)

    def test_resolve_by_id_prefix_and_name(self, store: Store) -> None:
        first = new_run(store, "alpha")
        second = new_run(store, "beta")
        assert store.resolve_run(first) == first
        assert store.resolve_run(second[:10]) == second
        assert store.resolve_run("alpha") == first
        with pytest.raises(RunNotFoundError, match="no run with id, id prefix or name 'gamma'"):
            store.resolve_run("gamma")
        twin = new_run(store, "alpha")
        with pytest.raises(RunNotFoundError, match="ambiguous"):
            store.resolve_run("alpha")
        assert store.resolve_run(twin) == twin
        hexlike = new_run(store, second[:4])
        with pytest.raises(RunNotFoundError, match="ambiguous"):
            store.resolve_run(second[:4])
        assert store.resolve_run(hexlike) == hexlike

    def test_search_filters_and_orders(self, store: Store) -> None:
        runs = {}
        for i, (lr, opt, f1) in enumerate([(1e-4, "adam", 0.91), (1e-2, "sgd", 0.95), (5e-4, "sgd", 0.7)]):
            run_id = new_run(store, f"r{i}", start=1_000 + i)
            store.log_params(run_id, {"lr": lr, "opt": opt})
            store.log_metrics(run_id, [("val_f1", f1 - 0.2, 0, 1), ("val_f1", f1, 1, 2)])
            runs[f"r{i}"] = run_id
        store.end_run(runs["r1"], RunStatus.FINISHED, 5_000, None)

        def names(**kwargs: Any) -> list[str]:
            return [r.name for r in store.search_runs(**kwargs)]

        assert names() == ["r2", "r1", "r0"]
        assert names(filter="params.lr < 1e-3", order_by="params.lr") == ["r0", "r2"]
        assert names(filter="params.opt = 'sgd' and metrics.val_f1 > 0.9") == ["r1"]
        assert names(
            filter="(params.opt = 'adam' or status = 'FINISHED')", order_by="metrics.val_f1 desc"
        ) == [
            "r1",
            "r0",
        ]
        assert names(filter="metrics.val_f1.min < 0.6") == ["r2"]
        assert names(order_by=["metrics.val_f1 DESC"], limit=2) == ["r1", "r0"]
        assert names(experiment="other") == []
        bare = new_run(store, "bare", start=2_000)
        store.log_params(bare, {"lr": 1e-5})
        assert names(order_by="metrics.val_f1 ASC", limit=10) == ["r2", "r0", "r1", "bare"]
        assert names(order_by="metrics.val_f1.min DESC, params.lr", limit=2) == ["r1", "r0"]
        assert names(filter="params.lr < 1e-3", order_by="metrics.val_f1 DESC", limit=5) == [
            "r0",
            "r2",
            "bare",
        ]
        with pytest.raises(QueryError, match="column"):
            store.search_runs(filter="params.lr <")

    def test_artifacts_datasets_environment(self, store: Store) -> None:
        run_id = new_run(store, "files")
        artifact = Artifact(path="model/model.pkl", size=12, sha256="a" * 64, created_at=5)
        store.log_artifact(run_id, artifact)
        assert store.list_artifacts(run_id) == [artifact]
        train = Dataset(name="digits", source="data/d.csv", digest="b" * 64, size=10, context="train")
        store.log_dataset(run_id, train)
        store.log_dataset(run_id, Dataset(name="digits", source="x", digest="c" * 64, context="train"))
        datasets = store.list_datasets(run_id)
        assert [(d.name, d.digest) for d in datasets] == [("digits", "c" * 64)]
        assert store.get_environment(run_id) is None
        store.log_environment(run_id, {"python": {"version": "3.11"}, "gpus": []})
        assert store.get_environment(run_id) == {"python": {"version": "3.11"}, "gpus": []}

    def test_sweeps_and_their_trials(self, store: Store) -> None:
        sweep_id = uuid.uuid4().hex
        sweep = store.create_sweep(
            sweep_id=sweep_id,
            experiment="exp",
            name="lr-search",
            spec="method: random\n",
            environment={"a": 1},
        )
        assert (sweep.name, sweep.state, sweep.spec) == ("lr-search", SweepState.RUNNING, "method: random\n")
        trial = uuid.uuid4().hex
        store.create_run(
            run_id=trial, experiment="exp", name="t0", start_time=1, sweep_id=sweep_id, trial_number=0
        )
        new_run(store, "outside")
        (found,) = store.search_runs(sweep=sweep_id)
        assert (found.id, found.sweep_id, found.trial_number) == (trial, sweep_id, 0)
        assert store.get_environment(trial) == {"a": 1}
        store.set_sweep_state(sweep_id, SweepState.STOPPING)
        assert store.get_sweep("lr-search").state is SweepState.STOPPING
        assert store.get_sweep(sweep_id[:8]).id == sweep_id
        assert [s.id for s in store.list_sweeps()] == [sweep_id]
        with pytest.raises(SweepNotFoundError, match="no sweep"):
            store.get_sweep("nothing")

    def test_keys_in_scope(self, store: Store) -> None:
        sweep_id = uuid.uuid4().hex
        store.create_sweep(sweep_id=sweep_id, experiment="exp", name="s", spec="method: random\n")
        trial = uuid.uuid4().hex
        store.create_run(
            run_id=trial, experiment="exp", name="t0", start_time=1, sweep_id=sweep_id, trial_number=0
        )
        store.log_params(trial, {"lr": 0.1, "model.depth": 3})
        store.log_metrics(trial, [("val_f1", 0.5, 0, 1)])
        other = new_run(store, "other", experiment="other", keep="yes")
        store.log_params(other, {"alpha": 1})
        store.log_metrics(other, [("loss", float("nan"), 0, 1), ("val_f1", 0.9, 0, 1)])

        everything = store.keys_in_scope()
        assert (everything.metrics, everything.params, everything.tags) == (
            ("loss", "val_f1"),
            ("alpha", "lr", "model.depth"),
            ("keep",),
        )
        in_exp = store.keys_in_scope(experiment="exp")
        assert (in_exp.metrics, in_exp.params, in_exp.tags) == (("val_f1",), ("lr", "model.depth"), ())
        in_sweep = store.keys_in_scope(experiment="other", sweep=sweep_id)
        assert (in_sweep.metrics, in_sweep.params) == ((), ())
        assert store.keys_in_scope(sweep=sweep_id).params == ("lr", "model.depth")
        assert store.keys_in_scope(experiment="nothing").metrics == ()

    def test_edit_tags_note_and_name(self, store: Store) -> None:
        run_id = new_run(store, "before", keep="yes", team="nlp")
        store.delete_tag(run_id, "keep")
        with pytest.raises(TagNotFoundError, match=r"run before \([0-9a-f]{8}\) has no tag 'keep'"):
            store.delete_tag(run_id, "keep")
        store.set_run_note(run_id, "lr too high; see\nthe loss spike at epoch 3")
        store.rename_run(run_id, "after")
        run = store.get_run(run_id)
        assert (run.name, dict(run.tags), run.note) == (
            "after",
            {"team": "nlp"},
            "lr too high; see\nthe loss spike at epoch 3",
        )
        assert store.resolve_run("after") == run_id
        store.set_run_note(run_id, "  ")
        assert store.get_run(run_id).note is None
        store.set_run_note(run_id, "again")
        store.set_run_note(run_id, None)
        assert store.get_run(run_id).note is None

    def test_bad_edits_are_refused_and_write_nothing(self, store: Store) -> None:
        run_id = new_run(store, "kept")
        for name, message in (("", "has 0 characters"), ("x" * 256, "has 256 characters"), (" ", "blank")):
            with pytest.raises(InvalidValueError, match=message):
                store.rename_run(run_id, name)
        with pytest.raises(InvalidValueError, match="limit is 100,000"):
            store.set_run_note(run_id, "n" * 100_001)
        with pytest.raises(InvalidValueError, match="NUL"):
            store.set_run_note(run_id, "a\x00b")
        assert (store.get_run(run_id).name, store.get_run(run_id).note) == ("kept", None)
        unknown = "f" * 32
        edits = (
            lambda: store.delete_tag(unknown, "k"),
            lambda: store.set_run_note(unknown, "n"),
            lambda: store.rename_run(unknown, "n"),
            lambda: store.delete_run(unknown, 1),
            lambda: store.restore_run(unknown),
        )
        for edit in edits:
            with pytest.raises(RunNotFoundError, match="no run with id 'fff"):
                edit()

    def test_soft_delete_hides_a_run_until_restored(self, store: Store) -> None:
        sweep_id = uuid.uuid4().hex
        store.create_sweep(sweep_id=sweep_id, experiment="exp", name="s", spec="method: random\n")
        ids = {}
        for number, f1 in enumerate([0.9, 0.8, 0.7]):
            ids[number] = uuid.uuid4().hex
            store.create_run(
                run_id=ids[number],
                experiment="exp",
                name=f"t{number}",
                start_time=10 + number,
                sweep_id=sweep_id,
                trial_number=number,
            )
            store.log_metrics(ids[number], [("val_f1", f1, 0, 1)])
        store.delete_run(ids[0], 5_000)

        def names(**kwargs: Any) -> list[str]:
            return [r.name for r in store.search_runs(**kwargs)]

        assert names() == ["t2", "t1"]
        assert names(sweep=sweep_id, order_by="metrics.val_f1 DESC", limit=2) == ["t1", "t2"]
        assert names(filter="metrics.val_f1 > 0.85") == []
        assert names(deleted=True) == ["t0"]
        assert names(deleted=None, order_by="metrics.val_f1 DESC", limit=5) == ["t0", "t1", "t2"]
        gone = store.get_run(ids[0])
        assert (gone.deleted_at, gone.deleted, gone.metrics["val_f1"].last) == (5_000, True, 0.9)
        assert store.resolve_run("t0") == ids[0]
        with pytest.raises(RunStateError, match=r"run t0 \([0-9a-f]{8}\) is already deleted"):
            store.delete_run(ids[0], 6_000)
        assert store.get_run(ids[0]).deleted_at == 5_000
        store.restore_run(ids[0])
        assert store.get_run(ids[0]).deleted_at is None
        assert names(sweep=sweep_id) == ["t2", "t1", "t0"]
        with pytest.raises(RunStateError, match=r"run t0 \([0-9a-f]{8}\) is not deleted; nothing to restore"):
            store.restore_run(ids[0])
