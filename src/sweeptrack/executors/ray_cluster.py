"""Reaching a Ray cluster (or starting a local one) and checking a trial's resources against it.

No address starts a Ray of this process's own, whatever an earlier Ray left on the machine (the
``ray_current_cluster`` file of a ``ray start`` head that died, ``RAY_ADDRESS``), as
``ray.init(address="local")`` does; ``auto`` joins the live cluster of this machine.
An address that does not answer fails in seconds with one line (the port is tried before Ray's
own connect, which may wait a long time); a cluster that wants a token says how to give it; a
request no node can satisfy fails before any trial is dispatched, naming the request and what
each node has.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from sweeptrack.core.errors import SweepError
from sweeptrack.spec.model import Resources

__all__ = [
    "CONNECT_TIMEOUT",
    "Connection",
    "actor_options",
    "alive_node_resources",
    "check_resources",
    "connect",
    "death_reason",
    "lost_node",
    "parse_address",
    "ray_resources",
    "refusal",
]

CONNECT_TIMEOUT = 10.0  # seconds to wait for an address's port to accept
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_EPSILON = 1e-9
_TOKEN_REFUSAL = (
    "the cluster requires token authentication; set RAY_AUTH_MODE=token and the cluster's token in "
    "RAY_AUTH_TOKEN"
)
_AUTO_PROBE_TIMEOUT = 2.0


class Connection:
    """This process's link to Ray: ``owned`` when it was made here (and is undone by :meth:`close`)."""

    def __init__(self, address: str, owned: bool) -> None:
        self.address = address
        self.owned = owned

    def close(self) -> None:
        if self.owned:
            import ray

            with contextlib.suppress(Exception):
                ray.shutdown()
            self.owned = False


def parse_address(address: str) -> tuple[str, int] | None:
    """``host:port`` or ``ray://host:port`` as (host, port); None for ``auto``.

    Raises:
        SweepError: The address is neither.
    """
    if address == "auto":
        return None
    rest = address.removeprefix("ray://")
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise SweepError(
            f"ray address {address!r}: write it as host:port (the head's GCS port, e.g. 10.0.0.5:6379), "
            "ray://host:10001, auto, or none for a local Ray"
        )
    return host.strip("[]"), int(port)


