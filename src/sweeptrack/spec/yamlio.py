"""YAML for sweep specs: safe loading that remembers the line of every key and list item.

Three deliberate departures from plain ``yaml.safe_load``:

- ``1e-5``, ``1E5`` and ``-2.5e-3`` are floats (YAML 1.1 reads exponents without a dot as strings,
  which is why the W&B docs tell users to write ``!!float 1e-5``).
- Mapping keys are the text as written (``on:`` stays ``"on"``, not ``True``) and a key written twice
  in one mapping is reported instead of silently keeping the last value.
- W&B's docs write ``command: [${env}, ${interpreter}, ${program}, ${args}]``, which YAML rejects
  (``{`` is a flow indicator). When a file fails to parse, single-line flow lists whose items hold
  ``${...}`` macros get those items quoted and the text is parsed again; lines do not move.

A sweep file cannot exhaust the machine: it is refused, with one line that names the file (and the
line where there is one), when it is larger than :data:`MAX_SPEC_BYTES`, nests deeper than
:data:`MAX_DEPTH`, has an alias inside its own anchor (a recursive structure), or its aliases
expand to more than :data:`MAX_ALIAS_NODES` nodes (a "billion laughs" file). Each check costs
time linear in the text, so a refusal comes at once.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

import yaml

from sweeptrack.core.errors import SpecError

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_SPEC_BYTES",
    "MarkedMap",
    "MarkedSeq",
    "check_size",
    "parse_yaml",
    "plain",
]

MAX_SPEC_BYTES = 1024 * 1024
"""The largest sweep file read (1 MiB); real specs are a few kilobytes."""
MAX_DEPTH = 100
"""The deepest nesting of lists and mappings; W&B's nested parameters use a handful of levels."""
MAX_ALIAS_NODES = 10_000
"""The most nodes that aliases (``*name``) may add to a file, counting a copy of everything they
stand for: a shared ``defaults`` block used a few times stays far below."""


