"""The part of the ``wandb`` module that training scripts use, over sweeptrack's run API.

``import sweeptrack.compat.wandb as wandb`` is the one change a W&B script needs (inside a program
sweep, not even that: ``import wandb`` loads this module). ``wandb.init()`` starts a sweeptrack run
(inside a sweep trial it attaches to the trial's run, and ``wandb.config`` holds the sampled
values); ``wandb.log`` follows W&B's step semantics (see :mod:`sweeptrack.compat._wandb_run`);
``wandb.agent`` runs a sweep with :func:`sweeptrack.run_sweep`. Anything else W&B has raises an
AttributeError that says what to use instead.

The current run lives in one ContextVar, as the run API's active run does.

Example:
    >>> import sweeptrack.compat.wandb as wandb                       # doctest: +SKIP
    >>> run = wandb.init(project="digits", config={"lr": 1e-3})      # doctest: +SKIP
    >>> wandb.log({"loss": 0.3})                                     # doctest: +SKIP
    >>> wandb.finish()                                               # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sweeptrack import fluent
from sweeptrack.compat._wandb_media import Artifact, CompatWarning, Histogram, Image, Table
from sweeptrack.compat._wandb_run import Config, Summary, WandbRun

__all__ = [
    "Artifact",
    "CompatWarning",
    "Config",
    "Histogram",
    "Image",
    "Settings",
    "Summary",
    "Table",
    "WandbRun",
    "agent",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "login",
    "save",
    "sweep",
    "watch",
]

_current: contextvars.ContextVar[WandbRun | None] = contextvars.ContextVar("sweeptrack_wandb", default=None)

# wandb.init keywords that change nothing here (W&B's own settings); any other unknown one is an error.
_IGNORED_INIT = frozenset(
    {"dir", "id", "resume", "resume_from", "fork_from", "settings", "save_code", "anonymous", "magic",
     "sync_tensorboard", "monitor_gym", "allow_val_change", "config_exclude_keys", "config_include_keys",
     "force", "tensorboard"}
)  # fmt: skip


def init(
    project: str | None = None,
    entity: str | None = None,
    name: str | None = None,
    config: Any = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    mode: str | None = None,
    reinit: bool | str | None = None,
    **settings: Any,
) -> WandbRun:
    """Start a run (``project`` is its experiment) and return it; inside a sweep trial, attach to the
    trial's run. ``config`` (a dict or an argparse Namespace) is logged as params; W&B ``tags``
    become tags named after them, ``group``/``job_type``/``notes``/``entity`` tags of those names.
    ``mode="disabled"`` records nothing. A second ``init`` returns the current run unless
    ``reinit`` asks for a new one."""
    unknown = sorted(set(settings) - _IGNORED_INIT)
    if unknown:
        raise TypeError(f"wandb.init() got an unexpected keyword argument {unknown[0]!r}")
    current = _live()
    if current is not None:
        if not reinit or reinit == "return_previous":
            return current
        current.finish()
    if mode == "disabled":
        run = WandbRun(None)
    else:
        labels = {"group": group, "job_type": job_type, "notes": notes, "entity": entity}
        st_tags = {**{tag: "true" for tag in tags or ()}, **{k: v for k, v in labels.items() if v}}
        active = fluent.start_run(experiment=project or None, name=name, tags=st_tags)
        run = WandbRun(
            active,
            project=project,
            entity=entity,
            group=group,
            job_type=job_type,
            notes=notes,
            tags=tuple(tags or ()),
        )
    if config is not None:
        run.config.update(config if isinstance(config, Mapping) else vars(config), allow_val_change=True)
    if not run.disabled:
        # W&B commits a row left open (``log(d, step=s)`` without finish) when the script exits; this
        # hook runs before the run API's own (atexit is last in, first out).
        atexit.register(run.commit)
    _current.set(run)
    return run


def _live() -> WandbRun | None:
    """The current run, unless its sweeptrack run ended (``st.end_run``, or a sweep worker that
    finished the trial and runs the next one in the same process)."""
    run = _current.get()
    if run is None:
        return None
    inner = run._run
    if inner is not None and inner.ended:
        _current.set(None)
        return None
    return run


def _require(call: str) -> WandbRun:
    run = _live()
    if run is None:
        raise RuntimeError(f"wandb.{call}: call wandb.init() first")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log a row of values to the current run (W&B's step and commit semantics)."""
    run = _current.get()
    if run is None or (run._run is not None and run._run.ended):
        run = _require("log")
    run.log(data, step, commit)


