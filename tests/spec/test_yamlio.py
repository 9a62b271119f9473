"""The YAML layer: line numbers, exponent floats, literal keys, syntax errors."""

from __future__ import annotations

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec.yamlio import MarkedMap, MarkedSeq, parse_yaml, plain


def test_lines_of_keys_and_items() -> None:
    data = parse_yaml("a: 1\nb:\n  c: [1,\n    2]\n  d:\n    - x\n    - y\n")
    assert data.lines == {"a": 1, "b": 2}
    assert data["b"].lines == {"c": 3, "d": 5}
    assert data["b"]["c"].lines == [3, 4]
    assert data["b"]["d"].lines == [6, 7]
    assert isinstance(data["b"], MarkedMap) and isinstance(data["b"]["d"], MarkedSeq)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-5", 1e-5), ("1E5", 1e5), ("-2.5e-3", -2.5e-3), ("1.0e5", 1e5), ("+3e2", 300.0), (".5e1", 5.0)],
)
def test_exponents_are_floats(text: str, value: float) -> None:
    got = parse_yaml(f"x: {text}\n")["x"]
    assert type(got) is float and got == value


@pytest.mark.parametrize(
    ("text", "value"), [("10", 10), ("0x10", 16), ("1_000", 1000), ("e5", "e5"), ("1e", "1e")]
)
def test_other_scalars_keep_their_yaml_meaning(text: str, value: object) -> None:
    got = parse_yaml(f"x: {text}\n")["x"]
    assert got == value and type(got) is type(value)


def test_keys_are_the_text_written() -> None:
    data = parse_yaml("on: 1\n1: 2\nnull: 3\nyes: true\n")
    assert list(data) == ["on", "1", "null", "yes"]
    assert data["yes"] is True


def test_merge_keys_work_and_own_keys_win() -> None:
    data = parse_yaml("base: &b {min: 1, max: 5}\nx:\n  <<: *b\n  max: 9\n")
    assert plain(data["x"]) == {"min": 1, "max": 9}
    assert data["x"].duplicates == []


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(SpecError, match=r"^s\.yaml:3: invalid YAML: mapping values are not allowed here$"):
        parse_yaml("a: 1\nb: c\n  d: 2\n", source="s.yaml")
    with pytest.raises(SpecError, match=r"^s\.yaml:2: invalid YAML: found character '\\t'"):
        parse_yaml("a:\n\tb: 1\n", source="s.yaml")


def test_multi_line_flow_lists_with_macros_stay_errors() -> None:
    with pytest.raises(SpecError, match=r"^s\.yaml:2: invalid YAML"):
        parse_yaml("command: [\n  ${env},\n  python]\n", source="s.yaml")


def test_non_scalar_keys_are_refused() -> None:
    with pytest.raises(SpecError, match=r"^s\.yaml:1: mapping keys must be plain names"):
        parse_yaml("? [a, b]\n: 1\n", source="s.yaml")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(SpecError, match=r"^<string>:1: the spec is empty"):
        parse_yaml("# nothing\n")
    with pytest.raises(SpecError, match="must be a mapping of keys"):
        parse_yaml("just text\n")
