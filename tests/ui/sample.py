"""A tracking database for the dashboard tests: plain runs with every kind of fact, runs whose
every user string is a script payload, and a finished sweep of a quadratic."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import sweeptrack as st

XSS = "<script>window.pwned = true</script>"
XSS_IMG = '"><img src=x onerror="window.pwned = true">'
FORMULA = '=HYPERLINK("http://evil.example")'
STEPS = 3000  # a curve longer than the page's 1000 points: downsampled, detail on zoom

TRIALS = '''
import time
import sweeptrack as st


def quadratic(params):
    """(x - 3)^2 over a few epochs, each `delay` seconds long."""
    x = params["x"]
    for epoch in range(4):
        st.log_metrics({"loss": (x - 3) ** 2 + 1.0 / (epoch + 1)}, step=epoch)
        time.sleep(params.get("delay", 0.0))
    print("trained with x =", x)
    return (x - 3) ** 2
'''


def spec(name: str, *, trials: int, delay: float = 0.0, experiment: str = "quadratic") -> str:
    return textwrap.dedent(
        f"""\
        name: {name!r}
        experiment: {experiment!r}
        entrypoint: trials:quadratic
        method: random
        seed: 7
        run_cap: {trials}
        parallel: 2
        metric: {{name: loss, goal: minimize}}
        parameters:
          x: {{min: 0.0, max: 6.0}}
          delay: {{value: {delay}}}
        """
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    db: str
    folder: Path
    baseline: str
    candidate: str
    xss_run: str
    sweep_id: str


def build(folder: Path) -> Sample:
    """Write the sample database under ``folder`` (its artifacts beside it)."""
    db = f"sqlite:///{folder}/dash.db"
    (folder / "trials.py").write_text(TRIALS)
    data = folder / "train.csv"
    data.write_text("x,y\n1,2\n")
    ids = {}
    for name, lr, numpy in (("baseline", 0.1, "1.26.4"), ("candidate", 0.01, "2.1.0")):
        with st.start_run(
            experiment="vision", name=name, db=db, tags={"team": "vision"}, capture_environment=False
        ) as run:
            run.log_params({"lr": lr, "batch_size": 32, "optimizer": "sgd"})
            run.log_environment(
                {"packages": {"numpy": numpy, "torch": "2.13.0"}, "git": {"commit": "abc", "dirty": False}}
            )
            if name == "candidate":
                data.write_text("x,y\n1,2\n3,4\n")  # a dataset that changed: its digest differs
            run.log_dataset("train", data)
            run.log_artifact_bytes("model/weights.bin", b"\x00" * 64)
            run.log_artifact_bytes("notes/readme.txt", b"trained " + name.encode())
            points = [(step, 1.0 / (step + 1) + lr) for step in range(STEPS)]
            for step, value in points:
                run.log_metrics({"loss": value, "acc": 1 - value}, step=step)
        ids[name] = run.id
    with st.start_run(
        experiment=XSS, name=XSS_IMG, db=db, tags={XSS: XSS_IMG}, capture_environment=False
    ) as run:
        run.log_params({XSS: XSS_IMG, "lr": 0.5, "formula": FORMULA})
        run.log_metrics({XSS_IMG: 1.0}, step=0)
        run.log_metrics({XSS_IMG: 2.0}, step=1)
    xss_run = run.id
    result = st.run_sweep(_write(folder, "quad.yaml", spec("quad", trials=6)), db=db)
    _write(folder, "xss.yaml", spec(XSS_IMG, trials=2, experiment=XSS))
    st.run_sweep(folder / "xss.yaml", db=db)
    return Sample(
        db=db,
        folder=folder,
        baseline=ids["baseline"],
        candidate=ids["candidate"],
        xss_run=xss_run,
        sweep_id=result.sweep_id,
    )


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path
