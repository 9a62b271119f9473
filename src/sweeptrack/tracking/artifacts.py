"""Content-addressed artifact storage on a local or shared file system.

A blob lives at ``<root>/sha256/<first two hex digits>/<full hex digest>``; identical content is
stored once, whatever its name. Blobs are written to a temporary file in the blob's directory and
moved into place with :func:`os.replace`, so a reader never sees a half-written blob.

Example:
    >>> root = ArtifactRoot(Path("artifacts"))
    >>> artifact = root.store_bytes("notes/summary.txt", b"best lr 3e-4")
    >>> root.blob_path(artifact.sha256).read_bytes()
    b'best lr 3e-4'
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from sweeptrack.core.errors import ArtifactError
from sweeptrack.core.model import Artifact

__all__ = [
    "ArtifactRoot",
    "check_name",
    "default_artifact_root",
    "sha256_file",
    "walk_files",
]

_CHUNK = 1 << 20
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def check_name(name: str) -> str:
    """Validate a run-relative artifact path and return it normalised ('a/./b' -> 'a/b').

    Raises:
        ArtifactError: The name is empty, absolute, has a drive, a backslash, a NUL or a '..'
            component.
    """
    if "\0" in name:
        raise ArtifactError(f"artifact path {name!r} contains a NUL character; remove it")
    if "\\" in name:
        raise ArtifactError(f"artifact path {name!r} contains a backslash; use '/' to separate folders")
    if name.startswith("/") or PureWindowsPath(name).drive:
        raise ArtifactError(
            f"artifact path {name!r} is absolute; give a relative path inside the artifact root"
        )
    parts = [part for part in PurePosixPath(name).parts if part != "."]
    if ".." in parts:
        raise ArtifactError(
            f"artifact path {name!r} escapes the artifact root; give a relative path inside it"
        )
    if not parts:
        raise ArtifactError(f"artifact path {name!r} is empty; give a file name")
    return "/".join(parts)


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex sha256, size in bytes) of a file, read in 1 MiB chunks.

    Raises:
        ArtifactError: The file is missing, a directory or unreadable.
    """
    with _open_source(path) as source:
        digest, size = _copy_hashing(source, None)
    return digest, size


def walk_files(src: Path) -> list[tuple[str, Path]]:
    """(relative posix path, path) of every regular file under ``src``, sorted by relative path.

    Symbolic links to files are followed; links to folders are not descended into, and anything
    that is not a regular file (sockets, FIFOs, broken links) is skipped.

    Raises:
        ArtifactError: ``src`` is missing or not a directory.
    """
    if not src.is_dir():
        what = "is not a directory" if src.exists() else "does not exist"
        raise ArtifactError(f"directory {src} {what}; check the path")
    files: list[tuple[str, Path]] = []
    for folder, _dirs, names in os.walk(src):
        for file_name in names:
            path = Path(folder, file_name)
            if path.is_file():
                files.append((path.relative_to(src).as_posix(), path))
    return sorted(files)


