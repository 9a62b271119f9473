"""CPU and GPU bookkeeping for the local executor: which trials fit now, which GPUs a trial gets."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from sweeptrack.core.errors import SweepError
from sweeptrack.spec.model import Resources

__all__ = ["ResourcePool", "available_cpus", "detect_gpus"]

_EPSILON = 1e-9


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def detect_gpus() -> tuple[str, ...]:
    """The GPUs trials may use: ``CUDA_VISIBLE_DEVICES`` when it is set, else every GPU NVML sees."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return tuple(part.strip() for part in visible.split(",") if part.strip() and part.strip() != "-1")
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no driver, no library: no GPU
        return ()
    try:
        return tuple(str(i) for i in range(pynvml.nvmlDeviceGetCount()))
    except Exception:
        return ()
    finally:
        pynvml.nvmlShutdown()


class ResourcePool:
    """Free CPUs and GPU shares. A trial asking ``gpu: 0.5`` shares one GPU with another such trial;
    ``gpu: 2`` gets two whole GPUs. ``gpus`` is None until first needed (detection is lazy)."""

    def __init__(self, cpus: float, gpus: Sequence[int | str] | None) -> None:
        self.cpus = float(cpus)
        self._cpu_used = 0.0
        self._gpu_ids: tuple[str, ...] | None = None if gpus is None else tuple(str(g) for g in gpus)
        self._gpu_free: dict[str, float] = {}

    @property
    def gpu_ids(self) -> tuple[str, ...]:
        if self._gpu_ids is None:
            self._gpu_ids = detect_gpus()
        return self._gpu_ids

    def check(self, resources: Resources) -> None:
        """Refuse at once a request that could never run here.

        Raises:
            SweepError: More CPUs than the machine has, or GPUs it does not have.
        """
        if resources.cpu < 0 or resources.gpu < 0:
            raise SweepError(f"resources cpu={resources.cpu}, gpu={resources.gpu}: must not be negative")
        if resources.cpu > self.cpus + _EPSILON:
            raise SweepError(
                f"a trial asks for {resources.cpu:g} CPUs but the local executor has {self.cpus:g}; "
                "lower resources.cpu"
            )
        if resources.gpu <= 0:
            return
        count = len(self.gpu_ids)
        if count == 0:
            raise SweepError(
                f"a trial asks for {resources.gpu:g} GPU(s) but no GPU was found on this machine "
                "(NVML sees none and CUDA_VISIBLE_DEVICES lists none); set resources.gpu: 0"
            )
        if resources.gpu > 1 and not float(resources.gpu).is_integer():
            raise SweepError(
                f"resources.gpu: {resources.gpu:g}: a trial takes a share of one GPU (up to 1) "
                "or a whole number of GPUs"
            )
        if resources.gpu > count:
            raise SweepError(
                f"a trial asks for {resources.gpu:g} GPUs but this machine has {count}; lower resources.gpu"
            )

    def slots(self, resources: Resources) -> int:
        """How many trials with ``resources`` fit on the whole machine (ignoring what runs now)."""
        limit = math.inf
        if resources.cpu > 0:
            limit = math.floor(self.cpus / resources.cpu + _EPSILON)
        if resources.gpu > 0:
            count = len(self.gpu_ids)
            if resources.gpu < 1:
                limit = min(limit, count * math.floor(1 / resources.gpu + _EPSILON))
            else:
                limit = min(limit, count // int(resources.gpu))
        return int(min(limit, 1 << 30))

    def take(self, resources: Resources) -> tuple[str, ...] | None:
        """Reserve what a trial needs and return its GPU ids, or None if it does not fit now."""
        if resources.cpu > 0 and self._cpu_used + resources.cpu > self.cpus + _EPSILON:
            return None
        gpus: tuple[str, ...] = ()
        if resources.gpu > 0:
            free = self._free_gpus()
            if resources.gpu < 1:
                shared = [g for g in self.gpu_ids if free[g] >= resources.gpu - _EPSILON]
                if not shared:
                    return None
                # The fullest GPU that still fits: keeps whole GPUs free for whole-GPU trials.
                gpus = (min(shared, key=lambda g: free[g]),)
            else:
                whole = [g for g in self.gpu_ids if free[g] >= 1 - _EPSILON]
                if len(whole) < resources.gpu:
                    return None
                gpus = tuple(whole[: int(resources.gpu)])
            share = min(resources.gpu, 1.0)
            for gpu in gpus:
                free[gpu] -= share
        self._cpu_used += max(resources.cpu, 0.0)
        return gpus

    def give(self, resources: Resources, gpus: tuple[str, ...]) -> None:
        """Return what :meth:`take` reserved."""
        self._cpu_used = max(0.0, self._cpu_used - max(resources.cpu, 0.0))
        free = self._free_gpus()
        for gpu in gpus:
            free[gpu] = min(1.0, free[gpu] + min(resources.gpu, 1.0))

    def _free_gpus(self) -> dict[str, float]:
        if not self._gpu_free:
            self._gpu_free = {g: 1.0 for g in self.gpu_ids}
        return self._gpu_free
