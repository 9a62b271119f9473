"""Optuna on its own, for scale: no sweeptrack, no tracking database unless one is asked for."""

from __future__ import annotations

import time
from pathlib import Path

from sweeps_trials import REPORTS, curve


def _quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def optuna_in_memory(trials: int, seed: int = 0) -> float:
    """Seconds for ``study.optimize`` of a trivial objective, random sampler, in-memory storage."""
    import optuna

    _quiet()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    started = time.perf_counter()
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=trials)
    return time.perf_counter() - started


def optuna_rdb_reports(
    path: Path, trials: int, *, n_startup_trials: int, n_warmup_steps: int, seed: int = 0
) -> tuple[float, int]:
    """Seconds for ``study.optimize`` on an RDB SQLite file where every trial reports ``REPORTS``
    intermediate values and asks ``should_prune`` after each (median pruner, TPE), and how many
    trials were pruned."""
    import optuna

    _quiet()
    storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
    study = optuna.create_study(
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps),
    )

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        value = 0.0
        for step in range(REPORTS):
            value = curve(x, step)
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    started = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    elapsed = time.perf_counter() - started
    pruned = sum(t.state is optuna.trial.TrialState.PRUNED for t in study.trials)
    storage.remove_session()
    return elapsed, pruned


def optuna_tpe_costs(trials: int, *, multivariate: bool, seed: int = 0) -> list[float]:
    """Seconds per ``study.ask`` + ``study.tell`` of Optuna's TPE alone (constant liar, in memory),
    over the same four parameters as the sweeptrack measurement."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    _quiet()
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate, constant_liar=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    space = {
        "lr": FloatDistribution(1e-5, 1.0, log=True),
        "alpha": FloatDistribution(1e-7, 1e-1, log=True),
        "layers": IntDistribution(1, 4),
        "optimizer": CategoricalDistribution(["adam", "sgd", "rmsprop"]),
    }
    costs = []
    for _ in range(trials):
        started = time.perf_counter()
        trial = study.ask(space)
        p = trial.params
        study.tell(trial, 1.0 - abs(p["lr"] - 0.01) - p["alpha"] - 0.01 * p["layers"])
        costs.append(time.perf_counter() - started)
    return costs
