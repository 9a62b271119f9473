"""W&B ``command:`` macros: checked when a spec loads, expanded into argv for each trial.

As the W&B agent does, a macro is substituted when it is a whole item of the command:

- ``${env}`` -> ``/usr/bin/env`` (dropped on Windows); ``${interpreter}`` -> the Python to use;
  ``${program}`` -> ``program:``.
- ``${args}`` -> ``--name=value`` per parameter; ``${args_no_hyphens}`` -> ``name=value``;
  ``${args_no_boolean_flags}`` -> ``--name`` for true, nothing for false, ``--name=value`` for the
  rest. Values are written with ``str()`` as W&B does (``True``, ``0.001``, ``1e-05``); a nested
  block is one parameter whose value is its dict.
- ``${args_json}`` -> the parameters as one JSON string; ``${args_json_file}`` -> the path of a JSON
  file holding them (removed when the trial ends); ``${envvar:NAME}`` -> the environment variable.

sweeptrack's extensions: ``${args_no_equals}`` -> ``--name value`` (two items); inside a larger item,
``${name}`` of a parameter (``--batch_size=${batch_size}``) and ``${interpreter}``, ``${program}``,
``${args_json}``, ``${args_json_file}``, ``${envvar:NAME}`` are substituted too.

Any other ``${...}`` text passes through to the program as written, as with W&B: Hydra's
``hydra.run.dir=outputs/${now:%Y-%m-%d}`` or ``${oc.env:WANDB_RUN_ID}`` are the program's business.
An ``${args}``-like macro inside a larger item passes through too, with a warning (W&B would not
expand it either, which is rarely what was meant).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeptrack.core.errors import SpecError

if TYPE_CHECKING:
    from sweeptrack.spec.model import SweepSpec

__all__ = ["DEFAULT_COMMAND", "MACROS", "build_argv", "check_command_item", "command_args"]

DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
WHOLE_ITEM_MACROS = frozenset({"env", "args", "args_no_boolean_flags", "args_no_hyphens", "args_no_equals"})
MACROS = WHOLE_ITEM_MACROS | {"interpreter", "program", "args_json", "args_json_file"}
_MACRO = re.compile(r"\$\{([^}]*)\}")
_ENVVAR = "envvar:"
JSON_FILE_NAME = "args.json"


def check_command_item(item: str, *, has_program: bool) -> tuple[str | None, str | None]:
    """``(error, warning)`` for one command item: each a message, or None."""
    warning = None
    for match in _MACRO.finditer(item):
        name = match[1]
        if name == "program" and not has_program:
            return "${program} is used but program: is not set", None
        if name.startswith(_ENVVAR) and not name[len(_ENVVAR) :].strip():
            return "${envvar:NAME} needs a variable name", None
        if name in WHOLE_ITEM_MACROS and item != match[0] and warning is None:
            warning = (
                f"{match[0]} is substituted only as an item of its own; "
                "here it passes to the program as written"
            )
    return None, warning


def command_args(spec: SweepSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as W&B passes them to a command: nested blocks as dicts, in spec order."""
    nested = spec.nest(params)
    order: list[str] = []
    for name in [*spec.parameters, *params]:
        top = name.split(".", 1)[0] if name in spec.nested else name
        if top in nested and top not in order:
            order.append(top)
    return {key: nested[key] for key in order}


def _flags(args: Mapping[str, Any], macro: str) -> list[str]:
    if macro == "args":
        return [f"--{k}={v}" for k, v in args.items()]
    if macro == "args_no_hyphens":
        return [f"{k}={v}" for k, v in args.items()]
    if macro == "args_no_equals":
        return [part for k, v in args.items() for part in (f"--{k}", str(v))]
    flags = []
    for key, value in args.items():  # args_no_boolean_flags
        if value is True:
            flags.append(f"--{key}")
        elif value is not False:
            flags.append(f"--{key}={value}")
    return flags


class _Expander:
    def __init__(
        self,
        spec: SweepSpec,
        params: Mapping[str, Any],
        python: str,
        environ: Mapping[str, str],
        json_dir: Path,
    ) -> None:
        self.spec = spec
        self.params = params
        self.args = command_args(spec, params)
        self.python = python
        self.environ = environ
        self.json_dir = json_dir
        self.json_file: str | None = None

    def item(self, item: str) -> list[str]:
        whole = _MACRO.fullmatch(item)
        if whole and whole[1] in WHOLE_ITEM_MACROS:
            if whole[1] == "env":
                return [] if os.name == "nt" else ["/usr/bin/env"]
            return _flags(self.args, whole[1])
        return [_MACRO.sub(lambda m: self._inside(m[1], m[0]), item)]

    def _inside(self, name: str, text: str) -> str:
        return text if name in WHOLE_ITEM_MACROS else self.value(name)

    def value(self, name: str) -> str:
        if name == "interpreter":
            return self.python
        if name == "program":
            return self.spec.program or ""
        if name == "args_json":
            return json.dumps(self.args)
        if name == "args_json_file":
            return self._json_file()
        if name.startswith(_ENVVAR):
            return self._envvar(name[len(_ENVVAR) :])
        if name not in self.params:
            return f"${{{name}}}"  # not ours: Hydra's ${now:...}, OmegaConf's ${oc.env:...}, ...
        return str(self.params[name])

    def _json_file(self) -> str:
        if self.json_file is None:
            self.json_dir.mkdir(parents=True, exist_ok=True)
            path = self.json_dir / JSON_FILE_NAME
            path.write_text(json.dumps(self.args), encoding="utf-8")
            self.json_file = str(path)
        return self.json_file

    def _envvar(self, name: str) -> str:
        if name not in self.environ:
            raise self._error(f"environment variable {name!r} is not set (used as ${{envvar:{name}}})", name)
        return self.environ[name]

    def _error(self, message: str, needle: str) -> SpecError:
        line = next((n for n, text in enumerate(self.spec.text.splitlines(), 1) if needle in text), None)
        return SpecError(message, source=self.spec.source, line=line, path="command")


def build_argv(
    spec: SweepSpec,
    params: Mapping[str, Any],
    *,
    python: str,
    environ: Mapping[str, str],
    json_file_dir: Path,
) -> list[str]:
    """The argv of one trial: ``spec.command`` with its macros expanded for ``params``.

    Args:
        spec: a spec with a command (``program:`` specs always have one; the default is
            ``${env} ${interpreter} ${program} ${args}``).
        params: the trial's parameters, flat (dotted names), as sampled.
        python: what ``${interpreter}`` becomes (usually ``sys.executable``).
        environ: where ``${envvar:NAME}`` is looked up.
        json_file_dir: where ``${args_json_file}`` writes ``args.json`` (one folder per trial).

    Raises:
        SpecError: the spec has no command, or an ``${envvar:NAME}`` is not set.

    Example (``program: train.py``, default command)::

        build_argv(spec, {"lr": 0.001, "bs": 32}, python="python3", environ={}, json_file_dir=tmp)
        # ['/usr/bin/env', 'python3', 'train.py', '--lr=0.001', '--bs=32']
    """
    if spec.command is None:
        raise SpecError(
            "this spec runs no command (an entrypoint or a function)", source=spec.source, path="command"
        )
    expander = _Expander(spec, params, python, environ, json_file_dir)
    return [arg for item in spec.command for arg in expander.item(item)]