class MarkedMap(dict[str, Any]):
    """A YAML mapping. ``line`` is where it starts, ``lines[key]`` the line of each key (1-based),
    ``duplicates`` the keys written more than once with the line of their second occurrence."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[str, int] = {}
        self.duplicates: list[tuple[str, int]] = []


class MarkedSeq(list[Any]):
    """A YAML sequence. ``line`` is where it starts, ``lines[i]`` the line of item ``i`` (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that builds MarkedMap/MarkedSeq and reads exponent-only numbers as floats.

    Its composer refuses nesting deeper than ``max_depth``, an alias inside its own anchor, and
    aliases that add more than ``max_alias_nodes`` nodes, before anything is constructed: PyYAML
    shares an anchored node between its aliases, and what walks the result (validation, copies)
    would take exponential time and memory, or recurse until a RecursionError.
    """

    def __init__(self, stream: str, *, max_depth: int, max_alias_nodes: int) -> None:
        super().__init__(stream)
        self.max_depth = max_depth
        self.max_alias_nodes = max_alias_nodes
        self._depth = 0
        self._open_anchors: list[str] = []  # anchors of the nodes being composed, outermost first
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}  # id(node) -> node count with aliases expanded

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner reads ahead to the end of nested flow collections ("[[[..."), in time that
        # grows with the square of their depth: refuse here, before the composer sees them.
        if self.flow_level >= self.max_depth:
            self._too_deep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def _too_deep(self, mark: Any) -> NoReturn:
        raise SpecError(
            f"nested more than {self.max_depth} levels deep; a sweep spec needs a few",
            line=int(mark.line) + 1,
        )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return self._compose_alias(event, parent, index)
        self._depth += 1
        if self._depth > self.max_depth:
            self._too_deep(event.start_mark)
        anchor = event.anchor
        if anchor is not None:
            self._open_anchors.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.pop()

    def _compose_alias(
        self, event: yaml.AliasEvent, parent: yaml.Node | None, index: Any
    ) -> yaml.Node | None:
        line = None if event.start_mark is None else int(event.start_mark.line) + 1
        if event.anchor in self._open_anchors:
            raise SpecError(
                f"alias *{event.anchor} is inside its own anchor &{event.anchor}: "
                "a recursive structure cannot be a sweep spec",
                line=line,
            )
        node = super().compose_node(parent, index)
        self._alias_nodes += 0 if node is None else self._size(node)
        if self._alias_nodes > self.max_alias_nodes:
            raise SpecError(
                f"aliases expand to more than {self.max_alias_nodes:,} nodes (at *{event.anchor}); "
                "write the values out or use fewer nested aliases",
                line=line,
            )
        return node

    def _size(self, node: yaml.Node) -> int:
        """How many nodes ``node`` stands for, each alias inside it counted as a full copy."""
        size = self._sizes.get(id(node))
        if size is None:
            if isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._size(item) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
            else:
                size = 1
            self._sizes[id(node)] = size
        return size


_EXPONENT_FLOAT = re.compile(
    r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+|[-+]?\.[0-9][0-9_]*[eE][-+]?[0-9]+)$"
)
_LineLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _key(loader: _LineLoader, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise SpecError("mapping keys must be plain names, not lists or mappings", line=_line(node))
    return str(node.value)


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Any:
    data = MarkedMap(_line(node))
    yield data
    seen: set[str] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = _key(loader, key_node)
        if key in seen:
            data.duplicates.append((key, _line(key_node)))
        seen.add(key)
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = _key(loader, key_node)
        data[key] = loader.construct_object(value_node)
        data.lines[key] = _line(key_node)


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> Any:
    data = MarkedSeq(_line(node))
    yield data
    for item in node.value:
        data.append(loader.construct_object(item))
        data.lines.append(_line(item))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)

_FLOW_LIST_LINE = re.compile(
    r"^(?P<head>[^#'\"\[]*?:[ \t]*)\[(?P<body>[^\[\]'\"#]*)\](?P<tail>[ \t]*(?:#.*)?)$"
)


def _quote_macro_items(text: str) -> str:
    """Quote the ``${...}`` items of single-line flow lists (``[${env}, python, ${args}]``)."""
    out = []
    for line in text.split("\n"):
        match = _FLOW_LIST_LINE.match(line)
        if match and "${" in match["body"]:
            items = [item.strip() for item in match["body"].split(",")]
            quoted = [f"'{item}'" if "${" in item else item for item in items]
            line = f"{match['head']}[{', '.join(quoted)}]{match['tail']}"
        out.append(line)
    return "\n".join(out)


def _load(text: str, *, max_depth: int, max_alias_nodes: int) -> Any:
    loader = _LineLoader(text, max_depth=max_depth, max_alias_nodes=max_alias_nodes)
    try:
        return loader.get_single_data()  # a SafeLoader subclass: safe
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.YAMLError, source: str) -> SpecError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    reason = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return SpecError(reason, source=source, line=None if mark is None else int(mark.line) + 1)


def parse_yaml(
    text: str,
    *,
    source: str = "<string>",
    max_bytes: int = MAX_SPEC_BYTES,
    max_depth: int = MAX_DEPTH,
    max_alias_nodes: int = MAX_ALIAS_NODES,
) -> MarkedMap:
    """Parse a sweep file into a :class:`MarkedMap`; syntax errors become :class:`SpecError`.

    The limits (see the module docstring) default to :data:`MAX_SPEC_BYTES`, :data:`MAX_DEPTH`
    and :data:`MAX_ALIAS_NODES`.

    >>> parse_yaml("metric:\\n  name: loss\\nlr: 1e-5\\n")["lr"]
    1e-05
    """
    _check_size(text, source, max_bytes)
    try:
        data = _parse(text, source, max_depth=max_depth, max_alias_nodes=max_alias_nodes)
    except SpecError as exc:
        raise SpecError(exc.reason, source=source, line=exc.line) from None
    if data is None:
        raise SpecError(
            "the spec is empty; expected a mapping with method:, metric: and parameters:",
            source=source,
            line=1,
        )
    if not isinstance(data, MarkedMap):
        raise SpecError(
            "the spec must be a mapping of keys (method:, metric:, parameters:, ...)", source=source, line=1
        )
    return data


def _check_size(text: str, source: str, max_bytes: int) -> None:
    check_size(len(text.encode("utf-8", "surrogatepass")), source, max_bytes)


def check_size(size: int, source: str, max_bytes: int = MAX_SPEC_BYTES) -> None:
    """Refuse a spec of ``size`` bytes over the limit (a file is checked before it is read)."""
    if size > max_bytes:
        raise SpecError(
            f"the file is {size:,} bytes, over the limit of {max_bytes:,} bytes for a sweep spec; "
            "a spec lists parameters, not data",
            source=source,
        )


def _parse(text: str, source: str, *, max_depth: int, max_alias_nodes: int) -> Any:
    limits = {"max_depth": max_depth, "max_alias_nodes": max_alias_nodes}
    try:
        return _load(text, **limits)
    except yaml.YAMLError as exc:
        first = exc
    patched = _quote_macro_items(text)
    if patched == text:
        raise _syntax_error(first, source) from None
    try:
        return _load(patched, **limits)
    except yaml.YAMLError:
        raise _syntax_error(first, source) from None


def plain(value: Any) -> Any:
    """A copy of a parsed value with plain ``dict`` and ``list`` in place of the marked ones."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
