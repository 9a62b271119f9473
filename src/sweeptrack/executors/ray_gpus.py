"""GPU memory requests on Ray: ``resources.gpu_memory`` as the share of one card that Ray packs.

Ray packs fractional GPU requests by bookkeeping: the shares placed on one card never add up to
more than 1, whatever memory the trials use. A request for ``gpu_memory`` therefore becomes the
share ``gpu_memory / M`` of one card, M being the smallest card among the cluster's GPU nodes (as
NVML reports it on each node): shares that fit one card by Ray's count then fit it by memory on
every card, so two trials never oversubscribe a card's memory. Where no node's driver reports its
cards (a declared GPU without a driver), each trial takes a whole card, and the log says so in one
line.

Example:
    >>> memory_share(Resources(gpu_memory=10 * 10**9), 40 * 10**9)
    0.25
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

from sweeptrack.core.errors import SweepError
from sweeptrack.executors.gpus import NvmlInventory
from sweeptrack.spec.model import Resources

__all__ = ["card_memories", "cluster_card_memory", "cluster_shape", "memory_share", "ray_shape"]

_PROBE_TIMEOUT = 30.0
_GRAIN = 1e-4  # Ray counts GPU shares in steps of 1/10,000


def memory_share(resources: Resources, card_memory: int | None) -> float:
    """The share of one card a trial asking ``resources`` takes on cards of ``card_memory`` bytes
    (None: unknown, a whole card).

    Raises:
        SweepError: ``gpu_memory`` is more than one card has.
    """
    wanted = resources.gpu_memory
    if wanted is None:
        return resources.gpu
    if card_memory is not None and wanted > card_memory:
        raise SweepError(
            f"resources.gpu_memory: {_gb(wanted)} is more than the smallest GPU of the Ray cluster "
            f"has ({_gb(card_memory)}); lower resources.gpu_memory"
        )
    if resources.gpu >= 1:  # whole cards, each with at least that much memory
        return resources.gpu
    if card_memory is None:
        return 1.0
    return min(1.0, math.ceil(wanted / card_memory / _GRAIN) * _GRAIN)


def card_memories() -> list[int]:
    """The memory of every card of this node that NVML reports (runs on each GPU node)."""
    return [gpu.memory for gpu in NvmlInventory(None).gpus() if gpu.memory is not None]


def cluster_card_memory(nodes: list[dict[str, Any]]) -> int | None:
    """The smallest card memory over the alive GPU nodes of ``ray.nodes()``; None if none reports."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(num_cpus=0)(card_memories)
    refs = [
        probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote()
        for node in nodes
        if node.get("Alive") and (node.get("Resources") or {}).get("GPU", 0) > 0
    ]
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=_PROBE_TIMEOUT) if refs else ([], [])
    found: list[int] = []
    for ref in ready:
        try:
            found.extend(ray.get(ref))
        except Exception:  # a node that cannot answer counts as unknown
            continue
    return min(found) if found else None


def ray_shape(resources: Resources, card_memory: int | None) -> Resources:
    """``resources`` as Ray is asked for them: ``gpu`` is the share of :func:`memory_share`."""
    if resources.gpu_memory is None:
        return resources
    return dataclasses.replace(resources, gpu=memory_share(resources, card_memory))


def cluster_shape(resources: Resources) -> Resources:
    """``resources`` as the connected cluster is asked for them: a ``gpu_memory`` request becomes a
    share of its smallest card, or, where no node reports its cards, a whole card (said in one line)."""
    if resources.gpu_memory is None:
        return resources
    import ray

    card = cluster_card_memory(ray.nodes())
    shape = ray_shape(resources, card)
    if card is None and shape.gpu > 0:
        print(
            "sweeptrack: resources.gpu_memory: no GPU node of the Ray cluster reports its cards' "
            f"memory (no NVIDIA driver there); each trial takes {shape.gpu:g} whole GPU(s)",
            file=sys.stderr,
            flush=True,
        )
    return shape


def _gb(size: int) -> str:
    return f"{size / 10**9:.3g} GB"
