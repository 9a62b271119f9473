"""The filter AST (frozen dataclasses) and its compilation to SQLAlchemy Core.

:mod:`sweeptrack.tracking.query` parses text into this AST and re-exports everything here; import
from there. Compiled conditions and order keys are correlated against :data:`schema.runs` itself
(not an alias)::

    stmt = select(runs).where(compile_filter(parse_filter(text)))
    stmt = stmt.order_by(*compile_order_by(parse_order_by(order)), runs.c.id)

Semantics, identical on SQLite and PostgreSQL:
- a metric, param, tag or dataset condition is ``EXISTS`` (a row with that key whose value
  matches), so every condition is true or false, never NULL, and ``NOT x`` is exactly the runs
  ``x`` leaves out, runs without the key included; ``IS NULL`` means the key was never logged;
- ``!=``, ``NOT IN``, ``NOT LIKE`` still need the key (as in MLflow): ``params.x != 'a'`` skips runs
  without ``x``. On numbers, NaN (stored as NULL) is unequal to everything, so it matches ``!=``
  and ``NOT IN`` but no ordering comparison;
- params compare their numeric copy with a number (``params.lr < 1e-3``) and their text with a
  string (``params.batch_size = '2'``, as in MLflow); params without a number never match a
  numeric ``=``, ``<``...;
- LIKE is case-sensitive everywhere (SQLite: GLOB), ILIKE is not; ``\\`` escapes ``%``, ``_``, ``\\``.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    String,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from sweeptrack.core.errors import QueryError
from sweeptrack.tracking.sql import schema

__all__ = [
    "ATTRIBUTES",
    "DATASET_KEYS",
    "NUMERIC_ATTRIBUTES",
    "And",
    "CaseSensitiveLike",
    "Comparison",
    "Entity",
    "Field",
    "InList",
    "IsNull",
    "Node",
    "Not",
    "Op",
    "Or",
    "OrderKey",
    "Summary",
    "Value",
    "check_like_pattern",
    "compile_filter",
    "compile_order_by",
    "field_column",
    "like_to_glob",
    "value_kind",
]


class Entity(enum.Enum):
    """What a field names; the value is the canonical prefix written in filters."""

    METRIC = "metrics"
    PARAM = "params"
    TAG = "tags"
    ATTRIBUTE = "attributes"
    DATASET = "datasets"


class Summary(enum.Enum):
    """Which per-run summary of a metric a field compares; the value is the column name."""

    LAST = "last"
    MIN = "min"
    MAX = "max"
    COUNT = "count"


class Op(enum.Enum):
    """A binary comparison operator, as written in filters."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    NOT_LIKE = "NOT LIKE"
    NOT_ILIKE = "NOT ILIKE"


Value: TypeAlias = str | int | float

# Attribute kinds: which attributes hold numbers (everything else holds strings).
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time", "trial_number"})
ATTRIBUTES = (
    "run_id",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "experiment",
    "sweep_id",
    "trial_number",
)
DATASET_KEYS = ("name", "digest", "context")

_BARE_KEY = re.compile(r"(?!\d)\w+")


@dataclass(frozen=True, slots=True)
class Field:
    """A filterable value of a run: ``metrics.loss.min``, ``params.lr``, ``status``...

    ``key`` is the metric, param or tag name, the dataset column (name, digest, context) or the
    canonical attribute name (see ``ATTRIBUTES``). ``summary`` is set only for metrics; the parser
    writes LAST for a bare ``metrics.NAME`` and the compiler reads None as LAST.
    """

    entity: Entity
    key: str
    summary: Summary | None = None

    def __str__(self) -> str:
        if self.entity is Entity.ATTRIBUTE:
            return self.key
        key = self.key if _BARE_KEY.fullmatch(self.key) else "`" + self.key.replace("`", "``") + "`"
        text = f"{self.entity.value}.{key}"
        if self.summary is not None and self.summary is not Summary.LAST:
            text += f".{self.summary.value}"
        return text


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``; LIKE patterns use ``%`` and ``_`` with ``\\`` as the escape."""

    field: Field
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class InList:
    """``field [NOT] IN (v1, v2, ...)``; the values are all strings or all numbers."""

    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    """``field IS [NOT] NULL``: whether the run has no value for the field (never logged)."""

    field: Field
    negated: bool = False


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node: TypeAlias = Comparison | InList | IsNull | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ORDER BY key: a field and its direction (NULLs always sort last)."""

    field: Field
    descending: bool = False


def value_kind(field: Field) -> str:
    """The literals a field compares with: "number", "string" or "any" (params take both)."""
    if field.entity is Entity.PARAM:
        return "any"
    if field.entity is Entity.METRIC:
        return "number"
    if field.entity is Entity.ATTRIBUTE and field.key in NUMERIC_ATTRIBUTES:
        return "number"
    return "string"


