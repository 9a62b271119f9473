"""Sweep YAML -> a validated :class:`SweepSpec`, or a :class:`SpecError` naming ``FILE:LINE KEY.PATH``.

The format is a superset of the W&B sweep config (every valid W&B config loads as it is, except
``method: custom`` with an external ``scheduler``, which sweeptrack's own methods replace) plus the
sweeptrack keys listed in :data:`SWEEPTRACK_KEYS`. Loading checks the file only; whether the
entrypoint imports or the program exists is :func:`sweeptrack.spec.runnable.check_runnable`'s job.

The independent parts of a file are checked one after the other and every mistake is kept, so a
file with several is refused once, with all of them (:class:`~sweeptrack.core.errors.SpecProblems`).
What W&B's backend tolerates (an unknown top-level key, ``entity: null``, a ``/`` in a parameter
name) loads with a warning in ``spec.warnings``; ``strict=True`` refuses it instead.

Example:
    >>> spec = load_spec_text('''
    ... method: random
    ... metric: {name: val_loss}
    ... parameters:
    ...   lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-2}
    ... entrypoint: train:main
    ... ''')
    >>> spec.parameters["lr"]
    FloatRange(low=1e-05, high=0.01, log=True, q=None)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweeptrack.core.errors import SpecError, raise_problems
from sweeptrack.spec.command import DEFAULT_COMMAND, check_command_item
from sweeptrack.spec.model import (
    DEFAULT_SYSTEM_METRICS_INTERVAL,
    ExecutorSpec,
    ExecutorType,
    Method,
    MetricSpec,
    PrunerSpec,
    PrunerType,
    RegisterSpec,
    Resources,
    SpecWarning,
    SweepSpec,
    WandbModule,
)
from sweeptrack.spec.objective import UNRANKED_METHODS, parse_method, parse_objectives, parse_scheduler
from sweeptrack.spec.params import ParsedParameters, parse_parameters
from sweeptrack.spec.pruners import parse_early_terminate
from sweeptrack.spec.section import Section, show
from sweeptrack.spec.units import parse_bytes, parse_duration
from sweeptrack.spec.yamlio import check_size, parse_yaml

__all__ = ["SWEEPTRACK_KEYS", "WANDB_KEYS", "load_spec", "load_spec_text"]

WANDB_KEYS = (
    "method", "parameters", "metric", "metrics", "early_terminate", "program", "command", "run_cap",
    "name", "description", "entity", "project", "controller", "job", "image_uri", "apiVersion", "kind",
    "scheduler",
)  # fmt: skip
SWEEPTRACK_KEYS = (
    "entrypoint", "experiment", "seed", "parallel", "executor", "resources", "retries", "trial_timeout",
    "timeout", "system_metrics_interval", "register", "wandb",
)  # fmt: skip
_TOP_KEYS = frozenset({*WANDB_KEYS, *SWEEPTRACK_KEYS, "parameter"})  # `parameter:` is a W&B docs typo
ENTRYPOINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
RESOURCE_KEYS = ("cpu", "gpu", "gpu_memory")
_METADATA = ("name", "description", "entity", "project", "job", "image_uri", "apiVersion")


def load_spec(path: str | Path, *, strict: bool = False) -> SweepSpec:
    """Load and validate a sweep file. ``source`` is the path as given; ``base_dir`` its folder.

    What W&B tolerates (an unknown top-level key, ``entity: null``, a ``/`` in a parameter name)
    loads, with a :class:`~sweeptrack.spec.model.SpecWarning` in ``spec.warnings``; ``strict``
    makes those errors too.

    Raises:
        SpecError: the file cannot be read, is not YAML, or is not a valid sweep. Several mistakes
            are raised together as :class:`~sweeptrack.core.errors.SpecProblems`.
    """
    source = str(path)
    try:
        check_size(Path(path).stat().st_size, source)  # a huge file is never read whole
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read the spec file: {reason}", source=source) from None
    return load_spec_text(text, source=source, base_dir=Path(path).resolve().parent, strict=strict)


def load_spec_text(
    text: str, *, source: str = "<string>", base_dir: Path | None = None, strict: bool = False
) -> SweepSpec:
    """Validate sweep YAML given as text; ``base_dir`` defaults to the working directory."""
    root = Section(parse_yaml(text, source=source), source=source)
    problems = root.problems
    check = problems.attempt
    root.check_keys(_TOP_KEYS, suggest=[*WANDB_KEYS, *SWEEPTRACK_KEYS], warn=True)
    method = check(parse_method, root)
    if method is not None:
        check(parse_scheduler, root, method)
    params = check(_parameters, root, method)
    pruner = check(_early_terminate, root)
    metrics = check(_objectives, root, method, pruner)
    to_run = check(_what_to_run, root)
    check(_check_wandb_metadata, root)
    fields: dict[str, Any] = {key: check(read, root) for key, read in _FIELDS.items()}
    problems.raise_if_any(strict=strict)
    assert method is not None and params is not None and metrics is not None and to_run is not None
    return SweepSpec(
        text=text,
        source=source,
        base_dir=(base_dir or Path.cwd()).resolve(),
        method=method,
        metrics=metrics,
        parameters=params.space,
        nested=frozenset(params.nested),
        name=root.get("name"),
        description=root.get("description"),
        entrypoint=to_run[0],
        program=to_run[1],
        command=to_run[2],
        pruner=pruner,
        warnings=tuple(problems.warnings),
        **fields,
    )


def _early_terminate(root: Section) -> PrunerSpec | None:
    return parse_early_terminate(root.section("early_terminate")) if "early_terminate" in root else None


def _objectives(root: Section, method: Method | None, pruner: PrunerSpec | None) -> tuple[MetricSpec, ...]:
    """The metrics; none is needed by grid and random without early_terminate (nor checked for
    when the method itself is wrong, which is reported already)."""
    needs_objective = method is not None and (method not in UNRANKED_METHODS or "early_terminate" in root)
    metrics = parse_objectives(root, method or Method.RANDOM, required=needs_objective)
    if len(metrics) > 1 and pruner is not None and pruner.type is not PrunerType.NONE:
        raise root.error(
            "early_terminate", "pruning needs a single metric; Optuna cannot prune several objectives"
        )
    return metrics


def _experiment(root: Section) -> str:
    """``experiment:``, else W&B's ``project:`` (when it is a name), else ``default``."""
    project = root.get("project")
    return (
        root.string("experiment", project if isinstance(project, str) and project.strip() else None)
        or "default"
    )


