"""`sweeptrack submit` and `sweeptrack jobs list|logs|stop` against a real local Ray head."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sweeptrack.cli.main import cli
from sweeptrack.core.errors import SpecError
from sweeptrack.jobs import JobError, plan_submission
from sweeptrack.spec.model import ExecutorType

TRIALS = """
import time
import sweeptrack as st


def quadratic(params):
    x = params["x"]
    for epoch in range(3):
        st.log_metrics({"loss": (x - 3) ** 2 + 1.0 / (epoch + 1)}, step=epoch)
    return (x - 3) ** 2


def sleepy(params):
    for epoch in range(60):
        st.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)
        time.sleep(1)
    return 0.0
"""

SPEC = """
name: {name}
method: grid
metric: {{name: loss, goal: minimize}}
entrypoint: trialfns:{fn}
executor: local
parameters:
  x: {{values: [1, 3, 4]}}
"""

# The test cluster's nodes were started from this virtual environment without activating it, so the
# job finds the `sweeptrack` script through PATH only if we put the environment's bin folder first.
SWEEPTRACK = str(Path(sys.executable).with_name("sweeptrack"))
VENV_PATH = f"PATH={Path(sys.executable).parent}:${{PATH}}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (the current directory) with trial functions and specs under sweeps/."""
    folder = tmp_path / "project"
    (folder / "sweeps").mkdir(parents=True)
    (folder / "trialfns.py").write_text(TRIALS)
    for name, fn in (("tiny", "quadratic"), ("long", "sleepy")):
        (folder / "sweeps" / f"{name}.yaml").write_text(SPEC.format(name=name, fn=fn))
    monkeypatch.chdir(folder)
    return folder