@dataclass(frozen=True, slots=True)
class ArtifactRoot:
    """A content-addressed blob store under ``root``; creating one touches no file.

    Args:
        root: The folder holding the ``sha256`` tree; created on the first write.
    """

    root: Path

    check_name = staticmethod(check_name)

    def blob_path(self, sha256: str) -> Path:
        """Where the blob with this hex sha256 lives (whether or not it is stored)."""
        if not _HEX_DIGEST.fullmatch(sha256):
            raise ArtifactError(f"{sha256!r} is not a sha256 digest (64 lowercase hex digits)")
        return self.root / "sha256" / sha256[:2] / sha256

    def store_bytes(self, name: str, data: bytes) -> Artifact:
        """Store ``data`` as the artifact ``name`` and describe it."""
        path = check_name(name)
        digest = hashlib.sha256(data).hexdigest()
        blob = self.blob_path(digest)
        if not blob.exists():
            with _TempFile(blob.parent) as (temp, handle):
                handle.write(data)
                self._commit(temp, handle, blob)
        return _artifact(path, len(data), digest)

    def store_file(self, src: Path, name: str | None = None) -> Artifact:
        """Store the file ``src`` as the artifact ``name`` (default: the file's name).

        Raises:
            ArtifactError: ``src`` is missing or unreadable, ``name`` is not a safe relative path,
                or the artifact root cannot be written.
        """
        path = check_name(src.name if name is None else name)
        digest, size = sha256_file(src)
        blob = self.blob_path(digest)
        if blob.exists():
            return _artifact(path, size, digest)
        with _open_source(src) as source, _TempFile(blob.parent) as (temp, handle):
            copied_digest, size = _copy_hashing(source, handle)
            if copied_digest != digest:  # the file changed since it was hashed: store what we read
                blob = self.blob_path(copied_digest)
                blob.parent.mkdir(parents=True, exist_ok=True)
            self._commit(temp, handle, blob)
        return _artifact(path, size, copied_digest)

    def store_directory(self, src: Path, prefix: str | None = None) -> list[Artifact]:
        """Store every file under ``src`` as ``<prefix>/<relative path>``, sorted by path.

        Args:
            src: The folder to store.
            prefix: Folder name the files go under; defaults to the name of ``src``, and ``""``
                stores them at the top level.
        """
        if prefix is None:
            prefix = src.absolute().name
        base = check_name(prefix) + "/" if prefix else ""
        return [self.store_file(path, base + relative) for relative, path in walk_files(src)]

    @staticmethod
    def _commit(temp: Path, handle: BinaryIO, blob: Path) -> None:
        # fsync first: after a crash a blob must hold its full content, as nothing rewrites it.
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temp, blob)


class _TempFile:
    """A new file in ``folder`` (created with the umask's permissions), removed unless committed."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._path = folder / f".tmp-{secrets.token_hex(8)}"
        self._handle: BinaryIO | None = None

    def __enter__(self) -> tuple[Path, BinaryIO]:
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as exc:
            raise ArtifactError(
                f"cannot write to the artifact root at {self._folder}: {exc.strerror}; "
                "check that it exists and is writable"
            ) from exc
        self._handle = os.fdopen(fd, "wb")
        return self._path, self._handle

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.close()
        self._path.unlink(missing_ok=True)  # no-op once os.replace has moved it


def _open_source(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise ArtifactError(f"file {path} does not exist; check the path") from exc
    except IsADirectoryError as exc:
        raise ArtifactError(f"{path} is a directory; store it with store_directory") from exc
    except OSError as exc:
        raise ArtifactError(f"cannot read {path}: {exc.strerror}") from exc


def _copy_hashing(source: BinaryIO, target: BinaryIO | None) -> tuple[str, int]:
    """Read ``source`` to the end in chunks, writing to ``target`` if given; (sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(source):
        digest.update(chunk)
        size += len(chunk)
        if target is not None:
            target.write(chunk)
    return digest.hexdigest(), size


def _chunks(source: BinaryIO) -> Iterable[bytes]:
    while chunk := source.read(_CHUNK):
        yield chunk


def _artifact(path: str, size: int, digest: str) -> Artifact:
    return Artifact(path=path, size=size, sha256=digest, created_at=int(time.time() * 1000))


def default_artifact_root(db_url: str, override: str | None) -> Path:
    """The artifact root for a tracking database, as an absolute path.

    Args:
        db_url: The database URL (``sqlite:///runs.db``, ``postgresql://...``) or a plain path
            to an SQLite file.
        override: The ``SWEEPTRACK_ARTIFACTS`` value the caller read, or None; it wins when set.

    Returns:
        ``override``; else the folder ``artifacts`` beside an SQLite file; else (an in-memory
        SQLite database, a server database) ``./artifacts`` in the working directory.
    """
    if override:
        return Path(override).expanduser().absolute()
    database = _sqlite_file(db_url)
    if database is None:
        return Path.cwd() / "artifacts"
    return (database.parent / "artifacts").absolute()


def _sqlite_file(db_url: str) -> Path | None:
    """The database file of an SQLite URL or plain path; None for memory or server databases."""
    scheme, sep, rest = db_url.partition("://")
    if not sep:
        return Path(db_url).expanduser()
    if scheme.split("+")[0].lower() != "sqlite":
        return None
    # sqlite:///relative.db and sqlite:////absolute.db: the path follows the third slash.
    database = rest.partition("?")[0][1:] if rest.startswith("/") else ""
    database = database.removeprefix("file:")
    if not database or database == ":memory:" or database.startswith(":memory:"):
        return None
    return Path(database)
