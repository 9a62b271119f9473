"""Valid sweep files load into the SweepSpec their text means."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.core.model import Goal
from sweeptrack.core.space import Beta, Categorical, Constant, Distribution, FloatRange, IntRange, Normal
from sweeptrack.spec import (
    ExecutorSpec,
    ExecutorType,
    Method,
    MetricSpec,
    ObjectiveSummary,
    PrunerType,
    Resources,
    SweepSpec,
    load_spec,
    load_spec_text,
)

WANDB = Path(__file__).parent / "wandb"
MINIMAL = """\
method: random
metric: {name: loss}
parameters:
  lr: {min: 0.001, max: 0.1}
entrypoint: train:main
"""


def load(text: str) -> SweepSpec:
    return load_spec_text(textwrap.dedent(text), source="t.yaml")


def one_param(body: str, method: str = "random") -> Distribution:
    spec = load(
        f"method: {method}\nmetric: {{name: loss}}\nentrypoint: train:main\nparameters:\n  x: {body}\n"
    )
    return spec.parameters["x"]


def test_defaults() -> None:
    spec = load_spec_text(MINIMAL)
    assert spec.source == "<string>"
    assert spec.text == MINIMAL
    assert spec.base_dir == Path.cwd().resolve()
    assert spec.method is Method.RANDOM
    assert spec.metrics == (MetricSpec(name="loss"),)
    assert spec.metric.goal is Goal.MINIMIZE and spec.metric.summary is ObjectiveSummary.LAST
    assert spec.entrypoint == "train:main" and spec.program is None and spec.command is None
    assert (spec.experiment, spec.name, spec.description) == ("default", None, None)
    assert (spec.run_cap, spec.pruner, spec.seed, spec.parallel, spec.retries) == (None, None, None, 1, 0)
    assert (spec.trial_timeout, spec.timeout) == (None, None)
    assert spec.executor == ExecutorSpec() and spec.resources == Resources()
    assert spec.nested == frozenset()


def test_load_spec_records_path_and_folder(tmp_path: Path) -> None:
    path = tmp_path / "sweeps" / "x.yaml"
    path.parent.mkdir()
    path.write_text(MINIMAL, encoding="utf-8")
    spec = load_spec(path)
    assert spec.source == str(path)
    assert spec.base_dir == path.parent.resolve()
    assert load_spec_text(MINIMAL, base_dir=tmp_path).base_dir == tmp_path.resolve()


def test_sweeptrack_keys() -> None:
    spec = load(
        """
        name: digits-lr
        description: find the learning rate
        project: vision
        method: tpe
        seed: 7
        parallel: 4
        run_cap: 50
        retries: 2
        trial_timeout: 1h30m
        timeout: 3600
        executor: {type: ray, address: "ray://head:10001"}
        resources: {cpu: 2, gpu: 0.5, gpu_memory: 10GB, accelerator_type_a100: 1}
        metric: {name: val_f1, goal: maximize, target: 0.99, summary: best, impute: worst}
        parameters:
          lr: {min: 0.001, max: 0.1}
        entrypoint: pkg.train:main
        """
    )
    assert (spec.name, spec.description, spec.experiment) == ("digits-lr", "find the learning rate", "vision")
    assert (spec.method, spec.seed, spec.parallel, spec.run_cap, spec.retries) == (Method.TPE, 7, 4, 50, 2)
    assert (spec.trial_timeout, spec.timeout) == (5400.0, 3600.0)
    assert spec.executor == ExecutorSpec(type=ExecutorType.RAY, address="ray://head:10001")
    assert spec.resources == Resources(
        cpu=2.0, gpu=0.5, gpu_memory=10_000_000_000, custom={"accelerator_type_a100": 1.0}
    )
    assert spec.metric == MetricSpec(
        name="val_f1", goal=Goal.MAXIMIZE, target=0.99, summary=ObjectiveSummary.BEST
    )
    assert spec.entrypoint == "pkg.train:main"


def test_experiment_beats_project_and_executor_may_be_a_word() -> None:
    spec = load(
        MINIMAL + "project: vision\nexperiment: digits\nexecutor: ray\nresources: {gpu_memory: 512MiB}\n"
    )
    assert spec.experiment == "digits"
    assert spec.executor == ExecutorSpec(type=ExecutorType.RAY)
    assert spec.resources.gpu_memory == 512 * 1024**2


@pytest.mark.parametrize("method", [m.value for m in Method])
def test_every_method_loads(method: str) -> None:
    spec = load(
        MINIMAL.replace("method: random", f"method: {method}").replace("0.001, max: 0.1", "1, max: 3")
    )
    assert spec.method is Method(method)


def test_numbers_with_exponents_are_floats() -> None:
    spec = load(
        """
        method: random
        metric: {name: loss, target: 1e-3}
        parameters:
          a: {min: 1e-5, max: 1E5}
          b: {values: [-2.5e-3, 1.0e5, 3, .5e-1]}
          c: {value: 1e-5}
        entrypoint: train:main
        """
    )
    assert spec.metric.target == 0.001
    assert spec.parameters["a"] == FloatRange(low=1e-5, high=1e5)
    assert spec.parameters["b"] == Categorical(values=(-0.0025, 100000.0, 3, 0.05))
    assert spec.parameters["c"] == Constant(value=1e-5)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{value: 3}", Constant(value=3)),
        ("{distribution: constant, value: adam}", Constant(value="adam")),
        ("{value: null}", Constant(value=None)),
        ("{values: [1, 2, 3]}", Categorical(values=(1, 2, 3))),
        ("{distribution: categorical, values: [true, false]}", Categorical(values=(True, False))),
        (
            "{values: [a, b], probabilities: [1, 3]}",
            Categorical(values=("a", "b"), probabilities=(0.25, 0.75)),
        ),
        (
            "{distribution: categorical_w_probabilities, values: [a, b], probabilities: [0.5, 0]}",
            Categorical(values=("a", "b"), probabilities=(1.0, 0.0)),
        ),
        ("{min: 1, max: 10}", IntRange(low=1, high=10)),
        ("{min: 1, max: 10.0}", FloatRange(low=1.0, high=10.0)),
        ("{min: 3, max: 3}", IntRange(low=3, high=3)),
        ("{min: 1, max: 1024, log: true}", IntRange(low=1, high=1024, log=True)),
        ("{min: 0.001, max: 1.0, log: true}", FloatRange(low=0.001, high=1.0, log=True)),
        ("{distribution: int_uniform, min: 2, max: 8}", IntRange(low=2, high=8)),
        ("{distribution: int_uniform, min: 2.0, max: 8}", IntRange(low=2, high=8)),
        ("{distribution: uniform, min: 0, max: 1}", FloatRange(low=0.0, high=1.0)),
        ("{distribution: q_uniform, min: 0, max: 1, q: 0.25}", FloatRange(low=0.0, high=1.0, q=0.25)),
        ("{distribution: q_uniform, min: 0, max: 100}", FloatRange(low=0.0, high=100.0, q=1.0)),
        ("{distribution: q_uniform, min: 3, max: 105, q: 10}", IntRange(low=10, high=100, step=10)),
        ("{distribution: log_uniform, min: 0, max: 1}", FloatRange(low=1.0, high=math.e, log=True)),
        (
            "{distribution: log_uniform, min: -9.21, max: -4.6}",
            FloatRange(low=math.exp(-9.21), high=math.exp(-4.6), log=True),
        ),
        ("{distribution: log_uniform_values, min: 1e-4, max: 0.1}", FloatRange(low=1e-4, high=0.1, log=True)),
        (
            "{distribution: q_log_uniform_values, min: 16, max: 512, q: 16}",
            IntRange(low=16, high=512, log=True, step=16),
        ),
        (
            "{distribution: q_log_uniform_values, min: 0.001, max: 1, q: 0.001}",
            FloatRange(low=0.001, high=1.0, log=True, q=0.001),
        ),
        ("{distribution: q_log_uniform, min: 0, max: 2, q: 1}", IntRange(low=1, high=7, log=True)),
        (
            "{distribution: q_log_uniform, min: 0, max: 2}",
            FloatRange(low=1.0, high=math.exp(2), log=True, q=1.0),
        ),
        ("{distribution: inv_log_uniform, min: 0, max: 2}", FloatRange(low=math.exp(-2), high=1.0, log=True)),
        (
            "{distribution: inv_log_uniform_values, min: 0.01, max: 1}",
            FloatRange(low=0.01, high=1.0, log=True),
        ),
        ("{distribution: normal}", Normal(mu=0.0, sigma=1.0)),
        ("{distribution: normal, mu: 1, sigma: 2}", Normal(mu=1.0, sigma=2.0)),
        ("{distribution: q_normal, q: 0.5}", Normal(q=0.5)),
        ("{distribution: q_normal}", Normal(q=1.0)),
        ("{distribution: log_normal, mu: -1}", Normal(mu=-1.0, log=True)),
        ("{distribution: q_log_normal, q: 2}", Normal(log=True, q=2.0)),
        ("{distribution: normal, mu: 3, sigma: 0}", Constant(value=3.0)),
        ("{distribution: beta}", Beta(a=1.0, b=1.0)),
        ("{distribution: q_beta, a: 2, b: 5, q: 0.1}", Beta(a=2.0, b=5.0, q=0.1)),
    ],
)
def test_every_distribution_maps_as_the_reference_says(body: str, expected: Distribution) -> None:
    got = one_param(body)
    assert got == expected
    assert type(got) is type(expected)
    for name in ("low", "high"):
        if hasattr(expected, name):
            assert type(getattr(got, name)) is type(getattr(expected, name))


def test_categorical_values_are_plain_python() -> None:
    dist = one_param("{values: [[64, 64], {depth: 2}]}")
    assert isinstance(dist, Categorical)
    assert dist.values == ([64, 64], {"depth": 2})
    assert type(dist.values[0]) is list and type(dist.values[1]) is dict


def test_grid_accepts_discrete_parameters() -> None:
    dist = one_param("{distribution: q_uniform, min: 0, max: 10, q: 5}", method="grid")
    assert dist == IntRange(low=0, high=10, step=5)
    assert one_param("{min: 1, max: 4}", method="grid") == IntRange(low=1, high=4)


def test_nested_parameters_flatten_to_dotted_names() -> None:
    spec = load(
        """
        method: random
        metric: {name: loss}
        entrypoint: train:main
        parameters:
          lr: {min: 0.001, max: 0.1}
          model.depth: {values: [18, 34]}
          optimizer:
            parameters:
              name: {values: [adamw, sgd]}
              betas:
                parameters:
                  b1: {value: 0.9}
          epochs: {value: 3}
        """
    )
    assert list(spec.parameters) == [
        "lr",
        "model.depth",
        "optimizer.name",
        "optimizer.betas.b1",
        "epochs",
    ]
    assert spec.nested == {"optimizer.name", "optimizer.betas.b1"}
    params = {"lr": 0.01, "model.depth": 18, "optimizer.name": "sgd", "optimizer.betas.b1": 0.9, "epochs": 3}
    assert spec.nest(params) == {
        "lr": 0.01,
        "model.depth": 18,
        "epochs": 3,
        "optimizer": {"name": "sgd", "betas": {"b1": 0.9}},
    }


def test_nested_name_clashing_with_a_dotted_name_is_an_error() -> None:
    with pytest.raises(
        SpecError, match=r"t\.yaml:7 parameters\.a\.parameters\.b: parameter 'a\.b' is defined twice"
    ):
        load(
            """
            method: random
            metric: {name: loss}
            entrypoint: train:main
            parameters:
              a.b: {value: 1}
              a: {parameters: {b: {value: 2}}}
            """
        )


def test_parameter_singular_is_read_as_parameters() -> None:
    spec = load(MINIMAL.replace("parameters:", "parameter:"))
    assert spec.parameters == {"lr": FloatRange(low=0.001, high=0.1)}


def test_multi_objective() -> None:
    spec = load(
        """
        method: nsga2
        metrics:
          - {name: accuracy, goal: maximize}
          - {name: latency_ms}
        parameters:
          width: {values: [64, 128]}
        entrypoint: train:main
        early_terminate: {type: none}
        """
    )
    assert spec.metrics == (
        MetricSpec(name="accuracy", goal=Goal.MAXIMIZE),
        MetricSpec(name="latency_ms", goal=Goal.MINIMIZE),
    )
    assert spec.metric.name == "accuracy"


@pytest.mark.parametrize("method", ["cmaes", "gp", "bayes"])
def test_multi_objective_refused_by_single_objective_methods(method: str) -> None:
    text = f"method: {method}\nmetrics: [{{name: a}}, {{name: b}}]\nparameters: {{x: {{min: 1, max: 2}}}}\n"
    with pytest.raises(SpecError, match=rf"t\.yaml:2 metrics: method {method} optimises one metric"):
        load(text + "entrypoint: train:main\n")


def test_wandb_metadata_keys_are_accepted() -> None:
    spec = load(
        MINIMAL
        + "entity: team\njob: j\nimage_uri: img\napiVersion: v1\nkind: sweep\ncontroller: {type: local}\n"
        + "scheduler: {engine: wandb}\n"
    )
    assert spec.method is Method.RANDOM


def test_program_gets_the_default_command() -> None:
    spec = load(MINIMAL.replace("entrypoint: train:main", "program: train.py"))
    assert spec.program == "train.py"
    assert spec.command == ("${env}", "${interpreter}", "${program}", "${args}")
    assert spec.entrypoint is None


def test_command_without_program() -> None:
    spec = load(
        """
        method: random
        metric: {name: loss}
        parameters:
          batch_size: {values: [16, 32]}
        command:
          - python
          - -m
          - mypkg.train
          - --batch_size=${batch_size}
          - --token=${envvar:TOKEN}
          - ${args_json_file}
        """
    )
    assert spec.program is None
    assert spec.command is not None and spec.command[3] == "--batch_size=${batch_size}"


# The four examples of shared/reference/wandb-sweep-config.md, copied unchanged into wandb/.


def test_wandb_random_example() -> None:
    spec = load_spec(WANDB / "wandb_random.yaml")
    assert spec.method is Method.RANDOM and spec.run_cap == 200 and spec.program == "train.py"
    assert spec.metric == MetricSpec(name="val/loss", goal=Goal.MINIMIZE, target=0.05)
    assert dict(spec.parameters) == {
        "lr": FloatRange(low=1e-5, high=0.01, log=True),
        "batch_size": IntRange(low=16, high=512, log=True, step=16),
        "dropout": FloatRange(low=0.0, high=0.5),
        "layers": IntRange(low=2, high=8),
        "activation": Categorical(values=("relu", "gelu", "silu"), probabilities=(0.5, 0.3, 0.2)),
        "optimizer.name": Categorical(values=("adamw", "sgd")),
        "optimizer.momentum": Constant(value=0.9),
    }
    assert spec.nested == {"optimizer.name", "optimizer.momentum"}
    assert spec.command == ("${env}", "${interpreter}", "${program}", "${args}")


def test_wandb_bayes_hyperband_example() -> None:
    spec = load_spec(WANDB / "wandb_bayes_hyperband.yaml")
    assert spec.method is Method.BAYES
    assert spec.metric == MetricSpec(name="val_acc", goal=Goal.MAXIMIZE)
    assert spec.pruner is not None and spec.pruner.type is PrunerType.WANDB_HYPERBAND
    assert spec.pruner.options["brackets"][:4] == [2, 6, 18, 54]
    assert spec.pruner.options["eta"] == 3
    assert spec.parameters["epochs"] == Constant(value=54)
    assert spec.parameters["weight_decay"] == FloatRange(low=1e-6, high=1e-2, log=True)


def test_wandb_grid_hydra_example() -> None:
    spec = load_spec(WANDB / "wandb_grid_hydra.yaml")
    assert spec.method is Method.GRID
    assert list(spec.parameters) == ["model.depth", "data.aug", "seed"]
    assert spec.nested == frozenset()
    assert spec.command == ("${env}", "python3", "${program}", "experiment=baseline", "${args_no_hyphens}")


def test_wandb_custom_scheduler_example_is_refused_with_a_way_out() -> None:
    with pytest.raises(
        SpecError, match=r"wandb_custom_scheduler\.yaml:1 method: 'custom' .* use one of grid"
    ):
        load_spec(WANDB / "wandb_custom_scheduler.yaml")


def test_error_lines_point_at_the_offending_line() -> None:
    text = """\
        method: random
        metric:
          name: loss
        parameters:
          a: {values: [1, 2]}
          b:
            distribution: q_uniform
            min: 0
            max: 10
            q: -1
        entrypoint: train:main
        """
    with pytest.raises(SpecError) as info:
        load(text)
    assert (info.value.line, info.value.path) == (10, "parameters.b.q")
    with pytest.raises(SpecError) as info:
        load(
            text.replace("q: -1", "q: 1").replace(
                "metric:\n          name: loss", "metric:\n          nam: l"
            )
        )
    assert str(info.value) == "t.yaml:3 metric.nam: unknown key; did you mean 'name'?"


def test_loading_a_spec_does_not_import_optuna() -> None:
    code = (
        "import sys; from sweeptrack.spec import load_spec_text, check_runnable, build_argv; "
        f"load_spec_text({MINIMAL!r}); "
        "assert 'optuna' not in sys.modules, 'spec imported optuna'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
