"""Ray benchmarks: the Ray executor's throughput, against Ray Tune, and its overhead on real trials.

Run from the repository root::

    .venv/bin/python benchmarks/bench_ray.py                    # all: about 3-4 min on 2 cores
    .venv/bin/python benchmarks/bench_ray.py --only sweeptrack --profile
    .venv/bin/python benchmarks/bench_ray.py --only tune --json

The benchmark starts its own local Ray head (``ray.init(num_cpus=2)`` on 127.0.0.1, no dashboard,
in a child process; ray_cluster.py), times that start-up and this process's connect separately, and
points the specs at it with ``executor: {type: ray, address: 127.0.0.1:PORT}``:

(1) sweeptrack: 1,000 no-op function trials (random, parallel 2) through ``run_sweep`` with the
    Ray executor, in trials/s from the first run's start to the last run's end (median of
    ``--repeat`` sweeps); the sweep's start-up (placing the slot actors, starting their workers) is
    left out of that rate and shown in the note, with the rate over the whole wall. For reference,
    in the same run: the same sweep with the local executor, and each executor driven alone
    (submit/poll, no controller, no database; ray_executors.py), which separates the Ray
    executor's cost from the controller's.
(2) tune: Ray Tune's ``Tuner.fit`` on the same trials (function trainable reporting one metric,
    ``reuse_actors=True``, ``max_concurrent_trials=2``, 1 CPU each), run with benchmarks/.venv-tune's
    Python (created on first use: ray[tune] of the same Ray version) on a local Ray of its own,
    after the benchmark's head is stopped; its start-up is left out too: the rate runs from the
    first trial's report to the last one's (the rate over the whole ``fit`` is in the note).
    Then sweeptrack / Tune.
(3) overhead: 10 one-second trials (parallel 2, ``--sleep-trials``) with the local executor and
    with the Ray executor on the same head, alternately; per trial, the span from the first run's
    start to the last run's end (the runs' own timestamps) divided by the trials, and
    (ray - local) / local (the goal); each run's own duration in the note; each sweep's start-up
    (wall - span: the Ray executor places its slot actors and starts their workers) apart.
(4) actors: for scale, a bare loop of Optuna ask/tell over two reused Ray actors with a SQLite
    commit per event (ray_actor_loop.py in a child process), 1,000 trials.

Progress goes to stderr; the table (or ``--json``) to stdout. The exit status is 1 when a goal is
missed. Scratch databases live under ``benchmarks/.data`` and are removed at the end. The cores are
shared with whatever else runs: the notes show each measurement's range over its repeats.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_common import BENCH_DIR, DATA_DIR, REPO, Row, finish, log, new_parser, spread
from bench_sweeps import ended_note, sweep, sweep_runs
from ray_cluster import RAY_QUIET_ENV, LocalRay, ray_env, start_local_ray
from ray_executors import time_executor
from ray_tune import ensure_tune_venv, run_tune

SECTIONS = ("sweeptrack", "tune", "overhead", "actors")
NUM_CPUS = 2
PARALLEL = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = new_parser(__doc__, SECTIONS)
    parser.add_argument("--trials", type=int, default=1000, help="(1, 2, 4) no-op trials")
    parser.add_argument("--repeat", type=int, default=3, help="(1, 4) runs of each; the median counts")
    parser.add_argument("--tune-repeat", type=int, default=1, help="(2) Tuner.fit runs; the median counts")
    parser.add_argument("--sleep-trials", type=int, default=10, help="(3) one-second trials per sweep")
    parser.add_argument("--overhead-repeat", type=int, default=2, help="(3) local/ray pairs")
    parser.add_argument(
        "--sweep-timeout", type=float, default=300, help="seconds before a sweep counts as hung (FAIL)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the first (1) sweep; top calls on stderr"
    )
    return parser.parse_args(argv)


# -- helpers ---------------------------------------------------------------------------------------


def trial_doc(name: str, entrypoint: str, trials: int, executor: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "experiment": "bench-ray",
        "entrypoint": entrypoint,
        "method": "random",
        "seed": 0,
        "run_cap": trials,
        "parallel": PARALLEL,
        "executor": executor,
        "metric": {"name": "objective", "goal": "minimize"},
        "parameters": {"x": {"distribution": "uniform", "min": 0.0, "max": 1.0}},
    }


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise TimeoutError in this (main) thread after ``seconds``: a hung sweep becomes a FAIL row.

    The controller polls its executor with a timeout, so the signal handler gets to run.
    """

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what}: not done after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed_sweep(doc: dict[str, Any], db: Path, timeout: float, *, profile: bool = False) -> tuple[Any, float]:
    """bench_sweeps.sweep (run_sweep on a SQLite file) under a deadline."""
    with deadline(timeout, f"sweep {doc['name']}"):
        return sweep(doc, BENCH_DIR, f"sqlite:///{db}", profile=profile)


