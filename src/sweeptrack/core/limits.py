"""What a value must be to be logged: the limits every backend stores alike, checked in one place.

The run API checks at the call (training code gets :class:`InvalidValueError` where it logged), and
the sweep controller checks every event a trial sends with the same functions, so a value no backend
can store never reaches a database. The limits are the narrowest of SQLite and PostgreSQL:

- a metric, param or tag key, an experiment, run or dataset name: 1 to 255 characters (a run
  name given in an edit must also not be blank);
- a run's note: at most 100,000 characters;
- an artifact path: at most 1,024 characters;
- a step: an integer in [-2**63, 2**63 - 1] (a signed 64-bit integer);
- no NUL character (``"\\x00"``) in any key, name, path, tag value, param value or dataset source;
- a number (metric value, int param) must fit a float (about ±1.8e308); NaN and infinities are fine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sweeptrack.core.errors import InvalidValueError, ReservedTagError
from sweeptrack.core.events import (
    ArtifactLogged,
    DatasetLogged,
    Event,
    MetricsLogged,
    ParamsLogged,
    RunStarted,
    TagsSet,
)

__all__ = [
    "MAX_ARTIFACT_PATH",
    "MAX_KEY",
    "MAX_NOTE",
    "MAX_STEP",
    "MIN_STEP",
    "RESERVED_TAG_PREFIX",
    "check_artifact_path",
    "check_dataset",
    "check_editable_tag",
    "check_event",
    "check_key",
    "check_metric_value",
    "check_note",
    "check_param",
    "check_run_name",
    "check_step",
    "check_tag",
]

MAX_KEY = 255
MAX_ARTIFACT_PATH = 1024
MAX_NOTE = 100_000
RESERVED_TAG_PREFIX = "sweeptrack."  # tags sweeptrack writes and reads back (lineage, objective)
MIN_STEP = -(2**63)
MAX_STEP = 2**63 - 1


def _show(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37]) + "..."


def check_key(what: str, key: Any) -> str:
    """``key`` if it is a valid key or name (``what`` names it in the message: "metric key"),
    else :class:`InvalidValueError`.

    Example:
        >>> check_key("metric key", "loss")
        'loss'
    """
    if not isinstance(key, str):
        raise InvalidValueError(f"{what} {key!r} is not a string")
    if not key or len(key) > MAX_KEY:
        raise InvalidValueError(f"{what} {_show(key)} has {len(key)} characters; the limit is 1 to {MAX_KEY}")
    if "\x00" in key:
        raise InvalidValueError(f"{what} {_show(key)} contains a NUL character")
    return key


def check_run_name(name: Any) -> str:
    """``name`` if a run may be renamed to it: a valid key that is not blank."""
    check_key("run name", name)
    if not name.strip():
        raise InvalidValueError("a run name cannot be blank; give a name with a visible character")
    return str(name)


def check_note(note: str) -> str:
    """``note`` if it can be a run's note (at most :data:`MAX_NOTE` characters, no NUL)."""
    if not isinstance(note, str):
        raise InvalidValueError(f"note {note!r} is not a string")
    if len(note) > MAX_NOTE:
        raise InvalidValueError(f"note has {len(note):,} characters; the limit is {MAX_NOTE:,}")
    if "\x00" in note:
        raise InvalidValueError("note contains a NUL character")
    return note


def check_editable_tag(key: Any) -> str:
    """``key`` if a user may set or remove the tag by hand: a valid tag key outside the
    ``sweeptrack.`` namespace (:class:`ReservedTagError` otherwise)."""
    check_key("tag key", key)
    if key.startswith(RESERVED_TAG_PREFIX):
        raise ReservedTagError(
            f"tag {_show(key)} is reserved: sweeptrack writes the {RESERVED_TAG_PREFIX}* tags "
            "(a trial's attempt and lineage) and they cannot be edited; use another key"
        )
    return str(key)


def check_step(key: str, step: int) -> int:
    """``step`` if it is a signed 64-bit integer."""
    if not MIN_STEP <= step <= MAX_STEP:
        raise InvalidValueError(
            f"metric {_show(key)}: step {step} is out of range; steps are integers in [-2**63, 2**63 - 1]"
        )
    return step


