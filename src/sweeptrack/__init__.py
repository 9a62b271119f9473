"""sweeptrack: hyperparameter sweeps with experiment tracking.

Importing this package stays cheap (no SQLAlchemy, Optuna, Ray or plotly until they are used).

Example:
    >>> import sweeptrack as st
    >>> with st.start_run(experiment="digits") as run:     # doctest: +SKIP
    ...     st.log_metrics({"loss": 0.3}, step=0)
"""

from __future__ import annotations

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
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "should_prune",
    "start_run",
]
