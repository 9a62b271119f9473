"""Durations and byte sizes as written in specs."""

from __future__ import annotations

import pytest

from sweeptrack.spec import parse_bytes, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1h 30m 15s", 5415.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("1d", 86400.0),
        ("90", 90.0),
        (90, 90.0),
        (2.5, 2.5),
        ("0s", 0.0),
    ],
)
def test_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "10 minutes", "-5s", "5x", "h", "inf", "nan", "1h-30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_bool_is_not_a_duration() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(True)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("10GB", 10 * 1000**3),
        ("10gb", 10 * 1000**3),
        ("512MiB", 512 * 1024**2),
        ("16Gi", 16 * 1024**3),
        ("1.5k", 1500),
        ("2 TB", 2 * 1000**4),
        ("100", 100),
        ("100B", 100),
        (4096, 4096),
    ],
)
def test_sizes(text: str | int, size: int) -> None:
    assert parse_bytes(text) == size


@pytest.mark.parametrize("text", ["", "ten", "10 gigs", "-1GB", "1.2.3MB", "GB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_bytes(text)


def test_negative_and_bool_sizes() -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_bytes(-1)
    with pytest.raises(ValueError, match="not a size"):
        parse_bytes(True)