def run_durations(db: Path, sweep_id: str) -> list[float]:
    """Seconds from each run's start to its end (controller-side timestamps, in ms)."""
    runs = sweep_runs(f"sqlite:///{db}", sweep_id)
    return [(r.end_time - r.start_time) / 1e3 for r in runs if r.end_time is not None]


def timeline(db: Path, sweep_id: str, began: float) -> tuple[float, float]:
    """Seconds from the call of run_sweep (``began``, epoch) to the first trial's end, and the rate
    from then to the last trial's end: the sweep's start-up apart from its steady pace."""
    runs = sweep_runs(f"sqlite:///{db}", sweep_id)
    ends = sorted(r.end_time / 1e3 for r in runs if r.end_time is not None)
    steady = (len(ends) - 1) / (ends[-1] - ends[0]) if len(ends) > 1 and ends[-1] > ends[0] else float("nan")
    return ends[0] - began, steady


def start_note(firsts: list[float], steadies: list[float]) -> str:
    return (
        f"first trial done after {statistics.median(firsts):.2f} s, "
        f"then {statistics.median(steadies):.0f}/s (medians)"
    )


def ray_executor(head: LocalRay) -> dict[str, Any]:
    return {"type": "ray", "address": head.address}


def connect_driver(head: LocalRay) -> float:
    """Connect this process to the head (the executor then keeps this connection); seconds taken."""
    import ray

    started = time.perf_counter()
    ray.init(address=head.address, log_to_driver=False, logging_level="WARNING", configure_logging=False)
    return time.perf_counter() - started


def rate_note(rates: list[float], walls: list[float], result: Any) -> str:
    trials = result.finished + result.pruned + result.failed
    return (
        f"median of {len(rates)}, {spread(rates, unit='/s')}; first run's start to last run's end; "
        f"with start-up: {statistics.median(walls):.2f} s wall, {trials / statistics.median(walls):.0f}/s; "
        f"{ended_note(result)}"
    )


# -- (1) sweeptrack on Ray -------------------------------------------------------------------------


def bench_startup(head: LocalRay, connect_s: float) -> list[Row]:
    return [
        Row(
            section="1",
            name=f"local Ray head start: ray.init(num_cpus={NUM_CPUS}) in a child process",
            value=head.startup_s,
            unit="s",
            note=f"excluded from the rates; import ray {head.import_s:.2f} s, ray.init {head.init_s:.2f} s",
        ),
        Row(
            section="1",
            name="this process's ray.init(address=...) connect",
            value=connect_s,
            unit="s",
            note="excluded; the executor keeps an existing connection",
        ),
    ]


