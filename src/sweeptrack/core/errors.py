"""The one exception hierarchy of sweeptrack.

Every error a user can cause derives from :class:`SweepTrackError`; the CLI prints its message on one
line and exits non-zero, so messages say what was wrong, where, and what to do.
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "EditError",
    "FilterError",
    "InvalidValueError",
    "QueryError",
    "ReservedTagError",
    "RunNotFoundError",
    "RunStateError",
    "SchemaError",
    "SpecError",
    "SpecProblems",
    "StoreError",
    "SweepError",
    "SweepNotFoundError",
    "SweepTrackError",
    "TagNotFoundError",
    "raise_problems",
]


class SweepTrackError(Exception):
    """Base of every error sweeptrack raises on purpose."""


class StoreError(SweepTrackError):
    """The tracking database cannot be opened, read or written."""


class SchemaError(StoreError):
    """The database schema is missing, older or newer than this version of sweeptrack."""


class RunNotFoundError(StoreError):
    """A run reference (id, id prefix or name) matched no run, or more than one."""


class SweepNotFoundError(StoreError):
    """A sweep reference (id, id prefix or name) matched no sweep, or more than one."""


class EditError(StoreError):
    """An edit of a run (its tags, note, name, deletion) was refused; the message says why."""


class RunStateError(EditError):
    """The run is not in the state the edit needs: deleting a run already deleted, restoring a
    live one."""


class TagNotFoundError(EditError):
    """Removing a tag the run does not have."""


class ReservedTagError(EditError):
    """Editing a ``sweeptrack.*`` tag by hand: sweeptrack writes those (a trial's attempt, its
    previous run, the objective) and reads them back, so they are not edited."""


class QueryError(SweepTrackError):
    """A filter or order-by string is malformed; the message points at the offending token."""


class FilterError(QueryError):
    """A filter or order-by string is malformed at ``line``/``column`` (1-based) of ``text``."""

    def __init__(self, message: str, *, text: str, line: int, column: int) -> None:
        super().__init__(message)
        self.text = text
        self.line = line
        self.column = column

    @property
    def caret(self) -> str:
        """The offending line of the text with a ``^`` under the column (two lines)."""
        lines = self.text.splitlines() or [""]
        source = lines[min(self.line, len(lines)) - 1]
        return f"{source}\n{' ' * (self.column - 1)}^"


class SpecError(SweepTrackError):
    """A sweep spec is invalid. The message starts with ``FILE:LINE KEY.PATH:`` and says what is
    allowed, e.g. ``sweeps/x.yaml:12 parameters.lr.min: must be > 0 for log_uniform_values``."""

    def __init__(
        self, message: str, *, source: str = "<string>", line: int | None = None, path: str = ""
    ) -> None:
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where} {path}: {message}" if path else f"{where}: {message}")
        self.source = source
        self.line = line
        self.path = path
        self.reason = message


class SpecProblems(SpecError):
    """Several problems found in one spec file, each a :class:`SpecError` in ``problems``.

    Its message is one line per problem (at most :attr:`SHOWN`, then ``and N more``); ``source``,
    ``line``, ``path`` and ``reason`` are the first problem's.
    """

    SHOWN = 20

    def __init__(self, problems: list[SpecError] | tuple[SpecError, ...]) -> None:
        if not problems:
            raise ValueError("SpecProblems needs at least one problem")
        first = problems[0]
        super().__init__(first.reason, source=first.source, line=first.line, path=first.path)
        self.problems = tuple(problems)
        self.args = ("\n".join(self.lines()),)

    def lines(self) -> list[str]:
        """One line per problem, the first :attr:`SHOWN` of them, then ``and N more``."""
        shown = [" ".join(str(p).split()) for p in self.problems[: self.SHOWN]]
        hidden = len(self.problems) - self.SHOWN
        return [*shown, f"and {hidden} more"] if hidden > 0 else shown

    def __str__(self) -> str:
        return "\n".join(self.lines())


def raise_problems(problems: list[SpecError] | tuple[SpecError, ...]) -> None:
    """Raise nothing for no problem, the problem itself for one, :class:`SpecProblems` for more."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SpecProblems(problems)


class SweepError(SweepTrackError):
    """A sweep cannot start or go on (an unknown sweep, a spec that does not match on resume, ...)."""


class InvalidValueError(SweepTrackError, ValueError):
    """A logged value cannot be stored: the wrong type (a non-numeric metric, an unserialisable
    param), beyond a limit of :mod:`sweeptrack.core.limits` (a key over 255 characters, a step
    beyond 64 bits, a NUL character, an int beyond a float), or refused by the database. Also a
    ``ValueError``, so ``except ValueError`` catches it."""


class ArtifactError(SweepTrackError):
    """An artifact path is missing, unreadable or escapes the artifact root."""
