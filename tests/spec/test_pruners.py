"""``early_terminate``: W&B hyperband brackets and Optuna pruner options."""

from __future__ import annotations

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec import PrunerSpec, PrunerType, load_spec_text

BASE = "method: tpe\nmetric: {name: loss}\nparameters: {x: {min: 1, max: 9}}\nentrypoint: train:main\n"


def pruner(early_terminate: str) -> PrunerSpec:
    spec = load_spec_text(BASE + f"early_terminate: {early_terminate}\n", source="t.yaml")
    assert spec.pruner is not None
    return spec.pruner


@pytest.mark.parametrize(
    ("config", "brackets"),
    [
        ("{type: hyperband, min_iter: 3, eta: 3}", [3, 9, 27, 81]),
        ("{type: hyperband, min_iter: 2}", [2, 6, 18, 54]),
        ("{type: hyperband, max_iter: 27, s: 2}", [3, 9]),
        ("{type: hyperband, max_iter: 27, s: 2, eta: 3}", [3, 9]),
        ("{type: hyperband, max_iter: 5, s: 2, eta: 2}", [1, 2]),  # W&B's doctest: 2.5 -> 2, 1.25 -> 1
        ("{type: hyperband, max_iter: 81, s: 9, eta: 3}", [1, 3, 9, 27]),  # stops below 1
        ("{type: hyperband, min_iter: 1, max_iter: 20, eta: 2}", [1, 2, 4, 8, 16]),
        ("{type: hyperband, min_iter: 2, eta: 1.5, max_iter: 10}", [2, 3, 4, 6]),
    ],
)
def test_wandb_hyperband_brackets(config: str, brackets: list[int]) -> None:
    spec = pruner(config)
    assert spec.type is PrunerType.WANDB_HYPERBAND
    got = spec.options["brackets"]
    assert got[: len(brackets)] == brackets
    if "max_iter" in config:
        assert got == brackets
    assert got == sorted(set(got))


def test_wandb_hyperband_options_are_normalised() -> None:
    assert pruner("{type: hyperband, max_iter: 27, s: 2}").options == {
        "brackets": [3, 9],
        "eta": 3,
        "strict": False,
    }
    assert pruner("{type: hyperband, min_iter: 1, eta: 2, strict: true}").options["strict"] is True
    brackets = pruner("{type: hyperband, min_iter: 1, eta: 2}").options["brackets"]
    assert brackets[-1] <= 10**6 and len(brackets) == 20


@pytest.mark.parametrize(
    ("config", "ptype", "options"),
    [
        ("{type: median}", PrunerType.MEDIAN, {}),
        (
            "{type: median, n_warmup_steps: 2, n_startup_trials: 4, interval_steps: 1, n_min_trials: 2}",
            PrunerType.MEDIAN,
            {"n_warmup_steps": 2, "n_startup_trials": 4, "interval_steps": 1, "n_min_trials": 2},
        ),
        ("{type: percentile, percentile: 25.0}", PrunerType.PERCENTILE, {"percentile": 25.0}),
        (
            "{type: successive_halving, min_resource: auto, reduction_factor: 3}",
            PrunerType.SUCCESSIVE_HALVING,
            {"min_resource": "auto", "reduction_factor": 3},
        ),
        (
            "{type: asha, min_resource: 2, min_early_stopping_rate: 1, bootstrap_count: 0}",
            PrunerType.SUCCESSIVE_HALVING,
            {"min_resource": 2, "min_early_stopping_rate": 1, "bootstrap_count": 0},
        ),
        (
            "{type: hyperband, min_resource: 1, max_resource: 27, reduction_factor: 3, bootstrap_count: 2}",
            PrunerType.HYPERBAND,
            {"min_resource": 1, "max_resource": 27, "reduction_factor": 3, "bootstrap_count": 2},
        ),
        ("{type: hyperband, max_resource: auto}", PrunerType.HYPERBAND, {"max_resource": "auto"}),
        ("{type: threshold, lower: 0.1}", PrunerType.THRESHOLD, {"lower": 0.1}),
        (
            "{type: threshold, upper: 5, n_warmup_steps: 3}",
            PrunerType.THRESHOLD,
            {"upper": 5, "n_warmup_steps": 3},
        ),
        ("{type: wilcoxon, p_threshold: 0.05}", PrunerType.WILCOXON, {"p_threshold": 0.05}),
        ("{type: patient, patience: 3}", PrunerType.PATIENT, {"patience": 3}),
        ("{type: none}", PrunerType.NONE, {}),
    ],
)
def test_optuna_pruners(config: str, ptype: PrunerType, options: dict[str, object]) -> None:
    assert pruner(config) == PrunerSpec(type=ptype, options=options)