def bench_sweeptrack(
    head: LocalRay, scratch: Path, trials: int, repeat: int, timeout: float, *, profile: bool
) -> list[Row]:
    """The goal row (Ray executor), and the same sweep on the local executor, alternately, as a
    reference that tells the controller's own cost (SQLite, search) from the Ray executor's."""
    rates: dict[str, list[float]] = {"ray": [], "local": []}
    walls: dict[str, list[float]] = {"ray": [], "local": []}
    results: dict[str, list[Any]] = {"ray": [], "local": []}
    firsts: dict[str, list[float]] = {"ray": [], "local": []}
    steadies: dict[str, list[float]] = {"ray": [], "local": []}
    executors = {"ray": ray_executor(head), "local": {"type": "local"}}
    for i in range(repeat):
        for kind in ("ray", "local") if i % 2 == 0 else ("local", "ray"):
            doc = trial_doc(f"bench-{kind}-noop-{i}", "ray_trials:noop", trials, executors[kind])
            log(f"(1) {trials} no-op trials, run_sweep, {kind}, parallel {PARALLEL} [{i + 1}/{repeat}]")
            first = profile and i == 0 and kind == "ray"
            began = time.time()
            result, wall = timed_sweep(doc, scratch / f"{kind}-noop-{i}.db", timeout, profile=first)
            first_end, steady = timeline(scratch / f"{kind}-noop-{i}.db", result.sweep_id, began)
            span = run_span(scratch / f"{kind}-noop-{i}.db", result.sweep_id)
            log(
                f"(1)   {trials / span:.0f} trials/s from the first start to the last end "
                f"({trials / wall:.0f}/s over the {wall:.2f} s wall, {ended_note(result)}); "
                f"first trial ended after {first_end:.2f} s"
            )
            rates[kind].append(trials / span)
            walls[kind].append(wall)
            results[kind].append(result)
            firsts[kind].append(first_end)
            steadies[kind].append(steady)
    rate = statistics.median(rates["ray"])
    local = statistics.median(rates["local"])
    complete = all(r.finished == trials for r in results["ray"])
    return [
        Row(
            section="1",
            name=f"sweeptrack RayExecutor: {trials:,} no-op trials, random, parallel {PARALLEL}",
            value=rate,
            unit="/s",
            goal=">= 200/s",
            ok=rate >= 200 and complete,
            note=rate_note(rates["ray"], walls["ray"], results["ray"][-1])
            + f"; {1e3 / rate:.1f} ms per trial; "
            + start_note(firsts["ray"], steadies["ray"]),
            details={"rates": rates["ray"], "walls": walls["ray"]},
        ),
        Row(
            section="1",
            name="  same sweep, local executor (reference, same run)",
            value=local,
            unit="/s",
            note=rate_note(rates["local"], walls["local"], results["local"][-1])
            + f"; {1e3 / local:.1f} ms per trial, Ray adds {1e3 / rate - 1e3 / local:+.1f} ms; "
            + start_note(firsts["local"], steadies["local"]),
            details={"rates": rates["local"], "walls": walls["local"]},
        ),
    ]


def bench_executors_alone(
    head: LocalRay, scratch: Path, trials: int, repeat: int, timeout: float
) -> list[Row]:
    """Each executor driven directly (no controller, no database), warm: its own per-trial cost."""
    per_kind: dict[str, list[dict[str, Any]]] = {"ray": [], "local": []}
    for i in range(repeat):
        for kind in ("ray", "local") if i % 2 == 0 else ("local", "ray"):
            log(f"(1) {kind} executor alone: {trials} no-op trials, no controller [{i + 1}/{repeat}]")
            with deadline(timeout, f"{kind} executor alone"):
                out = time_executor(
                    kind, head.address, scratch / f"logs-{kind}-{i}", trials, parallel=PARALLEL
                )
            if out["failed"]:
                raise RuntimeError(f"{kind} executor alone: {out['failed']} of {trials} trials failed")
            per_kind[kind].append(out)
    rows = []
    for kind, label in (("ray", "RayExecutor"), ("local", "LocalExecutor")):
        rates = [o["trials"] / o["seconds"] for o in per_kind[kind]]
        rate = statistics.median(rates)
        warmups = [o["warmup_s"] for o in per_kind[kind]]
        rows.append(
            Row(
                section="1",
                name=f"  {label} alone (submit/poll, no controller or DB), warm, {trials:,} no-ops",
                value=rate,
                unit="/s",
                note=f"median of {len(rates)}, {spread(rates, unit='/s')}; {1e3 / rate:.2f} ms per trial; "
                f"first {PARALLEL} trials (worker/actor start) {statistics.median(warmups):.2f} s, excluded",
                details={"runs": per_kind[kind]},
            )
        )
    return rows


