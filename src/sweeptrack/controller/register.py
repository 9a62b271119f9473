"""``register:`` in a sweep spec: at the end of the sweep, the best trial's artifact becomes the
next version of a model (with an alias pointed at it), its lineage the trial's run."""

from __future__ import annotations

from pathlib import Path

from sweeptrack.controller.progress import SweepResult
from sweeptrack.core.registry import ModelVersion
from sweeptrack.spec.model import SweepSpec

__all__ = ["register_best"]


def register_best(
    spec: SweepSpec, result: SweepResult, db: str, artifacts: str | Path | None = None
) -> ModelVersion | None:
    """Register the best trial's artifact as ``spec.register`` says; None when the spec has no
    ``register:`` or no trial finished with a result.

    Raises:
        RegistryError: the best trial logged no such artifact, or it is registered already.
    """
    if spec.register is None or result.best_run_id is None:
        return None
    from sweeptrack.tracking.client import Client

    client = Client(db, artifacts=artifacts)
    try:
        return client.models.register(
            result.best_run_id,
            artifact=spec.register.artifact,
            name=spec.register.name,
            alias=spec.register.alias,
            description=f"best trial of sweep {result.name} ({result.sweep_id[:8]})",
            by=f"sweep {result.name}",
        )
    finally:
        client.close()