def invoke(*args: str, expect: int | None = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, result.output + result.stderr
    return result


def submit(address: str, spec: str, db: str, *extra: str) -> str:
    out = invoke("submit", spec, "--address", address, "--db", db, "--env", VENV_PATH,
                 *extra).stdout  # fmt: skip
    first = out.splitlines()[0]
    assert first.startswith("submitted job raysubmit_"), out
    assert f"sweeptrack jobs logs {first.split()[2].rstrip(':')} --address {address} --follow" in out
    return first.split()[2].rstrip(":")


def listed(address: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(invoke("jobs", "list", "--address", address, "--format", "json").stdout)
    return {row["id"]: row for row in rows}


@pytest.mark.ray
def test_submitted_sweep_runs_as_a_job_and_writes_the_database(
    ray_cluster: Any, project: Path, tmp_path: Path
) -> None:
    address = ray_cluster.dashboard
    db = f"sqlite:///{tmp_path}/jobs.db"
    job_id = submit(address, "sweeps/tiny.yaml", db, "--trials", "2")

    row = listed(address)[job_id]
    assert row["entrypoint"].startswith(
        f"sweeptrack --db {db} sweep run sweeps/tiny.yaml --executor ray --address auto"
    )
    assert row["entrypoint"].endswith("--trials 2") and row["start"]

    # The console script, so a job that never ends fails this test with its logs instead of hanging.
    command = [SWEEPTRACK, "jobs", "logs", job_id, "--address", address, "--follow"]
    try:
        followed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    except subprocess.TimeoutExpired:
        status = listed(address)[job_id]["status"]
        logs = invoke("jobs", "logs", job_id, "--address", address).stdout
        pytest.fail(f"job {job_id} still {status} after 120 s:\n{logs}")
    assert followed.rstrip().endswith(f"job {job_id} SUCCEEDED: Job finished successfully.")
    assert "Leaderboard: loss (minimize)" in followed

    logs = invoke("jobs", "logs", job_id, "--address", address).stdout
    assert "sweep tiny (" in logs and "2 trials, 2 finished" in logs
    row = listed(address)[job_id]
    assert row["status"] == "SUCCEEDED" and row["end"]

    (sweep,) = json.loads(invoke("--db", db, "sweep", "list", "--format", "json").stdout)
    assert (sweep["name"], sweep["trials"], sweep["finished"]) == ("tiny", 2, 2)  # --trials 2 reached
    table = invoke("jobs", "list", "--address", address).stdout
    assert job_id in table and "SUCCEEDED" in table


@pytest.mark.ray
def test_stop_ends_a_running_job(ray_cluster: Any, project: Path, tmp_path: Path) -> None:
    address = ray_cluster.dashboard
    job_id = submit(address, "sweeps/long.yaml", f"sqlite:///{tmp_path}/long.db")
    deadline = time.monotonic() + 60
    while listed(address)[job_id]["status"] != "RUNNING":
        assert time.monotonic() < deadline, "the job did not start within 60 s"
        time.sleep(0.5)

    assert invoke("jobs", "stop", job_id, "--address", address).stdout == f"job {job_id} STOPPED\n"
    assert listed(address)[job_id]["status"] == "STOPPED"
    again = invoke("jobs", "stop", job_id, "--address", address)
    assert again.stdout == f"job {job_id} STOPPED\n"


@pytest.mark.ray
def test_unknown_job_is_a_one_line_error(ray_cluster: Any) -> None:
    for command in ("logs", "stop"):
        result = invoke("jobs", command, "raysubmit_nope", "--address", ray_cluster.dashboard, expect=2)
        assert result.stderr == "error: no job 'raysubmit_nope' on this cluster; see `sweeptrack jobs list`\n"


@pytest.fixture
def silent_server() -> Iterator[tuple[str, socket.socket]]:
    """A port that accepts connections (the kernel does) but never answers: a hung head."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}", server


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_unreachable_address_fails_fast_with_one_line(
    kind: str, project: Path, silent_server: tuple[str, socket.socket]
) -> None:
    address = closed_port() if kind == "refused" else silent_server[0]
    for args in (
        ("submit", "sweeps/tiny.yaml", "--db", "sqlite:////tmp/x.db"),
        ("jobs", "list"),
        ("jobs", "logs", "raysubmit_x", "--follow"),
        ("jobs", "stop", "raysubmit_x"),
    ):
        started = time.monotonic()
        result = invoke(*args, "--address", address, expect=2)
        assert time.monotonic() - started < 30
        assert result.stderr.startswith(f"error: cannot reach the Ray job API at {address} (")
        assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_bad_spec_is_refused_before_the_cluster_is_contacted(
    project: Path, silent_server: tuple[str, socket.socket]
) -> None:
    address, server = silent_server
    (project / "sweeps" / "bad.yaml").write_text(
        SPEC.format(name="bad", fn="quadratic").replace("grid", "gird")
    )
    result = invoke("submit", "sweeps/bad.yaml", "--address", address, expect=2)
    assert result.stderr.startswith("error: sweeps/bad.yaml:3 method: ") and result.stderr.count("\n") == 1
    server.setblocking(False)
    with pytest.raises(BlockingIOError):
        server.accept()  # nobody connected


def test_address_must_be_the_job_api(project: Path) -> None:
    result = invoke("jobs", "list", "--address", "ray://head:10001", expect=2)
    assert result.stderr.startswith("error: --address 'ray://head:10001': the job API is the dashboard's")


def test_plan_runs_the_controller_from_the_uploaded_working_dir(project: Path) -> None:
    plan = plan_submission(
        Path("sweeps/tiny.yaml"),
        db="postgresql+psycopg://st:pw@postgres:5432/st",
        parallel=4,
        trials=8,
        pip=["scikit-learn>=1.3", "torch"],
        env={"SWEEPTRACK_ARTIFACTS": "/shared/artifacts"},
    )
    assert plan.working_dir == project and plan.spec_path == "sweeps/tiny.yaml" and plan.sweep == "tiny"
    assert plan.entrypoint == (
        "sweeptrack --db postgresql+psycopg://st:pw@postgres:5432/st sweep run sweeps/tiny.yaml "
        "--executor ray --address auto --parallel 4 --trials 8"
    )
    assert plan.runtime_env == {
        "working_dir": str(project),
        "pip": ["scikit-learn>=1.3", "torch"],
        "env_vars": {"SWEEPTRACK_ARTIFACTS": "/shared/artifacts"},
    }
    bare = plan_submission(project / "sweeps" / "tiny.yaml", executor=ExecutorType.LOCAL)
    assert bare.entrypoint == "sweeptrack sweep run sweeps/tiny.yaml --executor local"
    assert bare.runtime_env == {"working_dir": str(project)}  # no pip unless asked


def test_plan_working_dir_defaults_to_the_spec_folder_outside_the_cwd(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "s.yaml").write_text(SPEC.format(name="s", fn="quadratic"))
    plan = plan_submission(elsewhere / "s.yaml")
    assert (plan.working_dir, plan.spec_path) == (elsewhere, "s.yaml")
    with pytest.raises(JobError, match=r"s\.yaml is not inside the working directory .*project; pass"):
        plan_submission(elsewhere / "s.yaml", working_dir=project)
    with pytest.raises(SpecError, match=r"missing\.yaml: cannot read the spec file"):
        plan_submission(Path("missing.yaml"))


def test_job_commands_import_ray_only_when_they_run() -> None:
    code = (
        "import sys\n"
        "from sweeptrack.cli.main import cli\n"
        "for args in (['submit', '--help'], ['jobs', 'list', '--help'], ['jobs', 'logs', '--help']):\n"
        "    try:\n"
        "        cli.main(args=args, prog_name='sweeptrack', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('ray' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "False" and "--working-dir" in done.stdout
