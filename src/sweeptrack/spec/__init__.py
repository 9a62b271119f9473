"""Sweep specs: YAML (a superset of the W&B sweep config) -> a validated, typed SweepSpec."""

from __future__ import annotations

from sweeptrack.spec.command import build_argv
from sweeptrack.spec.load import load_spec, load_spec_text
from sweeptrack.spec.model import (
    ExecutorSpec,
    ExecutorType,
    Method,
    MetricSpec,
    ObjectiveSummary,
    PrunerSpec,
    PrunerType,
    Resources,
    SpecWarning,
    SweepSpec,
)
from sweeptrack.spec.runnable import check_runnable, resolve_program
from sweeptrack.spec.units import parse_bytes, parse_duration

__all__ = [
    "ExecutorSpec",
    "ExecutorType",
    "Method",
    "MetricSpec",
    "ObjectiveSummary",
    "PrunerSpec",
    "PrunerType",
    "Resources",
    "SpecWarning",
    "SweepSpec",
    "build_argv",
    "check_runnable",
    "load_spec",
    "load_spec_text",
    "parse_bytes",
    "parse_duration",
    "resolve_program",
]
