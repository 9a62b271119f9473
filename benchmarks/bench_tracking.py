"""Tracking benchmarks: log_metric cost, ingest rates, MLflow comparison, start-up, big-store queries.

Run from the repository root::

    .venv/bin/python benchmarks/bench_tracking.py     # all: ~1.5 min cached, ~2 min + pip cold
    .venv/bin/python benchmarks/bench_tracking.py --size small --skip-mlflow
    .venv/bin/python benchmarks/bench_tracking.py --only queries --explain --json

Progress goes to stderr; the result table (or, with ``--json``, a JSON document) to stdout. The exit
status is 1 when a goal is missed. Generated data is cached under ``benchmarks/.data`` and the
MLflow environment in ``benchmarks/.venv-mlflow`` (both gitignored).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from bench_common import DATA_DIR, Row, finish, log, new_parser, pg_unavailable

SECTIONS = ("log", "ingest", "mlflow", "startup", "queries")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = new_parser(__doc__)
    parser.add_argument("--skip-mlflow", action="store_true", help="skip MLflow (row 3 and its start-up row)")
    parser.add_argument("--skip-postgres", action="store_true", help="skip every PostgreSQL measurement")
    parser.add_argument(
        "--size", choices=("full", "small"), default="full", help="big store: 100k or 10k runs"
    )
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached big stores")
    parser.add_argument("--explain", action="store_true", help="show query plans even when within goal")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--log-calls", type=int, default=200_000, help="row 1: log_metric calls")
    parser.add_argument("--ingest-points", type=int, default=1_000_000, help="row 2: points per backend")
    return parser.parse_args(argv)


def _guard(rows: list[Row], section: str, name: str, fn: Callable[[], list[Row]]) -> list[Row]:
    """Run one measurement; a crash becomes a FAIL row (with the traceback on stderr), not an abort."""
    try:
        produced = fn()
    except Exception as exc:
        traceback.print_exc()
        produced = [
            Row(section=section, name=name, value=None, unit="", ok=False, note=f"error: {exc}"[:200])
        ]
    rows.extend(produced)
    gc.collect()
    return produced


def run(args: argparse.Namespace, workdir: Path) -> list[Row]:
    from bench_ingest import bench_ingest_postgres, bench_ingest_sqlite, bench_log_metric
    from bench_mlflow import bench_mlflow, ratio_rows
    from bench_startup import bench_startup

    wanted = set(args.only or SECTIONS)
    postgres = not args.skip_postgres
    rows: list[Row] = []
    if "log" in wanted:
        _guard(rows, "1", "log_metric", lambda: bench_log_metric(workdir, calls=args.log_calls))
    ingest: list[Row] = []
    if "ingest" in wanted:
        ingest = _guard(
            rows, "2", "ingest SQLite", lambda: [bench_ingest_sqlite(workdir, points=args.ingest_points)]
        )
        if postgres:
            _guard(rows, "2", "ingest PostgreSQL", lambda: [bench_ingest_postgres(points=args.ingest_points)])
    mlflow = "mlflow" in wanted and not args.skip_mlflow
    if mlflow:
        found = _guard(rows, "3", "MLflow", lambda: bench_mlflow(workdir))
        rows.extend(ratio_rows(ingest[0] if ingest else None, found))
    if "startup" in wanted:
        _guard(rows, "4", "start-up", lambda: bench_startup(mlflow=not args.skip_mlflow))
    if "queries" in wanted:
        _big_store(rows, args)
    return rows


def _big_store(rows: list[Row], args: argparse.Namespace) -> None:
    from bench_queries import bench_queries
    from bigstore import SIZES, ensure_postgres, ensure_sqlite

    size = SIZES[args.size]
    label = f"{size.runs // 1000}k runs/{size.points / 1e6:g}M pts"
    path_box: list[Path] = []

    def sqlite() -> list[Row]:
        path_box.append(ensure_sqlite(size, regenerate=args.regenerate))
        return bench_queries(f"sqlite:///{path_box[0]}", f"SQLite {label}", show_plan=args.explain)

    _guard(rows, "5", f"queries on SQLite {label}", sqlite)
    if args.skip_postgres or not path_box:
        return
    why = pg_unavailable()
    if why:
        rows.append(Row(section="5", name=f"queries on PostgreSQL {label}", value=None, unit="s", note=why))
        return

    def postgres() -> list[Row]:
        url = ensure_postgres(size, path_box[0], regenerate=args.regenerate)
        return bench_queries(url, f"PostgreSQL {label}", show_plan=args.explain)

    _guard(rows, "5", f"queries on PostgreSQL {label}", postgres)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    python = f"{platform.python_implementation()} {platform.python_version()}"
    log(f"sweeptrack benchmarks on {python}, {os.cpu_count()} CPUs")
    # Scratch databases on the same disk as users' (not a tmpfs /tmp), removed at the end.
    with tempfile.TemporaryDirectory(prefix="scratch-", dir=DATA_DIR) as scratch:
        rows = run(args, Path(scratch))
    rows.sort(key=lambda r: r.section)  # stable: keeps each section's order
    return finish(rows, as_json=args.json, size=args.size)


if __name__ == "__main__":
    sys.exit(main())
