"""What the controller sends an executor for one trial: a TrialRequest built from the spec."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sweeptrack.controller.command_files import args_dir, drop_args_dir, module_env
from sweeptrack.executors.base import TrialRequest
from sweeptrack.spec.model import SweepSpec
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.sysmetrics import ENV_INTERVAL

__all__ = ["RequestBuilder"]


class RequestBuilder:
    """Builds each trial's request; what is the same for every trial is resolved once.

    Args:
        spec: the sweep's spec (its entrypoint, command, resources and limits).
        cwd: the folder trials run in; it and the spec's folder are the trials' search path.
        artifacts: the artifact root (a command trial's ``${args_json_file}`` folder lives there).
        python: the interpreter for ``${interpreter}`` (default: this one).
        function: what trials call when the spec names no entrypoint or program.
    """

    def __init__(
        self,
        spec: SweepSpec,
        cwd: Path,
        artifacts: ArtifactRoot,
        *,
        python: str | None = None,
        function: Callable[..., Any] | None = None,
    ) -> None:
        self.spec = spec
        self.cwd = cwd
        self.artifacts = artifacts
        self.python = python or sys.executable
        self.function = function
        self.search_path = _search_path(cwd, spec.base_dir)
        self._args_files = any("${args_json_file}" in item for item in spec.command or ())
        self._env = {
            ENV_INTERVAL: f"{spec.system_metrics_interval:g}",
            **module_env(spec, self.search_path, os.environ),
        }

    def build(self, run_id: str, number: int, name: str, params: Mapping[str, Any]) -> TrialRequest:
        """The request for trial ``number`` (run ``run_id``) with the sampled ``params``."""
        return TrialRequest(
            trial_id=run_id,
            number=number,
            experiment=self.spec.experiment,
            name=name,
            params=dict(params),
            call_params=self.spec.nest(params),
            entrypoint=self.spec.entrypoint,
            argv=self._argv(run_id, params),
            cwd=str(self.cwd),
            search_path=self.search_path,
            timeout=self.spec.trial_timeout,
            resources=self.spec.resources,
            env=dict(self._env),
            artifact_root=str(self.artifacts.root),
            function=self.function,
        )

    def release(self, run_id: str) -> None:
        """Remove what the trial's request left on disk (its ``${args_json_file}`` folder); no
        file-system call for specs that write none, whose short trials start hundreds a second."""
        if self._args_files:
            drop_args_dir(self.artifacts.root, run_id)

    def _argv(self, run_id: str, params: Mapping[str, Any]) -> tuple[str, ...] | None:
        if self.spec.command is None:  # an entrypoint or a function sweep
            return None
        from sweeptrack.spec.command import build_argv

        argv = build_argv(
            self.spec,
            params,
            python=self.python,
            environ=os.environ,
            json_file_dir=args_dir(self.artifacts.root, run_id),
        )
        return tuple(argv)


def _search_path(cwd: Path, base_dir: Path) -> tuple[str, ...]:
    paths = [str(cwd.resolve())]
    if str(base_dir.resolve()) not in paths:
        paths.append(str(base_dir.resolve()))
    return tuple(paths)