# -- (2) Ray Tune ------------------------------------------------------------------------------------


def tune_rate(out: dict[str, Any]) -> float:
    """Tune's trials per second between its first and its last trial's report (start-up and the
    end of ``fit`` left out, as for sweeptrack's rate); over the whole ``fit`` when unknown."""
    span, reports = out.get("report_span_s"), out.get("reports", 0)
    if span and reports > 1:
        return float((reports - 1) / span)
    return float(out["trials"] / out["fit_s"])


def bench_tune(trials: int, repeat: int) -> list[Row]:
    why = ensure_tune_venv()
    if why:
        return [Row(section="2", name="Ray Tune", value=None, unit="/s", note=why)]
    outs = []
    for i in range(repeat):
        log(f"(2) Ray Tune Tuner.fit: {trials} no-op trials, reuse_actors, 2 concurrent [{i + 1}/{repeat}]")
        out = run_tune(trials, parallel=PARALLEL, num_cpus=NUM_CPUS)
        log(
            f"(2)   {tune_rate(out):.1f} trials/s from the first report to the last "
            f"({out['trials'] / out['fit_s']:.1f}/s over the {out['fit_s']:.1f} s fit)"
        )
        outs.append(out)
    rates = [tune_rate(o) for o in outs]
    walls = [o["trials"] / o["fit_s"] for o in outs]
    last = outs[-1]
    return [
        Row(
            section="2",
            name=f"Ray Tune {last['ray_version']} Tuner.fit: {trials:,} no-op trials, reuse_actors=True",
            value=statistics.median(rates),
            unit="/s",
            note=f"median of {len(rates)}, {spread(rates, unit='/s')}; first trial's report to the last; "
            f"over the whole fit (its actors' start included): {statistics.median(walls):.1f}/s; "
            f"its Ray start-up ({last['init_s']:.1f} s) excluded; "
            f"{last['trials']} trials, {last['errors']} errors",
            details={"runs": outs},
        )
    ]


def ratio_row(ours: Row | None, tune: Row | None) -> Row:
    name = "ratio: sweeptrack on Ray / Ray Tune"
    if ours is None or tune is None or ours.value is None or tune.value is None:
        return Row(section="2", name=name, value=None, unit="x", goal=">= 10x", note="needs rows (1) and (2)")
    ratio = ours.value / tune.value
    return Row(
        section="2",
        name=name,
        value=ratio,
        unit="x",
        goal=">= 10x",
        ok=ratio >= 10,
        note=f"{ours.value:.0f}/s vs {tune.value:.1f}/s, same trials, same run",
    )


# -- (3) overhead on one-second trials -------------------------------------------------------------


def run_span(db: Path, sweep_id: str) -> float:
    """Seconds from the first run's start to the last run's end: the sweep without its start-up
    (connecting, starting slot actors or workers) and its shutdown."""
    runs = [r for r in sweep_runs(f"sqlite:///{db}", sweep_id) if r.end_time is not None]
    return (max(r.end_time for r in runs) - min(r.start_time for r in runs)) / 1e3


