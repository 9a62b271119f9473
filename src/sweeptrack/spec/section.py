"""A YAML mapping under validation: typed reads whose errors name the file, line and key path."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Iterator
from typing import Any, TypeVar

from sweeptrack.core.errors import SpecError, SpecProblems, raise_problems
from sweeptrack.spec.model import SpecWarning
from sweeptrack.spec.yamlio import MarkedMap, MarkedSeq

__all__ = ["Problems", "Section", "did_you_mean", "is_number", "show"]

_MISSING = object()
T = TypeVar("T")


class Problems:
    """The errors and warnings found while one spec file is checked, so that a file with several
    mistakes reports them all at once. Independent checks run through :meth:`attempt`."""

    def __init__(self) -> None:
        self.errors: list[SpecError] = []
        self.warnings: list[SpecWarning] = []

    def attempt(self, check: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``check(*args, **kwargs)``, or None when it raised a SpecError (which is kept)."""
        try:
            return check(*args, **kwargs)
        except SpecProblems as exc:
            self.errors.extend(exc.problems)
        except SpecError as exc:
            self.errors.append(exc)
        return None

    def raise_if_any(self, *, strict: bool = False) -> None:
        """Raise the errors (with ``strict``, the warnings too) in file order, if there are any."""
        found = [*self.errors, *(w.as_error() for w in self.warnings)] if strict else list(self.errors)
        found.sort(key=lambda e: e.line or 0)
        raise_problems(found)


def is_number(value: Any) -> bool:
    """An int or float, and not a bool (YAML's ``true`` is not a number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def show(value: Any) -> str:
    """A value as the user wrote it, for messages: ``'ten'``, ``1.5``, ``a list``, ``null``."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def did_you_mean(word: str, options: Collection[str], *, listing: str = "allowed") -> str:
    """``"did you mean 'metric'?"`` for a close option, else the options listed."""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"{listing}: {', '.join(sorted(options))}"


class Section:
    """One mapping of the spec with its key path (``parameters.lr``) and the line it starts on.

    Errors point at the line of the offending key, or of the mapping itself for a missing key.
    """

    def __init__(
        self,
        data: MarkedMap,
        *,
        source: str,
        path: str = "",
        line: int | None = None,
        problems: Problems | None = None,
    ) -> None:
        self.data = data
        self.source = source
        self.path = path
        self.line = data.line if line is None else line
        self.problems = Problems() if problems is None else problems
        raise_problems(
            [
                SpecError("key given twice in one mapping", source=source, line=at, path=self.sub(key))
                for key, at in data.duplicates
            ]
        )

    def sub(self, key: str) -> str:
        """The key path of ``key`` inside this section."""
        return f"{self.path}.{key}" if self.path else key

    def line_of(self, key: str | None) -> int:
        return self.data.lines.get(key, self.line) if key is not None else self.line

    def error(self, key: str | None, message: str) -> SpecError:
        """A SpecError at ``key`` (or at this section when ``key`` is None)."""
        path = self.sub(key) if key is not None else self.path
        return SpecError(message, source=self.source, line=self.line_of(key), path=path)

    def item_error(self, key: str, index: int, message: str) -> SpecError:
        """A SpecError at item ``index`` of the list under ``key``."""
        seq = self.data[key]
        line = seq.lines[index] if isinstance(seq, MarkedSeq) else self.line_of(key)
        return SpecError(message, source=self.source, line=line, path=f"{self.sub(key)}[{index}]")

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def warn(self, key: str | None, message: str) -> None:
        """Note a warning at ``key`` (or at this section): the spec loads, ``--strict`` refuses it."""
        path = self.sub(key) if key is not None else self.path
        self.problems.warnings.append(
            SpecWarning(message=message, source=self.source, line=self.line_of(key), path=path)
        )

    def check_keys(
        self, allowed: Collection[str], *, suggest: Collection[str] | None = None, warn: bool = False
    ) -> None:
        """Every key is in ``allowed``; otherwise an ``unknown key; did you mean ...`` error for
        each, or (``warn``) a warning that the key is ignored."""
        unknown = [key for key in self.data if key not in allowed]
        if warn:
            for key in unknown:
                close = difflib.get_close_matches(key, sorted(suggest or allowed), n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else "W&B ignores it too"
                self.warn(key, f"unknown key, ignored; {hint}")
            return
        raise_problems(
            [
                self.error(
                    key, f"unknown key; {did_you_mean(key, suggest or allowed, listing='allowed keys')}"
                )
                for key in unknown
            ]
        )

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def require(self, key: str, hint: str) -> Any:
        """The value of ``key``; a missing key is an error at this section saying ``hint``."""
        if key not in self.data or self.data[key] is None:
            raise self.error(key, f"required; {hint}")
        return self.data[key]

    def section(self, key: str, *, what: str = "a mapping") -> Section:
        """The mapping under ``key`` as a Section."""
        value = self.data.get(key)
        if not isinstance(value, MarkedMap):
            raise self.error(key, f"must be {what}, got {show(value)}")
        return Section(
            value, source=self.source, path=self.sub(key), line=self.line_of(key), problems=self.problems
        )

    def item_section(self, key: str, index: int, *, what: str = "a mapping") -> Section:
        """The mapping at item ``index`` of the list under ``key``."""
        seq = self.data[key]
        value = seq[index]
        if not isinstance(value, MarkedMap):
            raise self.item_error(key, index, f"must be {what}, got {show(value)}")
        return Section(
            value,
            source=self.source,
            path=f"{self.sub(key)}[{index}]",
            line=seq.lines[index],
            problems=self.problems,
        )

    def seq(self, key: str, *, non_empty: bool = True) -> MarkedSeq:
        """The list under ``key``."""
        value = self.data.get(key)
        if not isinstance(value, MarkedSeq):
            raise self.error(key, f"must be a list, got {show(value)}")
        if non_empty and not value:
            raise self.error(key, "must not be empty")
        return value

    def string(self, key: str, default: str | None = None) -> str | None:
        """A non-empty string, or ``default`` when the key is absent."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, got {show(value)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {show(value)}")
        return value

    def integer(self, key: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
        """An integer (not a bool) >= ``minimum``, or ``default`` when the key is absent."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        wanted = "an integer" + (f" >= {minimum}" if minimum is not None else "")
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"must be {wanted}, got {show(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be {wanted}, got {value}")
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        above: float | None = None,
        minimum: float | None = None,
    ) -> float | None:
        """A finite int or float (kept as written) > ``above`` and >= ``minimum``."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        bound = f" > {above:g}" if above is not None else f" >= {minimum:g}" if minimum is not None else ""
        if not is_number(value) or not math.isfinite(value):
            raise self.error(key, f"must be a number{bound}, got {show(value)}")
        if (above is not None and value <= above) or (minimum is not None and value < minimum):
            raise self.error(key, f"must be a number{bound}, got {value}")
        return value

    def choice(self, key: str, choices: Collection[str], default: str | None = None) -> str | None:
        """One of ``choices`` (strings), or ``default`` when the key is absent."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be one of {', '.join(choices)}; got {show(value)}")
        if value not in choices:
            close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.error(key, f"must be one of {', '.join(choices)}; got {value!r}{hint}")
        return value
