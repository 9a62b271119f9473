"""Durations (``'1h30m'``) and byte sizes (``'10GB'``, ``'512MiB'``) as written in sweep specs."""

from __future__ import annotations

import math
import re

__all__ = ["parse_bytes", "parse_duration"]

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)")
_DURATION = re.compile(r"(?:\s*(?:\d+(?:\.\d*)?|\.\d+)\s*(?:ms|s|m|h|d))+\s*")

_BYTE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_BYTES = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*")


def parse_duration(text: str | float) -> float:
    """Seconds in a duration: a number of seconds, or parts with units ms, s, m, h, d.

    Raises:
        ValueError: the text is not a duration, or it is negative or not finite.

    >>> parse_duration("1h30m"), parse_duration("30s"), parse_duration("1.5h"), parse_duration(90)
    (5400.0, 30.0, 5400.0, 90.0)
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        stripped = text.strip()
        try:
            seconds = float(stripped)
        except ValueError:
            if not _DURATION.fullmatch(stripped):
                raise ValueError(
                    f"not a duration: {text!r}; write seconds (90) or parts like '30s', '5m', '2h', '1h30m'"
                ) from None
            seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(stripped))
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"not a duration: {text!r}; it must be a finite number of seconds >= 0")
    return seconds


def parse_bytes(text: str | int) -> int:
    """Bytes in a size: an integer, or a number with a unit.

    SI units are powers of 1000 (``KB``, ``MB``, ``GB``, ``TB``, or ``K``, ``M``, ``G``, ``T``) and
    binary units powers of 1024 (``KiB``, ``MiB``, ``GiB``, ``TiB``, or ``Ki``, ``Mi``, ``Gi``,
    ``Ti``); units ignore case. Fractions round down to whole bytes.

    Raises:
        ValueError: the text is not a size, or it is negative.

    >>> parse_bytes("10GB"), parse_bytes("512MiB"), parse_bytes(4096), parse_bytes("1.5k")
    (10000000000, 536870912, 4096, 1500)
    """
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"not a size: {text!r}; it must be >= 0")
        return text
    match = _BYTES.fullmatch(text) if isinstance(text, str) else None
    if match is None or match[2].lower() not in _BYTE_UNITS:
        raise ValueError(
            f"not a size: {text!r}; write bytes (1073741824) or a number with a unit: '10GB', '512MiB'"
        )
    return int(float(match[1]) * _BYTE_UNITS[match[2].lower()])
