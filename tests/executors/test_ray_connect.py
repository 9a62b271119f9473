"""How a sweep reaches Ray through the CLI: no address starts a Ray of its own whatever an earlier
Ray left on the machine, ``--address auto`` joins the live local cluster, and a cluster that wants
a token says how to give it, in one line."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raycluster import RAY_ENV, RayCluster, free_port
from sweeptrack.core.model import RunStatus

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CLI = str(Path(sys.executable).with_name("sweeptrack"))

TRIALS = """
import psutil

import sweeptrack as st


def train(params):
    st.log_metric("loss", float(params["x"]), step=0)
    st.set_tag("ancestors", " ".join(str(p.pid) for p in psutil.Process().parents()))
"""

SWEEP = """
name: connect
method: grid
metric: {name: loss}
entrypoint: connecttrials:train
executor: {type: ray}
parameters:
  x: {values: [1, 2]}
"""


@pytest.fixture
def ray_tmpdir() -> Iterator[Path]:
    """A private RAY_TMPDIR (short: Ray's socket paths live under it); Ray's files go to its ray/."""
    folder = Path(tempfile.mkdtemp(prefix="st-rt-"))
    (folder / "ray").mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep(
    tmp_path: Path, ray_tmpdir: Path, *args: str, env: dict[str, str] | None = None, alone: bool = False
) -> Any:
    """``sweep run`` of a two-trial Ray sweep; ``alone`` runs it in a PID namespace of its own, where
    no other process (no Ray cluster of the test session or anyone else) can be seen."""
    (tmp_path / "connecttrials.py").write_text(TRIALS)
    (tmp_path / "connect.yaml").write_text(SWEEP)
    environ = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    environ.update({**RAY_ENV, "RAY_TMPDIR": str(ray_tmpdir), **(env or {})})
    db = f"sqlite:///{tmp_path}/st.db"
    isolate = ["unshare", "--pid", "--fork", "--mount-proc"] if alone else []
    return subprocess.run(
        [*isolate, CLI, "--db", db, "sweep", "run", "connect.yaml", "--executor", "ray", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
    )


def finished_runs(tmp_path: Path) -> list[Any]:
    from sweeptrack.tracking.sql.store import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path}/st.db")
    try:
        return [run for run in store.search_runs() if run.status is RunStatus.FINISHED]
    finally:
        store.close()


def test_no_address_starts_a_ray_of_its_own_whatever_a_dead_head_left(
    tmp_path: Path, ray_tmpdir: Path
) -> None:
    # What `ray start --head` leaves behind once its head died: the address of nothing.
    (ray_tmpdir / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{free_port()}")
    done = sweep(tmp_path, ray_tmpdir, env={"RAY_ADDRESS": f"127.0.0.1:{free_port()}"})
    assert done.returncode == 0, done.stderr
    assert len(finished_runs(tmp_path)) == 2


def test_auto_joins_the_live_local_cluster(ray_cluster: Any, tmp_path: Path, ray_tmpdir: Path) -> None:
    # The cluster's head recorded its address as `ray start --head` does in Ray's temporary folder.
    (ray_tmpdir / "ray" / "ray_current_cluster").write_text(ray_cluster.address)
    done = sweep(tmp_path, ray_tmpdir, "--address", "auto")
    assert done.returncode == 0, done.stderr
    runs = finished_runs(tmp_path)
    assert len(runs) == 2
    for run in runs:
        assert str(ray_cluster.head.proc.pid) in run.tags["ancestors"].split()


def test_auto_with_only_a_dead_head_recorded_says_so(tmp_path: Path, ray_tmpdir: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    (ray_tmpdir / "ray" / "ray_current_cluster").write_text(dead)
    done = sweep(tmp_path, ray_tmpdir, "--address", "auto", alone=True)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: ray address auto: no Ray cluster runs on this machine (the head at {dead}, which the "
        "last `ray start` recorded, is gone); start one (ray start --head), give its address, or leave "
        "the address out to start a local Ray"
    )


@pytest.fixture(scope="module")
def token_cluster() -> Iterator[RayCluster]:
    """A head that accepts only callers with its token."""
    token = secrets.token_hex(32)
    cluster = RayCluster.start(num_cpus=1, env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
    try:
        yield cluster
    finally:
        cluster.stop()


def test_a_cluster_that_wants_a_token_says_how_to_give_it(
    token_cluster: RayCluster, tmp_path: Path, ray_tmpdir: Path
) -> None:
    done = sweep(tmp_path, ray_tmpdir, "--address", token_cluster.address)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: cannot connect to the Ray cluster at {token_cluster.address}: the cluster requires "
        "token authentication; set RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN"
    )
    jobs = subprocess.run(
        [CLI, "jobs", "list", "--address", token_cluster.dashboard],
        env={**os.environ, **RAY_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert jobs.returncode == 2
    assert jobs.stderr.strip() == (
        f"error: the Ray job API at {token_cluster.dashboard} refused the connection: the cluster "
        "requires token authentication; set RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN"
    )


def test_auto_with_several_live_clusters_and_a_dead_head_recorded_asks_which(
    ray_cluster: Any, token_cluster: RayCluster, tmp_path: Path, ray_tmpdir: Path
) -> None:
    (ray_tmpdir / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{free_port()}")
    done = sweep(tmp_path, ray_tmpdir, "--address", "auto")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ray address auto: several Ray clusters run on this machine (")
    assert line.endswith("); give the address of one")
    for cluster in (ray_cluster, token_cluster):  # Ray names them by the machine's address
        assert f":{cluster.address.rpartition(':')[2]}" in line
