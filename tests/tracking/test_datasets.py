"""digest_dataset: same content gives the same digest, wherever it lives; remote URIs are not read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sweeptrack.core.errors import ArtifactError
from sweeptrack.tracking.datasets import digest_dataset


def make_tree(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels.csv").write_text("id,label\n1,cat\n")
    (root / "images" / "1.png").write_bytes(b"\x89PNG fake")
    return root


def test_file_digest_is_the_sha256_of_its_content(tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_bytes(b"x,y\n1,2\n")

    dataset = digest_dataset("train", src, context="training")

    assert dataset.digest == hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    assert dataset.size == 8
    assert (dataset.name, dataset.context, dataset.source) == ("train", "training", str(src))


def test_same_content_at_two_paths_has_the_same_digest(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "copy" / "b.csv"
    b.parent.mkdir()
    a.write_text("x,y\n1,2\n")
    b.write_text("x,y\n1,2\n")
    os.utime(b, (0, 0))

    assert digest_dataset("a", a).digest == digest_dataset("b", str(b)).digest


def test_one_byte_changed_changes_the_digest(tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_text("x,y\n1,2\n")
    before = digest_dataset("train", src).digest
    src.write_text("x,y\n1,3\n")

    assert digest_dataset("train", src).digest != before


def test_directory_digest_depends_on_names_and_content_only(tmp_path: Path) -> None:
    first = make_tree(tmp_path / "first")
    second = make_tree(tmp_path / "second")
    os.utime(second / "labels.csv", (0, 0))

    one, two = digest_dataset("d", first), digest_dataset("d", second)
    assert one.digest == two.digest
    assert one.size == len("id,label\n1,cat\n") + len(b"\x89PNG fake")

    (second / "labels.csv").rename(second / "labels_v2.csv")
    assert digest_dataset("d", second).digest != one.digest
    (first / "images" / "1.png").write_bytes(b"\x89PNG fakf")
    assert digest_dataset("d", first).digest != one.digest


def test_file_uri_is_read_as_a_local_path(tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_text("x,y\n")

    assert digest_dataset("t", src.as_uri()).digest == digest_dataset("t", src).digest


@pytest.mark.parametrize(
    "uri", ["s3://bucket/data/train.parquet", "https://example.invalid/data.csv", "gs://b/x"]
)
def test_remote_uri_is_digested_without_reading_it(uri: str) -> None:
    # The hosts do not exist: any attempt to read them would fail or hang.
    dataset = digest_dataset("remote", uri)

    assert dataset.digest == hashlib.sha256(uri.encode()).hexdigest()
    assert dataset.size is None
    assert dataset.source == uri


def test_missing_local_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"dataset 'train': .*missing\.csv does not exist"):
        digest_dataset("train", tmp_path / "missing.csv")
