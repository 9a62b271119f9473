"""What a command trial needs beside its argv: the ``${args_json_file}`` folder (removed when the
trial ends, so a sweep leaves no files behind) and its import path (the W&B shim first; for
``python -m ${program}`` the trial's folders)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from sweeptrack.compat import shim_dir
from sweeptrack.spec.model import SweepSpec, WandbModule
from sweeptrack.spec.runnable import runs_as_module

__all__ = ["ARGS_FOLDER", "args_dir", "drop_args_dir", "module_env"]

ARGS_FOLDER = ".sweeptrack-args"


def args_dir(artifact_root: Path, run_id: str) -> Path:
    """Where ``${args_json_file}`` writes the trial's args.json: beside the artifact root."""
    return artifact_root.parent / ARGS_FOLDER / run_id


def drop_args_dir(artifact_root: Path, run_id: str) -> None:
    """Remove a trial's args.json folder, and the shared folder once it is empty."""
    folder = args_dir(artifact_root, run_id)
    if not folder.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # other trials (of this or another sweep) still use it
        folder.parent.rmdir()


def module_env(spec: SweepSpec, search_path: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``PYTHONPATH`` for a command trial: first the folder whose ``wandb`` package is sweeptrack's
    W&B shim (unless the spec says ``wandb: real``), so an unchanged W&B script reports to the
    sweep; then, for ``python -m ${program}``, the working directory and the spec's folder, where
    the module is imported from as an entrypoint module is. Nothing for other trials."""
    if spec.command is None:
        return {}
    folders = [str(shim_dir())] if spec.wandb is WandbModule.SHIM else []
    if runs_as_module(spec):
        folders += search_path
    if not folders:
        return {}
    inherited = environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join([*folders, *([inherited] if inherited else [])])}
