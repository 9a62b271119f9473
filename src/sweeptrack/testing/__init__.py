"""Conformance suites that the tests run against every backend (shipped for third-party stores)."""
