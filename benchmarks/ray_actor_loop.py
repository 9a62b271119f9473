"""For scale: the floor of a Ray-backed sweep, with no sweeptrack in it.

``python ray_actor_loop.py --address HOST:PORT --trials N --db FILE`` connects to a running Ray,
starts two actors (1 CPU each) and waits until both answer, then times a bare loop: Optuna
``ask`` (random sampler, in memory), a call of a no-op on a free actor, ``tell`` when it returns, and
a SQLite commit per event (one when a trial starts, one when it ends), two trials in flight. It prints
one JSON line: the connect and actor start-up times, and the loop's.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from typing import Any


def _commit(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> None:
    db.execute(sql, args)
    db.commit()


def run_loop(trials: int, actors: list[Any], db: sqlite3.Connection, ray: Any) -> int:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    in_flight: dict[Any, tuple[Any, Any]] = {}  # ref -> (optuna trial, actor)
    free = list(actors)
    asked = done = 0
    while done < trials:
        while free and asked < trials:
            trial = study.ask()
            x = trial.suggest_float("x", 0.0, 1.0)
            actor = free.pop()
            _commit(db, "INSERT INTO trials (number, x, state) VALUES (?, ?, 'running')", (trial.number, x))
            in_flight[actor.run.remote({"x": x})] = (trial, actor)
            asked += 1
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in ready:
            trial, actor = in_flight.pop(ref)
            value = ray.get(ref)
            study.tell(trial, value)
            _commit(db, "UPDATE trials SET state = 'done', value = ? WHERE number = ?", (value, trial.number))
            free.append(actor)
            done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()

    import ray

    started = time.perf_counter()
    ray.init(address=args.address, log_to_driver=False, logging_level="WARNING")
    connected = time.perf_counter()

    @ray.remote(num_cpus=1)
    class Runner:
        def run(self, params: dict[str, Any]) -> float:
            return float(params["x"])

        def ping(self) -> bool:
            return True

    actors = [Runner.remote() for _ in range(2)]
    ray.get([a.ping.remote() for a in actors])
    warm = time.perf_counter()
    db = sqlite3.connect(args.db)
    db.execute("CREATE TABLE trials (number INTEGER PRIMARY KEY, x REAL, state TEXT, value REAL)")
    db.commit()
    loop_started = time.perf_counter()
    done = run_loop(args.trials, actors, db, ray)
    loop_s = time.perf_counter() - loop_started
    db.close()
    ray.shutdown()
    print(
        json.dumps(
            {"connect_s": connected - started, "actors_s": warm - connected, "loop_s": loop_s, "trials": done}
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
