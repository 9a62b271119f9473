"""Can this spec's trials start? The entrypoint imports, or the program exists.

Entrypoint modules and programs resolve against the working directory, then the spec file's folder
(``spec.base_dir``), as a trial will. Checking imports the entrypoint module with those folders put
in front of ``sys.path`` for the duration; ``sys.path`` is restored and the module (with its package)
is dropped from ``sys.modules`` again, so a later check from another folder sees a fresh import.
"""

from __future__ import annotations

import difflib
import importlib
import itertools
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

from sweeptrack.core.errors import SpecError
from sweeptrack.spec.model import SweepSpec
from sweeptrack.spec.yamlio import parse_yaml

__all__ = [
    "check_runnable",
    "require_command_or_entrypoint",
    "resolve_program",
    "runs_as_module",
    "search_path",
]

_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def search_path(spec: SweepSpec, cwd: Path) -> tuple[Path, ...]:
    """Where entrypoint modules and programs are looked up, in order: ``cwd``, then ``base_dir``."""
    dirs = [cwd.resolve(), spec.base_dir.resolve()]
    return tuple(dict.fromkeys(dirs))


def check_runnable(spec: SweepSpec, cwd: Path) -> None:
    """Raise :class:`SpecError` unless a trial of ``spec`` can start from ``cwd``.

    ``entrypoint: 'module:function'``: the module imports and ``function`` is a callable attribute
    (dotted attributes such as ``module:Trainer.run`` work). ``program:``: the file exists, or it
    is an executable on PATH, or the command does not use ``${program}``.
    """
    if spec.entrypoint is not None:
        _check_entrypoint(spec, spec.entrypoint, cwd)
    elif spec.program is not None:
        resolve_program(spec, cwd)


def require_command_or_entrypoint(spec: SweepSpec, file: str | Path) -> None:
    """A sweep run from the command line needs a program or an entrypoint; a file with neither
    is run from Python with the training function (``st.run_sweep(file, function=train)``).

    Raises:
        SpecError: the spec has neither.
    """
    if spec.entrypoint is None and spec.command is None:
        raise SpecError(
            "this sweep has neither program nor entrypoint; run it from Python with "
            f'st.run_sweep("{file}", function=train)',
            source=str(file),
        )


def resolve_program(spec: SweepSpec, cwd: Path) -> Path:
    """The program's path: relative to ``cwd``, then ``base_dir``; else an executable on PATH.

    A command that runs it as a module (``python -m ${program}``, ``program: pkg.train``) finds
    ``pkg/train.py`` or ``pkg/train/__main__.py`` in those folders. A program that is found nowhere
    is an error only when the command uses ``${program}``; then its path relative to ``cwd`` is
    returned.
    """
    if spec.program is None:
        raise SpecError("not set; this spec runs no program", source=spec.source, path="program")
    program = Path(spec.program)
    dirs = search_path(spec, cwd)
    candidates = [program] if program.is_absolute() else [folder / program for folder in dirs]
    as_module = runs_as_module(spec)
    if as_module:
        parts = spec.program.split(".")
        candidates = [
            file
            for folder in dirs
            for file in (folder.joinpath(*parts).with_suffix(".py"), folder.joinpath(*parts, "__main__.py"))
        ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    on_path = shutil.which(spec.program)
    if on_path is not None:
        return Path(on_path)
    if not any("${program}" in item for item in spec.command or ()):
        return candidates[0]
    looked = ", ".join(str(folder) for folder in dirs)
    if as_module:
        path = spec.program.replace(".", "/")
        raise _error(
            spec,
            "program",
            f"module {spec.program!r} not found: no {path}.py or {path}/__main__.py in {looked}",
        )
    raise _error(spec, "program", f"file {spec.program!r} not found (looked in {looked})")


def runs_as_module(spec: SweepSpec) -> bool:
    """The command runs the program with ``-m`` (``python -m ${program}``) and it is a dotted name."""
    pairs = itertools.pairwise(spec.command or ())
    return bool(spec.program and _MODULE.match(spec.program)) and ("-m", "${program}") in pairs


def _check_entrypoint(spec: SweepSpec, entrypoint: str, cwd: Path) -> None:
    module_name, _, attribute = entrypoint.partition(":")
    target: object = _import(spec, module_name, search_path(spec, cwd))
    for part in attribute.split("."):
        if not hasattr(target, part):
            names = [n for n in dir(target) if not n.startswith("_") and callable(getattr(target, n, None))]
            close = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            owner = (
                f"module {module_name!r}"
                if target is not None and isinstance(target, ModuleType)
                else repr(target)
            )
            raise _error(spec, "entrypoint", f"{owner} has no attribute {part!r}{hint}")
        target = getattr(target, part)
    if not callable(target):
        raise _error(spec, "entrypoint", f"{attribute!r} in module {module_name!r} is not callable")


def _import(spec: SweepSpec, name: str, dirs: tuple[Path, ...]) -> ModuleType:
    top = name.split(".", 1)[0]
    before = set(sys.modules)
    saved = list(sys.path)
    sys.path[:0] = [str(folder) for folder in dirs]
    importlib.invalidate_caches()
    looked = ", ".join(str(folder) for folder in dirs)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise _error(spec, "entrypoint", f"cannot import module {name!r} (looked in {looked})") from None
        raise _error(spec, "entrypoint", f"importing module {name!r} failed: {exc}") from None
    except (Exception, SystemExit) as exc:
        raise _error(
            spec, "entrypoint", f"importing module {name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        sys.path[:] = saved
        for module in set(sys.modules) - before:
            if module == top or module.startswith(top + "."):
                del sys.modules[module]


def _error(spec: SweepSpec, key: str, message: str) -> SpecError:
    try:
        line = parse_yaml(spec.text, source=spec.source).lines.get(key)
    except SpecError:
        line = None
    return SpecError(message, source=spec.source, line=line, path=key)
