"""ArtifactRoot: content-addressed blobs, safe names, directory logging and the default root."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sweeptrack.core.errors import ArtifactError
from sweeptrack.tracking.artifacts import ArtifactRoot, check_name, default_artifact_root


def blobs(root: Path) -> list[Path]:
    return sorted(path for path in (root / "sha256").rglob("*") if path.is_file())


def test_constructing_a_root_creates_nothing(tmp_path: Path) -> None:
    ArtifactRoot(tmp_path / "artifacts")

    assert not (tmp_path / "artifacts").exists()


def test_stored_file_is_addressed_by_its_sha256(tmp_path: Path) -> None:
    src = tmp_path / "model.pt"
    src.write_bytes(b"weights" * 1000)
    root = ArtifactRoot(tmp_path / "artifacts")

    artifact = root.store_file(src)

    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert (artifact.path, artifact.size, artifact.sha256) == ("model.pt", 7000, digest)
    assert root.blob_path(digest) == tmp_path / "artifacts" / "sha256" / digest[:2] / digest
    assert root.blob_path(digest).read_bytes() == src.read_bytes()
    assert artifact.created_at > 0


def test_same_content_twice_is_stored_once(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("same")
    b.write_text("same")
    root = ArtifactRoot(tmp_path / "artifacts")

    first = root.store_file(a, "first/a.txt")
    second = root.store_file(b)
    third = root.store_bytes("third.txt", b"same")

    assert first.sha256 == second.sha256 == third.sha256
    assert [first.path, second.path, third.path] == ["first/a.txt", "b.txt", "third.txt"]
    assert blobs(tmp_path / "artifacts") == [root.blob_path(first.sha256)]


def test_large_file_is_streamed_and_matches_hashlib(tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    data = bytes(range(256)) * (3 * 4096 + 17)  # a few MiB, not a multiple of the chunk size
    src.write_bytes(data)

    artifact = ArtifactRoot(tmp_path / "artifacts").store_file(src)

    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert artifact.size == len(data)


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("../x", "escapes the artifact root"),
        ("a/../../b", "escapes the artifact root"),
        ("a/..", "escapes the artifact root"),
        ("/etc/passwd", "is absolute"),
        ("C:/Windows/x", "is absolute"),
        ("..\\x", "backslash"),
        ("a\0b", "NUL"),
        ("", "is empty"),
        ("./", "is empty"),
    ],
)
def test_unsafe_names_are_refused(tmp_path: Path, name: str, match: str) -> None:
    root = ArtifactRoot(tmp_path / "artifacts")

    with pytest.raises(ArtifactError, match=match):
        root.store_bytes(name, b"x")
    assert not (tmp_path / "artifacts").exists()


def test_names_are_normalised() -> None:
    assert check_name("plots/./loss.png") == "plots/loss.png"
    assert check_name("plots//loss.png") == "plots/loss.png"
    assert ArtifactRoot.check_name("ckpt:1/model.pt") == "ckpt:1/model.pt"


def test_missing_source_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.pt"

    with pytest.raises(ArtifactError, match=r"nowhere/model\.pt does not exist"):
        ArtifactRoot(tmp_path / "artifacts").store_file(missing)


def test_directory_given_to_store_file_points_at_store_directory(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="store_directory"):
        ArtifactRoot(tmp_path / "artifacts").store_file(tmp_path)


def test_unwritable_root_is_an_artifact_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "artifacts"
    not_a_folder.write_text("a file where the root should be")

    with pytest.raises(ArtifactError, match="cannot write to the artifact root"):
        ArtifactRoot(not_a_folder).store_bytes("x.txt", b"x")


def test_store_directory_logs_every_file_under_the_folder_name(tmp_path: Path) -> None:
    src = tmp_path / "checkpoints"
    (src / "epoch1").mkdir(parents=True)
    (src / "epoch1" / "model.pt").write_bytes(b"one")
    (src / "last.pt").write_bytes(b"one")
    (src / "config.yaml").write_text("lr: 0.1\n")
    root = ArtifactRoot(tmp_path / "artifacts")

    artifacts = root.store_directory(src)

    paths = [artifact.path for artifact in artifacts]
    assert paths == ["checkpoints/config.yaml", "checkpoints/epoch1/model.pt", "checkpoints/last.pt"]
    assert len(blobs(tmp_path / "artifacts")) == 2  # the two identical checkpoints share a blob


def test_store_directory_with_explicit_or_empty_prefix(tmp_path: Path) -> None:
    src = tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text("a")
    root = ArtifactRoot(tmp_path / "artifacts")

    assert [a.path for a in root.store_directory(src, "results")] == ["results/sub/a.txt"]
    assert [a.path for a in root.store_directory(src, "")] == ["sub/a.txt"]
    with pytest.raises(ArtifactError, match="escapes"):
        root.store_directory(src, "../up")


def test_store_directory_of_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        ArtifactRoot(tmp_path / "artifacts").store_directory(tmp_path / "missing")


def test_blob_path_refuses_what_is_not_a_digest(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not a sha256 digest"):
        ArtifactRoot(tmp_path).blob_path("../../etc/passwd")


def test_default_root_override_wins(tmp_path: Path) -> None:
    assert default_artifact_root("sqlite:///runs.db", str(tmp_path / "x")) == tmp_path / "x"


def test_default_root_is_beside_the_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert default_artifact_root(f"sqlite:///{tmp_path}/db/runs.db", None) == tmp_path / "db/artifacts"
    assert default_artifact_root("sqlite:///db/runs.db", None) == tmp_path / "db/artifacts"
    assert default_artifact_root("runs.db", None) == tmp_path / "artifacts"
    assert default_artifact_root(str(tmp_path / "db" / "runs.db"), "") == tmp_path / "db/artifacts"


def test_default_root_for_server_or_memory_database_is_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert default_artifact_root("postgresql://u@localhost/db", None) == tmp_path / "artifacts"
    assert default_artifact_root("sqlite:///:memory:", None) == tmp_path / "artifacts"
    assert default_artifact_root("sqlite://", None) == tmp_path / "artifacts"
