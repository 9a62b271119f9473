"""Row 3: MLflow 3 on a SQLite backend, run in its own virtual environment (benchmarks/.venv-mlflow).

MLflow is not a sweeptrack dependency: the environment is created on first use (``python -m venv``
and ``pip install 'mlflow>=3,<4'``) and reused afterwards; a stamp file marks a finished install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_common import BENCH_DIR, Row, log

MLFLOW_VENV = BENCH_DIR / ".venv-mlflow"
MLFLOW_REQUIREMENT = "mlflow>=3,<4"
_STAMP = MLFLOW_VENV / ".installed"
# MLflow must not phone home from the benchmark; neither may anything it imports.
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "GIT_PYTHON_REFRESH": "quiet",
    "PYTHONWARNINGS": "ignore",
}


def mlflow_python() -> Path:
    return MLFLOW_VENV / "bin" / "python"


def mlflow_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(QUIET_ENV)
    return env


def ensure_mlflow_venv() -> str | None:
    """Create or reuse the MLflow environment; the reason it is unusable, or None."""
    if _STAMP.exists() and mlflow_python().exists():
        return None
    log(f"3. creating {MLFLOW_VENV} with {MLFLOW_REQUIREMENT} (once; reused afterwards)")
    steps = [
        [sys.executable, "-m", "venv", str(MLFLOW_VENV)],
        [
            str(mlflow_python()),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MLFLOW_REQUIREMENT,
        ],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return f"could not set up MLflow ({' '.join(command[:3])}...): {' | '.join(tail)}"
    _STAMP.write_text(MLFLOW_REQUIREMENT + "\n")
    return None


def run_mlflow_helper(workdir: Path, *, calls: int, batches: int, batch_size: int) -> dict[str, Any]:
    db = workdir / "mlflow.db"
    command = [
        str(mlflow_python()),
        str(BENCH_DIR / "mlflow_helper.py"),
        f"--uri=sqlite:///{db}",
        f"--calls={calls}",
        f"--batches={batches}",
        f"--batch-size={batch_size}",
    ]
    log(f"3. MLflow: {calls} log_metric calls, {batches} log_batch calls of {batch_size} ({db})")
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=workdir, env=mlflow_env(), check=False, timeout=600
    )
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"MLflow helper failed ({done.returncode}): {tail}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def bench_mlflow(workdir: Path, *, calls: int = 300, batches: int = 20, batch_size: int = 1000) -> list[Row]:
    why = ensure_mlflow_venv()
    if why:
        return [Row(section="3", name="MLflow", value=None, unit="/s", note=why)]
    result = run_mlflow_helper(workdir, calls=calls, batches=batches, batch_size=batch_size)
    version = result["mlflow_version"]
    per_call = calls / result["log_metric_s"]
    per_batch = result["log_batch_points"] / result["log_batch_s"]
    each = result["log_batch_each_s"]
    return [
        Row(
            section="3",
            name=f"MLflow {version} mlflow.log_metric loop, SQLite",
            value=per_call,
            unit="/s",
            note=f"{calls} calls in {result['log_metric_s']:.2f} s",
            details=result,
        ),
        Row(
            section="3",
            name=f"MLflow {version} MlflowClient.log_batch, SQLite",
            value=per_batch,
            unit="/s",
            note=f"{batches} x {batch_size} pts; per batch {min(each) * 1e3:.0f}-{max(each) * 1e3:.0f} ms",
        ),
    ]


def ratio_rows(ingest: Row | None, mlflow_rows: list[Row]) -> list[Row]:
    """sweeptrack's SQLite ingest rate over MLflow's two rates."""
    if ingest is None or ingest.value is None or len(mlflow_rows) < 2 or mlflow_rows[0].value is None:
        why = "needs rows 2 (SQLite) and 3"
        return [
            Row(
                section="3",
                name="ratio: sweeptrack ingest / MLflow log_metric",
                value=None,
                unit="x",
                note=why,
            ),
            Row(
                section="3",
                name="ratio: sweeptrack ingest / MLflow log_batch",
                value=None,
                unit="x",
                note=why,
            ),
        ]
    loop, batch = mlflow_rows[0].value, mlflow_rows[1].value
    assert batch is not None
    by_loop, by_batch = ingest.value / loop, ingest.value / batch
    return [
        Row(
            section="3",
            name="ratio: sweeptrack ingest / MLflow log_metric",
            value=by_loop,
            unit="x",
            goal=">= 1000x",
            ok=by_loop >= 1000,
        ),
        Row(
            section="3",
            name="ratio: sweeptrack ingest / MLflow log_batch",
            value=by_batch,
            unit="x",
            goal=">= 20x",
            ok=by_batch >= 20,
        ),
    ]
