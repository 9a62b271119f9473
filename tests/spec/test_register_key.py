"""`register:` in a sweep spec: what it loads into, and its mistakes named with file:line."""

from __future__ import annotations

import textwrap

import pytest

from sweeptrack.core.errors import SpecError
from sweeptrack.spec import load_spec_text
from sweeptrack.spec.model import RegisterSpec

BASE = """\
method: grid
metric: {name: loss}
entrypoint: train:main
parameters:
  lr: {values: [0.1]}
"""


def load(register: str):  # type: ignore[no-untyped-def]
    return load_spec_text(BASE + textwrap.dedent(register), source="s.yaml")


def test_register_loads() -> None:
    spec = load("register: {name: digits-clf, artifact: model.pkl, alias: candidate, when: best}\n")
    assert spec.register == RegisterSpec(
        name="digits-clf", artifact="model.pkl", alias="candidate", when="best"
    )
    assert load("register: {name: clf, artifact: out/model.pkl}\n").register == RegisterSpec(
        name="clf", artifact="out/model.pkl"
    )
    assert load("").register is None


@pytest.mark.parametrize(
    ("register", "message"),
    [
        ("register: {artifact: model.pkl}\n", r"^s\.yaml:6 register\.name: required; the model's name"),
        ("register: {name: clf}\n", r"^s\.yaml:6 register\.artifact: required; the trial's artifact"),
        ("register:\n  name: my clf\n  artifact: m.pkl\n",
         r"^s\.yaml:7 register\.name: model name 'my clf' is not valid"),
        ("register:\n  name: clf\n  artifact: ../m.pkl\n",
         r"^s\.yaml:8 register\.artifact: '\.\./m\.pkl' is not a relative"),
        ("register:\n  name: clf\n  artifact: m.pkl\n  alias: a/b\n",
         r"^s\.yaml:9 register\.alias: alias 'a/b' is not valid"),
        ("register:\n  name: clf\n  artifact: m.pkl\n  when: last\n", r"^s\.yaml:9 register\.when: .*best"),
        ("register: {name: clf, artifact: m.pkl, stage: prod}\n", r"^s\.yaml:6 register\.stage: unknown key"),
    ],
)  # fmt: skip
def test_register_mistakes_name_file_line_and_key(register: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load(register)
