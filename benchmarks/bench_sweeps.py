"""Sweep benchmarks: controller overhead, TPE cost, what pruning saves, sweeptrack vs Optuna's RDB.

Run from the repository root::

    .venv/bin/python benchmarks/bench_sweeps.py                 # all: about 1-2 min on 2 cores
    .venv/bin/python benchmarks/bench_sweeps.py --only overhead --profile
    .venv/bin/python benchmarks/bench_sweeps.py --only pruning --json

(a) overhead: 1,000 no-op function trials (random, parallel 2) through ``run_sweep`` on a SQLite
    file, in trials/s; Optuna's ``study.optimize`` of a trivial objective in memory for scale.
(b) tpe: the median cost of one ``Search.ask`` + ``Search.tell`` over trials 900-1,000.
(c) pruning: the digits_sklearn sweep (sweeps/quickstart.yaml's space, same seed and budget) with
    the median and ASHA pruners against none: epochs run (val_f1 points) and the best val_f1.
(d) optuna-rdb: N trials that each report 100 intermediate values and ask whether to prune
    (median pruner, TPE): Optuna on an RDB SQLite file against a sweeptrack sweep.

Progress goes to stderr; the table (or ``--json``) to stdout. The exit status is 1 when a goal is
missed. Scratch databases live under ``benchmarks/.data`` and are removed at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from bench_common import BENCH_DIR, DATA_DIR, REPO, Row, finish, log, new_parser, stopwatch
from sweeps_peers import optuna_in_memory, optuna_rdb_reports, optuna_tpe_costs

SECTIONS = ("overhead", "tpe", "pruning", "optuna-rdb")
PRUNING_SEED = 11
MEDIAN = {"type": "median", "n_startup_trials": 4, "n_warmup_steps": 1}
ASHA = {"type": "asha", "min_resource": 1, "reduction_factor": 3, "bootstrap_count": 1}
RDB_PRUNER = {"n_startup_trials": 5, "n_warmup_steps": 10}
EPOCHS = 20  # sweeps/quickstart.yaml's epochs
# One trial at a time: with a seed the whole sweep repeats exactly, so pruned and unpruned sweeps
# see the same configs in the same order and the comparison is not timing noise.
PRUNING_PARALLEL = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = new_parser(__doc__, SECTIONS)
    parser.add_argument("--overhead-trials", type=int, default=1000, help="(a) no-op trials")
    parser.add_argument("--tpe-trials", type=int, default=1000, help="(b) asks and tells")
    parser.add_argument("--pruning-trials", type=int, default=24, help="(c) trials per sweep")
    parser.add_argument("--rdb-trials", type=int, default=100, help="(d) trials on each side")
    parser.add_argument("--profile", action="store_true", help="cProfile the (a) sweep; top calls on stderr")
    return parser.parse_args(argv)


# -- helpers ---------------------------------------------------------------------------------------


def make_spec(doc: dict[str, Any], base_dir: Path) -> Any:
    """A SweepSpec from a dict, as if it were a file in ``base_dir`` (entrypoints resolve there)."""
    from sweeptrack.spec.load import load_spec_text

    return load_spec_text(
        yaml.safe_dump(doc, sort_keys=False), source=f"<bench {doc['name']}>", base_dir=base_dir
    )


def sweep(doc: dict[str, Any], base_dir: Path, db: str, *, profile: bool = False) -> tuple[Any, float]:
    """Run a sweep to its end: its SweepResult and the wall time of ``run_sweep``."""
    from sweeptrack.controller import run_sweep

    spec = make_spec(doc, base_dir)
    profiler = cProfile.Profile() if profile else None
    with stopwatch() as wall:
        if profiler is not None:
            profiler.enable()
        result = run_sweep(spec, db)
        if profiler is not None:
            profiler.disable()
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
        stats.print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
    return result, wall[0]


def sweep_runs(db: str, sweep_id: str) -> list[Any]:
    from sweeptrack.tracking.client import Client

    client = Client(db)
    try:
        return client.search_runs(sweep=sweep_id)
    finally:
        client.close()


def epochs_per_run(db: str, runs: list[Any], key: str = "val_f1") -> list[tuple[str, int]]:
    """(status, epochs trained) per run: the distinct steps 0..EPOCHS-1 of its ``key`` history."""
    from sweeptrack.tracking.client import Client

    client = Client(db)
    try:
        histories = [(run.status.value, client.get_metric_history(run.id, key)) for run in runs]
    finally:
        client.close()
    return [(status, len({p.step for p in history if p.step < EPOCHS})) for status, history in histories]


def _spread(values: list[int]) -> str:
    if not values:
        return "none"
    return f"{min(values)}-{max(values)} (median {statistics.median(values):g})"


def ended_note(result: Any) -> str:
    return f"{result.finished} finished, {result.pruned} pruned, {result.failed} failed"


# -- (a) controller overhead -----------------------------------------------------------------------


def bench_overhead(scratch: Path, trials: int, *, profile: bool) -> list[Row]:
    doc = {
        "name": "bench-overhead",
        "experiment": "bench",
        "entrypoint": "sweeps_trials:noop",
        "method": "random",
        "seed": 0,
        "run_cap": trials,
        "parallel": 2,
        "metric": {"name": "objective", "goal": "minimize"},
        "parameters": {"x": {"distribution": "uniform", "min": 0.0, "max": 1.0}},
    }
    log(f"(a) {trials} no-op trials through run_sweep, parallel 2")
    result, wall = sweep(doc, BENCH_DIR, f"sqlite:///{scratch / 'overhead.db'}", profile=profile)
    rate = trials / wall
    rows = [
        Row(
            section="a",
            name=f"controller: {trials:,} no-op trials, random, parallel 2",
            value=rate,
            unit="/s",
            goal=">= 200/s",
            ok=rate >= 200 and result.finished == trials,
            note=f"{wall:.2f} s wall (sweep's own clock {result.elapsed:.2f} s); {ended_note(result)}",
        )
    ]
    log(f"(a) Optuna study.optimize, {trials} trivial trials in memory")
    optuna_rate = trials / optuna_in_memory(trials)
    rows.append(
        Row(
            section="a",
            name=f"Optuna alone: {trials:,} trials in memory, no tracking",
            value=optuna_rate,
            unit="/s",
            note=f"for scale: sweeptrack is {optuna_rate / rate:.1f}x slower, with processes and a DB",
        )
    )
    return rows


# -- (b) TPE ask + tell --------------------------------------------------------------------------


def bench_tpe(trials: int) -> list[Row]:
    from sweeptrack.search import Outcome, Search

    doc = {
        "name": "bench-tpe",
        "entrypoint": "sweeps_trials:noop",
        "method": "tpe",
        "seed": 0,
        "metric": {"name": "val_f1", "goal": "maximize"},
        "parameters": {
            "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1.0},
            "alpha": {"distribution": "log_uniform_values", "min": 1e-7, "max": 1e-1},
            "layers": {"min": 1, "max": 4},
            "optimizer": {"values": ["adam", "sgd", "rmsprop"]},
        },
    }
    search = Search(make_spec(doc, BENCH_DIR))
    log(f"(b) {trials} TPE asks and tells through sweeptrack.search.Search")
    costs = []
    for _ in range(trials):
        started = time.perf_counter()
        asked = search.ask()
        p = asked.params
        value = 1.0 - abs(p["lr"] - 0.01) - p["alpha"] - 0.01 * p["layers"]
        search.tell(asked.number, Outcome.COMPLETE, [value])
        costs.append(time.perf_counter() - started)
    tail = costs[-100:]
    median = statistics.median(tail)
    p90 = statistics.quantiles(tail, n=10)[-1]
    log(f"(b) {trials} asks and tells of Optuna's TPESampler alone (multivariate, constant liar)")
    alone = statistics.median(optuna_tpe_costs(trials, multivariate=True)[-100:])
    return [
        Row(
            section="b",
            name=f"TPE ask+tell at trial ~{trials:,} (4 params), median of last 100",
            value=median,
            unit="s",
            goal="< 20 ms",
            ok=median < 0.020,
            note=f"p90 {p90 * 1e3:.1f} ms; first 100: median {statistics.median(costs[:100]) * 1e3:.2f} ms",
        ),
        Row(
            section="b",
            name=f"Optuna TPESampler alone at trial ~{trials:,}, same space and settings",
            value=alone,
            unit="s",
            note=f"the bridge adds {(median - alone) * 1e3:+.2f} ms; the rest is Optuna's TPE",
        ),
    ]


# -- (c) pruning pays ------------------------------------------------------------------------------


def digits_doc(trials: int, pruner: dict[str, Any]) -> dict[str, Any]:
    """sweeps/quickstart.yaml's sweep (entrypoint, space, parallel) with this budget, seed and pruner."""
    doc = yaml.safe_load((REPO / "sweeps" / "quickstart.yaml").read_text())
    doc.update(
        name=f"bench-pruning-{pruner['type']}",
        experiment="bench",
        method="tpe",
        seed=PRUNING_SEED,
        run_cap=trials,
        early_terminate=pruner,
        parallel=PRUNING_PARALLEL,
    )
    return doc