def bench_overhead(head: LocalRay, scratch: Path, trials: int, repeat: int, timeout: float) -> list[Row]:
    """Per-trial cost on one-second trials: the span from the first run's start to the last run's
    end per trial (the goal), each run's own duration, and the sweep's start-up apart."""
    spans: dict[str, list[float]] = {"local": [], "ray": []}  # seconds per trial, start-up left out
    startups: dict[str, list[float]] = {"local": [], "ray": []}  # wall - span
    durations: dict[str, list[float]] = {"local": [], "ray": []}  # each run's start to end, seconds
    executors = {"local": {"type": "local"}, "ray": ray_executor(head)}
    for i in range(repeat):
        for kind in ("local", "ray") if i % 2 == 0 else ("ray", "local"):
            doc = trial_doc(f"bench-ray-sleep-{kind}-{i}", "ray_trials:sleep1", trials, executors[kind])
            log(f"(3) {trials} one-second trials, parallel {PARALLEL}, {kind} executor [{i + 1}/{repeat}]")
            db = scratch / f"sleep-{kind}-{i}.db"
            result, wall = timed_sweep(doc, db, timeout)
            if result.finished != trials:
                raise RuntimeError(f"{kind} executor: {ended_note(result)}")
            span = run_span(db, result.sweep_id)
            spans[kind].append(span / trials)
            startups[kind].append(wall - span)
            durations[kind].extend(run_durations(db, result.sweep_id))
            log(f"(3)   {wall:.2f} s wall, {span:.2f} s from the first start to the last end")
    local, ray = statistics.median(spans["local"]), statistics.median(spans["ray"])
    overhead = (ray - local) / local * 100
    run_local, run_ray = statistics.median(durations["local"]), statistics.median(durations["ray"])
    ideal = 1.0 / PARALLEL
    return [
        *(
            Row(
                section="3",
                name=f"{kind} executor: {trials} x 1 s trials, parallel {PARALLEL}, per trial",
                value=statistics.median(samples),
                unit="s",
                note=f"first run's start to last run's end / trials; median of {len(samples)}, "
                f"{spread(samples, unit='s')}; ideal {ideal * 1e3:.0f} ms (1 s / parallel {PARALLEL})",
            )
            for kind, samples in spans.items()
        ),
        Row(
            section="3",
            name="Ray executor per-trial overhead over local: (ray - local) / local",
            value=round(overhead, 1),
            unit="%",
            goal="< 5%",
            ok=overhead < 5,
            note=f"{(ray - local) * 1e3:+.0f} ms per trial; each run's own duration: "
            f"{run_ray * 1e3:.0f} ms (ray) vs {run_local * 1e3:.0f} ms (local), "
            f"{(run_ray - run_local) / run_local:+.1%}",
            details={"spans": spans, "durations": durations},
        ),
        *(
            Row(
                section="3",
                name=f"  sweep start-up and shutdown, {kind} executor (wall - span)",
                value=statistics.median(samples),
                unit="s",
                note="counted apart: "
                + ("slot actors placed, their workers started" if kind == "ray" else "workers started"),
            )
            for kind, samples in startups.items()
        ),
    ]


# -- (4) bare Optuna + Ray actors loop -------------------------------------------------------------


def bench_actors(head: LocalRay, scratch: Path, trials: int, repeat: int) -> list[Row]:
    outs = []
    for i in range(repeat):
        log(f"(4) Optuna ask/tell, 2 Ray actors, SQLite commit per event, {trials} trials [{i + 1}/{repeat}]")
        command = [
            sys.executable,
            str(BENCH_DIR / "ray_actor_loop.py"),
            f"--address={head.address}",
            f"--trials={trials}",
            f"--db={scratch / f'actors-{i}.db'}",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, env=ray_env(), check=False, timeout=600
        )
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"actor loop failed ({done.returncode}): {tail}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        log(f"(4)   {out['trials'] / out['loop_s']:.0f} trials/s ({out['loop_s']:.2f} s)")
        outs.append(out)
    rates = [o["trials"] / o["loop_s"] for o in outs]
    return [
        Row(
            section="4",
            name=f"for scale: Optuna ask/tell + 2 reused Ray actors + SQLite commit/event, {trials:,} trials",
            value=statistics.median(rates),
            unit="/s",
            note=f"median of {len(rates)}, {spread(rates, unit='/s')}; connect and actor start excluded "
            f"({outs[-1]['connect_s']:.2f} s + {outs[-1]['actors_s']:.2f} s)",
            details={"runs": outs},
        )
    ]


