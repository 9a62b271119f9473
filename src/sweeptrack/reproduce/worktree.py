"""A temporary git worktree at a recorded commit with the recorded diff applied.

The user's tree is never touched: the worktree lives in a temporary folder and is removed with
``git worktree remove --force`` (then ``git worktree prune``) however the reproduction ends,
a diff that fails to apply included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sweeptrack.core.errors import ReproduceError

__all__ = ["Worktree", "git", "repository_root", "tree_state"]

_TIMEOUT_S = 120.0


def git(repo: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run git in ``repo`` (no prompts, English messages); never raises for a git failure."""
    env = dict(os.environ)
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="C")
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=_TIMEOUT_S,
        check=False,
    )


def repository_root(folder: Path) -> Path | None:
    """The root of the git repository containing ``folder``, or None."""
    if not folder.is_dir():
        return None
    done = git(folder, "rev-parse", "--show-toplevel")
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def tree_state(repo: Path) -> tuple[str | None, str | None]:
    """(HEAD commit, ``git diff HEAD`` text or None) of a repository's working tree."""
    head = git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
    commit = head.stdout.strip() if head.returncode == 0 else None
    if commit is None:
        return None, None
    diff = git(repo, "diff", "--no-color", "--no-ext-diff", "HEAD")
    return commit, diff.stdout or None


class Worktree:
    """``with Worktree(repo, commit, diff) as folder:`` a checkout of ``commit`` plus ``diff``.

    Raises:
        ReproduceError: the commit is not in the repository, or the diff does not apply to it
            (the worktree is removed before the error is raised).
    """

    def __init__(self, repo: Path, commit: str, diff: str | None) -> None:
        self.repo = repo
        self.commit = commit
        self.diff = diff
        self._parent: Path | None = None
        self.path: Path | None = None

    def __enter__(self) -> Path:
        found = git(self.repo, "cat-file", "-e", f"{self.commit}^{{commit}}")
        if found.returncode != 0:
            raise ReproduceError(
                f"commit {self.commit[:12]} is not in the repository at {self.repo}; fetch it "
                "(git fetch --all) or run reproduce in a clone that has it"
            )
        self._parent = Path(tempfile.mkdtemp(prefix="sweeptrack-reproduce-"))
        self.path = self._parent / "tree"
        added = git(self.repo, "worktree", "add", "--detach", str(self.path), self.commit)
        if added.returncode != 0:
            self._remove()
            raise ReproduceError(f"cannot check out commit {self.commit[:12]}: {_first_line(added.stderr)}")
        if self.diff:
            applied = git(self.path, "apply", "--whitespace=nowarn", "-", input=self.diff)
            if applied.returncode != 0:
                self._remove()
                raise ReproduceError(
                    f"the recorded uncommitted diff no longer applies to commit {self.commit[:12]}: "
                    f"{_first_line(applied.stderr)}"
                )
        return self.path

    def __exit__(self, *exc: object) -> None:
        self._remove()

    def _remove(self) -> None:
        if self.path is not None:
            git(self.repo, "worktree", "remove", "--force", str(self.path))
            git(self.repo, "worktree", "prune")
            self.path = None
        if self._parent is not None:
            shutil.rmtree(self._parent, ignore_errors=True)
            self._parent = None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "git gave no reason"
