"""Helpers for the search tests: SweepSpec objects built directly (no YAML)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from sweeptrack.core.model import Goal
from sweeptrack.core.space import Distribution
from sweeptrack.spec.model import Method, MetricSpec, PrunerSpec, PrunerType, SweepSpec


def build_spec(
    method: Method,
    parameters: Mapping[str, Distribution],
    *,
    goals: tuple[Goal, ...] = (Goal.MINIMIZE,),
    pruner: PrunerType | None = None,
    pruner_options: Mapping[str, Any] | None = None,
    seed: int | None = 0,
) -> SweepSpec:
    metrics = tuple(MetricSpec(name=f"m{i}", goal=goal) for i, goal in enumerate(goals))
    return SweepSpec(
        text="",
        source="sweep.yaml",
        base_dir=Path("."),
        method=method,
        metrics=metrics,
        parameters=dict(parameters),
        pruner=None if pruner is None else PrunerSpec(type=pruner, options=dict(pruner_options or {})),
        seed=seed,
        entrypoint="train:main",
    )


@pytest.fixture
def make_spec() -> Callable[..., SweepSpec]:
    """``make_spec(method, parameters, goals=..., pruner=..., pruner_options=..., seed=0)``."""
    return build_spec
