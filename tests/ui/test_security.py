"""Who may read and edit: the token, the login cookie, CSRF, the Host check, artifact downloads,
escaping of every user string, and ``sweeptrack ui`` refusing an open address without a token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sample import XSS, XSS_IMG, Sample
from uihelp import TOKEN, csrf_of, settings

from sweeptrack.tracking.sql.store import SqlStore
from sweeptrack.ui import create_app

LOCAL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def guarded(sample: Sample) -> Iterator[TestClient]:
    with TestClient(create_app(settings(sample, token=TOKEN)), base_url=LOCAL) as opened:
        yield opened


def test_with_a_token_every_route_needs_it(guarded: TestClient, sample: Sample) -> None:
    guarded.cookies.clear()
    for path in ("/api/runs", f"/api/runs/{sample.baseline}/curves", "/api/openapi.json", "/api/docs"):
        answer = guarded.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"] == "Bearer"
    for path in (
        "/",
        "/runs?filter=status%20%3D%20%27finished%27",
        f"/runs/{sample.baseline}",
        "/vendor/plotly.min.js",
    ):
        answer = guarded.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=%2F")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/api/runs", headers=bearer).status_code == 200
    assert guarded.get("/", headers=bearer).status_code == 200
    assert (
        guarded.get("/api/runs", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code
        == 401
    )


def test_the_login_form_sets_an_httponly_samesite_cookie(guarded: TestClient) -> None:
    guarded.cookies.clear()
    wrong = guarded.post("/login", data={"token": "not-it", "next": "/runs"})
    assert wrong.status_code == 401 and "not the one" in wrong.text
    answer = guarded.post("/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"  # no open redirect
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN.lower() not in cookie
    assert guarded.get("/api/runs").status_code == 200
    guarded.cookies.clear()


def test_edits_need_the_csrf_token_and_this_origin(client: TestClient, sample: Sample) -> None:
    page = client.get(f"/runs/{sample.baseline}").text
    token = csrf_of(page)
    url = f"/api/runs/{sample.baseline}/tags"
    assert client.put(url, json={"k": "v"}).status_code == 403
    assert client.put(url, json={"k": "v"}, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    foreign = {"X-CSRF-Token": token, "Origin": "http://evil.example"}
    answer = client.put(url, json={"k": "v"}, headers=foreign)
    assert answer.status_code == 403 and "cross-site" in answer.json()["detail"]
    assert (
        client.put(url, json={"k": "v"}, headers={"X-CSRF-Token": token, "Origin": LOCAL}).status_code != 403
    )


def test_a_rebinding_host_is_refused_on_loopback(client: TestClient) -> None:
    answer = client.get("/api/runs", headers={"Host": "evil.example"})
    assert answer.status_code == 400
    assert client.get("/api/runs", headers={"Host": "localhost:8080"}).status_code == 200


def test_artifacts_download_and_stay_inside_the_artifact_root(
    client: TestClient, sample: Sample, tmp_path: Path
) -> None:
    answer = client.get(f"/runs/{sample.baseline}/artifacts/notes/readme.txt")
    assert answer.status_code == 200 and answer.content == b"trained baseline"
    assert answer.headers["content-type"] == "application/octet-stream"
    assert "attachment" in answer.headers["content-disposition"]
    for path in (
        "%2e%2e/%2e%2e/dash.db",
        "notes/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "..%2fdash.db",
        "%2Fetc%2Fpasswd",
    ):
        refused = client.get(f"/runs/{sample.baseline}/artifacts/{path}")
        assert refused.status_code in (400, 404), path
        assert b"root:" not in refused.content and b"SQLite" not in refused.content


def test_a_blob_replaced_by_a_symlink_out_of_the_root_is_refused(sample: Sample, tmp_path: Path) -> None:
    with SqlStore(sample.db) as store:
        artifact = next(a for a in store.list_artifacts(sample.candidate) if a.path == "model/weights.bin")
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret")
    blob = sample.folder / "artifacts" / "sha256" / artifact.sha256[:2] / artifact.sha256
    saved = blob.read_bytes()
    blob.unlink()
    blob.symlink_to(secret)
    try:
        with TestClient(create_app(settings(sample)), base_url=LOCAL) as client:
            answer = client.get(f"/runs/{sample.candidate}/artifacts/model/weights.bin")
        assert answer.status_code == 403 and b"the secret" not in answer.content
    finally:
        blob.unlink()
        blob.write_bytes(saved)


@pytest.mark.parametrize("page", ["/", "/runs", "run", "sweep", "compare", "/runs?experiment=xss"])
def test_every_user_string_is_escaped_in_the_html(client: TestClient, sample: Sample, page: str) -> None:
    with SqlStore(sample.db) as store:
        xss_sweep = store.sweeps_named(XSS_IMG)[0].id
    paths = {
        "run": f"/runs/{sample.xss_run}",
        "sweep": f"/sweeps/{xss_sweep}",
        "compare": f"/compare?runs={sample.xss_run}&runs={sample.baseline}",
        "/runs?experiment=xss": (
            f"/runs?experiment={XSS}&columns=name,params.{XSS},tags.{XSS},metrics.{XSS_IMG}"
        ),
    }
    html = client.get(paths.get(page, page)).text
    assert XSS not in html and XSS_IMG not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.pwned" in html or "\\u003cscript\\u003e" in html


def _cli(
    *args: str, env: dict[str, str] | None = None, prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    code = f"{prelude}from sweeptrack.cli.main import main; main({list(args)!r})"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_an_open_address_without_a_token_is_refused(sample: Sample) -> None:
    done = _cli("--db", sample.db, "ui", "--host", "0.0.0.0", "--port", "1")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "needs a token" in done.stderr and "secrets.token_urlsafe(32)" in done.stderr
    assert "--token-file" in done.stderr


def test_a_missing_extra_says_how_to_install_it(sample: Sample) -> None:
    done = _cli("--db", sample.db, "ui", prelude="import sys; sys.modules['fastapi'] = None; ")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: the dashboard needs its extra: pip install 'sweeptrack[ui]'"


def test_the_command_serves_with_a_token_file(sample: Sample, tmp_path: Path) -> None:
    import socket
    import time

    import httpx

    token_file = tmp_path / "ui.token"
    token_file.write_text(TOKEN + "\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "from sweeptrack.cli.main import main; main()"
    command = [
        sys.executable,
        "-c",
        code,
        "--db",
        sample.db,
        "ui",
        "--port",
        str(port),
        "--token-file",
        str(token_file),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                try:
                    answer = httpx.get(url + "/api/runs", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "sweeptrack ui did not start"
                    time.sleep(0.1)
            assert answer.status_code == 401
            authorized = httpx.get(url + "/api/runs", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
            assert authorized.status_code == 200 and authorized.json()["total"] > 0
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_a_short_token_is_refused(sample: Sample) -> None:
    done = _cli("--db", sample.db, "ui", "--token", "short")
    assert done.returncode == 2
    assert done.stderr.startswith("error: a token needs at least 16 characters")
