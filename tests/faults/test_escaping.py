"""User strings (run names, tags, params) print as text in every Markdown output and cannot run as
formulas in CSV: `runs list|show|compare` and `leaderboard`, through the real CLI, on SQLite and
PostgreSQL, for runs logged through the run API."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re

import pytest

import sweeptrack as st

from ._hardening_helpers import ok, sweeptrack

XSS = "<script>alert(1)</script>"
LINK = "[x](http://evil)"
PIPE = "a|b"
FORMULA = '=HYPERLINK("http://evil")'
DDE = "-2+3+cmd|' /C calc'!A0"
AT = "@SUM(A1:A9)"
EMPHASIS = "*bold* _it_ ~~gone~~ `code`"

# What each shows as in Markdown: the text, escaped.
MD = {
    XSS: "&lt;script&gt;alert(1)&lt;/script&gt;",
    LINK: "\\[x\\](http://evil)",
    PIPE: "a\\|b",
    FORMULA: '=HYPERLINK("http://evil")',
    DDE: "-2+3+cmd\\|' /C calc'!A0",
    EMPHASIS: "\\*bold\\* \\_it\\_ \\~\\~gone\\~\\~ \\`code\\`",
}
PARAMS = {"html": XSS, "link": LINK, "pipe": PIPE, "formula": FORMULA, "dde": DDE, "at": AT}
PARAMS |= {"em": EMPHASIS, "neg": -0.5, "batch_size": 32}
TAGS = {"note": LINK, "cell": FORMULA, "number": "-0.5", "sum": "-1+2"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    with st.start_run(experiment="esc", name=XSS, tags=TAGS, db=url, capture_environment=False):
        st.log_params(PARAMS)
        st.log_metric("loss", -0.5, step=0)
    with st.start_run(experiment="esc", name=FORMULA, db=url, capture_environment=False):
        st.log_params({"html": "plain"})
        st.log_metric("loss", 0.25, step=0)
    return url


def md_rows(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in ``text``, split at unescaped pipes, by column."""
    start = text.index("\n|") + 1 if not text.startswith("|") else 0
    lines = list(itertools.takewhile(lambda line: line.startswith("|"), text[start:].splitlines()))
    split = [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
    assert all(len(row) == len(split[0]) for row in split), text  # no cell broke the table
    assert set(split[1]) == {"---"}
    return [dict(zip(split[0], row, strict=True)) for row in split[2:]]


def run_ids(db: str) -> dict[str, str]:
    runs = json.loads(ok(sweeptrack("runs", "list", "--format", "json", db=db)))
    return {run["name"]: run["id"] for run in runs}


def assert_no_markup(text: str) -> None:
    """No tag, link or emphasis that a Markdown renderer would act on."""
    assert "<script>" not in text
    assert not re.search(r"(?<!\\)\]\(|(?<!\\)\*bold", text)


def test_runs_list_md_shows_user_strings_as_text(db: str) -> None:
    text = ok(sweeptrack("runs", "list", "--format", "md", db=db))

    rows = {row["name"]: row for row in md_rows(text)}
    assert set(rows) == {MD[XSS], MD[FORMULA]}
    row = rows[MD[XSS]]
    assert [row[f"params.{key}"] for key in ("html", "link", "pipe", "formula", "dde", "em")] == [
        MD[XSS],
        MD[LINK],
        MD[PIPE],
        MD[FORMULA],
        MD[DDE],
        MD[EMPHASIS],
    ]
    assert row["params.neg"] == "-0.5" and row["params.batch_size"] == "32"  # numbers as they are
    assert_no_markup(text)


def test_runs_show_md_escapes_title_params_and_tags(db: str) -> None:
    text = ok(sweeptrack("runs", "show", run_ids(db)[XSS], "--format", "md", db=db))

    assert text.startswith(f"### Run {MD[XSS]}\n")
    assert f"| name | {MD[XSS]} |" in text.splitlines()
    for key, value in PARAMS.items():
        shown = MD.get(value, str(value)) if isinstance(value, str) else str(value)
        assert f"| {key} | {shown} |" in text.splitlines()
    assert f"| note | {MD[LINK]} |" in text.splitlines()
    assert_no_markup(text)


def test_runs_compare_and_leaderboard_md(db: str) -> None:
    ids = run_ids(db)
    compare = ok(sweeptrack("runs", "compare", ids[XSS], ids[FORMULA], "--format", "md", db=db))
    board = ok(sweeptrack("leaderboard", "--metric", "loss", "-e", "esc", "--format", "md", db=db))

    by_key = {(row["section"], row["key"]): row for row in md_rows(compare)}
    assert by_key["run", "name"][ids[XSS][:8]] == MD[XSS]
    assert by_key["run", "name"][ids[FORMULA][:8]] == MD[FORMULA]
    assert by_key["params", "link"][ids[XSS][:8]] == MD[LINK]
    assert board.startswith("### Leaderboard: loss (minimize)\n")
    assert [(row["rank"], row["name"], row["params.pipe"]) for row in md_rows(board)] == [
        ("1", MD[XSS], MD[PIPE]),
        ("2", MD[FORMULA], ""),
    ]
    assert_no_markup(compare + board)


def test_report_md_escapes_like_every_table(db: str) -> None:
    text = ok(sweeptrack("report", "--experiment", "esc", "--metric", "loss", "--format", "md", db=db))

    assert f"- **best**: {MD[XSS]} (`" in text
    top = text[text.index("### Top 2 of 2") :]
    assert [(row["rank"], row["name"], row["link"]) for row in md_rows(top)] == [
        ("1", MD[XSS], MD[LINK]),
        ("2", MD[FORMULA], ""),
    ]
    assert_no_markup(text)


def csv_records(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("raw", [False, True])
def test_csv_neutralises_formulas_unless_raw(db: str, raw: bool) -> None:
    flag = ["--raw"] if raw else []
    runs = csv_records(ok(sweeptrack("runs", "list", "--format", "csv", *flag, db=db)))
    board = csv_records(
        ok(sweeptrack("leaderboard", "--metric", "loss", "-e", "esc", "--format", "csv", *flag, db=db))
    )
    ids = run_ids(db)
    compare = csv_records(
        ok(sweeptrack("runs", "compare", ids[XSS], ids[FORMULA], "--format", "csv", *flag, db=db))
    )

    quote = "" if raw else "'"
    row = {r["name"]: r for r in runs}[XSS]
    assert {key: row[f"params.{key}"] for key in PARAMS} == {
        "html": XSS,  # not a formula: CSV keeps text as it is
        "link": LINK,
        "pipe": PIPE,
        "formula": quote + FORMULA,
        "dde": quote + DDE,
        "at": quote + AT,
        "em": EMPHASIS,
        "neg": "-0.5",  # a number, not a formula
        "batch_size": "32",
    }
    assert [(r["rank"], r["name"], r["loss"]) for r in board] == [
        ("1", XSS, "-0.5"),
        ("2", quote + FORMULA, "0.25"),
    ]
    assert {(r["section"], r["key"]): r[ids[FORMULA][:8]] for r in compare}["run", "name"] == quote + FORMULA
    show = ok(sweeptrack("runs", "show", ids[XSS], "--format", "csv", *flag, db=db))
    blocks = {block.split("\n", 1)[0]: block.split("\n", 1)[1] for block in show.split("\n\n")}
    tags = {r["tag"]: r["value"] for r in csv_records(blocks["# Tags"])}
    assert tags == {
        "note": LINK,
        "cell": quote + FORMULA,
        "number": "-0.5",  # text that is a number stays a number
        "sum": quote + "-1+2",
    }
