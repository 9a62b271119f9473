"""Sweep specs: YAML (a superset of the W&B sweep config) -> a validated, typed SweepSpec."""
