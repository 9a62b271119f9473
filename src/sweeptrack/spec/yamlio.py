"""YAML for sweep specs: safe loading that remembers the line of every key and list item.

Three deliberate departures from plain ``yaml.safe_load``:

- ``1e-5``, ``1E5`` and ``-2.5e-3`` are floats (YAML 1.1 reads exponents without a dot as strings,
  which is why the W&B docs tell users to write ``!!float 1e-5``).
- Mapping keys are the text as written (``on:`` stays ``"on"``, not ``True``) and a key written twice
  in one mapping is reported instead of silently keeping the last value.
- W&B's docs write ``command: [${env}, ${interpreter}, ${program}, ${args}]``, which YAML rejects
  (``{`` is a flow indicator). When a file fails to parse, single-line flow lists whose items hold
  ``${...}`` macros get those items quoted and the text is parsed again; lines do not move.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from sweeptrack.core.errors import SpecError

__all__ = ["MarkedMap", "MarkedSeq", "parse_yaml", "plain"]


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
    """SafeLoader that builds MarkedMap/MarkedSeq and reads exponent-only numbers as floats."""


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


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: safe


def _syntax_error(exc: yaml.YAMLError, source: str) -> SpecError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    reason = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return SpecError(reason, source=source, line=None if mark is None else int(mark.line) + 1)


def parse_yaml(text: str, *, source: str = "<string>") -> MarkedMap:
    """Parse a sweep file into a :class:`MarkedMap`; syntax errors become :class:`SpecError`.

    >>> parse_yaml("metric:\\n  name: loss\\nlr: 1e-5\\n")["lr"]
    1e-05
    """
    try:
        data = _load(text)
    except yaml.YAMLError as exc:
        patched = _quote_macro_items(text)
        if patched == text:
            raise _syntax_error(exc, source) from None
        try:
            data = _load(patched)
        except yaml.YAMLError:
            raise _syntax_error(exc, source) from None
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


def plain(value: Any) -> Any:
    """A copy of a parsed value with plain ``dict`` and ``list`` in place of the marked ones."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
