"""Seed-aware ranking: runs that differ only in their seed are one config, ranked by the mean.

Runs are grouped by their params with the seed param (``seed``, or a dotted name ending in
``.seed``) left out, so repeated identical configs group too. A group's interval is the 95%
Student-t interval of the mean (``mean ± t(0.975, n-1) · s/√n``); a single run's interval is its
value. A group whose interval overlaps the leading group's is flagged: the data cannot tell it
apart from the leader.

Example:
    >>> groups, by_run = seed_groups([("a", {"lr": 1, "seed": 1}, 0.9), ("b", {"lr": 1, "seed": 2}, 0.8)],
    ...                              maximize=True, seed_param="seed")
    >>> groups[0].n, round(groups[0].mean, 2), by_run
    (2, 0.85, {'a': 0, 'b': 0})
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sweeptrack.reports.report.model import SeedGroup

__all__ = ["CONFIDENCE", "find_seed_param", "seed_groups"]

CONFIDENCE = 0.95


def find_seed_param(params: Iterable[Mapping[str, Any]]) -> str | None:
    """``seed`` if any run logged it, else the first dotted name ending in ``.seed``, else None."""
    names = {name for mapping in params for name in mapping}
    if "seed" in names:
        return "seed"
    dotted = sorted(name for name in names if name.endswith(".seed"))
    return dotted[0] if dotted else None


def _config_key(params: Mapping[str, Any], seed_param: str | None) -> str:
    shared = {k: v for k, v in params.items() if k != seed_param}
    return json.dumps(shared, sort_keys=True, default=str)


def _interval(values: Sequence[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean
    from scipy import stats  # scipy loads only when seeds are grouped

    sem = statistics.stdev(values) / len(values) ** 0.5
    if sem == 0:
        return mean, mean, mean
    low, high = stats.t.interval(CONFIDENCE, len(values) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def seed_groups(
    scored: Iterable[tuple[str, Mapping[str, Any], float]], *, maximize: bool, seed_param: str | None
) -> tuple[list[SeedGroup], dict[str, int]]:
    """Group scored runs ``(run id, params, value)`` by config; best group first.

    Returns:
        The groups ranked by mean (ties keep first-seen order), and each run id's index into them.
    """
    members: dict[str, list[tuple[str, Mapping[str, Any], float]]] = {}
    for run_id, params, value in scored:
        members.setdefault(_config_key(params, seed_param), []).append((run_id, params, value))
    stats = []
    for items in members.values():
        mean, low, high = _interval([value for _, _, value in items])
        shared = {k: v for k, v in items[0][1].items() if k != seed_param}
        stats.append((mean, low, high, shared, [run_id for run_id, _, _ in items]))
    stats.sort(key=lambda item: -item[0] if maximize else item[0])
    groups: list[SeedGroup] = []
    by_run: dict[str, int] = {}
    for index, (mean, low, high, shared, run_ids) in enumerate(stats):
        leader = stats[0]
        overlaps = index > 0 and low <= leader[2] and high >= leader[1]
        groups.append(
            SeedGroup(
                rank=index + 1,
                params=shared,
                run_ids=run_ids,
                n=len(run_ids),
                mean=mean,
                low=low,
                high=high,
                overlaps_leader=overlaps,
            )
        )
        by_run.update(dict.fromkeys(run_ids, index))
    return groups, by_run
