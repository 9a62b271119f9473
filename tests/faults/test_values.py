"""A value no backend stores is refused where it is logged, and a sweep survives a trial that sends one.

Issue 12, point 1: each limit is checked at the call (``InvalidValueError``, also a ``ValueError``),
the same on SQLite and PostgreSQL; a trial that sends such a value anyway (a returned dict, an
unchecked event) fails alone, with the reason, and the sweep goes on to its end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sweeptrack as st
from sweeptrack.core.model import RunStatus, SweepState
from sweeptrack.tracking.sql.store import SqlStore

from ._values_helpers import BACKENDS, backend_url, cli, write


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    return backend_url(request)


def open_run(url: str, tmp_path: Path) -> st.Run:
    return st.start_run(experiment="limits", db=url, artifacts=tmp_path / "art", capture_environment=False)


BAD_CALLS: dict[str, tuple[Callable[[st.Run, Path], Any], str]] = {
    "step above 2**63 - 1": (
        lambda run, _: run.log_metric("loss", 1.0, step=2**63),
        r"metric 'loss': step 9223372036854775808 is out of range; "
        r"steps are integers in \[-2\*\*63, 2\*\*63 - 1\]",
    ),
    "step 2**70": (
        lambda run, _: run.log_metrics({"loss": 1.0}, step=2**70),
        r"step 1180591620717411303424 is out of range",
    ),
    "step below -2**63": (lambda run, _: run.log_metric("loss", 1.0, step=-(2**63) - 1), "out of range"),
    "int metric beyond a float": (
        lambda run, _: run.log_metric("loss", 10**400),
        r"metric 'loss': value 1000.* does not fit a float \(about ±1.8e308\)",
    ),
    "metric key of 256": (
        lambda run, _: run.log_metric("m" * 256, 1.0),
        r"metric key 'mmm.*'\.\.\. has 256 characters; the limit is 1 to 255",
    ),
    "empty metric key": (lambda run, _: run.log_metric("", 1.0), "metric key '' has 0 characters"),
    "NUL in a metric key": (
        lambda run, _: run.log_metric("a\x00b", 1.0),
        r"metric key 'a\\x00b' contains a NUL character",
    ),
    "param key of 256": (lambda run, _: run.log_param("p" * 256, 1), "param key 'ppp.* has 256 characters"),
    "NUL in a param value": (
        lambda run, _: run.log_params({"opt": "ad\x00am"}),
        r"param 'opt': value 'ad\\x00am' contains a NUL character",
    ),
    "int param beyond a float": (
        lambda run, _: run.log_param("seed", -(10**400)),
        r"param 'seed': value has 1329 bits and does not fit a float",
    ),
    "tag key of 256": (lambda run, _: run.set_tag("t" * 256, "v"), "tag key 'ttt.* has 256 characters"),
    "NUL in a tag value": (
        lambda run, _: run.set_tags({"note": "a\x00"}),
        r"tag 'note': value 'a\\x00' contains a NUL character",
    ),
    "artifact path of 1025": (
        lambda run, tmp: run.log_artifact(tmp / "model.bin", name="a" * 1025),
        r"artifact path 'aaa.* has 1025 characters; the limit is 1 to 1024",
    ),
    "NUL in an artifact name": (
        lambda run, _: run.log_artifact_bytes("out\x00.txt", b"x"),
        "artifact path .* contains a NUL character",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_a_bad_value_is_refused_at_the_call_and_the_run_goes_on(url: str, tmp_path: Path, case: str) -> None:
    call, message = BAD_CALLS[case]
    (tmp_path / "model.bin").write_bytes(b"weights")
    with open_run(url, tmp_path) as run:
        st.log_metric("loss", 0.5, step=0)
        with pytest.raises(st.InvalidValueError, match=message) as raised:
            call(run, tmp_path)
        assert isinstance(raised.value, ValueError) and not isinstance(raised.value, OverflowError)
        st.log_metric("loss", 0.25, step=1)
    with SqlStore(url) as store:
        stored = store.get_run(run.id)
        history = [(p.step, p.value) for p in store.get_metric_history(run.id, "loss")]
        artifacts = store.list_artifacts(run.id)
    assert stored.status is RunStatus.FINISHED and history == [(0, 0.5), (1, 0.25)]
    assert list(stored.metrics) == ["loss"] and stored.params == {} and stored.tags == {}
    assert artifacts == []


def test_the_limits_themselves_are_stored_alike_on_every_backend(url: str, tmp_path: Path) -> None:
    key, path = "k" * 255, "d/" + "a" * 1022
    (tmp_path / "model.bin").write_bytes(b"weights")
    with open_run(url, tmp_path) as run:
        run.log_metric(key, 1.0, step=2**63 - 1)
        run.log_metric("low", 2.0, step=-(2**63))
        run.log_metric("huge", 10**300)
        run.log_params({key: 2**64, "text": "é" * 1000})
        run.set_tag(key, "v" * 10_000)
        run.log_artifact(tmp_path / "model.bin", name=path)
    with SqlStore(url) as store:
        stored = store.get_run(run.id)
        artifacts = store.list_artifacts(run.id)
    assert stored.status is RunStatus.FINISHED
    assert (stored.metrics[key].last_step, stored.metrics["low"].last_step) == (2**63 - 1, -(2**63))
    assert stored.metrics["huge"].last == 1e300
    assert stored.params == {key: 2**64, "text": "é" * 1000} and stored.tags == {key: "v" * 10_000}
    assert [a.path for a in artifacts] == [path]


TRIALS = '''
import sweeptrack as st
from sweeptrack.core.events import MetricsLogged, ParamsLogged


def unchecked(params):
    """Trial 1 sends what an unchecked client would: a step beyond 64 bits or a NUL in a param."""
    run = st.active_run()
    st.log_metrics({"loss": float(params["x"])}, step=0)
    if params["x"] == 2:
        bad = (
            MetricsLogged(run_id=run.id, points=[("loss", 1.0, 2**70, 0)])
            if params["how"] == "step"
            else ParamsLogged(run_id=run.id, params={"opt": "ad\\x00am"})
        )
        run.sink.emit(bad)
        st.log_metrics({"loss": 0.5}, step=1)
    return float(params["x"])


def checked(params):
    """Trial 1 logs a step beyond 64 bits through the run API: it fails at the call."""
    st.log_metrics({"loss": float(params["x"])}, step=0)
    if params["x"] == 2:
        st.log_metrics({"loss": 0.5}, step=2**70)
    return float(params["x"])


def returns_long_key(params):
    """Trial 1 returns a dict with a 300-character metric key."""
    if params["x"] == 2:
        return {"loss": 0.0, "k" * 300: 1.0}
    return {"loss": float(params["x"])}
'''

SPEC = """
name: guarded
method: grid
metric: {{name: loss, goal: minimize}}
entrypoint: trialfns:{fn}
parameters:
  x: {{values: [1, 2, 3]}}
  how: {{value: {how}}}