def define_metric(
    name: str, step_metric: str | None = None, summary: str | None = None, **kwargs: Any
) -> None:
    """See :meth:`WandbRun.define_metric`."""
    _require("define_metric").define_metric(name, step_metric, summary, **kwargs)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run (nothing when there is none)."""
    run = _live()
    if run is not None:
        run.finish(exit_code)
        _current.set(None)


def save(glob_str: str | Path, base_path: str | Path | None = None, policy: str = "live") -> list[str]:
    """Store matching files as artifacts of the current run."""
    return _require("save").save(glob_str, base_path, policy)


def log_artifact(artifact_or_path: Artifact | str | Path, name: str | None = None, **kwargs: Any) -> Any:
    """Store an :class:`Artifact`, a file or a folder as artifacts of the current run."""
    return _require("log_artifact").log_artifact(artifact_or_path, name, **kwargs)


def watch(*args: Any, **kwargs: Any) -> None:
    """Records nothing (one note per run)."""
    _require("watch").watch(*args, **kwargs)


def login(*_: Any, **__: Any) -> bool:
    """Nothing to log in to: runs go to the sweeptrack database."""
    return True


class Settings:
    """``wandb.Settings(...)`` for ``wandb.init(settings=...)``: W&B's own options change nothing here."""

    def __init__(self, **options: Any) -> None:
        self.options = options


class SweepId(str):
    """What :func:`sweep` returns: a name for the sweep that carries its config to :func:`agent`."""

    config: dict[str, Any]


def sweep(sweep: Mapping[str, Any], entity: str | None = None, project: str | None = None, **_: Any) -> str:
    """Keep a sweep config for :func:`agent` (nothing is created until the agent runs)."""
    sweep_id = SweepId(str(sweep.get("name") or "sweep"))
    sweep_id.config = {**dict(sweep), **({"project": project} if project and "project" not in sweep else {})}
    return sweep_id


def agent(
    sweep_id: str | Mapping[str, Any],
    function: Callable[..., Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
) -> Any:
    """Run a sweep here: ``sweep_id`` is what :func:`sweep` returned, a sweep file or a config dict;
    ``function`` (no arguments, as in W&B: it calls ``wandb.init()`` and reads ``wandb.config``) runs
    each trial; ``count`` caps the trials. The database is ``SWEEPTRACK_DB`` (else
    ``sqlite:///sweeptrack.db``). Returns the sweep's result."""
    from sweeptrack.controller import run_sweep  # Optuna loads only for sweeps

    spec: Any
    if isinstance(sweep_id, SweepId):
        spec = sweep_id.config
    elif isinstance(sweep_id, Mapping):
        spec = dict(sweep_id)
    elif Path(sweep_id).is_file():
        spec = str(sweep_id)
    else:
        raise ValueError(
            f"wandb.agent: {sweep_id!r} is neither a sweep file nor what wandb.sweep() returned; W&B "
            "sweep ids live on W&B's server, so pass the sweep's YAML file or its config dict"
        )
    if isinstance(spec, dict) and project and "project" not in spec:
        spec["project"] = project
    db = os.environ.get("SWEEPTRACK_DB") or fluent.DEFAULT_DB
    return run_sweep(spec, db=db, trials=count, function=_finishing(function) if function else None)


def _finishing(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` followed by :func:`finish`, as W&B's agent finishes each trial's run."""

    @functools.wraps(function)  # the worker reads the signature to know whether to pass the config
    def trial(*args: Any) -> Any:
        try:
            return function(*args)
        finally:
            finish()

    return trial


# What W&B scripts reach for that this module does not have, and what to use instead.
_INSTEAD = {
    "Api": "sweeptrack.Client(db) to query runs",
    "alert": "a tag (wandb.run.summary or sweeptrack.set_tag)",
    "controller": "`sweeptrack sweep run FILE` (the controller runs here)",
    "plot": "wandb.Table logged with wandb.log, then `sweeptrack report`",
    "Video": "wandb.save(path) to store the file",
    "Audio": "wandb.save(path) to store the file",
    "Object3D": "wandb.save(path) to store the file",
    "Html": "wandb.save(path) to store the file",
    "use_artifact": "the files from `sweeptrack runs show RUN` (artifacts are stored by digest)",
    "restore": "the files from `sweeptrack runs show RUN`",
    "unwatch": "nothing (wandb.watch records nothing)",
    "mark_preempting": "nothing (a killed trial ends KILLED)",
}


def __getattr__(name: str) -> Any:
    if name == "run":
        return _live()
    if name in ("config", "summary"):
        run = _live()
        if run is None:
            raise AttributeError(f"wandb.{name}: call wandb.init() first")
        return getattr(run, name)
    hint = _INSTEAD.get(
        name, "the sweeptrack run API (import sweeptrack as st: st.log_metrics, st.set_tag, ...)"
    )
    raise AttributeError(f"wandb.{name} is not available in sweeptrack's wandb module; use {hint}")
