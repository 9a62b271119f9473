"""The JSON API over a real SQLite database: pages of runs, filters, curves, sweeps, comparisons."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient
from sample import STEPS, Sample

from sweeptrack.core.errors import FilterError
from sweeptrack.tracking.query import parse_filter


def test_runs_page_filters_on_two_params_and_sorts_by_a_metric(client: TestClient, sample: Sample) -> None:
    answer = client.get(
        "/api/runs",
        params={
            "filter": "params.lr <= 0.1 and params.batch_size = 32",
            "order": "metrics.loss.min ASC",
            "limit": 1,
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 2
    assert [run["name"] for run in body["runs"]] == ["candidate"]  # lr 0.01: the lower loss
    assert body["runs"][0]["metrics"]["loss"]["count"] == STEPS

    second = client.get(
        "/api/runs",
        params={
            "filter": "params.lr <= 0.1 and params.batch_size = 32",
            "order": "metrics.loss.min ASC",
            "offset": 1,
        },
    ).json()
    assert [run["name"] for run in second["runs"]] == ["baseline"]


def test_a_bad_filter_gets_the_cli_message_and_its_column(client: TestClient) -> None:
    text = "params.lr < 0.1 and (metrics.loss > 1 or) and tags.team = 'vision'"
    answer = client.get("/api/runs", params={"filter": text})
    try:
        parse_filter(text)
    except FilterError as exc:
        expected = exc
    assert answer.status_code == 400
    assert answer.json() == {"detail": str(expected), "column": expected.column}
    assert expected.column == text.index(")") + 1


def test_curves_are_downsampled_and_a_zoomed_range_comes_at_full_detail(
    client: TestClient, sample: Sample
) -> None:
    curves = client.get(f"/api/runs/{sample.baseline}/curves").json()["curves"]
    assert set(curves) == {"acc", "loss"}
    loss = curves["loss"]
    assert loss["total"] == STEPS and loss["downsampled"] and len(loss["steps"]) <= 1000
    assert min(loss["values"]) == 1.0 / STEPS + 0.1  # the lowest point survives the buckets

    zoomed = client.get(f"/api/runs/{sample.baseline}/metrics/loss", params={"start": 100, "end": 299}).json()
    assert zoomed["downsampled"] is False
    assert zoomed["steps"] == list(range(100, 300))
    assert zoomed["values"][0] == 1.0 / 101 + 0.1


def test_home_lists_sweeps_with_counts_and_best_value(client: TestClient, sample: Sample) -> None:
    home = client.get("/api/home").json()
    quad = next(s for s in home["sweeps"] if s["sweep_id"] == sample.sweep_id)
    assert quad["counts"] == {"finished": 6} and quad["state"] == "finished"
    live = client.get(f"/api/sweeps/{sample.sweep_id}/live").json()
    assert quad["best"] == live["leaderboard"][0]["value"] == min(row["value"] for row in live["leaderboard"])
    vision = next(e for e in home["experiments"] if e["name"] == "vision")
    assert vision["total"] == 2 and vision["last_activity"] is not None


def test_sweep_live_reports_progress_and_leaderboard(client: TestClient, sample: Sample) -> None:
    live = client.get("/api/sweeps/quad/live").json()
    assert live["cap"] == 6 and live["done"] == 6 and live["progress"] == 1.0
    values = [row["value"] for row in live["leaderboard"]]
    assert values == sorted(values) and len(values) == 6


def test_compare_shows_the_dataset_and_package_that_differ(client: TestClient, sample: Sample) -> None:
    body = client.get("/api/compare", params={"runs": f"{sample.baseline},{sample.candidate}"}).json()
    differing = {(row["section"], row["key"]) for row in body["rows"] if row["differs"]}
    assert {("datasets", "train"), ("packages", "numpy"), ("params", "lr")} <= differing
    assert ("packages", "torch") not in differing
    page = client.get("/compare", params={"runs": [sample.baseline, sample.candidate]}).text
    assert "datasets: 1 differs" in page and "packages: 1 differs" in page
    one = client.get("/api/compare", params={"runs": sample.baseline})
    assert one.status_code == 400 and "2 to 20" in one.json()["detail"]


def test_unknown_run_is_404_and_openapi_lists_the_routes(client: TestClient) -> None:
    assert client.get("/api/runs/nosuchrun").status_code == 404
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/runs", "/api/runs/{run}/curves", "/api/sweeps/{sweep}/live", "/api/compare"} <= set(paths)
    docs = client.get("/api/docs")
    assert (
        docs.status_code == 200 and "/api/runs/{run}/curves" in docs.text and "cdn" not in docs.text.lower()
    )


def test_csv_export_of_the_view_neutralises_formulas(client: TestClient, sample: Sample) -> None:
    answer = client.get("/runs.csv", params={"filter": "params.lr = 0.5", "columns": "name,params.formula"})
    assert answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.splitlines()
    assert lines[0] == "id,name,params.formula"
    assert lines[1].endswith(',"\'=HYPERLINK(""http://evil.example"")"')


def test_plotly_is_served_by_the_app(client: TestClient) -> None:
    answer = client.get("/vendor/plotly.min.js")
    assert answer.status_code == 200 and b"plotly" in answer.content[:2000].lower()


def test_importing_the_cli_loads_no_web_framework() -> None:
    code = (
        "import sys, sweeptrack, sweeptrack.cli.main;"
        "print([m for m in ('fastapi', 'starlette', 'uvicorn', 'jinja2') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_counting_stops_past_the_page_and_says_so(client: TestClient, sample: Sample) -> None:
    from sweeptrack.tracking.sql.store import SqlStore

    with SqlStore(sample.db) as store:
        every = store.runs_page(limit=2, count_up_to=None)
        capped = store.runs_page(limit=2, count_up_to=3)
        counts = store.run_counts(sample.sweep_id)
    assert every.total > 5 and not every.more
    assert (capped.total, capped.more) == (5, True)
    assert [run.id for run in capped.runs] == [run.id for run in every.runs]
    assert [(c.sweep_id, dict(c.counts)) for c in counts] == [(sample.sweep_id, {"finished": 6})]
    body = client.get("/api/runs", params={"limit": 1}).json()
    assert body["total"] == every.total and body["more"] is False