# -- main ------------------------------------------------------------------------------------------


def _guard(rows: list[Row], section: str, name: str, fn: Callable[[], list[Row]]) -> None:
    """Run one measurement; a crash becomes a FAIL row (traceback on stderr), not an abort."""
    try:
        rows.extend(fn())
    except Exception as exc:
        traceback.print_exc()
        rows.append(
            Row(section=section, name=name, value=None, unit="", ok=False, note=f"error: {exc}"[:200])
        )
    gc.collect()


def _on_head(args: argparse.Namespace, wanted: set[str], scratch: Path) -> list[Row]:
    """Parts (1), (3) and (4), on one head of the benchmark's own, stopped before Tune starts."""
    import ray

    rows: list[Row] = []
    log(f"starting a local Ray head (num_cpus={NUM_CPUS}, 127.0.0.1, no dashboard)")
    with start_local_ray(NUM_CPUS, cwd=REPO) as head:
        log(f"Ray head at {head.address} in {head.startup_s:.1f} s")
        try:
            rows.extend(bench_startup(head, connect_driver(head)))
            if "sweeptrack" in wanted:
                _guard(
                    rows,
                    "1",
                    "sweeptrack RayExecutor",
                    lambda: bench_sweeptrack(
                        head, scratch, args.trials, args.repeat, args.sweep_timeout, profile=args.profile
                    ),
                )
                _guard(
                    rows,
                    "1",
                    "executors alone",
                    lambda: bench_executors_alone(
                        head, scratch, args.trials, args.repeat, args.sweep_timeout
                    ),
                )
            if "overhead" in wanted:
                _guard(
                    rows,
                    "3",
                    "Ray executor overhead",
                    lambda: bench_overhead(
                        head, scratch, args.sleep_trials, args.overhead_repeat, args.sweep_timeout
                    ),
                )
            if "actors" in wanted:
                _guard(
                    rows,
                    "4",
                    "Optuna + Ray actors",
                    lambda: bench_actors(head, scratch, args.trials, args.repeat),
                )
        finally:
            ray.shutdown()
    return rows


def run(args: argparse.Namespace, scratch: Path) -> list[Row]:
    wanted = set(args.only or SECTIONS)
    rows: list[Row] = []
    if wanted & {"sweeptrack", "overhead", "actors"}:
        _guard(rows, "1", "local Ray head", lambda: _on_head(args, wanted, scratch))
    if "tune" in wanted:
        _guard(rows, "2", "Ray Tune", lambda: bench_tune(args.trials, args.tune_repeat))
        ours = next((r for r in rows if r.section == "1" and r.unit == "/s"), None)
        tune = next((r for r in rows if r.section == "2" and r.unit == "/s"), None)
        if ours is not None:
            rows.append(ratio_row(ours, tune))
    order = {"1": 0, "2": 1, "3": 2, "4": 3}
    return sorted(rows, key=lambda r: order.get(r.section, 9))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    import ray

    python = f"{platform.python_implementation()} {platform.python_version()}"
    log(f"sweeptrack Ray benchmarks on {python}, Ray {ray.__version__}, {os.cpu_count()} CPUs")
    # This script is a Ray driver: no usage reports, and the head's (token-less) auth mode.
    os.environ.update(RAY_QUIET_ENV)
    # Trials import their entrypoints relative to the working directory first.
    os.chdir(REPO)
    with tempfile.TemporaryDirectory(prefix="scratch-ray-", dir=DATA_DIR) as scratch:
        rows = run(args, Path(scratch))
    return finish(rows, as_json=args.json, ray=ray.__version__)


if __name__ == "__main__":
    sys.exit(main())
