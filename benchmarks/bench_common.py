"""Shared pieces of the tracking benchmarks: result rows, the table, timing and PostgreSQL helpers."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MICRO = "\N{MICRO SIGN}"
_STARTED = time.perf_counter()


@dataclass(slots=True, kw_only=True)
class Row:
    """One line of the result table.

    ``ok`` is True (PASS), False (FAIL) or None (information only, or not measured: see ``note``).
    """

    section: str
    name: str
    value: float | None
    unit: str
    goal: str = ""
    ok: bool | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.ok is None:
            return "n/a" if self.value is None else "info"
        return "PASS" if self.ok else "FAIL"


def log(message: str) -> None:
    """A progress line on stderr (stdout is for the table)."""
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def median_of(fn: Callable[[], float], repeat: int, *, warmup: int = 0) -> tuple[float, list[float]]:
    """Run ``fn`` (which returns a duration) ``warmup + repeat`` times; the median and the samples."""
    for _ in range(warmup):
        fn()
    samples = [fn() for _ in range(repeat)]
    return statistics.median(samples), samples


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` holds the seconds spent in the block."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def spread(samples: Sequence[float], scale: float = 1.0, unit: str = "") -> str:
    """``min-max`` of samples for the notes column, so noise is visible next to a median."""
    return f"range {fmt(min(samples) * scale, unit)}-{fmt(max(samples) * scale, unit)}"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.{2 if value < 1e-5 else 1}f} {MICRO}s"
        if value < 1:
            return f"{value * 1e3:.1f} ms"
        return f"{value:.2f} s"
    if unit == "/s":
        if value >= 1e6:
            return f"{value / 1e6:.2f} M/s"
        if value >= 1e4:
            return f"{value / 1e3:.0f} k/s"
        return f"{value:.0f} /s"
    if unit == "x":
        return f"{value:,.0f}x" if value >= 100 else f"{value:.1f}x"
    return f"{value:g} {unit}".strip()


def render_table(rows: Sequence[Row]) -> str:
    header = ("#", "measurement", "result", "goal", "status", "notes")
    body = [(r.section, r.name, fmt(r.value, r.unit), r.goal, r.status, r.note) for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header) - 1)]

    def line(cells: Sequence[str]) -> str:
        fixed = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False))
        return f"{fixed}  {cells[-1]}".rstrip()

    lines = [line(header), *(line(cells) for cells in body)]
    rule = "-" * max(len(text) for text in lines)
    out = [lines[0], rule]
    previous = None
    for cells in body:
        if previous is not None and cells[0] != previous:
            out.append("")
        previous = cells[0]
        out.append(line(cells))
    failed = sum(r.ok is False for r in rows)
    passed = sum(r.ok is True for r in rows)
    out += [rule, f"{passed} passed, {failed} failed, {sum(r.ok is None for r in rows)} informational"]
    return "\n".join(out)


def render_json(rows: Sequence[Row], meta: dict[str, Any]) -> str:
    return json.dumps(
        {"meta": meta, "rows": [{**asdict(r), "status": r.status} for r in rows]},
        indent=2,
        default=str,
    )


def new_parser(description: str | None, sections: Sequence[str] = ()) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring as help, ``--json`` and, given sections, ``--only``."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    if sections:
        parser.add_argument("--only", action="append", choices=sections, help="run only these sections")
    return parser


def finish(rows: Sequence[Row], *, as_json: bool, **meta: Any) -> int:
    """Print the table (or JSON with the machine and ``meta``); the exit status: 1 when a goal is missed."""
    if as_json:
        machine = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        }
        print(render_json(rows, {**machine, **meta, "argv": sys.argv[1:]}))
    else:
        print(render_table(rows))
    return 1 if any(r.ok is False for r in rows) else 0


# -- PostgreSQL ----------------------------------------------------------------------------------


def pg_base_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL


def pg_schema_url(schema: str) -> str:
    """The SQLAlchemy URL whose connections use ``schema`` (search_path in the startup options)."""
    from sqlalchemy.engine import make_url

    url = make_url(pg_base_url()).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def pg_connect(schema: str | None = None, *, autocommit: bool = True) -> Any:
    """A plain psycopg connection to the benchmark server (in ``schema`` when given)."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(pg_base_url())
    url = url.set(drivername="postgresql").difference_update_query(["options"])
    options = f"-csearch_path={schema}" if schema else None
    return psycopg.connect(
        url.render_as_string(hide_password=False), autocommit=autocommit, options=options, connect_timeout=5
    )


def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (None when it can)."""
    try:
        with pg_connect() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "skip the PostgreSQL rows", said in the notes
        return f"PostgreSQL unavailable at {pg_base_url()}: {str(exc).strip().splitlines()[0]}"
    return None