def test_patient_wraps_another_pruner() -> None:
    spec = pruner("{type: patient, patience: 2, min_delta: 0.1, wrapped: {type: median, n_warmup_steps: 1}}")
    assert spec.options == {
        "patience": 2,
        "min_delta": 0.1,
        "wrapped": PrunerSpec(type=PrunerType.MEDIAN, options={"n_warmup_steps": 1}),
    }
    assert pruner("{type: patient, patience: 2, wrapped: null}").options["wrapped"] is None
    assert pruner("{type: patient, patience: 2, wrapped_pruner: {type: none}}").options["wrapped"] == (
        PrunerSpec(type=PrunerType.NONE)
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "{type: hyperband, min_iter: 3, min_resource: 2}",
            "early_terminate.min_resource: W&B hyperband keys",
        ),
        ("{type: hyperband}", "early_terminate: hyperband needs min_iter, or max_iter and s (W&B)"),
        ("{type: hyperband, max_iter: 27}", "early_terminate.s: required; W&B hyperband needs"),
        ("{type: hyperband, max_iter: 2, s: 1}", "early_terminate.s: max_iter 2 / eta^k gives no bracket"),
        ("{type: hyperband, min_iter: 0}", "early_terminate.min_iter: must be an integer >= 1, got 0"),
        ("{type: hyperband, min_iter: 2, strict: maybe}", "early_terminate.strict: must be true or false"),
        ("{type: median, n_startup_trials: -1}", "early_terminate.n_startup_trials: must be an integer >= 0"),
        ("{type: percentile, percentile: 120}", "early_terminate.percentile: must be a number in [0, 100]"),
        ("{type: asha, reduction_factor: 1}", "early_terminate.reduction_factor: must be an integer >= 2"),
        (
            "{type: asha, min_resource: soon}",
            "early_terminate.min_resource: must be an integer >= 1 or 'auto'",
        ),
        (
            "{type: hyperband, bootstrap_count: 2}",
            "early_terminate.bootstrap_count: needs an integer max_resource",
        ),
        (
            "{type: hyperband, min_resource: 9, max_resource: 3}",
            "early_terminate.max_resource: must be >= min",
        ),
        ("{type: threshold, lower: 2, upper: 1}", "early_terminate.lower: must be <= upper"),
        ("{type: wilcoxon, p_threshold: 2}", "early_terminate.p_threshold: must be a number in [0, 1]"),
        (
            "{type: patient, patience: 2, wrapped: median}",
            "early_terminate.wrapped: must be a pruner mapping",
        ),
        ("{type: patient}", "early_terminate.patience: required by the patient pruner"),
        ("{type: none, n_warmup_steps: 2}", "unknown option for the none pruner; it takes no options"),
        ("{type: median, lower: 2}", "early_terminate.lower: unknown option for the median pruner; it takes"),
        ("{min_iter: 3}", "early_terminate.type: required; one of hyperband, median"),
        ("{type: 3}", "early_terminate.type: unknown pruner type 3; one of hyperband"),
        ("hyperband", "early_terminate: must be a mapping, got 'hyperband'"),
    ],
)
def test_bad_pruners(config: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        pruner(config)
    assert message in str(info.value)
    assert str(info.value).startswith("t.yaml:5 ")
