"""The Ray executor on a real local Ray cluster (the session's ``ray_cluster``): the executor
contract, sweeps into SQLite and PostgreSQL, faults, GPU placement and bad input."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from sweeptrack.core.errors import SweepError
from sweeptrack.core.events import ArtifactLogged
from sweeptrack.core.model import RunStatus
from sweeptrack.executors.ray import RayExecutor
from sweeptrack.spec.model import Resources
from sweeptrack.testing.executor_conformance import Collector, ExecutorConformance, make_request, write_trials

pytestmark = pytest.mark.ray

FAULT_TRIALS = """
import os, time
from pathlib import Path

import sweeptrack as st


def report_then_wait(params):
    st.log_metric("reported", 1.0, step=0)
    st.active_run().flush()
    Path(params["out"]).write_text(str(os.getppid()))  # the slot actor runs this worker process
    time.sleep(120)


def where(params):
    st.set_tags({"gpus": os.environ.get("CUDA_VISIBLE_DEVICES", ""), "actor": str(os.getppid())})
    return 1.0
"""


@pytest.fixture(scope="module")
def ray_address(ray_cluster: object) -> Iterator[str]:
    """The shared cluster's address, with this test process connected to it once."""
    import ray

    address = str(ray_cluster.address)  # type: ignore[attr-defined]
    ray.init(address=address, _node_ip_address="127.0.0.1", log_to_driver=False, configure_logging=False)
    try:
        yield address
    finally:
        ray.shutdown()


