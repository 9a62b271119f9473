"""Part 2 of the Ray benchmark: Ray Tune in its own virtual environment (benchmarks/.venv-tune).

ray[tune] is not a sweeptrack dependency: the environment is created on first use (``python -m venv``
and ``pip install 'ray[tune]==<the Ray version of the running Python>'``) and reused afterwards; a
stamp file marks a finished install. Tune runs in a subprocess with that environment's Python
(ray_tune_helper.py) on a local Ray of its own, quiet and local-only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_common import BENCH_DIR, log
from ray_cluster import ray_env

TUNE_VENV = BENCH_DIR / ".venv-tune"
_STAMP = TUNE_VENV / ".installed"
# Old-style (quiet) output, nothing sent anywhere, no tokens written to ~/.ray.
TUNE_ENV = {"RAY_AIR_NEW_OUTPUT": "0", "PYTHONWARNINGS": "ignore"}


def tune_python() -> Path:
    return TUNE_VENV / "bin" / "python"


def tune_requirement() -> str:
    import ray

    return f"ray[tune]=={ray.__version__}"


def ensure_tune_venv() -> str | None:
    """Create or reuse the Tune environment; the reason it is unusable, or None."""
    requirement = tune_requirement()
    if _STAMP.exists() and tune_python().exists() and _STAMP.read_text().strip() == requirement:
        return None
    log(f"2. creating {TUNE_VENV} with {requirement} (once; reused afterwards)")
    steps = [
        [sys.executable, "-m", "venv", str(TUNE_VENV)],
        [str(tune_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return f"could not set up Ray Tune ({' '.join(command[:3])}...): {' | '.join(tail)}"
        if command[1:3] == ["-m", "venv"]:
            # Keep the environment out of git without touching the repository's .gitignore.
            (TUNE_VENV / ".gitignore").write_text("*\n")
    _STAMP.write_text(requirement + "\n")
    return None


def run_tune(trials: int, *, parallel: int = 2, num_cpus: int = 2, timeout: float = 900) -> dict[str, Any]:
    """Run ray_tune_helper.py with the Tune environment; its JSON result."""
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as storage:
        command = [
            str(tune_python()),
            str(BENCH_DIR / "ray_tune_helper.py"),
            f"--trials={trials}",
            f"--parallel={parallel}",
            f"--num-cpus={num_cpus}",
            f"--storage={storage}",
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=storage,
            env=ray_env(TUNE_ENV),
            check=False,
            timeout=timeout,
        )
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"Ray Tune helper failed ({done.returncode}): {tail}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
