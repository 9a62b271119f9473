"""Helpers shared by the compat modules and the framework integrations: flat keys, plain values."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["as_float", "flatten", "is_number", "plain_param"]


def flatten(data: Mapping[str, Any], sep: str, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level, keys joined with ``sep``: ``{"a": {"b": 1}}`` -> ``{"a/b": 1}``."""
    return dict(_items(data, sep, prefix))


def _items(data: Mapping[str, Any], sep: str, prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from _items(value, sep, name)
        else:
            yield name, value


def is_number(value: Any) -> bool:
    """A real number (bools included), a numpy scalar or a one-element array or tensor."""
    if isinstance(value, numbers.Real):
        return True
    shape = getattr(value, "shape", None)
    if shape is None or not callable(getattr(value, "item", None)):
        return False
    try:
        return math.prod(tuple(shape)) == 1
    except TypeError:
        return False


def as_float(value: Any) -> float:
    """A number for which :func:`is_number` holds, as a float (``.item()`` first: a tensor that
    needs gradients converts without a warning)."""
    if type(value) is float:
        return value
    item = getattr(value, "item", None)
    return float(item() if callable(item) else value)


def plain_param(value: Any) -> Any:
    """A value sweeptrack stores as a param: scalars and JSON-like containers as they are, numpy
    scalars as Python numbers, anything else (a path, a device, a class) as its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [plain_param(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): plain_param(v) for k, v in value.items()}
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        try:
            return plain_param(item())
        except (TypeError, ValueError):
            pass
    return str(value)