def check_metric_value(key: str, value: Any) -> float:
    """``value`` as a float; an int too large for a float is refused (not an OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        raise InvalidValueError(
            f"metric {_show(key)}: value {value} does not fit a float (about ±1.8e308)"
        ) from None


def check_param(key: Any, value: Any) -> str:
    """The key as a string if the param can be stored; text values must not hold NUL."""
    key = check_key("param key", key)
    if isinstance(value, int) and not isinstance(value, bool):
        if not -1.7976931348623157e308 <= value <= 1.7976931348623157e308:
            raise InvalidValueError(
                f"param {_show(key)}: value has {value.bit_length()} bits and does not fit a float "
                "(about ±1.8e308)"
            )
    elif isinstance(value, str) and "\x00" in value:
        raise InvalidValueError(f"param {_show(key)}: value {_show(value)} contains a NUL character")
    return key


def check_tag(key: Any, value: Any) -> tuple[str, str]:
    """(key, value) as strings if the tag can be stored."""
    key, text = check_key("tag key", key), str(value)
    if "\x00" in text:
        raise InvalidValueError(f"tag {_show(key)}: value {_show(text)} contains a NUL character")
    return key, text


def check_artifact_path(path: str) -> str:
    """``path`` if it is a storable artifact path (1 to 1,024 characters, no NUL)."""
    if not path or len(path) > MAX_ARTIFACT_PATH:
        raise InvalidValueError(
            f"artifact path {_show(path)} has {len(path)} characters; the limit is 1 to {MAX_ARTIFACT_PATH}"
        )
    if "\x00" in path:
        raise InvalidValueError(f"artifact path {_show(path)} contains a NUL character")
    return path


def check_dataset(name: Any, source: str, context: str | None) -> None:
    """Refuse a dataset name or context beyond the key limits, or a source holding NUL."""
    check_key("dataset name", name)
    if context is not None:
        check_key("dataset context", context)
    if "\x00" in source:
        raise InvalidValueError(f"dataset {_show(name)}: source {_show(source)} contains a NUL character")


def check_event(event: Event) -> None:
    """Raise :class:`InvalidValueError` if ``event`` holds anything a backend could not store.

    What a sweep controller runs on each event a trial sends: the trial's process may not have
    checked (an older version, a returned dict, a hand-made event).
    """
    match event:
        case MetricsLogged(points=points):
            _check_points(points)
        case ParamsLogged(params=params):
            _check_params(params)
        case TagsSet(tags=tags):
            for key, value in tags.items():
                check_tag(key, value)
        case ArtifactLogged(artifact=artifact):
            check_artifact_path(artifact.path)
        case DatasetLogged(dataset=dataset):
            check_dataset(dataset.name, dataset.source, dataset.context)
        case RunStarted(experiment=experiment, name=name, tags=tags):
            check_key("experiment name", experiment)
            check_key("run name", name)
            for key, value in tags.items():
                check_tag(key, value)
        case _:  # RunEnded, EnvironmentCaptured (JSON): nothing a backend refuses
            return


def _check_params(params: Mapping[Any, Any]) -> None:
    for key, value in params.items():
        check_param(key, value)


def _check_points(points: Iterable[tuple[Any, Any, Any, Any]]) -> None:
    seen: set[str] = set()
    for key, value, step, timestamp in points:
        if key not in seen:
            check_key("metric key", key)
            seen.add(key)
        if type(value) is not float:
            if not isinstance(value, float | int) or isinstance(value, bool):
                raise InvalidValueError(f"metric {_show(key)}: value {value!r} is not a number")
            check_metric_value(key, value)
        if type(step) is not int or not MIN_STEP <= step <= MAX_STEP:
            if not isinstance(step, int) or isinstance(step, bool):
                raise InvalidValueError(f"metric {_show(key)}: step {step!r} is not an integer")
            check_step(key, step)
        if type(timestamp) is not int or not MIN_STEP <= timestamp <= MAX_STEP:
            raise InvalidValueError(f"metric {_show(key)}: timestamp {timestamp!r} is not a 64-bit integer")