def connect(address: str | None, *, num_cpus: int) -> Connection:
    """Connect this process to the Ray cluster at ``address``; None or ``"none"`` starts a local Ray
    with ``num_cpus`` CPUs bound to 127.0.0.1 (never joining one that runs); ``auto`` joins the live
    Ray cluster of this machine. A process already connected keeps its connection.

    Raises:
        SweepError: The address is malformed or does not answer, ``auto`` finds no live cluster
            (or several), the cluster refuses the connection, or this process is connected to
            another cluster.
    """
    import ray

    local = address is None or address.lower() == "none"
    if address == "auto" and not ray.is_initialized():
        address = _auto_address()
    target = None if local else parse_address(str(address))
    if target is not None:
        _check_port(str(address), *target)
        if not str(address).startswith("ray://") and _refuses_without_token(*target):
            raise SweepError(f"cannot connect to the Ray cluster at {address}: {_TOKEN_REFUSAL}")
    if ray.is_initialized():
        return Connection(_current_address(), owned=False)
    options: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if local:
        options.update(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1")
    elif target is not None and target[0] in _LOOPBACK and not str(address).startswith("ray://"):
        options["_node_ip_address"] = "127.0.0.1"
    try:
        # "local": a Ray of our own; ray.init(address=None) would join whatever RAY_ADDRESS or the
        # last `ray start` recorded, and fail when that head is gone.
        ray.init(address="local" if local else address, **options)
    except Exception as exc:
        where = address or "a new local Ray"
        raise SweepError(f"cannot connect to the Ray cluster at {where}: {refusal(exc)}") from exc
    return Connection(_current_address() if not local else "local", owned=True)


def refusal(exc: BaseException) -> str:
    """One line for Ray's error: its first line, or how to give the token when the cluster wants
    one (Ray's own help for that is a paragraph)."""
    text = str(exc).strip()
    if "authentication" in text.lower() or "auth_token" in text.lower():
        return _TOKEN_REFUSAL
    return text.splitlines()[0] if text else type(exc).__name__


def _refuses_without_token(host: str, port: int) -> bool:
    """Whether the GCS at host:port wants a token this process will not send. Ray's own connect
    would retry for about 20 s, writing a warning a second, and then fail without saying why."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return False  # Ray sends the token it is given
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        channel.unary_unary("/ray.rpc.NodeInfoGcsService/GetClusterId")(b"", timeout=CONNECT_TIMEOUT)
    except grpc.RpcError as exc:
        return bool(exc.code() == grpc.StatusCode.UNAUTHENTICATED)
    finally:
        channel.close()
    return False


def _auto_address() -> str:
    """The live Ray cluster of this machine: ``RAY_ADDRESS``, else the head the last ``ray start``
    recorded when it answers, else the one cluster whose processes run here.

    Raises:
        SweepError: None answers, or several run and none was recorded.
    """
    from ray._private import services, utils  # Ray's own way to find them; no public API says it

    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    recorded = utils.read_ray_address()
    services.find_gcs_addresses.cache_clear()  # type: ignore[attr-defined]
    running = sorted(set(services.find_gcs_addresses()))
    live = [a for a in dict.fromkeys([*([recorded] if recorded else []), *running]) if _answers(a)]
    if recorded in live:
        return str(recorded)
    if len(live) == 1:
        return live[0]
    if live:
        raise SweepError(
            f"ray address auto: several Ray clusters run on this machine ({', '.join(live)}); "
            "give the address of one"
        )
    stale = f" (the head at {recorded}, which the last `ray start` recorded, is gone)" if recorded else ""
    raise SweepError(
        f"ray address auto: no Ray cluster runs on this machine{stale}; start one (ray start --head), "
        "give its address, or leave the address out to start a local Ray"
    )


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_AUTO_PROBE_TIMEOUT):
            return True
    except (OSError, ValueError):
        return False


def _current_address() -> str:
    import ray

    with contextlib.suppress(Exception):
        return str(ray.get_runtime_context().gcs_address)
    return "the connected Ray cluster"


def _check_port(address: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise SweepError(
            f"cannot reach the Ray cluster at {address}: {reason}; "
            "start it (ray start --head) or fix the address"
        ) from None


def ray_resources(resources: Resources) -> dict[str, float]:
    """The request in Ray's resource names (CPU, GPU, custom), zeros left out."""
    wanted = {"CPU": float(resources.cpu), "GPU": float(resources.gpu)}
    wanted.update({str(k): float(v) for k, v in resources.custom.items()})
    return {k: v for k, v in wanted.items() if v > 0}


def actor_options(shape: Resources) -> dict[str, Any]:
    """The ``.options()`` of an actor that holds ``shape`` for its lifetime."""
    options: dict[str, Any] = {"num_cpus": max(shape.cpu, 0.0), "num_gpus": max(shape.gpu, 0.0)}
    custom = {k: v for k, v in ray_resources(shape).items() if k not in ("CPU", "GPU")}
    if custom:
        options["resources"] = custom
    return options


def check_resources(resources: Resources, nodes: Sequence[Mapping[str, float]]) -> None:
    """Refuse a request that no alive node (given by its total resources) can ever satisfy.

    Raises:
        SweepError: A GPU request on a cluster without GPUs, or a request larger than every node.
    """
    if resources.cpu < 0 or resources.gpu < 0 or any(v < 0 for v in resources.custom.values()):
        raise SweepError(f"resources {_describe(ray_resources(resources))}: must not be negative")
    if resources.gpu > 1 and not float(resources.gpu).is_integer():
        raise SweepError(
            f"resources.gpu: {resources.gpu:g}: a trial takes a share of one GPU (up to 1) "
            "or a whole number of GPUs"
        )
    have = "; ".join(_describe(node) for node in nodes) or "no alive node"
    if resources.gpu > 0 and not any(node.get("GPU", 0) > 0 for node in nodes):
        raise SweepError(
            f"a trial asks for {resources.gpu:g} GPU(s) but the Ray cluster has no GPUs (its nodes: "
            f"{have}); set resources.gpu: 0 or add a GPU node"
        )
    wanted = ray_resources(resources)
    if not any(all(node.get(k, 0) + _EPSILON >= v for k, v in wanted.items()) for node in nodes):
        raise SweepError(
            f"no node of the Ray cluster can run a trial asking for {_describe(wanted)} "
            f"(its nodes: {have}); lower resources or add a node that has them"
        )


def alive_node_resources() -> list[dict[str, float]]:
    """Each alive node's total resources (Ray's own per-node entries left out)."""
    import ray

    found = []
    for node in ray.nodes():
        if node.get("Alive"):
            totals = node.get("Resources") or {}
            found.append({k: float(v) for k, v in totals.items() if _user_facing(k)})
    return found


def _user_facing(name: str) -> bool:
    return not (name.startswith("node:") or name in ("memory", "object_store_memory") or "_group_" in name)


def _describe(resources: Mapping[str, float]) -> str:
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in sorted(resources.items())) + "}"


def lost_node(info: Any) -> str | None:
    """The node of an actor (``info``: the ref of its ``info()``), described, when Ray counts that
    node dead; else None (also when the cluster cannot say)."""
    import ray

    try:
        ready, _ = ray.wait([info], timeout=0)
        node_id = ray.get(ready[0])["node_id"] if ready else None
        for node in ray.nodes() if node_id else []:
            if node.get("NodeID") == node_id and not node.get("Alive", True):
                return f"node {node_id[:12]} at {node.get('NodeManagerAddress', '?')}"
    except Exception:  # the cluster cannot say: the plain reason stands
        return None
    return None


def death_reason(exc: Exception, node: str | None) -> str:
    """One line: why an actor is gone (``node``: from :func:`lost_node`)."""
    if node is not None:
        return f"ray actor died: node lost ({node} went away while the trial ran)"
    text = " ".join(str(exc).split())
    if "worker process has died" in text:
        cause = "its worker process died (killed by a signal, the OOM killer, or a crash)"
    elif "unavailable" in text:
        cause = "it became unreachable (its node or its process went away)"
    else:
        cause = text[:200]
    return f"ray actor died: {cause}"