def _parameters(root: Section, method: Method | None) -> ParsedParameters:
    return parse_parameters(_parameters_block(root), grid=method is Method.GRID)


def _parameters_block(root: Section) -> Section:
    if "parameters" in root and "parameter" in root:
        raise root.error("parameter", "give parameters: once (parameter: is read as parameters:)")
    key = "parameter" if "parameter" in root else "parameters"
    if root.get(key) is None:
        raise root.error("parameters", "required: at least one parameter, e.g. lr: {min: 0.0001, max: 0.1}")
    return root.section(key, what="a mapping of parameter names to their distributions")


def _what_to_run(root: Section) -> tuple[str | None, str | None, tuple[str, ...] | None]:
    """At most one way to run a trial: ``entrypoint``, or ``program`` and/or ``command``; with
    neither, a function given to ``st.run_sweep(file, function=...)`` runs the trials."""
    entrypoint = root.string("entrypoint")
    program = root.string("program")
    if entrypoint is not None:
        if program is not None or "command" in root:
            raise root.error("entrypoint", "give either entrypoint or program/command, not both")
        if not ENTRYPOINT.match(entrypoint):
            raise root.error(
                "entrypoint", f"must be 'module:function' (e.g. 'train:main'), got {entrypoint!r}"
            )
        return entrypoint, None, None
    if program is None and "command" not in root:
        return None, None, None  # a function sweep: st.run_sweep(spec, function=train) runs it
    if "command" not in root:
        return None, program, DEFAULT_COMMAND
    items = root.seq("command")
    errors = []
    for index, item in enumerate(items):
        if not isinstance(item, str):
            errors.append(root.item_error("command", index, f"must be a string, got {show(item)}"))
            continue
        error, warning = check_command_item(item, has_program=program is not None)
        if error:
            errors.append(root.item_error("command", index, error))
        elif warning:
            root.problems.warnings.append(_item_warning(root, index, warning))
    raise_problems(errors)
    return None, program, tuple(items)


def _item_warning(root: Section, index: int, message: str) -> SpecWarning:
    error = root.item_error("command", index, message)
    return SpecWarning(message=message, source=error.source, line=error.line, path=error.path)


def _check_wandb_metadata(root: Section) -> None:
    """W&B keys sweeptrack accepts and ignores still get their types checked; a null one (W&B's
    backend takes ``entity: null``) is a warning."""
    errors = []
    for key in _METADATA:
        if key in root and root.get(key) is None:
            root.warn(key, "null is ignored; give a string or leave the key out")
            continue
        try:
            root.string(key)
        except SpecError as exc:
            errors.append(exc)
    raise_problems(errors)
    root.choice("kind", ("sweep",))
    if "controller" in root:
        controller = root.section("controller")
        controller.check_keys(("type",))
        controller.choice("type", ("local", "cloud"))


def _seed(root: Section) -> int | None:
    seed = root.integer("seed", minimum=0)
    if seed is not None and seed >= 2**32:
        raise root.error("seed", f"must be below 2**32, got {seed}")
    return seed