@pytest.fixture
def ray_factory(ray_address: str, tmp_path: Path) -> Iterator[Callable[..., RayExecutor]]:
    made: list[RayExecutor] = []

    def make(parallel: int = 1, **options: object) -> RayExecutor:
        options.setdefault("grace", 0.5)
        options.setdefault("log_dir", tmp_path / "logs")
        options.setdefault("address", ray_address)
        made.append(RayExecutor(parallel, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for executor in made:
        executor.shutdown()


@pytest.fixture
def trial_dir(tmp_path: Path) -> Path:
    folder = write_trials(tmp_path / "trials")
    (folder / "fault_trials.py").write_text(FAULT_TRIALS)
    return folder


class TestRayExecutor(ExecutorConformance):
    @pytest.fixture
    def executor_factory(self, ray_factory: Callable[..., RayExecutor]) -> Callable[..., RayExecutor]:
        return ray_factory


def test_artifacts_are_shipped_through_ray_when_the_root_is_not_shared(
    ray_factory: Callable[..., RayExecutor], trial_dir: Path, tmp_path: Path
) -> None:
    collector = Collector(ray_factory(1, shared_artifact_root=False))
    root = tmp_path / "controller-artifacts"
    request = make_request(trial_dir, "block_then_log", artifact_root=str(root))
    (finished,) = collector.run(request)
    assert finished.status is RunStatus.FINISHED, finished.error
    (artifact,) = [e.artifact for e in collector.events[request.trial_id] if isinstance(e, ArtifactLogged)]
    assert (root / "sha256" / artifact.sha256[:2] / artifact.sha256).read_bytes() == b"best lr"


def test_an_actor_killed_with_sigkill_fails_its_trial_and_the_next_runs(
    ray_factory: Callable[..., RayExecutor], trial_dir: Path, tmp_path: Path
) -> None:
    collector = Collector(ray_factory(1))
    out = tmp_path / "actor.pid"
    request = make_request(trial_dir, entrypoint="fault_trials:report_then_wait", params={"out": str(out)})
    collector.executor.submit(request)
    collector.wait_until(out.exists, "the actor's pid")
    collector.wait_until(lambda: bool(collector.metric_keys(request.trial_id)), "first metric")
    os.kill(int(out.read_text()), signal.SIGKILL)
    finished = collector.wait_finished(request.trial_id)
    assert finished.status is RunStatus.FAILED
    assert finished.error is not None and finished.error.startswith("ray actor died: "), finished.error
    assert collector.metric_keys(request.trial_id) == ["reported"]
    (after,) = collector.run(make_request(trial_dir, "metrics"))
    assert after.status is RunStatus.FINISHED, after.error


def test_a_lost_node_fails_its_trials_with_the_reason(
    ray_cluster: object, ray_factory: Callable[..., RayExecutor], trial_dir: Path, tmp_path: Path
) -> None:
    node = ray_cluster.add_node(num_cpus=1, resources={"doomed": 1})  # type: ignore[attr-defined]
    try:
        collector = Collector(ray_factory(1))
        out = tmp_path / "actor.pid"
        request = make_request(
            trial_dir,
            entrypoint="fault_trials:report_then_wait",
            params={"out": str(out)},
            resources=Resources(cpu=1, custom={"doomed": 1}),
        )
        collector.executor.submit(request)
        collector.wait_until(lambda: out.exists() and bool(collector.metric_keys(request.trial_id)), "metric")
        assert node.proc.pid in [p.pid for p in psutil.Process(int(out.read_text())).parents()]
        node.stop()
        finished = collector.wait_finished(request.trial_id)
        assert finished.status is RunStatus.FAILED
        assert finished.error is not None and "ray actor died: node lost" in finished.error, finished.error
        assert collector.metric_keys(request.trial_id) == ["reported"]
        (after,) = collector.run(make_request(trial_dir, "metrics"))
        assert after.status is RunStatus.FINISHED, after.error
    finally:
        node.stop()


def test_gpu_requests_on_a_cluster_without_gpus_are_refused(
    ray_factory: Callable[..., RayExecutor], trial_dir: Path
) -> None:
    executor = ray_factory(1)
    with pytest.raises(SweepError, match=r"asks for 1 GPU\(s\) but the Ray cluster has no GPUs"):
        executor.submit(make_request(trial_dir, "metrics", resources=Resources(gpu=1)))
    with pytest.raises(SweepError, match=r"asks for 1 GPU\(s\) but the Ray cluster has no GPUs"):
        executor.check(Resources(gpu_memory=10**9))  # GPU memory alone asks for a GPU too
    assert executor.running == 0


def test_a_request_no_node_can_satisfy_names_it_and_the_cluster(
    ray_factory: Callable[..., RayExecutor], trial_dir: Path
) -> None:
    executor = ray_factory(1)
    with pytest.raises(SweepError, match=r"no node .* asking for \{CPU: 64\} \(its nodes: \{CPU: 2"):
        executor.submit(make_request(trial_dir, "metrics", resources=Resources(cpu=64)))
    with pytest.raises(SweepError, match=r"asking for \{CPU: 1, tpu_pod: 1\}"):
        executor.check(Resources(custom={"tpu_pod": 1}))
    assert executor.running == 0


def test_an_unreachable_address_fails_fast_with_one_line(tmp_path: Path, trial_dir: Path) -> None:
    from raycluster import free_port

    executor = RayExecutor(1, address=f"127.0.0.1:{free_port()}", log_dir=tmp_path / "logs")
    started = time.monotonic()
    with pytest.raises(SweepError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:\d+") as caught:
        executor.submit(make_request(trial_dir, "metrics"))
    assert time.monotonic() - started < 30
    assert "\n" not in str(caught.value)
    with pytest.raises(SweepError, match="ray address 'nowhere'"):
        RayExecutor(1, address="nowhere", log_dir=tmp_path).submit(make_request(trial_dir, "metrics"))


SWEEP_TRIALS = """
import os, signal, time
from pathlib import Path

import sweeptrack as st


def train(params):
    x = params["x"]
    for epoch in range(3):
        st.log_metrics({"loss": (x - 3) ** 2 + 1.0 / (epoch + 1)}, step=epoch)
    run = st.active_run()
    run.log_artifact_bytes("model.txt", f"model {x}".encode())
    print(f"trained x={x}")
    marker = Path(params["marker"]) / f"killed-{x}"
    if x == 2 and not marker.exists():  # the first attempt loses its actor, the retry finishes
        marker.touch()
        run.flush()
        time.sleep(1.0)  # the controller takes what was reported before the actor goes
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(60)
    return (x - 3) ** 2
"""

SWEEP = """
name: raysweep
method: grid
parallel: 2
retries: 1
metric: {{name: loss}}
entrypoint: raytrials:train
executor: {{type: ray, address: "{address}"}}
parameters:
  x: {{values: [1, 2, 3, 4]}}
  marker: {{value: "{marker}"}}
"""


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_sweep_on_ray_records_every_trial_and_survives_a_killed_actor(
    ray_address: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    backend: str,
) -> None:
    from sweeptrack.controller import open_sweep
    from sweeptrack.core.model import SweepState
    from sweeptrack.tracking.artifacts import ArtifactRoot
    from sweeptrack.tracking.sql.store import SqlStore

    db = f"sqlite:///{tmp_path}/sweeptrack.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    (tmp_path / "raytrials.py").write_text(SWEEP_TRIALS)
    spec = tmp_path / "raysweep.yaml"
    spec.write_text(SWEEP.format(address=ray_address, marker=tmp_path))
    monkeypatch.chdir(tmp_path)
    artifacts = tmp_path / "artifacts"
    controller = open_sweep(spec, db, artifacts=artifacts)
    try:
        result = controller.run()
    finally:
        controller.store.close()  # run_sweep leaves the controller's store open
    assert (result.state, result.trials, result.finished) == (SweepState.FINISHED, 4, 4)
    store = SqlStore(db)
    try:
        runs = store.search_runs(sweep=result.sweep_id)
        assert sorted(r.trial_number for r in runs) == [0, 1, 1, 2, 3]
        (lost,) = [r for r in runs if r.status is RunStatus.FAILED]
        assert lost.params["x"] == 2 and lost.error is not None and lost.error.startswith("ray actor died")
        assert lost.metrics["loss"].count == 3, "what the trial reported before its actor died is kept"
        root = ArtifactRoot(artifacts)
        for run in runs:
            if run.status is RunStatus.FINISHED:
                assert run.metrics["loss"].count == 3
                stored = {a.path: a for a in store.list_artifacts(run.id)}
                model = stored["model.txt"]
                assert root.blob_path(model.sha256).read_bytes() == f"model {run.params['x']}".encode()
                log = root.blob_path(stored["logs/output.log"].sha256).read_text()
                assert f"trained x={run.params['x']}" in log
    finally:
        store.close()


def test_gpu_trials_run_on_the_gpu_node_and_see_their_device(
    ray_cluster: object,
    ray_factory: Callable[..., RayExecutor],
    trial_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    node = ray_cluster.add_node(num_cpus=2, num_gpus=1, resources={"gpu_node": 1})  # type: ignore[attr-defined]
    try:
        collector = Collector(ray_factory(2))
        shapes = [
            Resources(cpu=1, gpu=1),
            Resources(cpu=1, custom={"gpu_node": 1}),
            Resources(cpu=1, gpu=0.5),
            Resources(cpu=1, gpu_memory=10**9),  # a declared GPU of unknown memory: a whole one
            Resources(cpu=1),
        ]
        placed = []
        for shape in shapes:
            request = make_request(trial_dir, entrypoint="fault_trials:where", resources=shape)
            (finished,) = collector.run(request)
            assert finished.status is RunStatus.FINISHED, finished.error
            tags = collector.tags(request.trial_id)
            actor = psutil.Process(int(tags["actor"]))  # alive until the next shape replaces it
            placed.append((node.proc.pid in [p.pid for p in actor.parents()], tags["gpus"]))
        assert placed == [(True, "0"), (True, ""), (True, "0"), (True, "0"), (placed[4][0], "")]
        notices = [line for line in capsys.readouterr().err.splitlines() if "gpu_memory" in line]
        assert notices == [
            "sweeptrack: resources.gpu_memory: no GPU node of the Ray cluster reports its cards' "
            "memory (no NVIDIA driver there); each trial takes 1 whole GPU(s)"
        ]
    finally:
        node.stop()


def test_trials_go_to_the_slots_ray_placed_when_it_cannot_place_them_all(
    ray_cluster: object, ray_factory: Callable[..., RayExecutor], trial_dir: Path
) -> None:
    """Two slots of one GPU each on a cluster with one GPU: one slot is placed, the other waits
    for ever; every trial runs on the placed one instead of waiting on the other."""
    node = ray_cluster.add_node(num_cpus=2, num_gpus=1)  # type: ignore[attr-defined]
    try:
        collector = Collector(ray_factory(2))
        requests = [
            make_request(trial_dir, entrypoint="fault_trials:where", resources=Resources(cpu=1, gpu=1))
            for _ in range(4)
        ]
        finished = collector.run(*requests)
        assert [f.status for f in finished] == [RunStatus.FINISHED] * 4
        assert {collector.tags(r.trial_id)["gpus"] for r in requests} == {"0"}
        assert len({collector.tags(r.trial_id)["actor"] for r in requests}) == 1
    finally:
        node.stop()


def test_the_cli_takes_an_address_and_reports_an_unreachable_one(tmp_path: Path) -> None:
    import subprocess
    import sys

    from raycluster import free_port

    (tmp_path / "raytrials.py").write_text(SWEEP_TRIALS)
    spec = tmp_path / "raysweep.yaml"
    spec.write_text(SWEEP.format(address="auto", marker=tmp_path))
    address = f"127.0.0.1:{free_port()}"
    cli = str(Path(sys.executable).with_name("sweeptrack"))
    spec_args = [str(spec), "--executor", "ray", "--address", address]
    started = time.monotonic()
    done = subprocess.run(
        [cli, "--db", f"sqlite:///{tmp_path}/st.db", "sweep", "run", *spec_args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < 30
    assert done.returncode != 0
    assert f"cannot reach the Ray cluster at {address}" in done.stderr, done.stderr
