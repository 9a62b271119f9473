"""The Client's edits: each returns the run as it is afterwards, refuses sweeptrack's own tags,
and a deleted run is found again with search_runs(deleted=...)."""

from __future__ import annotations

import pytest

import sweeptrack as st
from sweeptrack.core.errors import ReservedTagError, RunStateError, TagNotFoundError


@pytest.fixture
def client(sqlite_url: str) -> st.Client:
    for name in ("base", "wide"):
        with st.start_run(experiment="digits", name=name, db=sqlite_url, capture_environment=False):
            st.log_metric("val_f1", 0.9)
    return st.Client(sqlite_url)


def test_edits_return_the_edited_run(client: st.Client) -> None:
    assert client.tag("base", "keep", "yes").tags == {"keep": "yes"}
    assert client.untag("base", "keep").tags == {}
    assert client.note("base", "the loss spikes at epoch 3").note == "the loss spikes at epoch 3"
    assert client.note("base", None).note is None
    renamed = client.rename("base", "baseline")
    assert (renamed.name, client.get_run("baseline").id) == ("baseline", renamed.id)


def test_reserved_tags_and_missing_tags_are_refused(client: st.Client) -> None:
    with pytest.raises(ReservedTagError, match=r"tag 'sweeptrack.attempt' is reserved"):
        client.tag("base", "sweeptrack.attempt", "3")
    with pytest.raises(ReservedTagError, match=r"tag 'sweeptrack.previous_run' is reserved"):
        client.untag("base", "sweeptrack.previous_run")
    with pytest.raises(
        TagNotFoundError, match=r"run base \([0-9a-f]{8}\) has no tag 'keep'; nothing to remove"
    ):
        client.untag("base", "keep")


def test_delete_and_restore(client: st.Client) -> None:
    deleted = client.delete("base")
    assert deleted.deleted_at is not None
    assert [run.name for run in client.search_runs()] == ["wide"]
    assert [run.name for run in client.search_runs(deleted=True)] == ["base"]
    assert [run.name for run in client.search_runs("metrics.val_f1 > 0", deleted=None)] == ["wide", "base"]
    with pytest.raises(RunStateError, match=r"is already deleted; nothing to delete"):
        client.delete("base")
    assert client.restore("base").deleted_at is None
    with pytest.raises(RunStateError, match=r"is not deleted; nothing to restore"):
        client.restore("base")
