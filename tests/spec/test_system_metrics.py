"""``system_metrics_interval``: how often each trial samples CPU, RAM and GPU use (0: never)."""

from __future__ import annotations

import textwrap

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec import load_spec_text

BASE = """
method: random
metric: {name: loss}
parameters:
  lr: {min: 0.1, max: 1.0}
entrypoint: train:main
"""


def test_trials_sample_every_ten_seconds_unless_told() -> None:
    assert load_spec_text(BASE).system_metrics_interval == 10.0


@pytest.mark.parametrize(
    ("value", "seconds"), [("2s", 2.0), ("500ms", 0.5), ("1m", 60.0), ("0", 0.0), ("0s", 0.0)]
)
def test_interval_is_a_duration_and_zero_turns_it_off(value: str, seconds: float) -> None:
    spec = load_spec_text(BASE + f"system_metrics_interval: {value}\n")
    assert spec.system_metrics_interval == seconds


def test_a_misspelt_key_is_named_with_the_right_one() -> None:
    spec = load_spec_text(BASE + "system_metric_interval: 5s\n")
    assert "did you mean 'system_metrics_interval'" in str(spec.warnings[0])
    with pytest.raises(SpecError, match="did you mean 'system_metrics_interval'"):
        load_spec_text(BASE + "system_metric_interval: 5s\n", strict=True)


def test_a_bad_interval_names_its_line_and_key() -> None:
    text = textwrap.dedent(BASE) + "system_metrics_interval: often\n"
    with pytest.raises(SpecError, match=r"<string>:7 system_metrics_interval: not a duration: 'often'"):
        load_spec_text(text)