def check_like_pattern(pattern: str) -> None:
    """Raise ValueError if a LIKE pattern ends with a lone escape character."""
    if re.search(r"(?<!\\)(?:\\\\)*\\$", pattern):
        raise ValueError("LIKE pattern ends with the escape character '\\'; write '\\\\' for a backslash")


# -- compilation ---------------------------------------------------------------------------------

_runs = schema.runs
_Condition = Callable[[Any], ColumnElement[bool]]
_OPERATORS: dict[Op, Callable[[Any, Any], Any]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def compile_filter(node: Node | None) -> ColumnElement[bool]:
    """The WHERE condition on ``schema.runs`` for a parsed filter (None: every run).

    Raises:
        QueryError: the AST was built by hand and names an unknown attribute or mixes types.
    """
    match node:
        case None:
            return true()
        case And(items=items):
            return and_(true(), *(compile_filter(item) for item in items))
        case Or(items=items):
            return or_(false(), *(compile_filter(item) for item in items))
        case Not(item=item):
            return not_(compile_filter(item))
        case Comparison(field=field, op=op, value=value):
            _check_values(field, [value])
            numeric = not isinstance(value, str)
            return _where(field, lambda column: _compare(column, op, value), numeric, nan_matches=op is Op.NE)
        case InList(field=field, values=values, negated=negated):
            _check_values(field, values)
            numeric = bool(values) and not isinstance(values[0], str)
            return _where(field, lambda column: _in(column, values, negated), numeric, nan_matches=negated)
        case IsNull(field=field, negated=negated):
            present = _where(field, lambda column: column.is_not(None), False, nan_matches=True)
            return present if negated else not_(present)
    raise QueryError(f"cannot compile {node!r}: not a filter node")


def field_column(field: Field) -> ColumnElement[Any]:
    """A scalar expression for one field of the current run (NULL where it has none).

    Metrics give the chosen summary (last by default), params their text, tags their value,
    datasets the smallest value over the run's datasets. For ordering prefer
    :func:`compile_order_by`, which sorts params numerically first.
    """
    if field.entity is Entity.ATTRIBUTE:
        return _attribute_column(field)
    table, column = _entity_column(field, numeric=False)
    if field.entity is Entity.DATASET:
        return _lookup(func.min(column), _of_run(table))
    return _lookup(column, and_(_of_run(table), table.c.key == field.key))


def compile_order_by(keys: Sequence[OrderKey]) -> list[ColumnElement[Any]]:
    """ORDER BY clauses for parsed keys; NULLs (missing keys, NaN) sort last in both directions.

    A param sorts by its numeric value, then by its text (numbers before strings). Add a unique
    tie-breaker (e.g. ``runs.c.id``) yourself for a stable order.
    """
    clauses: list[ColumnElement[Any]] = []
    for key in keys:
        columns = [field_column(key.field)]
        if key.field.entity is Entity.PARAM:
            params = schema.params
            columns.insert(
                0, _lookup(params.c.value_num, and_(_of_run(params), params.c.key == key.field.key))
            )
        for column in columns:
            clauses.append((column.desc() if key.descending else column.asc()).nulls_last())
    return clauses


# -- conditions ----------------------------------------------------------------------------------


def _where(field: Field, condition: _Condition, numeric: bool, *, nan_matches: bool) -> ColumnElement[bool]:
    """``condition(column)`` for the field, as EXISTS where the field lives in another table.

    ``nan_matches``: a NULL number (NaN metric, param without a number) satisfies the condition.
    """
    if field.entity is Entity.ATTRIBUTE:
        return _attribute_condition(field, condition)
    table, column = _entity_column(field, numeric=numeric)
    where = condition(column)
    if nan_matches and column.nullable and field.entity is not Entity.DATASET:
        where = or_(column.is_(None), where)
    clauses = [_of_run(table), where]
    if field.entity is not Entity.DATASET:
        clauses.insert(1, table.c.key == field.key)
    return select(table.c.run_id).where(*clauses).correlate(_runs).exists()


def _of_run(table: Any) -> ColumnElement[bool]:
    return table.c.run_id == _runs.c.id


def _entity_column(field: Field, *, numeric: bool) -> tuple[Any, Any]:
    match field.entity:
        case Entity.METRIC:
            summary = field.summary or Summary.LAST
            return schema.metric_summaries, schema.metric_summaries.c[summary.value]
        case Entity.PARAM:
            params = schema.params
            return params, params.c.value_num if numeric else params.c.value
        case Entity.TAG:
            return schema.tags, schema.tags.c.value
        case Entity.DATASET if field.key in DATASET_KEYS:
            return schema.datasets, schema.datasets.c[field.key]
    raise QueryError(f"unknown field {field}")


def _attribute_condition(field: Field, condition: _Condition) -> ColumnElement[bool]:
    if field.key == "experiment":
        experiments = schema.experiments
        return (
            select(experiments.c.id)
            .where(experiments.c.id == _runs.c.experiment_id, condition(experiments.c.name))
            .correlate(_runs)
            .exists()
        )
    if field.key == "sweep_id":
        sweeps = schema.sweeps
        return (
            select(sweeps.c.id)
            .where(sweeps.c.id == _runs.c.sweep_id, condition(sweeps.c.uuid))
            .correlate(_runs)
            .exists()
        )
    column = _attribute_column(field)
    # Guarding nullable columns keeps the condition two-valued, so NOT works as for params.
    return and_(column.is_not(None), condition(column)) if column.nullable else condition(column)


def _attribute_column(field: Field) -> Any:
    match field.key:
        case "run_id":
            return _runs.c.uuid
        case "run_name":
            return _runs.c.name
        case "experiment":
            experiments = schema.experiments
            return _lookup(experiments.c.name, experiments.c.id == _runs.c.experiment_id)
        case "sweep_id":
            return _lookup(schema.sweeps.c.uuid, schema.sweeps.c.id == _runs.c.sweep_id)
        case key if key in ATTRIBUTES:
            return _runs.c[key]
    raise QueryError(f"unknown attribute '{field.key}'; attributes are {', '.join(ATTRIBUTES)}")


def _lookup(column: Any, condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return select(column).where(condition).correlate(_runs).scalar_subquery()


def _check_values(field: Field, values: Sequence[Value]) -> None:
    kind = value_kind(field)
    for value in values:
        if isinstance(value, str) != isinstance(values[0], str):
            raise QueryError(f"an IN list holds only strings or only numbers, not {values!r}")
        if kind != "any" and isinstance(value, str) != (kind == "string"):
            raise QueryError(f"{field} holds {kind}s; cannot compare it with {value!r}")


def _bind(value: Value) -> Any:
    if isinstance(value, str):
        return literal(value, String())
    return literal(value, Float() if isinstance(value, float) else BigInteger())


def _compare(column: Any, op: Op, value: Value) -> ColumnElement[bool]:
    if op in _OPERATORS:
        return _OPERATORS[op](column, _bind(value))
    if not isinstance(value, str):
        raise QueryError(f"{op.value} needs a string pattern, not {value!r}")
    try:
        check_like_pattern(value)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    match op:
        case Op.LIKE:
            return CaseSensitiveLike(column, value)
        case Op.NOT_LIKE:
            return not_(CaseSensitiveLike(column, value))
        case Op.ILIKE:
            return column.ilike(value, escape="\\")
        case _:
            return column.not_ilike(value, escape="\\")


def _in(column: Any, values: Sequence[Value], negated: bool) -> ColumnElement[bool]:
    if not values:
        return true() if negated else false()
    binds = [_bind(value) for value in values]
    return column.not_in(binds) if negated else column.in_(binds)


# -- case-sensitive LIKE ---------------------------------------------------------------------------


class CaseSensitiveLike(ColumnElement[bool]):
    """``expr LIKE pattern ESCAPE '\\'``, rendered as ``expr GLOB translated`` on SQLite.

    SQLite's LIKE ignores ASCII case (and the pragma that changes that is connection-wide), while
    its GLOB is case-sensitive; PostgreSQL's LIKE already is.
    """

    __visit_name__ = "sweeptrack_case_sensitive_like"
    _traverse_internals = [
        ("expr", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("glob", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()
    _is_implicitly_boolean = True  # a predicate: no "= 1" where booleans are integers (SQLite)

    def __init__(self, expr: ColumnElement[Any], pattern: str) -> None:
        self.expr = expr
        self.pattern = literal(pattern, String())
        self.glob = literal(like_to_glob(pattern), String())

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.expr._from_objects)


def like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, ``\\`` escapes) to an equivalent SQLite GLOB."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
        elif char in "%_":
            out.append("*" if char == "%" else "?")
            continue
        out.append(f"[{char}]" if char in "*?[" else char)
    return "".join(out)


@compiles(CaseSensitiveLike)
def _compile_like(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    escape = compiler.render_literal_value("\\", String())
    expr, pattern = compiler.process(element.expr, **kw), compiler.process(element.pattern, **kw)
    return f"({expr} LIKE {pattern} ESCAPE {escape})"


@compiles(CaseSensitiveLike, "sqlite")
def _compile_like_sqlite(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.expr, **kw)} GLOB {compiler.process(element.glob, **kw)})"
