"""CPU and GPU bookkeeping for the local executor: which trials fit now, which GPUs a trial gets.

GPU sharing is counted per card in one unit: bytes where the card's memory is known (from NVML),
millionths of a card where it is not. A trial asking ``gpu: 1`` (or 2, ...) takes whole, empty
cards. A share (``gpu: 0.5``) takes that fraction of one card; with ``resources.gpu_memory`` it takes
exactly that much memory instead (``gpu_memory`` alone also asks for a share of one card), so a
trial goes on a card only if what is promised there plus its own fits the card's memory. A card of
unknown memory takes no ``gpu_memory`` request.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from sweeptrack.core.errors import SweepError
from sweeptrack.executors.gpus import Gpu, GpuInventory, StaticInventory
from sweeptrack.spec.model import Resources

__all__ = ["ResourcePool", "available_cpus"]

_EPSILON = 1e-9
_UNITS_PER_CARD = 1_000_000  # a card of unknown memory


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(eq=False)
class _Card:
    gpu: Gpu
    used: int = 0

    @property
    def capacity(self) -> int:
        return self.gpu.memory if self.gpu.memory is not None else _UNITS_PER_CARD

    def need(self, resources: Resources) -> int | None:
        """What a trial takes of this card; None when it can never go on it."""
        memory = resources.gpu_memory
        if memory is not None and (self.gpu.memory is None or memory > self.gpu.memory):
            return None
        if resources.gpu >= 1:
            return self.capacity
        if memory is not None:
            return memory
        return max(1, math.floor(resources.gpu * self.capacity))


class ResourcePool:
    """Free CPUs and GPU shares (see the module docstring for how a card is shared).

    Args:
        cpus: CPUs to share among trials by their ``resources.cpu``.
        gpus: The GPUs to hand out; plain ids are cards of unknown memory. Detection (NVML) happens
            when a trial first asks for a GPU.
    """

    def __init__(self, cpus: float, gpus: GpuInventory | Sequence[int | str]) -> None:
        self.cpus = float(cpus)
        self._cpu_used = 0.0
        self._inventory = gpus if isinstance(gpus, GpuInventory) else StaticInventory(gpus)
        self._cards: dict[str, _Card] | None = None

    @property
    def gpu_ids(self) -> tuple[str, ...]:
        """The ids of every GPU (detecting them on first use)."""
        return tuple(self._all)

    @property
    def _all(self) -> dict[str, _Card]:
        if self._cards is None:
            self._cards = {gpu.id: _Card(gpu) for gpu in self._inventory.gpus()}
        return self._cards

    def check(self, resources: Resources) -> None:
        """Refuse at once a request that could never run here.

        Raises:
            SweepError: More CPUs than the machine has, GPUs it does not have, or more GPU memory
                than any of its GPUs has.
        """
        if resources.cpu < 0 or resources.gpu < 0:
            raise SweepError(f"resources cpu={resources.cpu}, gpu={resources.gpu}: must not be negative")
        if resources.cpu > self.cpus + _EPSILON:
            raise SweepError(
                f"a trial asks for {resources.cpu:g} CPUs but the local executor has {self.cpus:g}; "
                "lower resources.cpu"
            )
        if not _wants_gpu(resources):
            return
        asked = _describe_request(resources)
        if not self._all:
            raise SweepError(
                f"a trial asks for {asked} but {self._inventory.why_none()}; set resources.gpu: 0 "
                "(and remove resources.gpu_memory) to run it on the CPU"
            )
        if resources.gpu > 1 and not float(resources.gpu).is_integer():
            raise SweepError(
                f"resources.gpu: {resources.gpu:g}: a trial takes a share of one GPU (up to 1) "
                "or a whole number of GPUs"
            )
        fitting = [card for card in self._all.values() if card.need(resources) is not None]
        wanted = max(1, int(resources.gpu))
        if len(fitting) >= wanted:
            return
        if resources.gpu_memory is None:
            raise SweepError(
                f"a trial asks for {resources.gpu:g} GPUs but this machine has {len(self._all)}; "
                "lower resources.gpu"
            )
        raise SweepError(
            f"a trial asks for {asked} but {'no' if not fitting else 'too few'} GPUs here have that "
            f"much memory ({', '.join(_describe_card(c.gpu) for c in self._all.values())}); "
            "lower resources.gpu_memory"
        )

    def slots(self, resources: Resources) -> int:
        """How many trials with ``resources`` fit on the whole machine (ignoring what runs now)."""
        limit = math.inf
        if resources.cpu > 0:
            limit = math.floor(self.cpus / resources.cpu + _EPSILON)
        if _wants_gpu(resources):
            fitting = [c for c in self._all.values() if c.need(resources) is not None]
            if resources.gpu >= 1:
                limit = min(limit, len(fitting) // int(resources.gpu))
            else:
                limit = min(limit, sum(c.capacity // (c.need(resources) or 1) for c in fitting))
        return int(min(limit, 1 << 30))

    def take(self, resources: Resources) -> tuple[str, ...] | None:
        """Reserve what a trial needs and return its GPU ids, or None if it does not fit now."""
        if resources.cpu > 0 and self._cpu_used + resources.cpu > self.cpus + _EPSILON:
            return None
        cards: list[_Card] = []
        if _wants_gpu(resources):
            free = [c for c in self._all.values() if _fits(c, resources)]
            if resources.gpu >= 1:
                if len(free) < resources.gpu:
                    return None
                cards = free[: int(resources.gpu)]
            elif free:
                # The fullest card that still fits: keeps empty cards for whole-GPU trials.
                cards = [min(free, key=lambda c: (c.capacity - c.used) / c.capacity)]
            else:
                return None
        for card in cards:
            card.used += card.need(resources) or 0
        self._cpu_used += max(resources.cpu, 0.0)
        return tuple(card.gpu.id for card in cards)

    def give(self, resources: Resources, gpus: tuple[str, ...]) -> None:
        """Return what :meth:`take` reserved."""
        self._cpu_used = max(0.0, self._cpu_used - max(resources.cpu, 0.0))
        for gpu in gpus:
            card = self._all[gpu]
            card.used = max(0, card.used - (card.need(resources) or 0))


def _wants_gpu(resources: Resources) -> bool:
    return resources.gpu > 0 or resources.gpu_memory is not None


def _fits(card: _Card, resources: Resources) -> bool:
    need = card.need(resources)
    return need is not None and card.used + need <= card.capacity


def _describe_request(resources: Resources) -> str:
    gpus = f"{resources.gpu:g} GPU(s)" if resources.gpu > 0 else "a share of a GPU"
    if resources.gpu_memory is None:
        return gpus
    return f"{gpus} with {_size(resources.gpu_memory)} of GPU memory"


def _describe_card(gpu: Gpu) -> str:
    return f"GPU {gpu.id}: {_size(gpu.memory) if gpu.memory is not None else 'memory unknown'}"


def _size(size: int) -> str:
    return f"{size / 1e9:.3g} GB"
