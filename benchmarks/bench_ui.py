"""The dashboard's speed (``sweeptrack ui``) on 100,000 runs and 10,000,000 metric points, on SQLite
and PostgreSQL, and MLflow 3's own server answering the same search over 5,000 runs.

Usage:
    .venv/bin/python benchmarks/bench_ui.py                    # both backends and MLflow: ~5 min cached
    .venv/bin/python benchmarks/bench_ui.py --small --skip-mlflow   # 10,000 runs, a quick check
    .venv/bin/python benchmarks/bench_ui.py --backend sqlite --json

Each backend's dashboard runs as ``sweeptrack ui`` in its own process; the requests go over HTTP
from this one (httpx, one keep-alive connection per client):

1. the runs API page: 50 rows, a filter on two params, sorted by a metric (median and p95 of 30);
2. the home page (HTML), median of 15;
3. the curves of the run whose two metrics have 100,000 steps each: time and size;
4. 20 clients browsing at once (home, runs pages, a run, its curves, a sweep): p95 of every request;
5. the search MLflow is asked (``params.optimizer = 'adam' and metrics.val_f1 > 0.5``, by
   ``metrics.val_f1 DESC``, 50 rows) over our 100,000 runs, against ``mlflow server`` (installed
   only in benchmarks/.venv-mlflow) over 5,000 runs: ours must answer at least 10x faster.

The databases are built once (see :mod:`ui_store`) and reused; ``--regenerate`` rebuilds them.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bench_common import DATA_DIR, REPO, Row, finish, log, new_parser, pg_unavailable
from bench_mlflow import ensure_mlflow_venv, mlflow_env, mlflow_python
from ui_store import SIZES, UiSize, ensure_postgres, ensure_sqlite

RUNS_PAGE = {
    "filter": "params.lr < 0.01 and params.batch_size >= 64",
    "order": "metrics.val_f1 DESC",
    "limit": 50,
}
MLFLOW_FILTER = "params.optimizer = 'adam' and metrics.val_f1 > 0.5"
MLFLOW_ORDER = "metrics.val_f1 DESC"
MLFLOW_RUNS = 5000
CLIENTS = 20
REQUESTS_PER_CLIENT = 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    command: list[str], url: str, env: dict[str, str], what: str, timeout: float = 120
) -> Iterator[None]:
    """Run a server process until the block ends; wait until ``url`` answers."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{what} exited: {(process.stderr.read() if process.stderr else '')[-800:]}"
                )
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def timed(client: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[float, int]:
    start = time.perf_counter()
    answer = client.request(method, path, **kwargs)
    took = time.perf_counter() - start
    if answer.status_code != 200:
        raise RuntimeError(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
    return took, len(answer.content)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def repeat(fn: Callable[[], tuple[float, int]], times: int, warmup: int = 3) -> tuple[list[float], int]:
    for _ in range(warmup):
        fn()
    samples, size = [], 0
    for _ in range(times):
        took, size = fn()
        samples.append(took)
    return samples, size


@dataclass(slots=True)
class Measured:
    rows: list[Row]
    search_median: float


def measure_backend(label: str, db: str, size: UiSize) -> Measured:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    command = [
        sys.executable,
        "-c",
        "from sweeptrack.cli.main import main; main()",
        "--db",
        db,
        "ui",
        "--port",
        str(port),
    ]
    rows: list[Row] = []
    section = label
    with (
        serving(command, base + "/static/app.css", env, f"sweeptrack ui ({label})"),
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        log(f"{label}: runs API page")
        samples, _ = repeat(lambda: timed(client, "GET", "/api/runs", params=RUNS_PAGE), 30)
        total = client.get("/api/runs", params=RUNS_PAGE).json()["total"]
        note = f"{total:,} of {size.runs + 1:,} runs match; 50 rows"
        rows.append(
            Row(
                section=section,
                name="runs API page, median",
                value=statistics.median(samples),
                unit="s",
                goal="< 150 ms",
                ok=statistics.median(samples) < 0.150,
                note=note,
            )
        )
        rows.append(
            Row(
                section=section,
                name="runs API page, p95",
                value=p95(samples),
                unit="s",
                goal="< 300 ms",
                ok=p95(samples) < 0.300,
            )
        )

        log(f"{label}: home page")
        samples, _ = repeat(lambda: timed(client, "GET", "/"), 15)
        rows.append(
            Row(
                section=section,
                name="home page (HTML), median",
                value=statistics.median(samples),
                unit="s",
                goal="< 200 ms",
                ok=statistics.median(samples) < 0.200,
                note=f"{size.sweeps} sweeps, 5 experiments",
            )
        )

        rows.append(uncached_home(section, db))

        log(f"{label}: curves of the 100,000-step run")
        long_run = f"{size.long_run_pk:032x}"
        samples, sent = repeat(lambda: timed(client, "GET", f"/api/runs/{long_run}/curves"), 10)
        rows.append(
            Row(
                section=section,
                name="curves of 2 x 100,000 steps, median",
                value=statistics.median(samples),
                unit="s",
                goal="< 300 ms",
                ok=statistics.median(samples) < 0.300,
            )
        )
        rows.append(
            Row(
                section=section,
                name="curves of 2 x 100,000 steps, size",
                value=round(sent / 1024, 1),
                unit="KiB",
                goal="< 1 MB",
                ok=sent < 1_000_000,
                note="min/max buckets, 1000 points per metric",
            )
        )

        log(f"{label}: {CLIENTS} clients browsing")
        latencies = browse(base, size)
        rows.append(
            Row(
                section=section,
                name=f"{CLIENTS} clients browsing, p95",
                value=p95(latencies),
                unit="s",
                goal="< 1 s",
                ok=p95(latencies) < 1.0,
                note=f"{len(latencies)} requests, median {statistics.median(latencies) * 1000:.0f} ms",
            )
        )

        log(f"{label}: MLflow's search over our runs")
        mlflow_like = {"filter": MLFLOW_FILTER, "order": MLFLOW_ORDER, "limit": 50}
        samples, _ = repeat(lambda: timed(client, "GET", "/api/runs", params=mlflow_like), 30)
        rows.append(
            Row(
                section=section,
                name=f"MLflow's search over {size.runs + 1:,} runs, median",
                value=statistics.median(samples),
                unit="s",
                note=f"p95 {p95(samples) * 1000:.0f} ms",
            )
        )
    return Measured(rows=rows, search_median=statistics.median(samples))


def uncached_home(section: str, db: str) -> Row:
    """What the home page's shared answer costs when it is computed (at most every 2 s, in the
    background while viewers get the previous one): counts scan every run."""
    from sweeptrack.core.liveness import Liveness
    from sweeptrack.tracking.sql.store import SqlStore
    from sweeptrack.ui.queries import home_groups

    with SqlStore(db) as store:
        home_groups(store, Liveness())
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            home_groups(store, Liveness())
            samples.append(time.perf_counter() - start)
    return Row(
        section=section,
        name="home page's answer computed afresh, median",
        value=statistics.median(samples),
        unit="s",
        note="in the background, at most every 2 s; pages get the last one",
    )


def browse(base: str, size: UiSize) -> list[float]:
    """Every latency of ``CLIENTS`` threads, each walking pages like a person would."""
    with httpx.Client(base_url=base, timeout=60) as http:
        ids = [run["id"] for run in http.get("/api/runs", params={"limit": 500}).json()["runs"]]
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []
    orders = ("metrics.val_f1 DESC", "metrics.loss.min ASC", "params.lr", "start_time DESC")
    filters = (
        "params.lr < 0.01 and params.batch_size >= 64",
        "params.optimizer = 'adam'",
        "tags.dataset = 'digits' and metrics.val_f1 > 0.5",
        "",
    )

    def walk(number: int) -> list[str]:
        rng = random.Random(number)
        paths = []
        for _ in range(REQUESTS_PER_CLIENT):
            run, sweep = rng.choice(ids), rng.randrange(1, size.sweeps + 1)
            query = f"filter={rng.choice(filters)}&order={rng.choice(orders)}"
            choices = [
                "/",
                f"/api/runs?{query}&offset={50 * rng.randrange(5)}",
                f"/runs?{query}",
                f"/runs/{run}",
                f"/api/runs/{run}/curves",
                f"/api/sweeps/{sweep:032x}/live",
            ]
            paths.append(rng.choice(choices))
        return paths

    def client(number: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for path in walk(number):
                try:
                    took, _ = timed(http, "GET", path)
                except Exception as exc:
                    errors.append(str(exc))
                    continue
                with lock:
                    latencies.append(took)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return latencies


def mlflow_search(size_runs: int, regenerate: bool) -> tuple[list[float], str] | str:
    """Latencies of ``runs/search`` on ``mlflow server``, or why MLflow could not be measured."""
    why = ensure_mlflow_venv()
    if why is not None:
        return why
    path = DATA_DIR / f"mlflow-ui-{size_runs}.db"
    if regenerate or not path.exists():
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        log(f"MLflow: logging {size_runs:,} runs into {path.name} (once; reused afterwards)")
        done = subprocess.run(
            [
                str(mlflow_python()),
                str(Path(__file__).with_name("mlflow_ui_helper.py")),
                f"--uri=sqlite:///{tmp}",
                f"--runs={size_runs}",
            ],
            capture_output=True,
            text=True,
            env=mlflow_env(),
            check=False,
            timeout=3600,
            cwd=DATA_DIR,
        )
        if done.returncode != 0:
            return f"MLflow setup failed: {done.stderr.strip().splitlines()[-1:]}"
        tmp.rename(path)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    mlflow = shutil.which("mlflow", path=str(mlflow_python().parent)) or str(
        mlflow_python().parent / "mlflow"
    )
    command = [
        mlflow,
        "server",
        "--backend-store-uri",
        f"sqlite:///{path}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log(f"MLflow: mlflow server on {path.name}")
    body = {"experiment_ids": ["1"], "filter": MLFLOW_FILTER, "order_by": [MLFLOW_ORDER], "max_results": 50}
    with (
        serving(command, base + "/health", mlflow_env(), "mlflow server", timeout=180),
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        samples, _ = repeat(lambda: timed(client, "POST", "/api/2.0/mlflow/runs/search", json=body), 30)
        found = len(client.post("/api/2.0/mlflow/runs/search", json=body).json().get("runs", []))
        version = subprocess.run(
            [str(mlflow_python()), "-c", "import mlflow; print(mlflow.__version__)"],
            capture_output=True,
            text=True,
            env=mlflow_env(),
            check=False,
        ).stdout.strip()
    return samples, f"MLflow {version}, {found} rows answered"


def main() -> int:
    parser = new_parser(__doc__)
    parser.add_argument(
        "--small", action="store_true", help="10,000 runs (and 500 MLflow runs): a quick check"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--skip-mlflow", action="store_true", help="leave MLflow out")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the databases")
    args = parser.parse_args()
    size = SIZES["small" if args.small else "full"]
    mlflow_runs = 500 if args.small else MLFLOW_RUNS
    rows: list[Row] = []
    measured: dict[str, Measured] = {}
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        if backend == "postgres" and (why := pg_unavailable()):
            rows.append(Row(section="postgres", name="PostgreSQL", value=None, unit="", note=why))
            continue
        db = (
            ensure_sqlite(size, regenerate=args.regenerate)
            if backend == "sqlite"
            else ensure_postgres(size, regenerate=args.regenerate)
        )
        measured[backend] = measure_backend(backend, db, size)
        rows += measured[backend].rows
    if not args.skip_mlflow:
        found = mlflow_search(mlflow_runs, args.regenerate)
        if isinstance(found, str):
            rows.append(
                Row(section="mlflow", name="mlflow server runs/search", value=None, unit="", note=found)
            )
        else:
            samples, note = found
            median = statistics.median(samples)
            rows.append(
                Row(
                    section="mlflow",
                    name=f"mlflow server runs/search over {mlflow_runs:,} runs, median",
                    value=median,
                    unit="s",
                    note=note,
                )
            )
            rows.append(
                Row(
                    section="mlflow",
                    name=f"mlflow server runs/search over {mlflow_runs:,} runs, p95",
                    value=p95(samples),
                    unit="s",
                )
            )
            for backend, result in measured.items():
                ratio = median / result.search_median
                rows.append(
                    Row(
                        section="mlflow",
                        name=f"ours ({backend}, {size.runs + 1:,} runs) vs MLflow ({mlflow_runs:,} runs)",
                        value=ratio,
                        unit="x",
                        goal=">= 10x faster",
                        ok=ratio >= 10,
                        note="median over median",
                    )
                )
    return finish(rows, as_json=args.json, runs=size.runs, points=size.points)


if __name__ == "__main__":
    sys.exit(main())
