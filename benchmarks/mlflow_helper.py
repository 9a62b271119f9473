"""Runs inside benchmarks/.venv-mlflow (never imported by sweeptrack): MLflow 3 logging rates.

Prints one JSON object on the last line of stdout. Usage:
    python mlflow_helper.py --uri sqlite:////tmp/x/mlflow.db --calls 300 --batches 20 --batch-size 1000
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()

    started = time.perf_counter()
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    imported = time.perf_counter()
    mlflow.set_tracking_uri(args.uri)
    mlflow.set_experiment("bench")
    client = MlflowClient()
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        mlflow.log_metric("warmup", 0.0, step=0)  # the first call creates the database: not timed
        ready = time.perf_counter()

        start = time.perf_counter()
        for step in range(args.calls):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        log_metric_s = time.perf_counter() - start

        now = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[Metric("warm", 0.0, now, 0)])
        batch_times = []
        for batch in range(args.batches):
            base = batch * args.batch_size
            metrics = [
                Metric("acc", 1.0 - 1.0 / (step + 2), now, step)
                for step in range(base, base + args.batch_size)
            ]
            start = time.perf_counter()
            client.log_batch(run_id, metrics=metrics)
            batch_times.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "mlflow_version": mlflow.__version__,
                "import_s": imported - started,
                "setup_s": ready - imported,
                "log_metric_calls": args.calls,
                "log_metric_s": log_metric_s,
                "log_batch_points": args.batches * args.batch_size,
                "log_batch_s": sum(batch_times),
                "log_batch_each_s": batch_times,
            }
        )
    )


if __name__ == "__main__":
    main()
