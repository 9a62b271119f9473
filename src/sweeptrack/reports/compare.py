"""Side-by-side comparison of runs: params, metric summaries, datasets, git state, packages.

Each row holds one fact for every run and says whether the runs differ on it, so a table can
highlight the rows that explain why two runs ended differently.

Example:
    >>> comparison = compare_runs(store, ["baseline", "3f2a9c1e"])   # doctest: +SKIP
    >>> [row.key for row in comparison.rows if row.differs]            # doctest: +SKIP
    ['name', 'lr', 'val_f1.last', 'numpy']
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.core.model import Dataset, Run
from sweeptrack.reports.formats import Report, Table
from sweeptrack.tracking.store import Store

__all__ = ["Comparison", "ComparisonRow", "Section", "compare_runs"]

_SUMMARIES = ("last", "min", "max", "count")


class Section(enum.Enum):
    """What kind of fact a row compares."""

    RUN = "run"
    PARAMS = "params"
    METRICS = "metrics"
    DATASETS = "datasets"
    GIT = "git"
    PACKAGES = "packages"


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonRow:
    """One fact (``section``, ``key``) with its value in each run; None where a run has none."""

    section: Section
    key: str
    values: tuple[Any, ...]
    differs: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """The compared runs (in the order given) and one row per fact."""

    runs: tuple[Run, ...]
    rows: tuple[ComparisonRow, ...]

    @property
    def run_columns(self) -> tuple[str, ...]:
        """A column name per run: the shortest id prefix (8 characters or more) that is unique."""
        ids = [run.id for run in self.runs]
        length = 8
        while len({run_id[:length] for run_id in ids}) < len(ids):
            length += 4
        return tuple(run_id[:length] for run_id in ids)

    def report(self) -> Report:
        """Columns section, key, one per run, differs; differing rows are highlighted."""
        columns = ("section", "key", *self.run_columns, "differs")
        rows = tuple((row.section.value, row.key, *row.values, row.differs) for row in self.rows)
        table = Table(
            columns=columns,
            rows=rows,
            title=f"Comparison of {len(self.runs)} runs",
            name="comparison",
            highlight=tuple(row.differs for row in self.rows),
            wrap=True,  # a fact cropped could hide the difference it shows
        )
        return Report(tables=(table,))


def compare_runs(store: Store, refs: Sequence[str], *, all_packages: bool = False) -> Comparison:
    """Compare runs given by id, id prefix or name.

    Args:
        store: Where the runs are.
        refs: Two or more run references (one is allowed; nothing then differs).
        all_packages: Also list packages whose version is the same in every run (hidden by
            default: an environment holds hundreds).

    Raises:
        RunNotFoundError: a reference matches no run, or more than one.
        SweepTrackError: no reference is given, or two name the same run.
    """
    if not refs:
        raise SweepTrackError("give at least one run to compare")
    ids = [store.resolve_run(ref) for ref in refs]
    repeated = sorted({run_id for run_id in ids if ids.count(run_id) > 1})
    if repeated:
        raise SweepTrackError(f"run {repeated[0]} is given more than once; compare distinct runs")
    runs = tuple(store.get_run(run_id) for run_id in ids)
    datasets = [store.list_datasets(run_id) for run_id in ids]
    environments = [store.get_environment(run_id) or {} for run_id in ids]
    rows = [
        *_run_rows(runs),
        *_mapping_rows(Section.PARAMS, [run.params for run in runs]),
        *_metric_rows(runs),
        *_mapping_rows(Section.DATASETS, [_digests(found) for found in datasets]),
        *_git_rows(environments),
        *_package_rows(environments, all_packages=all_packages),
    ]
    return Comparison(runs=runs, rows=tuple(rows))


def _row(section: Section, key: str, values: Sequence[Any]) -> ComparisonRow:
    return ComparisonRow(section=section, key=key, values=tuple(values), differs=_differ(values))


def _differ(values: Sequence[Any]) -> bool:
    """Whether the values are not all the same; NaN equals NaN, 1 differs from 1.0 and True."""
    return len({json.dumps(value, sort_keys=True, default=str) for value in values}) > 1


def _run_rows(runs: Sequence[Run]) -> Iterator[ComparisonRow]:
    fields: dict[str, Callable[[Run], Any]] = {
        "name": lambda run: run.name,
        "experiment": lambda run: run.experiment,
        "status": lambda run: run.status.value,
    }
    for key, get in fields.items():
        yield _row(Section.RUN, key, [get(run) for run in runs])


def _mapping_rows(section: Section, mappings: Sequence[Mapping[str, Any]]) -> Iterator[ComparisonRow]:
    for key in sorted({key for mapping in mappings for key in mapping}):
        yield _row(section, key, [mapping.get(key) for mapping in mappings])


def _metric_rows(runs: Sequence[Run]) -> Iterator[ComparisonRow]:
    for key in sorted({key for run in runs for key in run.metrics}):
        summaries = [run.metrics.get(key) for run in runs]
        for name in _SUMMARIES:
            values = [None if s is None else getattr(s, name) for s in summaries]
            yield _row(Section.METRICS, f"{key}.{name}", values)


def _digests(datasets: Sequence[Dataset]) -> dict[str, str]:
    """Dataset digests keyed by name, or ``name (context)`` when a context was given."""
    return {(d.name if d.context is None else f"{d.name} ({d.context})"): d.digest for d in datasets}


def _git_rows(environments: Sequence[Mapping[str, Any]]) -> Iterator[ComparisonRow]:
    gits = [_captured(env, "git") for env in environments]
    for key in ("commit", "dirty"):
        yield _row(Section.GIT, key, [git.get(key) for git in gits])


def _package_rows(
    environments: Sequence[Mapping[str, Any]], *, all_packages: bool
) -> Iterator[ComparisonRow]:
    packages = [_captured(env, "packages") for env in environments]
    for row in _mapping_rows(Section.PACKAGES, packages):
        if all_packages or row.differs:
            yield row


def _captured(env: Mapping[str, Any], part: str) -> Mapping[str, Any]:
    """One mapping part of a captured environment; empty when absent or when its capture failed."""
    value = env.get(part)
    if not isinstance(value, Mapping) or set(value) == {"error"}:
        return {}
    return value
