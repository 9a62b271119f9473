"""Rendering tables as rich text, CSV, JSON and Markdown: non-finite floats, escaping, width."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from sweeptrack.core.errors import SweepTrackError
from sweeptrack.reports.formats import Format, Report, Table, format_time, render, text_cell

NAN, INF = float("nan"), float("inf")

TABLE = Table(
    columns=("key", "value", "flag"),
    rows=(("nan", NAN, True), ("inf", INF, False), ("-inf", -INF, None), ("third", 1 / 3, None)),
    title="Numbers",
    name="numbers",
)


def test_csv_writes_nan_inf_and_full_precision() -> None:
    rows = list(csv.reader(io.StringIO(render(Report(tables=(TABLE,)), Format.CSV))))

    assert rows[0] == ["key", "value", "flag"]
    assert [row[1] for row in rows[1:]] == ["nan", "inf", "-inf", repr(1 / 3)]
    assert [row[2] for row in rows[1:]] == ["true", "false", "", ""]


def test_json_is_valid_and_spells_non_finite_floats_as_strings() -> None:
    text = render(Report(tables=(TABLE,)), Format.JSON)

    records = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert [r["value"] for r in records] == ["nan", "inf", "-inf", 1 / 3]
    assert records[0] == {"key": "nan", "value": "nan", "flag": True}


def test_json_of_several_tables_is_keyed_by_name_and_data_wins_when_given() -> None:
    other = Table(columns=("a",), rows=((1,),), name="other")
    assert set(json.loads(render(Report(tables=(TABLE, other)), Format.JSON))) == {"numbers", "other"}

    custom = Report(tables=(TABLE,), data={"nested": [NAN, {"x": -INF}]})
    assert json.loads(render(custom, Format.JSON)) == {"nested": ["nan", {"x": "-inf"}]}


def test_markdown_has_a_title_and_escapes_pipes_and_newlines() -> None:
    table = Table(columns=("name", "note"), rows=(("a|b", "line1\nline2"),), title="Runs")

    lines = render(Report(tables=(table,)), Format.MD).splitlines()

    assert lines[:4] == ["### Runs", "", "| name | note |", "| --- | --- |"]
    assert lines[4] == "| a\\|b | line1<br>line2 |"


def test_plain_table_fits_80_columns_and_prints_markup_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    long = "x" * 150
    table = Table(columns=("id", "text"), rows=(("[bold]r1[/bold]", long), (":smile:", NAN)), title="T")

    text = render(Report(tables=(table,)), Format.TABLE)

    assert max(len(line) for line in text.splitlines()) <= 80  # not a terminal: 80 columns
    assert text.count("x") == 150 + 1  # the header's "text": long text is folded, not cropped
    assert "[bold]r1[/bold]" in text and ":smile:" in text
    assert "\x1b[" not in text
    assert "nan" in text


def test_several_tables_render_as_csv_blocks() -> None:
    other = Table(columns=("a",), rows=((1,),), title="Other")
    text = render(Report(tables=(TABLE, other)), Format.CSV)
    assert text.startswith("# Numbers\nkey,value,flag\n")
    assert text.endswith("\n\n# Other\na\n1\n")


def test_text_cells() -> None:
    assert [text_cell(v) for v in (NAN, INF, -INF, 0.1 + 0.2, 12, None, {"b": 1, "a": [1]})] == [
        "nan",
        "inf",
        "-inf",
        "0.3",
        "12",
        "",
        '{"a": [1], "b": 1}',
    ]
    assert text_cell(0.1 + 0.2, exact=True) == "0.30000000000000004"


def test_times_are_iso_local_with_offset() -> None:
    text = format_time(1_700_000_000_123)
    assert text is not None
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None and parsed.timestamp() == 1_700_000_000
    assert format_time(None) is None


def test_highlighted_rows_are_styled_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats the output as a terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    table = Table(columns=("key", "value"), rows=(("lr", 0.1), ("seed", 1)), highlight=(True, False))

    lines = render(Report(tables=(table,)), Format.TABLE).splitlines()

    assert "\x1b[1;33m" in next(line for line in lines if "lr" in line)
    assert "\x1b[" not in next(line for line in lines if "seed" in line)


def test_hidden_columns_are_left_out_unless_columns_names_them() -> None:
    table = Table(
        columns=("name", "params.seed", "lr"), rows=(("a", 1, 0.1),), hidden=frozenset({"params.seed"})
    )
    report = Report(tables=(table,))

    assert render(report, Format.CSV) == "name,lr\na,0.1\n"
    assert json.loads(render(report, Format.JSON, columns=["params.seed", "name"])) == [
        {"params.seed": 1, "name": "a"}
    ]


def test_columns_of_a_report_with_several_tables() -> None:
    other = Table(columns=("a", "name"), rows=((1, "x"),), name="other")
    report = Report(tables=(TABLE, other), data={"custom": True})

    # each table keeps the columns it has; one with none is left out; JSON shows the tables' rows
    assert json.loads(render(report, Format.JSON, columns=["name", "value"])) == {
        "numbers": [{"value": "nan"}, {"value": "inf"}, {"value": "-inf"}, {"value": 1 / 3}],
        "other": [{"name": "x"}],
    }
    assert json.loads(render(report, Format.JSON, columns=["a"])) == [{"a": 1}]
    with pytest.raises(SweepTrackError, match=r"^no column 'vaule' in --columns; did you mean value\?$"):
        render(report, Format.CSV, columns=["vaule"])


def test_timestamps_are_iso_in_text_formats_and_compact_in_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    started = format_time(1_700_000_000_000)
    assert started is not None
    report = Report(tables=(Table(columns=("id", "started"), rows=(("r1", started),)),))

    assert (
        started in render(report, Format.CSV)
        and json.loads(render(report, Format.JSON))[0]["started"] == started
    )
    table = render(report, Format.TABLE)
    assert started.compact in table and started not in table
    assert started.compact == datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M:%S")
