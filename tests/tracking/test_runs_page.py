"""Store.runs_page: pages in exactly search_runs' order, whatever the order key, and its count."""

from __future__ import annotations

import pytest

import sweeptrack as st
from sweeptrack.tracking.sql.store import SqlStore

VALUES = [0.5, 2, "abc", None, 1.0, 1, -3, "zzz", 0.5, float("nan"), True]
ORDERS = [
    "params.p",
    "params.p DESC",
    "metrics.m DESC",
    "metrics.m",
    "metrics.m.count DESC, params.p",
    "run_name",
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


def test_pages_follow_search_runs_order_and_count(url: str) -> None:
    for number, value in enumerate(VALUES):
        with st.start_run(experiment="e", name=f"r{number}", db=url, capture_environment=False) as run:
            if value is not None:
                run.log_params({"p": value})
            if number % 3:
                run.log_metric("m", float(number % 4), step=0)
    with SqlStore(url) as store:
        for order in ORDERS:
            expected = [run.name for run in store.search_runs(order_by=order)]
            for limit in (1, 3, 4, 20):
                got: list[str] = []
                while True:
                    page = store.runs_page(order_by=order, limit=limit, offset=len(got))
                    got += [run.name for run in page.runs]
                    assert page.total == len(VALUES) and not page.more
                    if len(page.runs) < limit:
                        break
                assert got == expected, (order, limit)
        found = store.runs_page(filter="params.p >= 1", order_by="params.p DESC", limit=2, count_up_to=1)
        assert [run.name for run in found.runs] == [
            "r1",
            "r10",
        ]  # True is 1, and "true" > "1.0" and (found.total, found.more) == (3, True)
