"""Row 4: start-up time of ``import sweeptrack`` and ``sweeptrack --help`` (fresh subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench_common import REPO, Row, log, median_of, spread
from bench_mlflow import mlflow_env, mlflow_python

REPEAT = 5


def _time_command(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, cwd=REPO, env=env, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"{' '.join(command)} exited with {done.returncode}: {' '.join(tail)}")
    return elapsed


def _row(name: str, command: list[str], goal_s: float | None, env: dict[str, str] | None = None) -> Row:
    try:
        median, samples = median_of(lambda: _time_command(command, env), REPEAT, warmup=1)
    except (OSError, RuntimeError) as exc:
        return Row(section="4", name=name, value=None, unit="s", note=str(exc)[:150])
    return Row(
        section="4",
        name=name,
        value=median,
        unit="s",
        goal=f"< {goal_s:g} s" if goal_s else "",
        ok=median < goal_s if goal_s else None,
        note=f"median of {REPEAT} after a warm-up; {spread(samples, unit='s')}",
        details={"samples_s": samples},
    )


def bench_startup(*, mlflow: bool) -> list[Row]:
    log(f"4. start-up: {REPEAT} runs each of python -c 'import sweeptrack', sweeptrack --help")
    python = sys.executable
    # Clean environment for the child: no PYTHONPROFILEIMPORTTIME or similar from the caller.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    rows = [
        _row("python -c pass (interpreter alone)", [python, "-c", "pass"], None, env),
        _row("python -c 'import sweeptrack'", [python, "-c", "import sweeptrack"], 0.3, env),
    ]
    script = Path(python).with_name("sweeptrack")
    if script.exists():
        rows.append(_row("sweeptrack --help", [str(script), "--help"], 0.5, env))
    else:
        rows.append(
            Row(section="4", name="sweeptrack --help", value=None, unit="s", note=f"{script} is missing")
        )
    if mlflow and mlflow_python().exists():
        rows.append(
            _row(
                "python -c 'import mlflow' (for scale)",
                [str(mlflow_python()), "-c", "import mlflow"],
                None,
                mlflow_env(),
            )
        )
    return rows
