"""Edits through the API as a page makes them (CSRF token in the header), and --read-only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sample import XSS, Sample
from uihelp import csrf_of, settings

import sweeptrack as st
from sweeptrack.ui import create_app


@pytest.fixture
def fresh_run(sample: Sample) -> str:
    with st.start_run(experiment="edits", name="to-edit", db=sample.db, capture_environment=False) as run:
        run.log_params({"lr": 0.3})
    return run.id


@pytest.fixture(scope="module")
def headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(client.get("/").text), "Origin": "http://127.0.0.1:8080"}


def test_tags_note_and_name_are_edited(client: TestClient, headers: dict[str, str], fresh_run: str) -> None:
    url = f"/api/runs/{fresh_run}"
    assert client.put(f"{url}/tags", json={"keep": "yes", "team": "nlp"}, headers=headers).json()["tags"] == {
        "keep": "yes",
        "team": "nlp",
    }
    assert client.delete(f"{url}/tags/team", headers=headers).json()["tags"] == {"keep": "yes"}
    missing = client.delete(f"{url}/tags/team", headers=headers)
    assert missing.status_code == 400 and "team" in missing.json()["detail"]
    assert client.put(f"{url}/note", json={"note": XSS}, headers=headers).json()["note"] == XSS
    assert client.put(f"{url}/name", json={"name": "renamed"}, headers=headers).json()["name"] == "renamed"
    blank = client.put(f"{url}/name", json={"name": "  "}, headers=headers)
    assert blank.status_code == 400
    page = client.get(f"/runs/{fresh_run}").text
    assert "renamed" in page and "&lt;script&gt;window.pwned" in page and XSS not in page


def test_delete_hides_the_run_and_restore_brings_it_back(
    client: TestClient, headers: dict[str, str], fresh_run: str
) -> None:
    def listed(deleted: bool) -> list[str]:
        answer = client.get("/api/runs", params={"experiment": "edits", "deleted": deleted, "limit": 500})
        return [run["id"] for run in answer.json()["runs"]]

    deleted = client.post(f"/api/runs/{fresh_run}/delete", headers=headers).json()
    assert deleted["deleted_at"] is not None
    assert fresh_run not in listed(False) and fresh_run in listed(True)
    assert fresh_run in client.get("/runs?experiment=edits&deleted=1").text
    assert "restore-run" in client.get(f"/runs/{fresh_run}").text
    again = client.post(f"/api/runs/{fresh_run}/delete", headers=headers)
    assert again.status_code == 400
    assert client.post(f"/api/runs/{fresh_run}/restore", headers=headers).json()["deleted_at"] is None
    assert fresh_run in listed(False)


def test_read_only_turns_every_edit_off(sample: Sample, fresh_run: str) -> None:
    with TestClient(create_app(settings(sample, read_only=True)), base_url="http://127.0.0.1:8080") as client:
        page = client.get(f"/runs/{fresh_run}").text
        assert "tag-form" not in page and "note-form" not in page and "delete-run" not in page
        headers = {"X-CSRF-Token": csrf_of(page)}
        url = f"/api/runs/{fresh_run}"
        for answer in (
            client.put(f"{url}/tags", json={"a": "b"}, headers=headers),
            client.delete(f"{url}/tags/a", headers=headers),
            client.put(f"{url}/note", json={"note": "x"}, headers=headers),
            client.put(f"{url}/name", json={"name": "x"}, headers=headers),
            client.post(f"{url}/delete", headers=headers),
            client.post(f"{url}/restore", headers=headers),
        ):
            assert answer.status_code == 403
            assert "read-only" in answer.json()["detail"]
        assert client.get(url).json()["tags"] == {}


def test_a_script_with_the_bearer_token_needs_no_csrf_token(sample: Sample, fresh_run: str) -> None:
    token = "a-script-token-long-enough"
    with TestClient(create_app(settings(sample, token=token)), base_url="http://127.0.0.1:8080") as client:
        answer = client.put(
            f"/api/runs/{fresh_run}/tags", json={"by": "script"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200 and answer.json()["tags"] == {"by": "script"}
