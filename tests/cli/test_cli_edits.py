"""`sweeptrack runs tag|untag|note|rename|delete|restore` as a user types them, and the deleted
runs in `runs list --deleted` and `runs show`; each test on its own SQLite file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sweeptrack.cli.main import cli
from sweeptrack.tracking.sql.store import SqlStore

Sweeptrack = Callable[..., Result]


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Runs "base" and "wide" in experiment "digits" (tag team=vision) and a sweep trial "trial-0"
    with sweeptrack's own lineage tag."""
    url = f"sqlite:///{tmp_path}/sweeptrack.db"
    with SqlStore(url) as store:
        for start, name in enumerate(("base", "wide")):
            run_id = uuid.uuid4().hex
            store.create_run(
                run_id=run_id,
                experiment="digits",
                name=name,
                start_time=1_700_000_000_000 + start,
                tags={"team": "vision"},
                params={"lr": 0.1 * (start + 1)},
            )
            store.log_metrics(run_id, [("val_f1", 0.8 + start / 10, 0, 1)])
        store.create_run(
            run_id="a" * 32,
            experiment="digits",
            name="trial-0",
            start_time=1_700_000_000_009,
            tags={"sweeptrack.attempt": "2"},
        )
    return url


@pytest.fixture
def sweeptrack(db: str) -> Sweeptrack:
    """``sweeptrack --db DB ARGS...`` in-process; checks the exit status."""

    def run(*args: str, expect: int = 0, stdin: str | None = None) -> Result:
        result = CliRunner().invoke(cli, ["--db", db, *args], input=stdin, catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result

    return run


def show(sweeptrack: Sweeptrack, run: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(sweeptrack("runs", "show", run, "--format", "json").stdout)
    return data


def names(sweeptrack: Sweeptrack, *args: str) -> list[str]:
    return [row["name"] for row in json.loads(sweeptrack("runs", "list", *args, "--format", "json").stdout)]


def error(result: Result) -> str:
    """The one line a refused command prints."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_tag_and_untag(sweeptrack: Sweeptrack) -> None:
    done = sweeptrack("runs", "tag", "base", "keep=yes", "note=a=b", "team=nlp")
    assert done.stdout.startswith("run base (") and done.stdout.endswith(
        ") tagged keep=yes, note=a=b, team=nlp\n"
    )
    assert show(sweeptrack, "base")["tags"] == {"keep": "yes", "note": "a=b", "team": "nlp"}
    assert names(sweeptrack, "--filter", "tags.keep = 'yes'") == ["base"]

    sweeptrack("runs", "untag", "base", "keep", "note")
    assert show(sweeptrack, "base")["tags"] == {"team": "nlp"}


def test_bad_tags_are_refused_and_nothing_is_written(sweeptrack: Sweeptrack) -> None:
    no_equals = sweeptrack("runs", "tag", "base", "keep=yes", "keep", expect=2)
    assert no_equals.stderr.splitlines()[-1] == "Error: tag 'keep' has no '='; write KEY=VALUE, e.g. keep=yes"
    assert error(sweeptrack("runs", "tag", "base", "=yes", expect=2)) == (
        "error: tag key '' has 0 characters; the limit is 1 to 255"
    )
    reserved = (
        "error: tag 'sweeptrack.attempt' is reserved: sweeptrack writes the sweeptrack.* tags "
        "(a trial's attempt and lineage) and they cannot be edited; use another key"
    )
    assert (
        error(sweeptrack("runs", "tag", "trial-0", "keep=yes", "sweeptrack.attempt=1", expect=2)) == reserved
    )
    assert error(sweeptrack("runs", "untag", "trial-0", "sweeptrack.attempt", expect=2)) == reserved
    assert error(sweeptrack("runs", "untag", "base", "team", "nope", expect=2)).endswith(
        ") has no tag 'nope'; its tags: team; nothing removed"
    )
    assert error(sweeptrack("runs", "tag", "nothing", "keep=yes", expect=2)) == (
        "error: no run with id, id prefix or name 'nothing'"
    )
    assert show(sweeptrack, "base")["tags"] == {"team": "vision"}
    assert show(sweeptrack, "trial-0")["tags"] == {"sweeptrack.attempt": "2"}


def test_note_from_text_file_and_stdin_then_cleared(sweeptrack: Sweeptrack, tmp_path: Path) -> None:
    set_ = sweeptrack("runs", "note", "base", "lr too high:\nthe loss spikes at epoch 3")
    assert set_.stdout.endswith("): note set (39 characters)\n")
    assert show(sweeptrack, "base")["note"] == "lr too high:\nthe loss spikes at epoch 3"
    assert "the loss spikes at epoch 3" in sweeptrack("runs", "show", "base").stdout

    (tmp_path / "note.md").write_text("from a file\n\n", encoding="utf-8")
    sweeptrack("runs", "note", "base", "--file", str(tmp_path / "note.md"))
    assert show(sweeptrack, "base")["note"] == "from a file"
    sweeptrack("runs", "note", "base", "--file", "-", stdin="from stdin\n")
    assert show(sweeptrack, "base")["note"] == "from stdin"

    assert sweeptrack("runs", "note", "base", "--clear").stdout.endswith("): note cleared\n")
    assert show(sweeptrack, "base")["note"] is None


def test_bad_notes_are_refused(sweeptrack: Sweeptrack, tmp_path: Path) -> None:
    sweeptrack("runs", "note", "base", "kept")
    for args in ((), ("text", "--clear"), ("--file", "x", "--clear")):
        refused = sweeptrack("runs", "note", "base", *args, expect=2)
        assert refused.stderr.splitlines()[-1] == (
            "Error: give the note as TEXT, or --file F, or --clear (one of them)"
        )
    empty = sweeptrack("runs", "note", "base", "  ", expect=2)
    assert (
        empty.stderr.splitlines()[-1]
        == "Error: the note is empty; give some text, or --clear to remove the note"
    )
    missing = sweeptrack("runs", "note", "base", "--file", str(tmp_path / "none.md"), expect=2)
    assert missing.stderr.splitlines()[-1].startswith(
        f"Error: cannot read the note from {tmp_path / 'none.md'}: "
    )
    (tmp_path / "big.md").write_text("n" * 100_001, encoding="utf-8")
    big = sweeptrack("runs", "note", "base", "--file", str(tmp_path / "big.md"), expect=2)
    assert error(big) == "error: note has 100,001 characters; the limit is 100,000"
    assert show(sweeptrack, "base")["note"] == "kept"


def test_rename(sweeptrack: Sweeptrack) -> None:
    done = sweeptrack("runs", "rename", "base", "baseline v2")
    assert done.stdout.startswith("run base (") and done.stdout.endswith(") renamed to baseline v2\n")
    assert show(sweeptrack, "baseline v2")["name"] == "baseline v2"
    assert error(sweeptrack("runs", "rename", "baseline v2", "", expect=2)) == (
        "error: run name '' has 0 characters; the limit is 1 to 255"
    )
    assert error(sweeptrack("runs", "rename", "baseline v2", "x" * 256, expect=2)) == (
        "error: run name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... has 256 characters; the limit is 1 to 255"
    )
    assert error(sweeptrack("runs", "rename", "baseline v2", "   ", expect=2)) == (
        "error: a run name cannot be blank; give a name with a visible character"
    )
    assert names(sweeptrack) == ["trial-0", "wide", "baseline v2"]


def test_delete_hides_runs_until_restored(sweeptrack: Sweeptrack) -> None:
    done = sweeptrack("runs", "delete", "base", "wide")
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("deleted run base (")
    assert lines[0].endswith(" brings it back") and "`sweeptrack runs restore " in lines[0]
    assert names(sweeptrack) == ["trial-0"]
    assert names(sweeptrack, "--filter", "params.lr > 0") == []
    hidden = sweeptrack("runs", "list", "--filter", "params.lr > 0").stdout.splitlines()
    assert hidden[-2:] == ["0 runs", "2 deleted runs match; --deleted lists them"]
    listed = json.loads(sweeptrack("runs", "list", "--deleted", "--format", "json").stdout)
    assert [(row["name"], row["deleted"] is not None) for row in listed] == [
        ("trial-0", False),
        ("wide", True),
        ("base", True),
    ]
    table = sweeptrack("runs", "list", "--deleted").stdout
    assert "deleted" in table.splitlines()[1]
    leaderboard = sweeptrack("leaderboard", "-e", "digits", "--metric", "val_f1", "--format", "json")
    assert json.loads(leaderboard.stdout) == []
    assert show(sweeptrack, "base")["deleted"] is not None  # still there, by name

    restored = sweeptrack("runs", "restore", "base")
    assert restored.stdout.startswith("restored run base (")
    assert names(sweeptrack) == ["trial-0", "base"]


def test_deleting_a_deleted_run_or_restoring_a_live_one_is_refused(sweeptrack: Sweeptrack) -> None:
    sweeptrack("runs", "delete", "base")
    refused = error(sweeptrack("runs", "delete", "wide", "base", expect=2))
    assert refused.startswith("error: run base (") and refused.endswith("): already deleted; nothing deleted")
    assert names(sweeptrack) == ["trial-0", "wide"]  # wide was not deleted either
    refused = error(sweeptrack("runs", "restore", "base", "wide", expect=2))
    assert refused.startswith("error: run wide (") and refused.endswith("): not deleted; nothing restored")
    assert names(sweeptrack) == ["trial-0", "wide"]  # base is still deleted
    assert error(sweeptrack("runs", "delete", "nothing", expect=2)) == (
        "error: no run with id, id prefix or name 'nothing'"
    )
