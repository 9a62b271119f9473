"""A trial's captured output is capped at its first and last 5 MiB, with a marker line between.

Issue 12, point 9: a trial that prints without end must not fill the artifact store. The output
log that the controller copies into the trial's ``logs/output.log`` artifact keeps its start and
its end, and says how many bytes it left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeptrack.core.model import RunStatus
from sweeptrack.tracking.artifacts import ArtifactRoot
from sweeptrack.tracking.output import OUTPUT_KEEP, capped_marker
from sweeptrack.tracking.sql.store import SqlStore

from ._values_helpers import BACKENDS, backend_url, cli, write


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    return backend_url(request)


TRIALS = '''
import sys
import sweeptrack as st

LINE = 100  # bytes per line, newline included


def chatty(params):
    """Prints `lines` numbered lines of 100 bytes to stdout and to stderr, alternately."""
    for i in range(params["lines"]):
        stream = sys.stdout if i % 2 == 0 else sys.stderr
        stream.write(f"line {i:09d} ".ljust(LINE - 1, "x") + "\\n")
    sys.stdout.flush()
    sys.stderr.flush()
    st.log_metrics({"loss": float(params["lines"])}, step=0)
    return float(params["lines"])
'''

SPEC = """
name: chatty
method: grid
metric: {name: loss, goal: minimize}
entrypoint: trialfns:chatty
parameters:
  lines: {values: [1000, 150000]}
"""


def expected_line(i: int) -> bytes:
    return (f"line {i:09d} ".ljust(99, "x") + "\n").encode()


@pytest.mark.slow
def test_output_beyond_ten_mib_keeps_its_first_and_last_five_mib(url: str, tmp_path: Path) -> None:
    write(tmp_path, "trialfns.py", TRIALS)
    spec = write(tmp_path, "s.yaml", SPEC)
    art = tmp_path / "art"
    code, _, err = cli("--db", url, "sweep", "run", str(spec), "--artifacts", str(art), cwd=tmp_path)
    assert code == 0, err
    with SqlStore(url) as store:
        runs = {int(r.params["lines"]): r for r in store.search_runs(experiment="default")}
        logs = {n: store.list_artifacts(r.id) for n, r in runs.items()}
    assert all(r.status is RunStatus.FINISHED for r in runs.values())
    root = ArtifactRoot(art)
    (small,) = [a for a in logs[1000] if a.path == "logs/output.log"]
    assert root.blob_path(small.sha256).read_bytes() == b"".join(expected_line(i) for i in range(1000))

    printed = b"".join(expected_line(i) for i in range(150_000))  # 15,000,000 bytes
    (big,) = [a for a in logs[150_000] if a.path == "logs/output.log"]
    kept = root.blob_path(big.sha256).read_bytes()
    marker = capped_marker(len(printed) - 2 * OUTPUT_KEEP)
    assert b"4514240 bytes of output omitted here; the first and last 5242880 bytes are kept" in marker
    assert kept == printed[:OUTPUT_KEEP] + marker + printed[-OUTPUT_KEEP:]
    assert big.size == 2 * OUTPUT_KEEP + len(marker)
