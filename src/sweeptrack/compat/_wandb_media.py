"""W&B's rich values (``Image``, ``Table``, ``Histogram``) and ``Artifact``, kept as sweeptrack artifacts.

A rich value logged at a step is stored as one file under ``media/KEY/STEP...``: an image as the
file it came from, a PNG (with Pillow) or a ``.npy`` array; a table and a histogram as JSON. A
value of any other kind is skipped with one :class:`CompatWarning` per kind and run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeptrack.run import Run

__all__ = ["Artifact", "CompatWarning", "Histogram", "Image", "Media", "Table"]


class CompatWarning(UserWarning):
    """Something a W&B or MLflow script asked for that sweeptrack does not record."""


class Media:
    """A rich value that turns into one stored file."""

    suffix = ".json"

    def payload(self) -> bytes:
        """The file's content."""
        raise NotImplementedError

    def store(self, run: Run, name: str) -> None:
        data = self.payload()  # first: it may settle the suffix (.png with Pillow, else .npy)
        run.log_artifact_bytes(name + self.suffix, data)


class Image(Media):
    """``wandb.Image(data_or_path, caption=...)``: a file path, a numpy array, a tensor or a PIL image."""

    def __init__(self, data_or_path: Any, mode: str | None = None, caption: str | None = None, **_: Any):
        self.data = data_or_path
        self.mode = mode
        self.caption = caption
        self.suffix = ".png"
        if isinstance(data_or_path, str | Path):
            self.suffix = Path(data_or_path).suffix or ".img"

    def payload(self) -> bytes:
        data = self.data
        if isinstance(data, str | Path):
            return Path(data).read_bytes()
        if hasattr(data, "save") and hasattr(data, "size"):  # a PIL image
            buffer = io.BytesIO()
            data.save(buffer, format="PNG")
            return buffer.getvalue()
        return self._array_payload(data)

    def _array_payload(self, data: Any) -> bytes:
        import numpy as np

        array = np.asarray(data.detach().cpu().numpy() if hasattr(data, "detach") else data)
        try:
            from PIL import Image as PILImage
        except ImportError:
            self.suffix = ".npy"
            buffer = io.BytesIO()
            np.save(buffer, array)
            return buffer.getvalue()
        if array.dtype != np.uint8:
            array = (
                (np.clip(array, 0, 1) * 255).astype(np.uint8) if array.max() <= 1 else array.astype(np.uint8)
            )
        buffer = io.BytesIO()
        PILImage.fromarray(array, mode=self.mode).save(buffer, format="PNG")
        return buffer.getvalue()


class Table(Media):
    """``wandb.Table(columns=, data=)`` (or ``dataframe=``), stored as ``{"columns", "data"}`` JSON."""

    suffix = ".table.json"

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Sequence[Sequence[Any]] | None = None,
        dataframe: Any = None,
        **_: Any,
    ) -> None:
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            data = dataframe.values.tolist()
        self.columns = list(columns or [])
        self.data = [list(row) for row in data or []]

    def add_data(self, *row: Any) -> None:
        self.data.append(list(row))

    def payload(self) -> bytes:
        return json.dumps({"columns": self.columns, "data": self.data}, default=str).encode()


class Histogram(Media):
    """``wandb.Histogram(sequence, num_bins=64)`` or ``np_histogram=(counts, edges)``, stored as JSON."""

    suffix = ".histogram.json"

    def __init__(self, sequence: Any = None, np_histogram: Any = None, num_bins: int = 64) -> None:
        import numpy as np

        if np_histogram is not None:
            counts, edges = np_histogram
        else:
            values = sequence.detach().cpu().numpy() if hasattr(sequence, "detach") else sequence
            counts, edges = np.histogram(np.asarray(values, dtype=float), bins=num_bins)
        self.histogram = [float(c) for c in counts]
        self.bins = [float(e) for e in edges]

    def payload(self) -> bytes:
        return json.dumps({"bins": self.bins, "counts": self.histogram}).encode()


class Artifact:
    """``wandb.Artifact(name, type)``: files gathered with :meth:`add_file` / :meth:`add_dir` and
    stored under ``artifacts/NAME/`` by ``run.log_artifact(artifact)``."""

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        self.name = name
        self.type = type
        self.description = description
        self.metadata = dict(metadata or {})
        self.files: list[tuple[Path, str | None]] = []

    def add_file(self, local_path: str | Path, name: str | None = None, **_: Any) -> None:
        self.files.append((Path(local_path), name))

    def add_dir(self, local_path: str | Path, name: str | None = None, **_: Any) -> None:
        self.files.append((Path(local_path), name))

    def store(self, run: Run) -> None:
        folder = f"artifacts/{self.name}"
        for path, name in self.files:
            run.log_artifact(path, f"{folder}/{name or path.name}")
        if self.metadata or self.description:
            about = {"type": self.type, "description": self.description, "metadata": self.metadata}
            run.log_artifact_bytes(f"{folder}/artifact.json", json.dumps(about, default=str).encode())
