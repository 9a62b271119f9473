"""sweeptrack: hyperparameter sweeps with experiment tracking.

Importing this package stays cheap (no SQLAlchemy, Optuna, Ray or plotly until they are used).

Example:
    >>> import sweeptrack as st
    >>> with st.start_run(experiment="digits") as run:     # doctest: +SKIP
    ...     st.log_metrics({"loss": 0.3}, step=0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweeptrack.core.errors import (
    ArtifactError,
    InvalidValueError,
    QueryError,
    RunNotFoundError,
    SchemaError,
    StoreError,
    SweepTrackError,
)
from sweeptrack.core.model import RunStatus
from sweeptrack.fluent import (
    active_run,
    end_run,
    log_artifact,
    log_dataset,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_tag,
    set_tags,
    should_prune,
    start_run,
)
from sweeptrack.run import Run, TrialPruned
from sweeptrack.tracking.client import Client

__version__ = "0.1.0"


def load_model_path(ref: str, *, db: str | None = None, artifacts: str | None = None) -> Path:
    """The local file of a registered model version (``NAME@alias``, ``NAME/3`` or ``NAME``),
    after checking its digest: what serving code loads.

    ``db`` defaults to ``SWEEPTRACK_DB``, else ``sqlite:///sweeptrack.db``; ``artifacts`` to
    ``SWEEPTRACK_ARTIFACTS``, else the folder beside the database.

    Example:
        >>> model = pickle.loads(st.load_model_path("digits-clf@champion").read_bytes())  # doctest: +SKIP
    """
    import os

    url = db or os.environ.get("SWEEPTRACK_DB") or "sqlite:///sweeptrack.db"
    client = Client(url, artifacts=artifacts or os.environ.get("SWEEPTRACK_ARTIFACTS"))
    try:
        return client.models.path(ref)
    finally:
        client.close()


def log_sklearn(estimator: Any, X_val: Any = None, y_val: Any = None, **options: Any) -> dict[str, float]:
    """Log a fitted scikit-learn estimator's params and its metrics on ``X_val``/``y_val`` to the
    active run (see :func:`sweeptrack.integrations.sklearn.log_sklearn`); returns the metrics.

    Example:
        >>> st.log_sklearn(clf, X_val=X_test, y_val=y_test)["val_accuracy"]   # doctest: +SKIP
    """
    from sweeptrack.integrations.sklearn import log_sklearn as _log_sklearn

    return _log_sklearn(estimator, X_val, y_val, **options)


def run_sweep(spec: Any, db: str = "sqlite:///sweeptrack.db", **options: Any) -> Any:
    """Run a sweep (a YAML path or a SweepSpec) to its end and return its SweepResult.

    Example:
        >>> result = st.run_sweep("sweeps/quickstart.yaml", db="sqlite:///sweeptrack.db")  # doctest: +SKIP
        >>> result.best_value, result.best_params                                        # doctest: +SKIP
    """
    from sweeptrack.controller import run_sweep as _run_sweep  # Optuna loads only for sweeps

    return _run_sweep(spec, db, **options)


__all__ = [
    "ArtifactError",
    "Client",
    "InvalidValueError",
    "QueryError",
    "Run",
    "RunNotFoundError",
    "RunStatus",
    "SchemaError",
    "StoreError",
    "SweepTrackError",
    "TrialPruned",
    "active_run",
    "end_run",
    "load_model_path",
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_sklearn",
    "run_sweep",
    "set_tag",
    "set_tags",
    "should_prune",
    "start_run",
]