def _executor(root: Section) -> ExecutorSpec:
    choices = tuple(t.value for t in ExecutorType)
    if "executor" not in root:
        return ExecutorSpec()
    if not isinstance(root.get("executor"), dict):
        return ExecutorSpec(type=ExecutorType(root.choice("executor", choices)))
    sec = root.section("executor")
    sec.check_keys(("type", "address"))
    kind = ExecutorType(sec.choice("type", choices, "local"))
    address = sec.string("address")
    if address is not None and kind is not ExecutorType.RAY:
        raise sec.error("address", "only the ray executor takes an address")
    return ExecutorSpec(type=kind, address=address)


def _resources(root: Section) -> Resources:
    if "resources" not in root:
        return Resources()
    sec = root.section("resources")
    cpu = sec.number("cpu", 1.0, above=0)
    gpu = sec.number("gpu", 0.0, minimum=0)
    assert cpu is not None and gpu is not None
    if gpu > 1 and not float(gpu).is_integer():
        raise sec.error(
            "gpu", f"must be a whole number above 1 (fractions are for sharing one GPU), got {gpu}"
        )
    custom: dict[str, float] = {}
    for key in sec:
        if key in RESOURCE_KEYS:
            continue
        _check_custom_resource_name(sec, key)
        value = sec.number(key, minimum=0)
        custom[key] = float(value or 0)
    return Resources(cpu=float(cpu), gpu=float(gpu), gpu_memory=_gpu_memory(sec), custom=custom)


def _check_custom_resource_name(sec: Section, key: str) -> None:
    close = difflib.get_close_matches(key.lower(), RESOURCE_KEYS, n=1, cutoff=0.8)
    if close:
        raise sec.error(key, f"unknown key; did you mean {close[0]!r}? (other names are custom resources)")


def _gpu_memory(sec: Section) -> int | None:
    value: Any = sec.get("gpu_memory")
    if value is None:
        return None
    try:
        size = parse_bytes(value) if isinstance(value, str | int) else parse_bytes(show(value))
    except ValueError as exc:
        raise sec.error("gpu_memory", str(exc)) from None
    if size <= 0:
        raise sec.error("gpu_memory", f"must be > 0, got {show(value)}")
    return size


def _duration(root: Section, key: str, *, zero: bool = False) -> float | None:
    value: Any = root.get(key)
    if value is None:
        return None
    try:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError(f"must be seconds or a duration like '30m' or '1h30m', got {show(value)}")
        seconds = parse_duration(value)
    except ValueError as exc:
        raise root.error(key, str(exc)) from None
    if seconds <= 0 and not (zero and seconds == 0):
        raise root.error(key, f"must be > 0, got {show(value)}")
    return seconds


def _system_metrics_interval(root: Section) -> float:
    """Seconds between samples of each trial's system metrics; 0 turns them off."""
    seconds = _duration(root, "system_metrics_interval", zero=True)
    return DEFAULT_SYSTEM_METRICS_INTERVAL if seconds is None else seconds


def _register(root: Section) -> RegisterSpec | None:
    """``register: {name: NAME, artifact: PATH, alias: ALIAS, when: best}``."""
    from sweeptrack.core.errors import SweepTrackError
    from sweeptrack.core.registry import check_alias, check_model_name

    if "register" not in root:
        return None
    sec = root.section("register")
    sec.check_keys(("name", "artifact", "alias", "when"))
    name = sec.require("name", "the model's name, e.g. name: digits-clf")
    artifact = sec.require("artifact", "the trial's artifact to register, e.g. artifact: model.pkl")
    checks: list[tuple[str, Any, Callable[[str], str]]] = [
        ("name", name, check_model_name),
        ("artifact", artifact, _artifact_path),
    ]
    alias = sec.string("alias")
    if alias is not None:
        checks.append(("alias", alias, check_alias))
    for key, value, check in checks:
        if not isinstance(value, str):
            raise sec.error(key, f"must be a string, got {show(value)}")
        try:
            check(value)
        except (SweepTrackError, ValueError) as exc:
            raise sec.error(key, str(exc)) from None
    when = sec.choice("when", ("best",), "best") or "best"
    return RegisterSpec(name=name, artifact=artifact, alias=alias, when=when)


def _artifact_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or ".." in parts or not any(parts):
        raise ValueError(f"{path!r} is not a relative artifact path (as the trial logged it, e.g. model.pkl)")
    return path


_FIELDS: dict[str, Callable[[Section], Any]] = {
    "experiment": _experiment,
    "run_cap": lambda root: root.integer("run_cap", minimum=1),
    "seed": _seed,
    "parallel": lambda root: root.integer("parallel", 1, minimum=1) or 1,
    "executor": _executor,
    "resources": _resources,
    "retries": lambda root: root.integer("retries", 0, minimum=0) or 0,
    "trial_timeout": lambda root: _duration(root, "trial_timeout"),
    "timeout": lambda root: _duration(root, "timeout"),
    "system_metrics_interval": _system_metrics_interval,
    "register": _register,
    "wandb": lambda root: WandbModule(root.choice("wandb", [m.value for m in WandbModule], "shim")),
}
