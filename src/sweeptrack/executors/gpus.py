"""Which GPUs the local executor may hand out, and how much memory each has.

A :class:`GpuInventory` answers one question: the GPUs of this machine. :class:`NvmlInventory` asks
the NVIDIA driver (nvidia-ml-py); :class:`StaticInventory` is a fixed list, for machines where the
driver is not to be asked and for tests.

Ids are what a trial's ``CUDA_VISIBLE_DEVICES`` gets: NVML indices (or the UUIDs or indices the
executor's own ``CUDA_VISIBLE_DEVICES`` lists). NVML numbers GPUs by PCI bus; so that CUDA agrees,
trials that get GPUs also get ``CUDA_DEVICE_ORDER=PCI_BUS_ID``.

Example:
    >>> inventory = StaticInventory([Gpu(id="0", memory=24 * 10**9), Gpu(id="1", memory=24 * 10**9)])
    >>> [gpu.id for gpu in inventory.gpus()]
    ['0', '1']
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Gpu", "GpuInventory", "NvmlInventory", "StaticInventory"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Gpu:
    """One GPU: its ``CUDA_VISIBLE_DEVICES`` id and total memory in bytes (None: not known)."""

    id: str
    memory: int | None = None
    name: str = ""


class GpuInventory(abc.ABC):
    """The GPUs trials may use.

    Contract: :meth:`gpus` returns the same GPUs on every call (an implementation may detect them
    once and keep them), never raises, and returns ``()`` where there is no GPU or no driver;
    :meth:`why_none` then says why in words a user can act on.
    """

    @abc.abstractmethod
    def gpus(self) -> tuple[Gpu, ...]:
        """The GPUs, in the order trials get them."""

    def why_none(self) -> str:
        """Why :meth:`gpus` is empty (for error messages)."""
        return "no GPU was found on this machine"


class StaticInventory(GpuInventory):
    """A fixed list of GPUs; plain ids (``[0, 1]``) are GPUs of unknown memory."""

    def __init__(self, gpus: Iterable[Gpu | int | str], why_none: str | None = None) -> None:
        self._gpus = tuple(g if isinstance(g, Gpu) else Gpu(id=str(g)) for g in gpus)
        self._why_none = why_none

    def gpus(self) -> tuple[Gpu, ...]:
        return self._gpus

    def why_none(self) -> str:
        return self._why_none or super().why_none()


class NvmlInventory(GpuInventory):
    """The GPUs the NVIDIA driver reports, detected once, on first use (constructing is free).

    Args:
        visible: The executor's own ``CUDA_VISIBLE_DEVICES`` (None when unset): when given, only
            those GPUs are handed out, under the ids it lists; NVML supplies their memory where it
            can (an id it does not know is a GPU of unknown memory).
    """

    def __init__(self, visible: str | None = None) -> None:
        self._visible = visible
        self._found: tuple[Gpu, ...] | None = None
        self._problem: str | None = None

    def gpus(self) -> tuple[Gpu, ...]:
        if self._found is None:
            self._found = self._detect()
        return self._found

    def why_none(self) -> str:
        self.gpus()
        if self._problem:
            return f"no GPU is usable on this machine ({self._problem})"
        if self._visible is not None:
            return f"CUDA_VISIBLE_DEVICES={self._visible!r} lists no GPU"
        return "NVML sees no GPU on this machine"

    def _detect(self) -> tuple[Gpu, ...]:
        wanted = None if self._visible is None else _parse_visible(self._visible)
        if wanted == []:
            return ()
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as exc:  # no library, no driver: no GPU (or GPUs of unknown memory)
            self._problem = f"the NVIDIA driver cannot be used: {type(exc).__name__}: {exc}"
            return tuple(Gpu(id=i) for i in wanted or ())
        try:
            if wanted is None:
                return tuple(_describe(pynvml, str(i)) for i in range(pynvml.nvmlDeviceGetCount()))
            return tuple(_describe(pynvml, i) for i in wanted)
        except Exception as exc:
            self._problem = f"NVML failed: {type(exc).__name__}: {exc}"
            return tuple(Gpu(id=i) for i in wanted or ())
        finally:
            pynvml.nvmlShutdown()


def _parse_visible(visible: str) -> list[str]:
    """CUDA's rule: the ids up to the first invalid one (``-1`` hides every GPU)."""
    ids = []
    for part in visible.split(","):
        part = part.strip()
        if not part or part.startswith("-"):
            break
        ids.append(part)
    return ids


def _describe(pynvml: Any, gpu_id: str) -> Gpu:
    try:
        if gpu_id.isdigit():
            handle = pynvml.nvmlDeviceGetHandleByIndex(int(gpu_id))
        else:
            handle = pynvml.nvmlDeviceGetHandleByUUID(gpu_id)
        name = pynvml.nvmlDeviceGetName(handle)
        memory = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)
    except Exception:  # an id NVML does not know (e.g. a MIG slice): usable, memory unknown
        return Gpu(id=gpu_id)
    text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    return Gpu(id=gpu_id, memory=memory, name=text)
