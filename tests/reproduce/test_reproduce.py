"""`sweeptrack reproduce`: real scripts in real git repositories, changed code and data, worktrees."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sweeptrack.core.model import Artifact
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.sql.store import SqlStore

from ._repo import environ, git, make_repo, run, sweeptrack


@dataclass(frozen=True)
class Project:
    repo: Path
    db: str
    env: dict[str, str]
    run_id: str

    def cli(self, *args: str) -> tuple[int, str]:
        done = sweeptrack(*args, cwd=self.repo, env=self.env)
        return done.returncode, done.stdout + done.stderr

    def runs(self) -> int:
        with SqlStore(self.db) as store:
            return len(store.search_runs())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A run of train.py made with an uncommitted change (12 epochs instead of 10): its diff is
    recorded, and a reproduction must apply it to get the same result."""
    repo = make_repo(tmp_path_factory.mktemp("project") / "repo")
    db = f"sqlite:///{repo.parent}/st.db"
    env = environ(db)
    train = repo / "train.py"
    train.write_text(train.read_text().replace("range(10)", "range(12)"))
    done = run([sys.executable, "train.py", "--lr", "0.3", "--name", "original"], repo, env)
    assert done.returncode == 0, done.stderr
    with SqlStore(db) as store:
        run_id = store.resolve_run("original")
    return Project(repo=repo, db=db, env=env, run_id=run_id)


def test_changed_code_and_data_are_reported_and_the_worktree_reproduces_exactly(project: Project) -> None:
    code, out = project.cli("reproduce", project.run_id, "--dry-run")
    assert (code, out.splitlines()[-1]) == (0, "nothing differs from the record")
    train, data = project.repo / "train.py", project.repo / "data.csv"
    before = train.read_text(), data.read_text()
    train.write_text(before[0].replace("weight - target) ** 2", "weight - target) ** 2 + 1"))
    data.write_text("5\n6\n7\n")
    try:
        code, out = project.cli("reproduce", project.run_id, "--dry-run")
        lines = out.splitlines()
        assert code == 3, out
        assert lines[1] == "differs from the record (most important first):"
        assert lines[2].startswith("  dataset numbers: recorded ") and str(data) in lines[2]
        assert lines[3] == (
            "  git diff: recorded uncommitted changes to 1 file, now uncommitted changes to 2 files"
        )
        runs = project.runs()
        code, out = project.cli("reproduce", project.run_id, "--here")
        assert code == 2 and "error: dataset numbers: recorded" in out and "--allow-drift" in out
        assert project.runs() == runs  # nothing was run
        code, out = project.cli("reproduce", project.run_id)
        assert code == 0, out
        assert "re-running in a temporary worktree at commit" in out and "with the recorded diff" in out
        assert out.splitlines()[-1].endswith("reproduced within tolerance (rtol 1e-06)")
        with SqlStore(project.db) as store:
            original = store.get_run(project.run_id)
            (new,) = store.search_runs(filter=f"tags.`sweeptrack.reproduces` = '{project.run_id}'")
        assert new.metrics["loss"].count == 12 and new.metrics["loss"].last == original.metrics["loss"].last
        assert (train.read_text(), data.read_text()) != before  # the user's tree is as it was
        assert git(project.repo, "worktree", "list").count("\n") == 1
        code, out = project.cli("reproduce", project.run_id, "--here", "--allow-drift")
        assert code == 1 and "not reproduced within tolerance (rtol 1e-06): loss differ" in out
        assert "warning: running on changed data (--allow-drift): dataset numbers" in out
    finally:
        train.write_text(before[0])
        data.write_text(before[1])


def test_bad_inputs_say_what_is_wrong_in_one_line_and_leave_nothing(project: Project) -> None:
    done = run([sys.executable, "-c", "import sweeptrack as st; st.start_run(name='inline').end()"],
               project.repo, project.env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    code, out = project.cli("reproduce", "inline")
    assert code == 2 and out.startswith("error: run inline (") and "recorded no command or entrypoint" in out
    with SqlStore(project.db) as store:
        env = store.get_environment(project.run_id)
        assert env is not None
        gone = _copy_run(store, project, "gone-commit", {**env, "git": {**env["git"], "commit": "0" * 40}})
        bad_diff = _copy_run(store, project, "bad-diff", env)
        blob = ArtifactRoot(project.repo.parent / "artifacts").store_bytes(
            "environment/git.diff",
            b"diff --git a/nothere.py b/nothere.py\n--- a/nothere.py\n+++ b/nothere.py\n"
            b"@@ -1 +1 @@\n-x\n+y\n",
        )
        store.log_artifact(bad_diff, blob)
    code, out = project.cli("reproduce", gone, "--worktree")
    assert code == 2 and out.startswith(f"run gone-commit ({gone[:8]}): python train.py --lr 0.3")
    assert "error: commit 000000000000 is not in the repository at" in out and out.count("error:") == 1
    code, out = project.cli("reproduce", bad_diff, "--worktree")
    assert code == 2 and "error: the recorded uncommitted diff no longer applies to commit" in out
    assert git(project.repo, "worktree", "list").count("\n") == 1  # the failed worktree was removed
    code, out = project.cli("reproduce", "no-such-run")
    assert (code, out) == (2, "error: no run with id, id prefix or name 'no-such-run'\n")


def _copy_run(store: SqlStore, project: Project, name: str, env: dict[str, object]) -> str:
    run_id = name.encode().hex().ljust(32, "0")[:32]
    store.create_run(run_id=run_id, experiment="readme", name=name, start_time=1)
    store.log_environment(run_id, env)
    for artifact in store.list_artifacts(project.run_id):
        if artifact.path == "environment/git.diff":
            store.log_artifact(
                run_id, Artifact(path=artifact.path, size=artifact.size, sha256=artifact.sha256)
            )
    return run_id


def test_a_run_recorded_without_the_repository_root_still_reproduces(project: Project) -> None:
    with SqlStore(project.db) as store:
        env = store.get_environment(project.run_id)
        assert env is not None
        older = {k: v for k, v in env.items() if k not in ("cwd_in_repo", "variables")}
        older["git"] = {k: v for k, v in env["git"].items() if k != "root"}
        store.log_environment(project.run_id, older)
    train = project.repo / "train.py"
    before = train.read_text()
    train.write_text(
        before.replace("weight - target) ** 2", "weight - target) ** 2 + 1")
    )  # not in the worktree
    try:
        code, out = project.cli("reproduce", project.run_id, "--worktree")
    finally:
        train.write_text(before)
        with SqlStore(project.db) as store:
            store.log_environment(project.run_id, env)
    assert code == 0, out
    assert out.splitlines()[-1].endswith("reproduced within tolerance (rtol 1e-06)")