def bench_pruning(scratch: Path, trials: int) -> list[Row]:
    db = f"sqlite:///{scratch / 'pruning.db'}"
    outcomes: dict[str, tuple[int, float, Any, float]] = {}
    pruned_epochs: dict[str, list[int]] = {}
    for pruner in ({"type": "none"}, MEDIAN, ASHA):
        log(f"(c) digits_sklearn sweep, {trials} trials, pruner {pruner['type']}")
        result, wall = sweep(digits_doc(trials, pruner), REPO, db)
        runs = sweep_runs(db, result.sweep_id)
        per_run = epochs_per_run(db, runs)
        epochs = sum(n for _, n in per_run)
        pruned_epochs[pruner["type"]] = [n for status, n in per_run if status == "pruned"]
        finished = [run.metrics["val_f1"].last for run in runs if run.status.value == "finished"]
        outcomes[pruner["type"]] = (epochs, max(finished, default=float("nan")), result, wall)
    base_epochs, base_best, base_result, base_wall = outcomes["none"]
    rows = [
        Row(
            section="c",
            name=f"no pruner: epochs run ({trials} trials x {EPOCHS})",
            value=base_epochs,
            unit="epochs",
            note=f"best val_f1 {base_best:.4f}; {base_wall:.1f} s; {ended_note(base_result)}",
        )
    ]
    for label, pruner in (("median", MEDIAN), ("asha", ASHA)):
        epochs, best, result, wall = outcomes[label]
        options = ", ".join(f"{k}={v}" for k, v in pruner.items() if k != "type")
        # The median rule stops only trials below the median, at most about half of them, so the
        # 1/3 goal is ASHA's (each rung keeps 1/reduction_factor); median is shown for comparison.
        held = label == "asha"
        rows.append(
            Row(
                section="c",
                name=f"{label} pruner ({options}): epochs run",
                value=epochs,
                unit="epochs",
                goal=f"<= {base_epochs / 3:.0f} (1/3)" if held else "",
                ok=epochs <= base_epochs / 3 if held else None,
                note=f"{epochs / base_epochs:.0%} of unpruned; {wall:.1f} s; {ended_note(result)}; "
                f"pruned trials ran {_spread(pruned_epochs[label])} epochs",
            )
        )
        rows.append(
            Row(
                section="c",
                name=f"{label} pruner: best val_f1 minus unpruned best",
                value=round(best - base_best, 4),
                unit="",
                goal=">= -0.01",
                ok=best - base_best >= -0.01,
                note=f"best {best:.4f} vs {base_best:.4f}",
            )
        )
    return rows


