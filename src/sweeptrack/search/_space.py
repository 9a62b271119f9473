"""A whole search space as Optuna sees it: Optuna names and distributions, and both transforms."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from optuna.distributions import BaseDistribution

from sweeptrack.core.errors import SpecError
from sweeptrack.core.space import Constant, Space
from sweeptrack.search._params import Param, make_param

__all__ = ["SpaceCodec"]


class SpaceCodec:
    """Turns a sweeptrack :data:`~sweeptrack.core.space.Space` into Optuna distributions and back.

    Constants never reach Optuna (they would only add single-choice parameters to every trial);
    :meth:`decode` puts them back in the spec's order.
    """

    def __init__(self, space: Space, *, source: str = "<string>") -> None:
        self._order = tuple(space)
        self.constants: dict[str, Any] = {}
        self.params: dict[str, Param] = {}
        for name, distribution in space.items():
            if isinstance(distribution, Constant):
                self.constants[name] = distribution.value
            else:
                self.params[name] = make_param(name, distribution, source=source)
        self.distributions: dict[str, BaseDistribution] = {
            p.key: p.distribution for p in self.params.values()
        }
        self.weights: dict[str, tuple[float, ...]] = {
            p.key: p.weights for p in self.params.values() if p.weights is not None
        }
        self._source = source

    def decode(self, internal: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna's params (by Optuna name) -> the logged params, in the spec's order."""
        out: dict[str, Any] = {}
        for name in self._order:
            param = self.params.get(name)
            if param is None:
                out[name] = copy.deepcopy(self.constants[name])  # training code may change it
            elif param.key in internal:
                out[name] = param.decode(internal[param.key])
        return out

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Logged params -> Optuna's params, each inside its distribution. Constants are left out.

        Raises:
            ValueError: a name that is not a parameter of the space, or a value that is not one
                of a categorical's values.
        """
        internal: dict[str, Any] = {}
        for name, value in values.items():
            param = self.params.get(name)
            if param is not None:
                internal[param.key] = param.encode(value)
            elif name not in self.constants:
                raise ValueError(f"{name!r} is not a parameter of this sweep")
        return internal

    def grid_choices(self) -> list[tuple[str, Sequence[Any]]]:
        """Every parameter's Optuna name and the internal values a grid enumerates, in spec order.

        Raises:
            SpecError: a continuous distribution, which a grid cannot enumerate.
        """
        choices = []
        for name, param in self.params.items():
            values = param.grid()
            if values is None:
                raise SpecError(
                    "method grid needs values, a constant or an integer range "
                    "(a continuous distribution cannot be enumerated)",
                    source=self._source,
                    path=f"parameters.{name}",
                )
            choices.append((param.key, values))
        return choices

    def grid_size(self) -> int:
        return math.prod(len(values) for _, values in self.grid_choices())
