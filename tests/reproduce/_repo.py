"""A real git repository holding a tracked training script, shared by the reproduce tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "examples" / "reproduce" / "train.py"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def make_repo(folder: Path) -> Path:
    """A committed repository with examples/reproduce/train.py as train.py and a data.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.email", "test@example.com")
    git(folder, "config", "user.name", "test")
    shutil.copy(TRAIN, folder / "train.py")
    (folder / "data.csv").write_text("1\n2\n3\n")
    (folder / ".gitignore").write_text("model.pkl\n*.db\nartifacts/\nserving/\n")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "train")
    return folder


def environ(db: str | None = None) -> dict[str, str]:
    """The test process's environment with this interpreter's folder first on PATH (for
    ``python`` and ``sweeptrack``) and the tree's sources importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEEPTRACK_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    if db is not None:
        env["SWEEPTRACK_DB"] = db
    return env


def run(
    args: list[str], cwd: Path, env: Mapping[str, str], *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def sweeptrack(*args: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-c", "from sweeptrack.cli.main import main; main()", *args], cwd, env)
