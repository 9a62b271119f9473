"""Search: the bridge between the sweep controller and an in-memory Optuna study."""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import warnings
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from sweeptrack.core.errors import SweepError
from sweeptrack.core.model import Goal
from sweeptrack.search._errors import SearchExhausted
from sweeptrack.search._grid import GridWalk
from sweeptrack.search._pruners import counts_reports, make_pruner
from sweeptrack.search._samplers import check_dependencies, make_sampler, reseed
from sweeptrack.search._space import SpaceCodec
from sweeptrack.search._types import Asked, Outcome, PastTrial
from sweeptrack.spec.model import Method, SweepSpec

__all__ = ["Search"]

_STATES = {Outcome.COMPLETE: TrialState.COMPLETE, Outcome.PRUNED: TrialState.PRUNED}


@contextlib.contextmanager
def _quiet_study_creation() -> Iterator[None]:
    """Hide Optuna's INFO line "A new study created in memory" without touching Optuna's global
    verbosity: only the in-memory storage's own logger is raised, and only for this call."""
    logger = logging.getLogger("optuna.storages._in_memory")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass(slots=True)
class _Running:
    trial: optuna.Trial
    steps: set[int] = field(default_factory=set)
    count: int = 0
    pruned: bool = False


class Search:
    """Asks an in-memory Optuna study for configs and tells it how trials went.

    The controller sees trial numbers and plain dicts only; Optuna objects stay in this package.
    Not thread-safe: the controller is the one caller.

    The draws for sweep trial ``n`` come from ``(seed, n)`` alone (see :meth:`ask`); without a
    ``seed`` in the spec, ``seed`` is used, else one is drawn here (then :meth:`use_seed` sets the
    sweep's own before the first ask).

    Example:
        >>> search = Search(spec)                                  # doctest: +SKIP
        >>> asked = search.ask()                                   # doctest: +SKIP
        >>> if search.report(asked.number, step=0, value=0.9): ...  # doctest: +SKIP
        >>> search.tell(asked.number, Outcome.COMPLETE, [0.42])     # doctest: +SKIP

    Raises:
        SpecError: a space the method cannot search (grid over a continuous distribution, cmaes
            with several metrics) or pruner options the pruner does not take.
        MissingDependencyError: the method needs a package that is not installed (gp: torch).
    """

    def __init__(self, spec: SweepSpec, *, seed: int | None = None) -> None:
        self._spec = spec
        self._seed = spec.seed if spec.seed is not None else seed
        if self._seed is None:
            self._seed = secrets.randbits(63)
        self._codec = SpaceCodec(spec.parameters, source=spec.source)
        self._multi = len(spec.metrics) > 1
        check_dependencies(spec.method, n_objectives=len(spec.metrics), source=spec.source)
        self._grid: GridWalk | None = None
        self._grid_size: int | None = None
        if spec.method is Method.GRID:
            self._grid = GridWalk(self._codec.grid_choices())
            self._grid_size = self._codec.grid_size()
        self._counts = counts_reports(spec.pruner)
        # A sweep without a metric (grid or random) is sampled without being ranked: its study
        # gets one direction and its trials are told as failed, which neither sampler reads.
        directions = [
            StudyDirection.MAXIMIZE if m.goal is Goal.MAXIMIZE else StudyDirection.MINIMIZE
            for m in spec.metrics
        ] or [StudyDirection.MINIMIZE]
        with _quiet_study_creation():
            self._study = optuna.create_study(
                directions=directions,
                sampler=make_sampler(spec.method, seed=self._seed % 2**32, weights=self._codec.weights),
                pruner=make_pruner(spec.pruner, source=spec.source),
            )
        self._running: dict[int, _Running] = {}
        self._queue: deque[tuple[dict[str, Any], dict[str, Any]]] = deque()
        self._numbers: list[int] = []  # Optuna's trial number -> the sweep's trial number
        self._next_number = 0
        self._saw_nonfinite = False

    @property
    def seed(self) -> int:
        """The seed the draws come from: the spec's, else the one given or drawn."""
        assert self._seed is not None
        return self._seed

    def use_seed(self, seed: int) -> None:
        """Draw from ``seed`` unless the spec names one (a sweep without ``seed:`` keeps one of its
        own, e.g. derived from its id, so a resume continues the same sequence)."""
        if self._spec.seed is None:
            self._seed = seed

    @property
    def grid_size(self) -> int | None:
        """How many configs a grid has (the product of the discrete choices); None for others."""
        return self._grid_size

    def ask(self, trial: int | None = None) -> Asked:
        """The config for sweep trial ``trial``: an enqueued one first, else the sampler's (or
        the grid's point ``trial``, or its next one not taken).

        ``trial`` (default: this search's next number, and the grid's next point) seeds every
        random draw of the ask with ``(seed, trial)``, so a trial number gets the same config
        whatever was asked before it in this process: a resumed or re-dispatched number samples
        what an uninterrupted sweep samples. A model-based sampler past its start-up trials
        also depends on what it was told.

        Raises:
            SearchExhausted: a grid whose every config was asked (and nothing is enqueued).
        """
        given: dict[str, Any] = {}
        fixed: dict[str, Any] | None = None
        if self._queue:
            fixed, given = self._queue.popleft()
        elif self._grid is not None:
            fixed = self._grid.next() if trial is None else self._grid.at(trial)
            if fixed is None:
                raise SearchExhausted(f"the grid's {self._grid_size} configs have all been asked")
        if fixed is not None:
            self._study.enqueue_trial(fixed)
        reseed(self._study.sampler, self.seed, self._next_number if trial is None else trial)
        asked = self._study.ask(self._codec.distributions)
        if self._grid is not None:
            self._grid.take(asked.params)
        number = self._next_number
        self._next_number += 1
        self._numbers.append(number)
        self._running[number] = _Running(asked)
        return Asked(number=number, params={**self._codec.decode(asked.params), **given})

    def report(self, number: int, step: int, value: float) -> bool:
        """Feed one intermediate value of the objective (the first metric); True means prune.

        Cheap enough for every logged value. A step already reported, a negative step, and a
        trial that is not running are ignored (False). Once a trial is told to prune, later
        reports answer True. With W&B hyperband the step is the report count (1-based) and
        non-finite values are not counted; other pruners get NaN as it is. Multi-objective
        sweeps are never pruned.
        """
        running = self._running.get(number)
        if running is None or self._multi:
            return False
        if running.pruned:
            return True
        if step < 0 or step in running.steps:
            return False
        value = float(value)
        running.steps.add(step)
        if self._counts:
            if not math.isfinite(value):
                return False
            running.count += 1
            step = running.count
        running.trial.report(value, step)
        if math.isfinite(value) and not self._saw_nonfinite:
            running.pruned = running.trial.should_prune()
            return running.pruned
        self._saw_nonfinite = True
        # numpy warns "All-NaN slice encountered" inside Optuna's pruners; the NaN is expected here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            running.pruned = running.trial.should_prune()
        return running.pruned

    def tell(self, number: int, outcome: Outcome, values: Sequence[float | None] | None = None) -> None:
        """Tell how trial ``number`` ended.

        ``COMPLETE`` needs one value per metric; a missing or NaN value makes it a failed trial.
        ``PRUNED`` records the last intermediate value as the trial's value. Telling a trial that
        was already told is ignored.

        Raises:
            SweepError: ``number`` was never asked from this search.
            ValueError: ``COMPLETE`` with a number of values other than the number of metrics.
        """
        running = self._running.pop(number, None)
        if running is None:
            if 0 <= number < self._next_number:
                return
            raise SweepError(f"trial {number} was never asked from this search")
        state, told = self._state_and_values(outcome, values)
        self._study.tell(running.trial, told, state=state)

    def enqueue(self, params: Mapping[str, Any]) -> None:
        """Make a later :meth:`ask` return exactly ``params`` (logged values), first in, first out.

        For retries and for trials that were running when the controller stopped. Parameters left
        out are sampled (for a grid, every parameter must be given).

        Raises:
            ValueError: a name that is not a parameter, a value that is not one of a categorical's
                values, or (grid) a missing parameter.
        """
        internal = self._codec.encode(params)
        if self._grid is not None and set(internal) != set(self._codec.distributions):
            missing = sorted(set(self._codec.params) - set(params))
            raise ValueError(f"a grid trial needs every parameter; missing: {', '.join(missing)}")
        self._queue.append((internal, dict(params)))

    def restore(self, trials: Sequence[PastTrial]) -> None:
        """Add finished trials from the database (on resume), before the first :meth:`ask`.

        The sampler learns from them, a grid does not ask their configs again, and pruners compare
        against their intermediate values. Logged values are turned back into Optuna's (normal
        values through the CDF, q-rounded values clamped into range). Trials asked afterwards are
        numbered above the restored ones.

        Raises:
            SweepError: a trial whose params do not fit the spec's parameters.
        """
        frozen = []
        for index, past in enumerate(trials):
            try:
                frozen.append(self._frozen(past))
            except ValueError as exc:
                label = past.number if past.number is not None else f"#{index}"
                raise SweepError(f"cannot restore trial {label}: {exc}") from exc
            number = past.number if past.number is not None else self._next_number
            self._numbers.append(number)
            self._next_number = max(self._next_number, number + 1)
        self._study.add_trials(frozen)
        if any(not math.isfinite(v) for t in frozen for v in t.intermediate_values.values()):
            self._saw_nonfinite = True
        if self._grid is not None:
            for trial in frozen:
                self._grid.take(trial.params)

    def best(self) -> tuple[int, list[float]] | None:
        """The best complete trial's number and values (multi-objective: the Pareto front's
        first trial by number), or None before any trial completed."""
        if self._multi:
            front = self._study.best_trials
            if not front:
                return None
            best = min(front, key=lambda t: t.number)
        else:
            try:
                best = self._study.best_trial
            except ValueError:
                return None
        assert best.values is not None
        return self._numbers[best.number], list(best.values)

    def _state_and_values(
        self, outcome: Outcome, values: Sequence[float | None] | None
    ) -> tuple[TrialState, list[float] | None]:
        if outcome is not Outcome.COMPLETE:
            return _STATES.get(outcome, TrialState.FAIL), None
        if not self._spec.metrics:
            return TrialState.FAIL, None
        if values is not None and len(values) != len(self._spec.metrics):
            raise ValueError(f"{len(values)} values told for {len(self._spec.metrics)} metrics")
        if values is None or any(v is None or math.isnan(v) for v in values):
            return TrialState.FAIL, None
        return TrialState.COMPLETE, [float(v) for v in values if v is not None]

    def _frozen(self, past: PastTrial) -> FrozenTrial:
        internal = self._codec.encode(past.params)
        state, values = self._state_and_values(past.outcome, past.values)
        intermediate = self._intermediate(past.intermediate)
        if state is TrialState.PRUNED and intermediate and not self._multi:
            last = intermediate[max(intermediate)]
            values = [last] if math.isfinite(last) else None
        return optuna.trial.create_trial(
            state=state,
            values=values,
            params=internal,
            # In the space's order, as an asked trial has them (the database returns params by
            # name): QMC takes its dimensions in this order.
            distributions={k: d for k, d in self._codec.distributions.items() if k in internal},
            intermediate_values=intermediate,
        )

    def _intermediate(self, logged: Mapping[int, float]) -> dict[int, float]:
        """Logged intermediate values by step -> as reported to Optuna (by report count for W&B
        hyperband, without duplicates, negative steps or, when counting, non-finite values)."""
        if self._multi:
            return {}
        steps = sorted(s for s in logged if s >= 0)
        if not self._counts:
            return {s: float(logged[s]) for s in steps}
        finite = [float(logged[s]) for s in steps if math.isfinite(logged[s])]
        return {count: value for count, value in enumerate(finite, start=1)}
