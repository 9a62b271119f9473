"""Ray Tune's side of the Ray benchmark, run with benchmarks/.venv-tune's Python (ray[tune]).

``python ray_tune_helper.py --trials N --storage DIR`` starts a local Ray (2 CPUs, 127.0.0.1, no
dashboard), then times ``Tuner.fit`` of a no-op function trainable that reports one metric:
``num_samples=N``, ``max_concurrent_trials=2``, 1 CPU per trial, ``reuse_actors=True`` (Tune's
fastest setting). It prints one JSON line: versions, the start-up and the fit times, trial counts,
and the span from the first trial's report to the last one's (each report carries its wall-clock
time): Tune's steady pace without the start-up and the end of ``fit``, as sweeptrack's rate is
measured without its own.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any


def noop(config: dict[str, Any]) -> None:
    from ray import tune

    tune.report({"objective": float(config["x"]), "reported_at": time.time()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()

    started = time.perf_counter()
    import ray
    from ray import tune

    imported = time.perf_counter()
    ray.init(
        num_cpus=args.num_cpus,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        logging_level="WARNING",
    )
    ready = time.perf_counter()
    tuner = tune.Tuner(
        tune.with_resources(noop, {"cpu": 1}),
        param_space={"x": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(
            metric="objective",
            mode="min",
            num_samples=args.trials,
            max_concurrent_trials=args.parallel,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(name="bench-tune", storage_path=args.storage, verbose=0),
    )
    fit_started = time.perf_counter()
    results = tuner.fit()
    fit_s = time.perf_counter() - fit_started
    reported = sorted(result.metrics["reported_at"] for result in results if result.metrics)
    ray.shutdown()
    print(
        json.dumps(
            {
                "ray_version": ray.__version__,
                "import_s": imported - started,
                "init_s": ready - imported,
                "fit_s": fit_s,
                "report_span_s": reported[-1] - reported[0] if len(reported) > 1 else None,
                "reports": len(reported),
                "trials": len(results),
                "errors": results.num_errors,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