"""


REFUSED = "refused a logged value:"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fn", "how", "reason"),
    [
        ("unchecked", "step", f"{REFUSED} metric 'loss': step 1180591620717411303424 is out of range"),
        ("unchecked", "nul", f"{REFUSED} param 'opt': value 'ad\\x00am' contains a NUL character"),
        ("returns_long_key", "step", f"{REFUSED} metric key 'kkk"),
        ("checked", "step", "InvalidValueError: metric 'loss': step 1180591620717411303424 is out of range"),
    ],
)
def test_a_trial_that_sends_a_bad_value_fails_alone_and_the_sweep_goes_on(
    url: str, tmp_path: Path, fn: str, how: str, reason: str
) -> None:
    write(tmp_path, "trialfns.py", TRIALS)
    spec = write(tmp_path, "s.yaml", SPEC.format(fn=fn, how=how))
    code, out, err = cli("--db", url, "sweep", "run", str(spec), cwd=tmp_path)
    assert code == 0, err
    assert "Traceback" not in err
    with SqlStore(url) as store:
        sweep = store.get_sweep("guarded")
        runs = {r.trial_number: r for r in store.search_runs(sweep=sweep.id)}
        history = store.get_metric_history(runs[1].id, "loss")
    assert sweep.state is SweepState.FINISHED
    assert sorted(runs) == [0, 1, 2]
    assert [runs[n].status for n in (0, 1, 2)] == [RunStatus.FINISHED, RunStatus.FAILED, RunStatus.FINISHED]
    assert reason in (runs[1].error or ""), runs[1].error  # (a raised error: after its traceback)
    assert "opt" not in runs[1].params and all("k" * 300 not in r.metrics for r in runs.values())
    assert all(p.step < 2**63 for p in history)
    code, out, _ = cli("--db", url, "sweep", "show", "guarded", "--format", "json", cwd=tmp_path)
    shown = json.loads(out)
    assert code == 0 and shown["best value"] == 1.0


NUL_SPEC = """
name: nulparam
method: grid
metric: {name: loss, goal: minimize}
entrypoint: trialfns:unchecked
parameters:
  x: {values: [1, 3, 5]}
  how: {values: ["plain", "a\\0b"]}
