"""MLflow's fluent tracking API (``mlflow.start_run``, ``mlflow.log_metric``, ...) over sweeptrack runs.

``import sweeptrack.compat.mlflow as mlflow`` and an MLflow script runs as it is: ``set_tracking_uri``
takes a sweeptrack database URL (``sqlite:///...``, ``postgresql+psycopg://...``),
``set_experiment`` names the experiment, a nested run is a run of its own with the tag
``mlflow.parentRunId`` (MLflow's own tag for it), and ``log_input`` records a dataset digest.
Inside a sweep trial every run is the trial's run. The shim's settings and its stack of open runs
live in one small object in a ContextVar, as the run API's active run does.

Example:
    >>> import sweeptrack.compat.mlflow as mlflow          # doctest: +SKIP
    >>> with mlflow.start_run():                           # doctest: +SKIP
    ...     mlflow.log_param("lr", 0.01)
    ...     mlflow.log_metric("loss", 0.3, step=1)
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

from sweeptrack import fluent
from sweeptrack.compat._values import plain_param
from sweeptrack.core.events import DatasetLogged
from sweeptrack.core.limits import check_dataset
from sweeptrack.core.model import Dataset, RunStatus
from sweeptrack.run import Run, status_for_exception
from sweeptrack.trial import TrialRun

__all__ = [
    "ActiveRun",
    "active_run",
    "autolog",
    "data",
    "end_run",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

PARENT_TAG = "mlflow.parentRunId"
_DB_SCHEMES = ("sqlite", "postgresql", "postgres")


@dataclass
class _State:
    """Everything the shim remembers: settings and the open runs, innermost last."""

    tracking_uri: str | None = None
    experiment: str | None = None
    runs: list[ActiveRun] = field(default_factory=list)
    last: ActiveRun | None = None
    noted_autolog: bool = False


_state: contextvars.ContextVar[_State | None] = contextvars.ContextVar("sweeptrack_mlflow", default=None)


def _get() -> _State:
    state = _state.get()
    if state is None:
        state = _State()
        _state.set(state)
    return state


class ActiveRun:
    """What ``start_run`` returns: a context manager; ``info.run_id``, ``info.run_name`` as in MLflow."""

    def __init__(self, run: Run, parent: ActiveRun | None) -> None:
        self.run = run
        self.parent = parent
        self.info = SimpleNamespace(
            run_id=run.id, run_name=run.name, experiment_id=run.experiment, status="RUNNING"
        )

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        status, error = status_for_exception(exc)
        _end(self, status, error)


def set_tracking_uri(uri: str | Path) -> None:
    """Where runs go: a sweeptrack database URL (or a path to a SQLite file)."""
    text = str(uri)
    scheme = text.split(":", 1)[0].split("+", 1)[0].lower() if ":" in text else ""
    if len(scheme) > 1 and scheme not in _DB_SCHEMES:  # one letter: a Windows drive
        raise ValueError(
            f"mlflow.set_tracking_uri({text!r}): sweeptrack records runs in a database; give a URL such "
            "as sqlite:///mlflow.db or postgresql+psycopg://host/db"
        )
    path = f"sqlite:///{Path(text).expanduser().absolute()}"
    _get().tracking_uri = text if scheme in _DB_SCHEMES else path


def get_tracking_uri() -> str:
    import os

    return _get().tracking_uri or os.environ.get("SWEEPTRACK_DB") or fluent.DEFAULT_DB


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Any:
    """The experiment later runs belong to; returns an object with ``name`` and ``experiment_id``."""
    name = experiment_name or experiment_id
    if not name:
        raise ValueError("mlflow.set_experiment: give experiment_name")
    _get().experiment = name
    return SimpleNamespace(name=name, experiment_id=name)


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (``nested=True`` inside another: a child run tagged with its parent's id)."""
    if run_id is not None:
        raise ValueError(
            "mlflow.start_run(run_id=...): sweeptrack cannot reopen an ended run; start a new one"
        )
    state = _get()
    parent = state.runs[-1] if state.runs else None
    if parent is not None and not nested:
        raise RuntimeError(
            f"mlflow.start_run: run {parent.run.id} is already active; end it with mlflow.end_run() "
            "or start a child with start_run(nested=True)"
        )
    all_tags = {str(k): v for k, v in (tags or {}).items()}
    parent_id = parent.run.id if parent is not None else parent_run_id
    if parent_id is not None and (parent is None or not isinstance(parent.run, TrialRun)):
        all_tags[PARENT_TAG] = parent_id
    if description:
        all_tags["mlflow.note.content"] = description
    experiment = experiment_id or state.experiment
    if parent is not None and isinstance(parent.run, TrialRun):
        run: Run = parent.run  # a trial has one run: children log to it
    else:
        run = fluent.start_run(experiment=experiment, name=run_name, tags=all_tags, db=get_tracking_uri())
    active = ActiveRun(run, parent)
    state.runs.append(active)
    return active


def end_run(status: str = "FINISHED") -> None:
    """End the innermost run (``status``: FINISHED, FAILED or KILLED, as MLflow names them)."""
    state = _get()
    if state.runs:
        _end(state.runs[-1], RunStatus(status.lower()), None)


