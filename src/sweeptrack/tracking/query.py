"""The filter language: MLflow filter strings plus OR, NOT, parentheses, IN, IS NULL and summaries.

Every MLflow filter string keeps working (``metrics.`f1 score` >= 0.5 AND params.model LIKE "GPT%"``)
and these extras are accepted::

    params.lr < 1e-3 and (metrics.val_f1.max > 0.9 or tags.keep = 'yes') and status = 'finished'
    not (tags.team in ('vision', 'nlp')) and end_time is not null and name ilike 'ResNet%'

Precedence is NOT > AND > OR; keywords are case-insensitive. This module turns text into a small AST
of frozen dataclasses and checks it (unknown attributes, strings compared with ``<`` on a metric,
...) and, through :mod:`sweeptrack.tracking.query_sql` (re-exported here), compiles it to SQL
with :func:`compile_filter`, :func:`compile_order_by` and :func:`field_column`. Every error is a
:class:`FilterError` (a :class:`~sweeptrack.core.errors.QueryError`) whose one-line message names
the offending token and its column.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from sweeptrack.core.errors import FilterError
from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.query_sql import (
    ATTRIBUTES,
    DATASET_KEYS,
    NUMERIC_ATTRIBUTES,
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
    compile_filter,
    compile_order_by,
    field_column,
    value_kind,
)

__all__ = [
    "ATTRIBUTES",
    "DATASET_KEYS",
    "NUMERIC_ATTRIBUTES",
    "And",
    "Comparison",
    "Entity",
    "Field",
    "FilterError",
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
    "parse_filter",
    "parse_order_by",
    "value_kind",
]

_ATTRIBUTE_ALIASES = {
    **{name: name for name in ATTRIBUTES},
    "id": "run_id",
    "name": "run_name",
    "created": "start_time",
    "experiment_name": "experiment",
}
_ENTITY_ALIASES = {
    **dict.fromkeys(("metric", "metrics"), Entity.METRIC),
    **dict.fromkeys(("param", "params", "parameter", "parameters"), Entity.PARAM),
    **dict.fromkeys(("tag", "tags"), Entity.TAG),
    **dict.fromkeys(("attribute", "attributes", "attr", "run"), Entity.ATTRIBUTE),
    **dict.fromkeys(("dataset", "datasets"), Entity.DATASET),
}
_SUMMARIES = frozenset(summary.value for summary in Summary)
_STATUSES = tuple(status.value for status in RunStatus)
_ORDERING = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})
_PATTERN_OPS = frozenset({Op.LIKE, Op.ILIKE, Op.NOT_LIKE, Op.NOT_ILIKE})


def parse_filter(text: str | None) -> Node | None:
    """Parse a filter string; None, empty or blank text means "no filter" and gives None.

    Example:
        >>> parse_filter("metrics.acc > 0.9 or tags.keep = 'yes'")  # doctest: +ELLIPSIS
        Or(items=(Comparison(field=Field(entity=<Entity.METRIC: 'metrics'>, ...

    Raises:
        FilterError: the text is malformed; the message names the token and its column.
    """
    if text is None or not text.strip():
        return None
    tree = _parse(text, "filter")
    return _Builder(text, "filter").node(tree.children[0])


def parse_order_by(items: str | Sequence[str] | None) -> list[OrderKey]:
    """Parse order-by keys: ``"metrics.val_f1 DESC, params.lr"`` or ``["start_time asc", ...]``.

    Each key is a field as in filters, optionally followed by ASC (the default) or DESC.

    Raises:
        FilterError: a key is malformed or names no known field.
    """
    if items is None:
        return []
    texts = [items] if isinstance(items, str) else list(items)
    keys: list[OrderKey] = []
    for text in texts:
        if not text.strip():
            continue
        builder = _Builder(text, "order-by")
        for item in _parse(text, "order_by").children:
            assert isinstance(item, Tree)
            field_tree, *direction = item.children
            assert isinstance(field_tree, Tree)
            descending = bool(direction) and str(direction[0]).lower() == "desc"
            keys.append(OrderKey(builder.field(field_tree), descending))
    return keys


# -- grammar -----------------------------------------------------------------------------------

_COMMON = r"""
field: _part (_DOT _part)*
_part: NAME | BACKTICKED | DQSTRING

NAME: /(?!\d)\w+/
BACKTICKED: /`(?:[^`]|``)*`/
DQSTRING: /"(?:[^"]|"")*"/
_DOT: "."
_COMMA: ","
%import common.WS
%ignore WS
"""

_FILTER_GRAMMAR = (
    r"""
filter: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: NOT not_expr -> negation
         | atom
?atom: condition
     | _LPAR or_expr _RPAR
?condition: field op value -> comparison
          | field in_op _LPAR item (_COMMA item)* _RPAR -> in_list
          | field IS NOT? NULL -> is_null
?value: NUMBER | SQSTRING | DQSTRING
?item: NUMBER | SQSTRING | DQSTRING
op: EQ | NE | LT | LE | GT | GE | LIKE | ILIKE | NOT LIKE | NOT ILIKE
in_op: NOT? IN

SQSTRING: /'(?:[^']|'')*'/
NUMBER: /[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/
_OR.2: /or\b/i
_AND.2: /and\b/i
NOT.2: /not\b/i
IN.2: /in\b/i
IS.2: /is\b/i
NULL.2: /null\b/i
LIKE.2: /like\b/i
ILIKE.2: /ilike\b/i
EQ: "=" | "=="
NE: "!=" | "<>"
LE: "<="
GE: ">="
LT: "<"
GT: ">"
_LPAR: "("
_RPAR: ")"
"""
    + _COMMON
)

_ORDER_GRAMMAR = (
    r"""
order_by: order_item (_COMMA order_item)*
order_item: field (ASC | DESC)?
ASC.2: /asc\b/i
DESC.2: /desc\b/i
"""
    + _COMMON
)


@functools.cache
def _parser(start: str) -> Lark:
    grammar = _FILTER_GRAMMAR if start == "filter" else _ORDER_GRAMMAR
    return Lark(grammar, parser="lalr", start=start, maybe_placeholders=False)


def _parse(text: str, start: str) -> Tree[Token]:
    try:
        return _parser(start).parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc, start) from None


_OPERATORS = "a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS)"
_TERMINAL_WORDS = {
    "_AND": "AND",
    "_OR": "OR",
    "_RPAR": "')'",
    "_LPAR": "'('",
    "_COMMA": "','",
    "ASC": "ASC",
    "DESC": "DESC",
}


def _describe_expected(expected: set[str], what: str) -> str:
    if "EQ" in expected:
        return _OPERATORS
    if "NULL" in expected:
        return "NULL or NOT NULL after IS"
    if "LIKE" in expected:
        return "IN, LIKE or ILIKE after NOT"
    if "NUMBER" in expected:
        return "a value (a number or a 'quoted' string)"
    if expected == {"_LPAR"}:
        return "'(' to start the list of values"
    if "NAME" in expected and "_LPAR" in expected:
        return "a field (e.g. metrics.acc, params.lr, tags.team, status), NOT or '('"
    if "NAME" in expected:
        return 'a name (bare, `back-ticked` or "double-quoted")'
    if "$END" in expected:
        # After reducing a whole expression the parser only reports the end, yet a connective fits too.
        expected = expected | ({"_AND", "_OR"} if what == "filter" else {"_COMMA"})
    words = [_TERMINAL_WORDS.get(name, name) for name in sorted(expected - {"$END", "_DOT"})]
    if "$END" in expected:
        words.append(f"the end of the {what}")
    if not words:
        return "something else"
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]


def _syntax_error(text: str, exc: UnexpectedInput, start: str) -> FilterError:
    what = "filter" if start == "filter" else "order-by"
    line, column = exc.line, exc.column
    if (isinstance(exc, UnexpectedToken) and exc.token.type == "$END") or line < 1:
        line, column = _end_position(text)
        place = f"{what} error at the end (column {column})"
    else:
        near = exc.token if isinstance(exc, UnexpectedToken) else _word_at(text, exc.pos_in_stream or 0)
        place = _place(line, column, what) + f" near {_quote(str(near))}"
    if isinstance(exc, UnexpectedCharacters) and exc.char in "'\"`":
        kind = "key" if exc.char == "`" else "string"
        problem = f"unterminated quoted {kind}; add the closing {exc.char}"
    elif isinstance(exc, UnexpectedToken):
        # accepts() asks the parser itself, free of the lookaheads merged into LALR states.
        expected = exc.interactive_parser.accepts() if exc.interactive_parser else exc.expected
        problem = "expected " + _describe_expected(set(expected), what)
    elif isinstance(exc, UnexpectedCharacters):
        problem = "expected " + _describe_expected(_accepts_before_bad_character(text, start), what)
    else:
        problem = "unexpected input"
    return FilterError(f"{place}: {problem}", text=text, line=line, column=column)


def _accepts_before_bad_character(text: str, start: str) -> set[str]:
    """What the parser would have accepted where the lexer met a character it cannot read."""
    interactive = _parser(start).parse_interactive(text)
    try:
        for _token in interactive.iter_parse():
            pass
    except UnexpectedCharacters:
        return set(interactive.accepts())
    return set()


def _place(line: int, column: int, what: str) -> str:
    return f"{what} error at " + (f"line {line}, column {column}" if line > 1 else f"column {column}")


def _end_position(text: str) -> tuple[int, int]:
    lines = text.rstrip().splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


def _word_at(text: str, pos: int) -> str:
    match = re.compile(r"\S+").match(text, pos)
    return match.group(0) if match else text[pos : pos + 1]


def _quote(token: str) -> str:
    return repr(token if len(token) <= 30 else token[:27] + "...")


# -- tree -> AST ---------------------------------------------------------------------------------


def _unquote(token: Token) -> str:
    if token.type == "BACKTICKED":
        return token[1:-1].replace("``", "`")
    if token.type in ("DQSTRING", "SQSTRING"):
        quote = token[0]
        return token[1:-1].replace(quote * 2, quote)
    return str(token)


def _number(text: str) -> int | float:
    if re.fullmatch(r"[+-]?\d+", text):
        value = int(text)
        return value if -(2**63) <= value < 2**63 else float(value)
    return float(text)


class _Builder:
    """Turns a parse tree into AST nodes, checking fields and values as it goes."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what

    def error(self, token: Token, problem: str) -> FilterError:
        line, column = token.line or 1, token.column or 1
        message = f"{_place(line, column, self.what)} near {_quote(str(token))}: {problem}"
        return FilterError(message, text=self.text, line=line, column=column)

    def node(self, tree: Tree[Token] | Token) -> Node:
        assert isinstance(tree, Tree)
        match tree.data:
            case "or_expr":
                return Or(self.nodes(tree))
            case "and_expr":
                return And(self.nodes(tree))
            case "negation":
                return Not(self.nodes(tree)[0])
            case "comparison":
                return self.comparison(tree)
            case "in_list":
                return self.in_list(tree)
            case "is_null":
                field_tree = tree.children[0]
                assert isinstance(field_tree, Tree)
                negated = any(str(t).lower() == "not" for t in tree.children[1:])
                return IsNull(self.field(field_tree), negated)
        raise AssertionError(f"unknown rule {tree.data}")

    def nodes(self, tree: Tree[Token]) -> tuple[Node, ...]:
        return tuple(self.node(child) for child in tree.children if isinstance(child, Tree))

    def field(self, tree: Tree[Token]) -> Field:
        parts = [part for part in tree.children if isinstance(part, Token)]
        entity, rest = Entity.ATTRIBUTE, parts
        if len(parts) > 1 and parts[0].type == "NAME" and parts[0].lower() in _ENTITY_ALIASES:
            entity, rest = _ENTITY_ALIASES[parts[0].lower()], parts[1:]
        summary: Summary | None = None
        last = rest[-1]
        if len(rest) > 1 and last.type == "NAME" and last.lower() in _SUMMARIES:
            if entity is not Entity.METRIC:
                raise self.error(
                    last,
                    f"'.{last}' picks a metric summary; {entity.value} have none "
                    f"(quote a dotted key: {entity.value}.`{'.'.join(map(_unquote, rest))}`)",
                )
            summary, rest = Summary(last.lower()), rest[:-1]
        key = ".".join(_unquote(part) for part in rest)
        if not key:
            raise self.error(rest[0], "empty key")
        if entity is Entity.METRIC:
            return Field(entity, key, summary or Summary.LAST)
        if entity is Entity.ATTRIBUTE:
            canonical = _ATTRIBUTE_ALIASES.get(key.strip().lower().replace(" ", "_"))
            if canonical is None:
                raise self.error(
                    parts[0],
                    f"unknown attribute '{key}'; attributes are {', '.join(ATTRIBUTES)} "
                    f"(for a metric, param or tag write metrics.{key}, params.{key} or tags.{key})",
                )
            return Field(entity, canonical)
        if entity is Entity.DATASET:
            if key.lower() not in DATASET_KEYS:
                raise self.error(rest[0], f"unknown dataset field '{key}'; use {', '.join(DATASET_KEYS)}")
            return Field(entity, key.lower())
        return Field(entity, key)

    def comparison(self, tree: Tree[Token]) -> Comparison:
        field_tree, op_tree, token = tree.children
        assert isinstance(field_tree, Tree) and isinstance(op_tree, Tree)
        assert isinstance(token, Token)
        field = self.field(field_tree)
        op_token = op_tree.children[0]
        assert isinstance(op_token, Token)
        op = _op(" ".join(str(t).upper() for t in op_tree.children))
        value = self.value(field, token, op)
        if isinstance(value, str) and op in _ORDERING:
            raise self.error(
                op_token,
                f"'{op.value}' compares numbers but {field} is compared with a string here; "
                "use =, !=, LIKE, ILIKE or IN, or an unquoted number",
            )
        if op in _PATTERN_OPS:
            if not isinstance(value, str):
                raise self.error(op_token, f"{op.value} needs a 'quoted' pattern, not a number")
            try:
                check_like_pattern(value)
            except ValueError as exc:
                raise self.error(token, str(exc)) from None
        return Comparison(field, op, value)

    def in_list(self, tree: Tree[Token]) -> InList:
        field_tree, in_op, *tokens = tree.children
        assert isinstance(field_tree, Tree) and isinstance(in_op, Tree)
        field = self.field(field_tree)
        values = [self.value(field, token, None) for token in tokens if isinstance(token, Token)]
        for token, value in zip(tokens, values, strict=True):
            if isinstance(value, str) != isinstance(values[0], str):
                assert isinstance(token, Token)
                raise self.error(token, "an IN list holds only strings or only numbers")
        return InList(field, tuple(values), negated=len(in_op.children) == 2)

    def value(self, field: Field, token: Token, op: Op | None) -> Value:
        """The literal's value, checked against the field's type (``op`` None: an IN list)."""
        kind = value_kind(field)
        if token.type == "NUMBER":
            if kind == "string":
                raise self.error(token, f"{field} is a string: quote the value, e.g. '{token}'")
            return _number(token)
        text = _unquote(token)
        if kind == "number":
            raise self.error(token, f"{field} is a number: compare it with a number, not {token}")
        if field.entity is Entity.ATTRIBUTE and field.key == "status":
            text = text.lower()
            if op not in _PATTERN_OPS and text not in _STATUSES:
                raise self.error(token, f"unknown status {token}; use one of {', '.join(_STATUSES)}")
        return text


def _op(text: str) -> Op:
    return {"==": Op.EQ, "<>": Op.NE}.get(text) or Op(text)
