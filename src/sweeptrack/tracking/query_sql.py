"""Compile filter ASTs and order-by keys to SQLAlchemy Core, correlated against ``schema.runs``.

Use them in a statement that selects from :data:`schema.runs` itself (not an alias)::

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

from collections.abc import Sequence
from typing import Any

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
from sweeptrack.tracking.query import (
    ATTRIBUTES,
    DATASET_KEYS,
    And,
    Comparison,
    Entity,
    Field,
    InList,
    IsNull,
    Node,
    Not,
    Op,
    Or,
    OrderKey,
    Summary,
    Value,
    check_like_pattern,
    value_kind,
)
from sweeptrack.tracking.sql import schema

__all__ = ["compile_filter", "compile_order_by", "field_column"]

_runs = schema.runs
_ORDERING = {
    Op.EQ: "__eq__",
    Op.NE: "__ne__",
    Op.LT: "__lt__",
    Op.LE: "__le__",
    Op.GT: "__gt__",
    Op.GE: "__ge__",
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
            _check_value(field, value)
            return _where(field, lambda column: _compare(column, op, value), nan_matches=op is Op.NE)
        case InList(field=field, values=values, negated=negated):
            for value in values:
                _check_value(field, value)
            return _where(field, lambda column: _in(column, values, negated), nan_matches=negated)
        case IsNull(field=field, negated=negated):
            present = _where(field, lambda column: column.is_not(None), nan_matches=True)
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
    table, column = _entity_column(field)
    if field.entity is Entity.DATASET:
        return (
            select(func.min(column))
            .where(table.c.run_id == _runs.c.id)
            .correlate(_runs)
            .scalar_subquery()
        )
    return (
        select(column)
        .where(table.c.run_id == _runs.c.id, table.c.key == field.key)
        .correlate(_runs)
        .scalar_subquery()
    )


def compile_order_by(keys: Sequence[OrderKey]) -> list[ColumnElement[Any]]:
    """ORDER BY clauses for parsed keys; NULLs (missing keys, NaN) sort last in both directions.

    A param sorts by its numeric value, then by its text (numbers before strings). Add a unique
    tie-breaker (e.g. ``runs.c.id``) yourself for a stable order.
    """
    clauses: list[ColumnElement[Any]] = []
    for key in keys:
        columns = [field_column(key.field)]
        if key.field.entity is Entity.PARAM:
            numeric = Field(Entity.PARAM, key.field.key)
            columns.insert(0, _scalar(schema.params, schema.params.c.value_num, numeric.key))
        for column in columns:
            clauses.append((column.desc() if key.descending else column.asc()).nulls_last())
    return clauses


# -- conditions ----------------------------------------------------------------------------------


def _where(field: Field, condition: Any, *, nan_matches: bool) -> ColumnElement[bool]:
    """``condition(column)`` for the field, as EXISTS where the field lives in another table."""
    if field.entity is Entity.ATTRIBUTE:
        return _attribute_condition(field, condition)
    table, column = _entity_column(field)
    where = condition(column)
    if nan_matches and column.nullable and field.entity is not Entity.DATASET:
        where = or_(column.is_(None), where)  # NULL is NaN (metrics) or "not a number" (params)
    clauses = [table.c.run_id == _runs.c.id, where]
    if field.entity is not Entity.DATASET:
        clauses.insert(1, table.c.key == field.key)
    return select(table.c.run_id).where(*clauses).correlate(_runs).exists()


def _entity_column(field: Field) -> tuple[Any, Any]:
    match field.entity:
        case Entity.METRIC:
            summary = field.summary or Summary.LAST
            return schema.metric_summaries, schema.metric_summaries.c[summary.value]
        case Entity.PARAM:
            return schema.params, schema.params.c.value
        case Entity.TAG:
            return schema.tags, schema.tags.c.value
        case Entity.DATASET if field.key in DATASET_KEYS:
            return schema.datasets, schema.datasets.c[field.key]
    raise QueryError(f"unknown field {field}")


def _attribute_condition(field: Field, condition: Any) -> ColumnElement[bool]:
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


def _scalar(table: Any, column: Any, key: str) -> ColumnElement[Any]:
    return _lookup(column, and_(table.c.run_id == _runs.c.id, table.c.key == key))


def _check_value(field: Field, value: Value) -> None:
    kind = value_kind(field)
    if kind != "any" and isinstance(value, str) != (kind == "string"):
        raise QueryError(f"{field} holds {kind}s; cannot compare it with {value!r}")


def _value_column(column: Any, value: Value) -> Any:
    """Params compare numbers with their numeric copy and strings with their text."""
    if column is schema.params.c.value and not isinstance(value, str):
        return schema.params.c.value_num
    return column


def _bind(value: Value) -> Any:
    if isinstance(value, str):
        return literal(value, String())
    return literal(value, Float() if isinstance(value, float) else BigInteger())


def _compare(column: Any, op: Op, value: Value) -> ColumnElement[bool]:
    column = _value_column(column, value)
    if op in _ORDERING:
        return getattr(column, _ORDERING[op])(_bind(value))  # type: ignore[no-any-return]
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
            return column.ilike(value, escape="\\")  # type: ignore[no-any-return]
        case _:
            return column.not_ilike(value, escape="\\")  # type: ignore[no-any-return]


def _in(column: Any, values: Sequence[Value], negated: bool) -> ColumnElement[bool]:
    if not values:
        return true() if negated else false()
    column = _value_column(column, values[0])
    binds = [_bind(value) for value in values]
    return column.not_in(binds) if negated else column.in_(binds)  # type: ignore[no-any-return]


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

    def __init__(self, expr: ColumnElement[Any], pattern: str) -> None:
        self.expr = expr
        self.pattern = literal(pattern, String())
        self.glob = literal(like_to_glob(pattern), String())

    @property
    def _from_objects(self) -> list[Any]:  # type: ignore[override]
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
    return f"{expr} LIKE {pattern} ESCAPE {escape}"


@compiles(CaseSensitiveLike, "sqlite")
def _compile_like_sqlite(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.expr, **kw)} GLOB {compiler.process(element.glob, **kw)}"
