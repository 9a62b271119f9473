"""Runs inside benchmarks/.venv-mlflow (never imported by sweeptrack): fills an MLflow store with
runs like the dashboard benchmark's (params lr, batch_size, optimizer; metrics loss and val_f1; a
dataset tag) for ``mlflow server`` to search.

Prints one JSON object on the last line of stdout. Usage:
    python mlflow_ui_helper.py --uri sqlite:////tmp/x/mlflow.db --runs 5000
"""

from __future__ import annotations

import argparse
import json
import random
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=args.uri)
    experiment = client.create_experiment("bench")
    rng = random.Random(20240601)
    started = time.perf_counter()
    for number in range(args.runs):
        run = client.create_run(experiment, run_name=f"trial-{number}")
        now = int(time.time() * 1000)
        final, top = rng.uniform(0.05, 1.5), rng.uniform(0.3, 0.99)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("loss", final, now, 49), Metric("val_f1", top, now, 49)],
            params=[
                Param("lr", repr(10 ** rng.uniform(-5, -1))),
                Param("batch_size", str(rng.choice((16, 32, 64, 128, 256)))),
                Param("optimizer", rng.choice(("adam", "adamw", "sgd"))),
            ],
            tags=[RunTag("dataset", rng.choice(("digits", "cifar10", "imagenet-mini")))],
        )
        client.set_terminated(run.info.run_id)
    took = time.perf_counter() - started
    print(json.dumps({"experiment_id": experiment, "runs": args.runs, "seconds": took}))


if __name__ == "__main__":
    main()
