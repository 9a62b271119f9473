"""Fingerprint the datasets a run used, so two runs can be checked for having read the same data.

The digest depends on content only: the same bytes at another path or with another mtime give
the same digest. Remote sources (``s3://``, ``https://``, ...) are never read; their digest is
that of the URI string.

Example:
    >>> digest_dataset("train", "data/train.csv", context="training").size
    1048576
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from sweeptrack.core.errors import ArtifactError
from sweeptrack.core.model import Dataset
from sweeptrack.tracking.artifacts import sha256_file, walk_files

__all__ = ["digest_dataset"]


def digest_dataset(name: str, source: str | Path, context: str | None = None) -> Dataset:
    """Describe a dataset by a content digest.

    Args:
        name: The dataset's name in the run (``"train"``).
        source: A local file or folder, a ``file://`` URI, or any other URI.
        context: What the run used it for (``"training"``, ``"eval"``), if anything.

    Returns:
        For a file: the sha256 of its content and its size. For a folder: the sha256 over the
        sorted (relative posix path, file sha256) pairs of its files and their total size. For a
        remote URI: the sha256 of the URI string, size None, without any I/O. Local sources are
        recorded by absolute path.

    Raises:
        ArtifactError: A local source does not exist or cannot be read.
    """
    path = _local_path(source)
    if path is None:
        uri = str(source)
        digest = hashlib.sha256(uri.encode("utf-8")).hexdigest()
        return Dataset(name=name, source=uri, digest=digest, size=None, context=context)
    if path.is_dir():
        digest, size = _digest_directory(path)
    elif path.exists():
        digest, size = sha256_file(path)
    else:
        raise ArtifactError(f"dataset {name!r}: {path} does not exist; check the path")
    source_text = str(path.absolute())
    return Dataset(name=name, source=source_text, digest=digest, size=size, context=context)


def _local_path(source: str | Path) -> Path | None:
    """The local path a source names, or None for a remote URI."""
    if isinstance(source, Path):
        return source
    parts = urlsplit(source)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            return None  # file://otherhost/share: not on this machine
        return Path(url2pathname(parts.path))
    # A one-letter scheme is a Windows drive ('C:\\data'), not a URI.
    if len(parts.scheme) > 1 and "://" in source:
        return None
    return Path(source).expanduser()


def _digest_directory(folder: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    total = 0
    for relative, path in walk_files(folder):
        file_digest, size = sha256_file(path)
        # NUL cannot occur in a path and the file digest has a fixed length: no two listings
        # encode to the same bytes.
        digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(file_digest.encode("ascii") + b"\n")
        total += size
    return digest.hexdigest(), total