def _end(active: ActiveRun, status: RunStatus, error: str | None) -> None:
    state = _get()
    if active in state.runs:
        state.runs.remove(active)
    state.last = active
    active.info.status = status.name
    if active.parent is not None and active.parent.run is active.run:
        active.run.flush()  # a child of a trial's run: the trial goes on
        return
    active.run.end(status, error)
    if active.parent is not None:
        fluent.reactivate(active.parent.run)


def active_run() -> ActiveRun | None:
    runs = _get().runs
    return runs[-1] if runs else None


def last_active_run() -> ActiveRun | None:
    state = _get()
    return state.runs[-1] if state.runs else state.last


def _run() -> Run:
    state = _get()
    if not state.runs:
        start_run()
    return state.runs[-1].run


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    _run().log_param(key, plain_param(value))
    return value


def log_params(params: Mapping[str, Any], synchronous: bool | None = None) -> None:
    _run().log_params({key: plain_param(value) for key, value in params.items()})


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    **_: Any,
) -> None:
    """Log one point; as in MLflow, ``step`` defaults to 0; ``synchronous=True`` waits until it is
    handed to the database (or the sweep controller)."""
    run = _run()
    run.log_metric(key, value, step or 0, timestamp)
    if synchronous:
        run.flush()


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    **_: Any,
) -> None:
    run = _run()
    for key, value in metrics.items():
        run.log_metric(key, value, step or 0, timestamp)
    if synchronous:
        run.flush()


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    _run().set_tag(key, value)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    _run().set_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None, **_: Any) -> None:
    """Store a file (or a folder) under ``artifact_path``, as MLflow names it."""
    path = Path(local_path)
    _run().log_artifact(path, f"{artifact_path}/{path.name}" if artifact_path else path.name)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None, **_: Any) -> None:
    """Store every file under ``local_dir`` (at the top level, or under ``artifact_path``)."""
    run = _run()
    folder = Path(local_dir)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        run.log_artifact(path, f"{artifact_path}/{relative}" if artifact_path else relative)


def log_dict(dictionary: Any, artifact_file: str, **_: Any) -> None:
    """Store ``dictionary`` as JSON, or YAML when ``artifact_file`` ends in .yaml/.yml."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        text = yaml.safe_dump(dictionary, sort_keys=False)
    else:
        text = json.dumps(dictionary, indent=2, default=str)
    _run().log_artifact_bytes(artifact_file, text.encode())


def log_text(text: str, artifact_file: str, **_: Any) -> None:
    _run().log_artifact_bytes(artifact_file, text.encode())


def log_input(
    dataset: Any, context: str | None = None, tags: Mapping[str, str] | None = None, **_: Any
) -> None:
    """Record a dataset and its digest: a path or URI, or a dataset from :data:`data`."""
    run = _run()
    if isinstance(dataset, str | Path):
        run.log_dataset(Path(str(dataset)).stem or str(dataset), dataset, context)
        return
    name, source, digest = dataset.name, str(dataset.source), dataset.digest
    check_dataset(name, source, context)
    record = Dataset(
        name=name, source=source, digest=digest, size=getattr(dataset, "size", None), context=context
    )
    run.sink.emit(DatasetLogged(run_id=run.id, dataset=record))


@dataclass(frozen=True)
class InMemoryDataset:
    """A dataset made from arrays or a data frame; its digest is over its content."""

    name: str
    source: str
    digest: str
    size: int | None = None


class _Data:
    """``mlflow.data``: ``from_numpy`` and ``from_pandas`` for :func:`log_input`."""

    @staticmethod
    def from_numpy(
        features: Any, source: str | None = None, targets: Any = None, name: str | None = None, **_: Any
    ) -> InMemoryDataset:
        import numpy as np

        digest = hashlib.sha256()
        size = 0
        for array in (features, targets):
            if array is not None:
                array = np.ascontiguousarray(array)
                digest.update(f"{array.dtype}{array.shape}".encode())
                digest.update(array.tobytes())
                size += array.nbytes
        return InMemoryDataset(name or "dataset", source or "<numpy>", digest.hexdigest(), size)

    @staticmethod
    def from_pandas(
        df: Any, source: str | None = None, targets: str | None = None, name: str | None = None, **_: Any
    ) -> InMemoryDataset:
        import pandas as pd

        hashed = pd.util.hash_pandas_object(df, index=True).to_numpy()
        digest = hashlib.sha256(",".join(map(str, df.columns)).encode() + hashed.tobytes()).hexdigest()
        return InMemoryDataset(name or "dataset", source or "<pandas>", digest, int(df.memory_usage().sum()))


data = _Data()


def autolog(*_: Any, **__: Any) -> None:
    """Records nothing by itself (one note); log with the calls above or a sweeptrack integration."""
    state = _get()
    if not state.noted_autolog:
        state.noted_autolog = True
        print(
            "sweeptrack: mlflow.autolog() records nothing; log with mlflow.log_* or a framework "
            "integration (sweeptrack.integrations)",
            file=sys.stderr,
        )


def __getattr__(name: str) -> Any:
    raise AttributeError(
        f"mlflow.{name} is not available in sweeptrack's mlflow module; use the sweeptrack run API "
        "(import sweeptrack as st) or sweeptrack.Client(db) to read runs"
    )
