"""Report benchmark: ``sweeptrack report`` for a sweep of 1,000 trials x 100 epochs x 10 params.

Run from the repository root::

    .venv/bin/python benchmarks/bench_report.py              # builds the store once (cached)
    .venv/bin/python benchmarks/bench_report.py --regenerate --json

The store is a SQLite file under ``benchmarks/.data`` (named by size, schema revision and generator
version), written once through the store API: one sweep (TPE spec with 10 params), 1,000 trials
of which about 15% pruned early and 3% failed, each logging ``val_f1`` and ``loss`` per epoch and
``system/cpu_percent``. The goal row times the HTML report as a user pays it: ``sweeptrack report``
in a new process each time, imports included (median of ``--repeat`` runs after one warm-up).
Then each format in this process, warm: collect (every store read) plus render. Goals (issue 5):
under 5 s and under 15 MB for the HTML report. Progress goes to stderr, the table (or ``--json``)
to stdout; the exit
status is 1 when a goal is missed.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from bench_common import DATA_DIR, Row, finish, log, median_of, new_parser, spread, stopwatch

from sweeptrack.core.model import RunStatus, SweepState
from sweeptrack.reports.report.collect import collect_report
from sweeptrack.reports.report.html import render_html
from sweeptrack.reports.report.markdown import render_markdown
from sweeptrack.reports.report.model import ReportData
from sweeptrack.tracking.sql.schema import HEAD_REVISION
from sweeptrack.tracking.sql.store import SqlStore

GENERATOR_VERSION = 1
SEED = 5
TRIALS, EPOCHS, PARAMS = 1000, 100, 10
GOAL_SECONDS, GOAL_MB = 5.0, 15.0
T0 = 1_700_000_000_000
SPEC = "\n".join(
    [
        "name: bench-report",
        "experiment: bench-report",
        "method: tpe",
        "metric: {name: val_f1, goal: maximize}",
        "early_terminate: {type: median}",
        "entrypoint: trials:train",
        "parameters:",
        *(f"  p{i}: {{distribution: log_uniform_values, min: 1.0e-5, max: 1.0}}" for i in range(PARAMS - 2)),
        "  optimizer: {values: [adam, adamw, sgd]}",
        "  layers: {min: 1, max: 8}",
        "",
    ]
)


def store_path() -> Path:
    return DATA_DIR / f"report-{TRIALS}t-{EPOCHS}e-{PARAMS}p-rev{HEAD_REVISION}-g{GENERATOR_VERSION}.db"


def _trial(rng: random.Random) -> tuple[dict[str, object], RunStatus, int]:
    params: dict[str, object] = {f"p{i}": 10 ** rng.uniform(-5, 0) for i in range(PARAMS - 2)}
    params["optimizer"] = rng.choice(["adam", "adamw", "sgd"])
    params["layers"] = rng.randint(1, 8)
    roll = rng.random()
    if roll < 0.03:
        return params, RunStatus.FAILED, rng.randint(1, EPOCHS)
    if roll < 0.18:
        return params, RunStatus.PRUNED, rng.randint(3, 30)
    return params, RunStatus.FINISHED, EPOCHS


def _write(path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    rng = random.Random(SEED)
    with SqlStore(f"sqlite:///{tmp}") as store:
        store.upgrade_schema()
        sweep_id = uuid.uuid4().hex
        store.create_sweep(sweep_id=sweep_id, experiment="bench-report", name="bench-report", spec=SPEC)
        for number in range(TRIALS):
            params, status, epochs = _trial(rng)
            run_id, start = uuid.uuid4().hex, T0 + number * 600_000
            store.create_run(
                run_id=run_id,
                experiment="bench-report",
                name=f"trial-{number}",
                start_time=start,
                sweep_id=sweep_id,
                trial_number=number,
                params=params,
            )
            top, rise = rng.uniform(0.3, 0.99), rng.uniform(0.85, 0.97)
            points = []
            for step in range(epochs):
                ts = start + step * 2000
                points.append(("val_f1", top * (1 - rise ** (step + 1)) + rng.uniform(-0.01, 0.01), step, ts))
                points.append(("loss", 2.0 * rise**step + rng.uniform(0, 0.05), step, ts))
                points.append(("system/cpu_percent", rng.uniform(50, 100), step, ts))
            store.log_metrics(run_id, points)
            error = "RuntimeError: CUDA out of memory" if status is RunStatus.FAILED else None
            store.end_run(run_id, status, start + epochs * 2000, error)
            if number % 200 == 199:
                log(f"   {number + 1}/{TRIALS} trials written")
        store.set_sweep_state(sweep_id, SweepState.FINISHED)
    tmp.replace(path)


def ensure_store(*, regenerate: bool) -> str:
    path = store_path()
    if regenerate or not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        log(f"writing {TRIALS} trials x {EPOCHS} epochs x {PARAMS} params -> {path.name}")
        with stopwatch() as took:
            _write(path)
        log(f"store written in {took[0]:.1f} s")
    else:
        log(f"reusing {path.name}")
    return f"sqlite:///{path}"


RENDERERS: dict[str, Callable[[ReportData], str]] = {
    "html": render_html,
    "json": lambda data: data.model_dump_json(indent=2),
    "md": render_markdown,
}


def measure_command(url: str, repeat: int) -> list[Row]:
    """``sweeptrack report`` as a user runs it: a new process each time, imports included."""
    exe = str(Path(sys.executable).with_name("sweeptrack"))
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        out = Path(folder) / "report.html"
        command = [exe, "--db", url, "report", "bench-report", "--out", str(out)]

        def once() -> float:
            with stopwatch() as took:
                subprocess.run(command, check=True, capture_output=True)
            return took[0]

        seconds, samples = median_of(once, repeat, warmup=1)
        megabytes = out.stat().st_size / 2**20
    log(f"command: {seconds:.2f} s, {megabytes:.2f} MB")
    return [
        Row(
            section="html",
            name="sweeptrack report (new process)",
            value=seconds,
            unit="s",
            goal=f"< {GOAL_SECONDS:g} s",
            ok=seconds < GOAL_SECONDS,
            note=f"{spread(samples, unit='s')}; imports (Optuna, scikit-learn, plotly) included",
        ),
        Row(
            section="html",
            name="file size",
            value=round(megabytes, 3),
            unit="MB",
            goal=f"< {GOAL_MB:g} MB",
            ok=megabytes < GOAL_MB,
        ),
    ]


def measure_in_process(url: str, repeat: int) -> list[Row]:
    """collect_report + render in this (warm) process: the report's own work, imports left out."""
    rows: list[Row] = []
    with SqlStore(url) as store:
        for fmt, render in RENDERERS.items():
            sizes: list[int] = []

            def once(render: Callable[[ReportData], str] = render, sizes: list[int] = sizes) -> float:
                with stopwatch() as took:
                    text = render(collect_report(store, sweep="bench-report"))
                sizes.append(len(text.encode()))
                return took[0]

            seconds, samples = median_of(once, repeat, warmup=1)
            log(f"{fmt} in process: {seconds:.2f} s, {sizes[-1] / 2**20:.2f} MB")
            rows.append(
                Row(
                    section=fmt,
                    name="collect + render, in process (warm)",
                    value=seconds,
                    unit="s",
                    note=f"{spread(samples, unit='s')}; {sizes[-1] / 2**20:.3f} MB",
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per format (median)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached store")
    args = parser.parse_args(argv)
    url = ensure_store(regenerate=args.regenerate)
    rows = measure_command(url, args.repeat) + measure_in_process(url, args.repeat)
    return finish(
        rows, as_json=args.json, trials=TRIALS, epochs=EPOCHS, params=PARAMS, store=store_path().name
    )


if __name__ == "__main__":
    sys.exit(main())
