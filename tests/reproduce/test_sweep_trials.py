"""Sweep trials: reproducing a command trial and an entrypoint trial, replaying a sweep in order
with parallel trials, and `register:` promoting the best trial's artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sweeptrack.tracking.sql.store import SqlStore

from ._repo import environ, git, make_repo, sweeptrack

COMMAND_SPEC = """\
name: lrs
program: train.py
method: grid
metric: {name: loss, goal: minimize}
parameters:
  lr: {values: [0.1, 0.3, 0.5, 0.7]}
parallel: 2
register: {name: toy, artifact: model.pkl, alias: candidate, when: best}
"""

ENTRYPOINT_SPEC = """\
name: fit
entrypoint: fit:train
method: random
seed: 7
run_cap: 2
metric: {name: score, goal: maximize}
parameters:
  x: {min: 0.0, max: 1.0}
"""

FIT = """\
import os
import sweeptrack as st


def train(params):
    st.log_metrics({"score": params["x"] * 2 + float(os.environ.get("SCORE_SEED", "0"))}, step=0)
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_repo(tmp_path_factory.mktemp("sweeps") / "repo")
    (folder / "sweeps").mkdir()
    (folder / "sweeps" / "lrs.yaml").write_text(COMMAND_SPEC)
    (folder / "sweeps" / "fit.yaml").write_text(ENTRYPOINT_SPEC)
    (folder / "fit.py").write_text(FIT)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "sweeps")
    return folder


def test_a_replay_reissues_the_configs_in_order_and_the_best_trial_is_registered(repo: Path) -> None:
    db = f"sqlite:///{repo.parent}/replay.db"
    env = environ(db)
    done = sweeptrack("sweep", "run", "sweeps/lrs.yaml", cwd=repo, env=env)
    assert done.returncode == 0, done.stderr
    assert "registered toy version 1 as candidate: model.pkl of the best trial's run" in done.stdout
    done = sweeptrack(
        "sweep", "run", "sweeps/lrs.yaml", "--replay", "lrs", "--parallel", "2", cwd=repo, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "replay of lrs: 4 of 4 trials matched (rtol 1e-06)"
    assert "registered" not in done.stdout  # an audit registers nothing
    with SqlStore(db) as store:
        first, replay = store.get_sweep("lrs"), store.get_sweep("lrs-replay")
        old = {r.trial_number: r for r in store.search_runs(sweep=first.id)}
        new = {r.trial_number: r for r in store.search_runs(sweep=replay.id)}
    assert [new[n].params for n in range(4)] == [old[n].params for n in range(4)]
    assert all(new[n].tags["sweeptrack.reproduces"] == old[n].id for n in range(4))
    done = sweeptrack("models", "show", "toy@candidate", "--format", "json", cwd=repo, env=env)
    version = json.loads(done.stdout)["version"]
    fields = {row["field"]: row["value"] for row in version}
    assert fields["sweep"].startswith("lrs (") and fields["trial"] == 3 and fields["git_commit"]


def test_a_replay_that_does_not_match_says_which_trials_differ(repo: Path) -> None:
    db = f"sqlite:///{repo.parent}/mismatch.db"
    env = environ(db)
    assert sweeptrack("sweep", "run", "sweeps/fit.yaml", cwd=repo, env=env).returncode == 0
    done = sweeptrack(
        "sweep", "run", "sweeps/fit.yaml", "--replay", "fit", cwd=repo, env={**env, "SCORE_SEED": "1"}
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "replay of fit: 0 of 2 trials matched (rtol 1e-06)"


@pytest.mark.parametrize("spec", ["lrs", "fit"], ids=["command-trial", "entrypoint-trial"])
def test_a_sweep_trial_is_reproduced_from_a_worktree(repo: Path, spec: str) -> None:
    db = f"sqlite:///{repo.parent}/{spec}.db"
    env = environ(db)
    recorded = {**env, "SCORE_SEED": "0.5"}  # a variable that changes results is recorded and set again
    assert sweeptrack("sweep", "run", f"sweeps/{spec}.yaml", cwd=repo, env=recorded).returncode == 0
    train = repo / ("train.py" if spec == "lrs" else "fit.py")
    original = train.read_text()
    train.write_text(original.replace("2", "3"))  # a change the worktree must not see
    try:
        done = sweeptrack("reproduce", f"{spec}-1", cwd=repo, env=env)
    finally:
        train.write_text(original)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"run {spec}-1 (" in done.stdout and f"trial 1 of sweep {spec} (" in done.stdout
    assert "re-running in a temporary worktree" in done.stdout
    assert done.stdout.splitlines()[-1].endswith("reproduced within tolerance (rtol 1e-06)")
    with SqlStore(db) as store:
        (copy,) = store.search_runs(filter="tags.`sweeptrack.reproduces` != ''")
        assert store.get_sweep(copy.sweep_id or "").name == f"{spec}-reproduce"
    assert git(repo, "worktree", "list").count("\n") == 1


def test_a_function_sweep_trial_has_nothing_to_rerun(tmp_path: Path) -> None:
    import sweeptrack as st

    db = f"sqlite:///{tmp_path}/fn.db"
    spec = {"method": "grid", "name": "fn", "parameters": {"x": {"values": [1]}}}
    st.run_sweep(spec, db=db, function=lambda config: None)
    done = sweeptrack("reproduce", "fn-0", cwd=tmp_path, env=environ(db))
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "recorded no command or entrypoint to re-run: its sweep fn ran a Python function given to "
        "st.run_sweep(function=...)"
    )


def test_a_replay_whose_configs_do_not_fit_the_spec_writes_nothing(repo: Path) -> None:
    db = f"sqlite:///{repo.parent}/misfit.db"
    env = environ(db)
    assert sweeptrack("sweep", "run", "sweeps/fit.yaml", cwd=repo, env=env).returncode == 0
    done = sweeptrack("sweep", "run", "sweeps/lrs.yaml", "--replay", "fit", cwd=repo, env=env)
    assert (done.returncode, done.stderr) == (
        2,
        "error: sweeps/lrs.yaml: trial 0 of the replayed sweep does not fit this spec: 'x' is not a "
        "parameter of this sweep\n",
    )
    with SqlStore(db) as store:
        assert [sweep.name for sweep in store.list_sweeps()] == ["fit"]
