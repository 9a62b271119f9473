"""The plain data that crosses the search seam: what the controller gets and gives back."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Asked", "Outcome", "PastTrial"]


class Outcome(enum.Enum):
    """How a trial ended, as the search is told."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Asked:
    """A config to run: the trial ``number`` and its ``params`` as they are logged and passed to
    training code (flat dotted names, values already transformed: q-rounded, normal via the
    inverse CDF, ...)."""

    number: int
    params: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class PastTrial:
    """A finished trial read back from the database on resume (see :meth:`Search.restore`).

    ``params`` are the logged values, ``values`` one per metric (for ``COMPLETE``), and
    ``intermediate`` the objective's logged values by step. ``number`` is the trial's number in
    the sweep; when given, trials asked after the restore are numbered above every restored one.
    """

    params: Mapping[str, Any]
    outcome: Outcome
    values: Sequence[float | None] | None = None
    intermediate: Mapping[int, float] = field(default_factory=dict)
    number: int | None = None
