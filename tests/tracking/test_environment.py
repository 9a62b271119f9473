"""capture_environment: what a user reads back about the machine, packages, git state and GPUs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from sweeptrack.tracking.environment import capture_environment

GIT_IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.invalid")


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository on branch 'main' with one commit of train.py."""
    path = tmp_path / "project"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    (path / "train.py").write_text("lr = 0.1\n")
    git(path, "add", "train.py")
    git(path, "commit", "--quiet", "-m", "first")
    return path


def test_dirty_repo_records_commit_branch_and_the_uncommitted_change(repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.01\n")

    env = capture_environment(["train.py", "--lr", "0.01"], repo)

    assert env.data["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert env.data["git"]["branch"] == "main"
    assert env.data["git"]["dirty"] is True
    assert env.git_diff is not None
    assert "-lr = 0.1\n+lr = 0.01" in env.git_diff


def test_clean_repo_has_no_diff_and_records_the_remote(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://example.invalid/team/project.git")
    (repo / "notes.txt").write_text("untracked files do not make the tree dirty\n")

    env = capture_environment(["train.py"], repo)

    assert env.data["git"]["dirty"] is False
    assert env.data["git"]["remote"] == "https://example.invalid/team/project.git"
    assert env.git_diff is None


def test_repo_without_commits_records_the_staged_files(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    (tmp_path / "train.py").write_text("epochs = 3\n")
    git(tmp_path, "add", "train.py")

    env = capture_environment(["train.py"], tmp_path)

    assert env.data["git"] == {"commit": None, "branch": "main", "dirty": True, "root": str(tmp_path)}
    assert env.git_diff is not None and "+epochs = 3" in env.git_diff


def test_outside_a_repo_there_is_no_git_section_and_no_stderr_noise(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    env = capture_environment(["train.py"], tmp_path)

    assert "git" not in env.data
    assert env.git_diff is None
    assert capfd.readouterr().err == ""


def test_missing_git_is_recorded_and_everything_else_still_captured(repo: Path) -> None:
    env = capture_environment(["train.py"], repo, git_executable=str(repo / "no-such-git"))

    assert "not found" in env.data["git"]["error"]
    assert env.git_diff is None
    assert "sqlalchemy" in env.data["packages"]
    assert env.data["python"]["executable"] == sys.executable


def test_records_interpreter_machine_command_and_packages(tmp_path: Path) -> None:
    env = capture_environment(["train.py", "--epochs", "3"], tmp_path)

    assert env.data["command"] == ["train.py", "--epochs", "3"]
    assert env.data["cwd"] == str(tmp_path)
    assert env.data["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert env.data["packages"]["sqlalchemy"] == metadata.version("sqlalchemy")
    assert env.data["cpu"]["count"] >= 1
    assert env.data["cpu"]["model"]
    assert env.data["ram_bytes"] > 0
    assert env.data["hostname"]
    assert json.loads(json.dumps(env.data)) == env.data


def test_gpus_are_listed_or_reported_absent(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    env = capture_environment(["train.py"], tmp_path)

    if shutil.which("nvidia-smi") is None:
        assert env.data["gpus"] == []
        assert env.data["gpu_status"] == "no NVIDIA GPU"
    else:
        for gpu in env.data["gpus"]:
            assert set(gpu) == {"index", "name", "memory_total_bytes", "driver"}
    assert capfd.readouterr().err == ""


def test_capture_is_quick_enough_to_run_at_every_run_start(repo: Path) -> None:
    capture_environment(["train.py"], repo)  # warm imports and the page cache
    start = time.perf_counter()
    capture_environment(["train.py"], repo)
    # Generous bound for loaded CI machines; it takes about 10 ms on a developer laptop.
    assert time.perf_counter() - start < 2.0


def test_what_a_reproduction_needs_is_recorded(repo: Path) -> None:
    (repo / "src").mkdir()
    environ = {"PYTHONHASHSEED": "0", "TRAIN_SEED": "7", "CUBLAS_WORKSPACE_CONFIG": ":4096:8", "HOME": "/x"}

    env = capture_environment(["train.py", "--lr", "0.1"], repo / "src", environ=environ)

    assert env.data["command"] == ["train.py", "--lr", "0.1"]
    assert Path(env.data["git"]["root"]).resolve() == repo.resolve()
    assert env.data["cwd_in_repo"] == "src"
    assert env.data["variables"] == {
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "PYTHONHASHSEED": "0",
        "TRAIN_SEED": "7",
    }