"""


@pytest.mark.slow
def test_a_sampled_value_beyond_the_limits_fails_its_trials_alike_on_every_backend(
    url: str, tmp_path: Path
) -> None:
    """A NUL in a sampled param (SQLite would store it, PostgreSQL not): the controller checks its
    own events too, so only the trials with that value fail, with the same reason on both."""
    write(tmp_path, "trialfns.py", TRIALS)
    spec = tmp_path / "s.yaml"
    spec.write_text(NUL_SPEC)
    code, _, err = cli("--db", url, "sweep", "run", str(spec), cwd=tmp_path)
    assert code == 0, err
    assert "Traceback" not in err
    with SqlStore(url) as store:
        sweep = store.get_sweep("nulparam")
        runs = store.search_runs(sweep=sweep.id)
    assert sweep.state is SweepState.FINISHED and len(runs) == 6
    plain = [r for r in runs if r.params.get("how") == "plain"]
    refused = [r for r in runs if r not in plain]
    assert len(plain) == 3 and all(r.status is RunStatus.FINISHED for r in plain)
    assert len(refused) == 3 and all(r.status is RunStatus.FAILED and r.params == {} for r in refused)
    assert {r.error for r in refused} == {
        r"refused a logged value: param 'how': value 'a\x00b' contains a NUL character"
    }


TAGGING = """
import sweeptrack as st


def tagging(params):
    st.set_tag("note", params["note"])
    st.log_metrics({"loss": float(params["x"])}, step=0)
"""

TAG_SPEC = """
name: tagging
method: grid
metric: {name: loss, goal: minimize}
entrypoint: trialfns:tagging
parameters:
  x: {values: [1, 2]}
  note: {values: ["kept", "refuse-me"]}
"""

# The database itself refuses one tag value: a constraint the limits know nothing of.
REFUSE = {
    "sqlite": "CREATE TRIGGER refuse BEFORE INSERT ON tags WHEN NEW.value = 'refuse-me' "
    "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END",
    "pg": "ALTER TABLE tags ADD CONSTRAINT refuse CHECK (value <> 'refuse-me')",
}
REFUSED_BY = {
    "sqlite": "the database refused a value: refused by the test trigger",
    "pg": 'the database refused a value: new row for relation "tags" violates check constraint "refuse"',
}


@pytest.mark.slow
def test_a_batch_the_database_refuses_is_written_again_and_fails_only_the_offending_trials(
    url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from sqlalchemy import create_engine, text

    backend = request.node.callspec.params["url"]
    with SqlStore(url) as store:
        store.list_experiments()  # the schema, as `sweeptrack db upgrade` makes it
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(REFUSE[backend]))
    engine.dispose()
    write(tmp_path, "trialfns.py", TAGGING)
    spec = write(tmp_path, "s.yaml", TAG_SPEC)
    code, _, err = cli("--db", url, "sweep", "run", str(spec), cwd=tmp_path)
    assert code == 0, err
    assert "Traceback" not in err
    with SqlStore(url) as store:
        sweep = store.get_sweep("tagging")
        runs = store.search_runs(sweep=sweep.id)
    assert sweep.state is SweepState.FINISHED and len(runs) == 4
    by_note = {(r.params["x"], r.params["note"]): r for r in runs}
    for x in (1, 2):
        kept, refused = by_note[(x, "kept")], by_note[(x, "refuse-me")]
        assert kept.status is RunStatus.FINISHED and kept.tags == {"note": "kept"}
        assert kept.metrics["loss"].last == float(x)
        assert refused.status is RunStatus.FAILED and refused.tags == {}
        assert (refused.error or "").startswith(REFUSED_BY[backend]), refused.error


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"experiment": "e" * 256}, "experiment name 'eee.* has 256 characters; the limit is 1 to 255"),
        ({"name": "base\x00line"}, r"run name 'base\\x00line' contains a NUL character"),
        ({"tags": {"team": "vi\x00sion"}}, r"tag 'team': value 'vi\\x00sion' contains a NUL character"),
    ],
)
def test_a_run_with_a_bad_name_or_tag_is_refused_at_start_and_nothing_is_written(
    url: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(st.InvalidValueError, match=message):
        st.start_run(db=url, capture_environment=False, **options)
    assert st.active_run() is None
    with SqlStore(url) as store:
        assert store.search_runs() == []


@pytest.mark.slow
def test_a_resumed_sweep_runs_past_the_trial_that_sends_a_bad_value(url: str, tmp_path: Path) -> None:
    write(tmp_path, "trialfns.py", TRIALS)
    spec = write(tmp_path, "s.yaml", SPEC.format(fn="unchecked", how="step"))
    code, _, err = cli("--db", url, "sweep", "run", str(spec), "--trials", "1", cwd=tmp_path)
    assert code == 0, err
    code, out, err = cli("--db", url, "sweep", "resume", "guarded", "--trials", "3", cwd=tmp_path)
    assert code == 0 and "Traceback" not in err, err
    assert "sweep guarded (" in out and "finished: 3 trials, 2 finished, 0 pruned, 1 failed" in out
    with SqlStore(url) as store:
        sweep = store.get_sweep("guarded")
        runs = sorted(store.search_runs(sweep=sweep.id), key=lambda r: r.trial_number or 0)
    assert sweep.state is SweepState.FINISHED
    assert [r.status for r in runs] == [RunStatus.FINISHED, RunStatus.FAILED, RunStatus.FINISHED]
