"""The run object ``wandb.init()`` returns, with W&B's ``config``, ``summary`` and ``log`` semantics.

Steps follow W&B: every ``log`` call without ``step`` commits one row at the run's current step
and moves to the next; ``commit=False`` adds to the row without committing it; ``log(d, step=s)``
commits the pending row when ``s`` is past it and leaves the new row open (``commit=True`` closes
it); a step below the current one is dropped with a warning. A committed row's numbers go to the
sweeptrack run as metrics at that step (nested dicts flattened with ``/``); a metric given a
``step_metric`` by :meth:`WandbRun.define_metric` is logged at that metric's latest value instead.
"""

from __future__ import annotations

import atexit
import fnmatch
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeptrack.compat._values import as_float, flatten, is_number, plain_param
from sweeptrack.compat._wandb_media import Artifact, CompatWarning, Media
from sweeptrack.core.errors import InvalidValueError
from sweeptrack.core.model import RunStatus
from sweeptrack.run import status_for_exception

if TYPE_CHECKING:
    from sweeptrack.run import Run

__all__ = ["Config", "Summary", "WandbRun"]


class Config(MutableMapping[str, Any]):
    """``wandb.config``: attribute and item access; every value set is logged as a param (nested
    dicts as dotted params). Keys a sweep sampled are locked: the sweep's value wins, as in W&B."""

    def __init__(self, owner: WandbRun, locked: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_data", dict(locked))
        object.__setattr__(self, "_locked", frozenset(locked))

    def update(self, d: Any = None, allow_val_change: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several keys (a dict, an argparse Namespace or keyword arguments)."""
        values = dict(vars(d) if d is not None and not isinstance(d, Mapping) else d or {}, **kwargs)
        fresh = {}
        for key, value in values.items():
            if key in self._locked:
                continue  # the sweep's sampled value wins over the script's default
            if key in self._data and self._data[key] != value and not allow_val_change:
                raise InvalidValueError(
                    f"wandb.config: changing {key!r} from {self._data[key]!r} to {value!r}; pass "
                    "allow_val_change=True to config.update to change it"
                )
            fresh[str(key)] = value
        self._data.update(fresh)
        self._owner._log_params(fresh)

    def setdefaults(self, d: Mapping[str, Any]) -> None:
        self.update({k: v for k, v in d.items() if k not in self._data})

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"wandb.config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __repr__(self) -> str:
        return repr(self._data)


class Summary(MutableMapping[str, Any]):
    """``run.summary``: each logged key's last value; an assigned number is recorded as a point of
    that metric at the current step (so ``metrics.KEY`` shows it), other values as the tag
    ``summary.KEY``."""

    def __init__(self, owner: WandbRun) -> None:
        self._owner = owner
        self._data: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._owner._record_summary(key, value)

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def update(self, d: Any = (), /, **kwargs: Any) -> None:
        for key, value in dict(d, **kwargs).items():
            self[key] = value

    def __repr__(self) -> str:
        return repr(self._data)


class WandbRun:
    """What ``wandb.init()`` returns; ``run`` is the sweeptrack run behind it (None when disabled)."""

    def __init__(
        self,
        run: Run | None,
        *,
        project: str | None = None,
        entity: str | None = None,
        group: str | None = None,
        job_type: str | None = None,
        notes: str | None = None,
        tags: tuple[str, ...] = (),
    ) -> None:
        self._run = run
        self.project, self.entity, self.group, self.job_type = project, entity, group, job_type
        self.notes, self.tags = notes, tags
        self._step = 0
        self._pending: dict[str, Any] = {}
        self._step_metrics: dict[str, str] = {}  # metric name or glob -> its x-axis metric
        self._warned: set[str] = set()
        self._dir: Path | None = None
        self.config = Config(self, run.params if run is not None else {})
        self.summary = Summary(self)
        self._last = self.summary._data  # the fast path updates it in place

    # -- identity -------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._run.id if self._run is not None else "disabled"

    @property
    def name(self) -> str:
        return self._run.name if self._run is not None else "disabled"

    @property
    def step(self) -> int:
        return self._step

    @property
    def dir(self) -> str:
        """A local folder for files; what is in it when the run finishes is stored as artifacts."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix=f"wandb-{self.id[:8]}-"))
        return str(self._dir)

    @property
    def disabled(self) -> bool:
        return self._run is None

    # -- logging --------------------------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Log a row of values with W&B's step semantics (see the module's docstring)."""
        run = self._run
        if step is None and commit is None and not self._pending and not self._step_metrics:
            # The common call, ``wandb.log({"loss": x})``: straight to the run when every value is
            # a plain number (a few microseconds; the rest goes the general way below).
            for value in data.values():
                kind = type(value)
                if kind is not float and kind is not int:
                    break
            else:
                if run is not None:
                    run.log_metrics(data, self._step)
                self._last.update(data)
                self._step += 1
                return
        self._log_row(flatten(data, "/"), step, commit)

    def _log_row(self, row: dict[str, Any], step: int | None, commit: bool | None) -> None:
        if step is not None:
            step = int(step)
            if step < self._step:
                self._warn_once(
                    "step",
                    f"wandb.log: step {step} is below the current step {self._step}; "
                    "W&B steps only grow, so this row is dropped",
                )
                return
            if step > self._step:
                self._commit()
                self._step = step
        self._pending.update(row)
        if commit is True or (commit is None and step is None):
            self._commit()

    def commit(self) -> None:
        """Log the open row (``finish`` and the end of the script do)."""
        self._commit()

    def _commit(self) -> None:
        row, self._pending = self._pending, {}
        if not row:
            return
        step = self._step
        self._step += 1
        numbers: dict[str, Any] = {}
        for key, value in row.items():
            if is_number(value):
                numbers[key] = as_float(value)  # bools, tensors and numpy scalars too
            elif value is not None:
                self._store_value(key, value, step)
        self._last.update(numbers)
        if self._run is None or not numbers:
            return
        if not self._step_metrics:
            self._run.log_metrics(numbers, step)
            return
        for key, value in numbers.items():
            self._run.log_metric(key, value, self._x_of(key, step))

    def _x_of(self, key: str, step: int) -> int:
        axis = self._step_metrics.get(key)
        if axis is None:
            axis = next(
                (x for pattern, x in self._step_metrics.items() if fnmatch.fnmatchcase(key, pattern)), None
            )
        x = self._last.get(axis) if axis is not None and axis != key else None
        return step if x is None else int(x)

    def _store_value(self, key: str, value: Any, step: int) -> None:
        items = value if isinstance(value, list | tuple) and value and isinstance(value[0], Media) else None
        if isinstance(value, Media) or items:
            if self._run is None or self._run.artifacts is None:
                self._warn_once(
                    type(value).__name__, f"wandb.log: {key!r} is not stored: this run has no artifact store"
                )
                return
            for index, item in enumerate(items or [value]):
                suffix = f"-{index}" if items else ""
                item.store(self._run, f"media/{key}/{step}{suffix}")
            return
        self._warn_once(
            type(value).__name__,
            f"wandb.log: values of type {type(value).__name__} (as {key!r}) are not stored; log numbers, "
            "or wandb.Image, wandb.Table or wandb.Histogram",
        )

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(message, CompatWarning, stacklevel=5)

    def _log_params(self, values: Mapping[str, Any]) -> None:
        if self._run is not None and values:
            flat = flatten(values, ".")
            self._run.log_params({key: plain_param(value) for key, value in flat.items()})

    def _record_summary(self, key: str, value: Any) -> None:
        if self._run is None:
            return
        if is_number(value) and not isinstance(value, bool):
            self._run.log_metric(key, value, max(self._step - 1, 0))
        else:
            self._run.set_tag(f"summary.{key}", value)

    # -- the rest of the run API ----------------------------------------------------------------
    def define_metric(
        self, name: str, step_metric: str | None = None, summary: str | None = None, **_: Any
    ) -> None:
        """``step_metric``: the metric whose latest value is ``name``'s step (``name`` may be a
        glob such as ``"val/*"``); ``summary`` is kept as the tag ``define_metric.NAME.summary``
        (sweeptrack keeps every metric's min, max and last anyway)."""
        if step_metric is not None:
            self._step_metrics[name] = step_metric
        if summary is not None and self._run is not None:
            self._run.set_tag(f"define_metric.{name}.summary", summary)

    def log_artifact(self, artifact_or_path: Artifact | str | Path, name: str | None = None, **_: Any) -> Any:
        """Store an :class:`Artifact`'s files, or one file or folder, as artifacts."""
        if self._run is None:
            return artifact_or_path
        if isinstance(artifact_or_path, Artifact):
            artifact_or_path.store(self._run)
        else:
            path = Path(artifact_or_path)
            self._run.log_artifact(path, f"artifacts/{name or path.name}")
        return artifact_or_path

    def save(
        self, glob_str: str | Path, base_path: str | Path | None = None, policy: str = "live"
    ) -> list[str]:
        """Store the files matching ``glob_str`` as artifacts (named relative to ``base_path``)."""
        pattern = Path(glob_str)
        root = Path(base_path) if base_path is not None else pattern.parent
        matches = sorted(p for p in pattern.parent.glob(pattern.name) if p.is_file())
        if self._run is not None:
            for path in matches:
                self._run.log_artifact(path, path.relative_to(root).as_posix())
        return [str(p) for p in matches]

    def watch(self, *_: Any, **__: Any) -> None:
        """Gradients and parameters are not recorded (one note per run)."""
        if "watch" not in self._warned:
            self._warned.add("watch")
            print("sweeptrack: wandb.watch() records nothing (gradients are not tracked)", file=sys.stderr)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Commit the pending row, store the files in :attr:`dir`, and end the run (FAILED for a
        non-zero ``exit_code``); inside a sweep trial, only flush."""
        if exit_code:
            self._end(RunStatus.FAILED, f"exit code {exit_code}")
        else:
            self._end(RunStatus.FINISHED, None)

    def _end(self, status: RunStatus, error: str | None) -> None:
        self._commit()
        atexit.unregister(self.commit)
        run = self._run
        if run is None or run.ended:
            return
        if self._dir is not None and any(self._dir.iterdir()):
            run.log_artifact(self._dir, "files")
        run.end(status, error)

    def __enter__(self) -> WandbRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, _tb: Any) -> None:
        self._end(*status_for_exception(exc))

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"wandb.Run.{name} is not available in sweeptrack's wandb module; the run behind it is "
            "sweeptrack.active_run() (params, metrics, tags, artifacts)"
        )