# -- (d) sweeptrack vs Optuna RDB ------------------------------------------------------------------


def bench_optuna_rdb(scratch: Path, trials: int) -> list[Row]:
    log(f"(d) Optuna RDB SQLite: {trials} trials x 100 reports, median pruner")
    optuna_wall, optuna_pruned = optuna_rdb_reports(scratch / "optuna.db", trials, **RDB_PRUNER)
    rows = [
        Row(
            section="d",
            name=f"Optuna RDBStorage SQLite: {trials} trials x 100 reports",
            value=optuna_wall,
            unit="s",
            note=f"study.optimize, n_jobs=1, TPE; {optuna_pruned} pruned",
        )
    ]
    for parallel in (1, 2):
        doc = {
            "name": f"bench-rdb-p{parallel}",
            "experiment": "bench",
            "entrypoint": "sweeps_trials:report100",
            "method": "tpe",
            "seed": 0,
            "run_cap": trials,
            "parallel": parallel,
            "metric": {"name": "objective", "goal": "minimize"},
            "early_terminate": {"type": "median", **RDB_PRUNER},
            "parameters": {"x": {"distribution": "uniform", "min": 0.0, "max": 1.0}},
        }
        log(f"(d) sweeptrack: {trials} trials x 100 log_metric, median pruner, parallel {parallel}")
        result, wall = sweep(doc, BENCH_DIR, f"sqlite:///{scratch / f'rdb-{parallel}.db'}")
        speedup = optuna_wall / wall
        rows.append(
            Row(
                section="d",
                name=f"sweeptrack run_sweep, parallel {parallel}: speed-up over Optuna RDB",
                value=speedup,
                unit="x",
                goal=">= 5x" if parallel == 1 else "",
                ok=(speedup >= 5 and result.trials == trials) if parallel == 1 else None,
                note=f"{wall:.2f} s wall; {ended_note(result)}",
            )
        )
    return rows


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


def run(args: argparse.Namespace, scratch: Path) -> list[Row]:
    wanted = set(args.only or SECTIONS)
    rows: list[Row] = []
    if "overhead" in wanted:
        _guard(
            rows,
            "a",
            "controller overhead",
            lambda: bench_overhead(scratch, args.overhead_trials, profile=args.profile),
        )
    if "tpe" in wanted:
        _guard(rows, "b", "TPE ask+tell", lambda: bench_tpe(args.tpe_trials))
    if "pruning" in wanted:
        _guard(rows, "c", "pruning pays", lambda: bench_pruning(scratch, args.pruning_trials))
    if "optuna-rdb" in wanted:
        _guard(rows, "d", "vs Optuna RDB", lambda: bench_optuna_rdb(scratch, args.rdb_trials))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    python = f"{platform.python_implementation()} {platform.python_version()}"
    log(f"sweeptrack sweep benchmarks on {python}, {os.cpu_count()} CPUs")
    # Trials import their entrypoints relative to the working directory first.
    os.chdir(REPO)
    with tempfile.TemporaryDirectory(prefix="scratch-sweeps-", dir=DATA_DIR) as scratch:
        rows = run(args, Path(scratch))
    return finish(rows, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
