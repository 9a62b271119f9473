"""System metrics of a trial: CPU, RAM and, per GPU, utilisation and memory, sampled in a daemon
thread of the process that runs the trial and logged as ordinary metric points.

Keys: ``system/cpu_percent`` (the machine's CPU use, 0-100 per all CPUs), ``system/ram_used``
(bytes in use on the machine), and for each GPU the trial may use ``system/gpu{N}_util`` (0-100)
and ``system/gpu{N}_mem_used`` (bytes), where N is the GPU's NVML index. The n-th sample is logged
at step n, one interval after the one before (the first one interval after the start: a trial
shorter than the interval logs none).

With no GPU or no NVIDIA driver the GPU part is skipped and a single line says so; the sampler never
raises into the trial. A sweep sets the interval for its trials through :data:`ENV_INTERVAL`.

Example:
    >>> with SystemMetricsSampler(run.log_metrics, interval=10.0):   # doctest: +SKIP
    ...     train()
"""

from __future__ import annotations

import abc
import contextlib
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = [
    "DEFAULT_INTERVAL",
    "ENV_INTERVAL",
    "GpuProbe",
    "GpuUnavailable",
    "GpuUsage",
    "NvmlProbe",
    "StaticProbe",
    "SystemMetricsSampler",
    "interval_from_env",
]

ENV_INTERVAL = "SWEEPTRACK_SYSTEM_METRICS_INTERVAL"  # seconds; 0 or unset: no sampling
DEFAULT_INTERVAL = 10.0

LogMetrics = Callable[[Mapping[str, float], int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuUsage:
    """One GPU at one moment: its NVML index, utilisation (percent) and memory in use (bytes)."""

    index: int
    util: float
    mem_used: int


class GpuUnavailable(Exception):
    """No GPU can be read (no driver, no library, no device); the message says which."""


class GpuProbe(abc.ABC):
    """Reads the GPUs' usage.

    Contract: :meth:`read` returns one :class:`GpuUsage` per GPU (``[]`` when there are none to
    read), or raises :class:`GpuUnavailable` when GPUs cannot be read at all; it is called from the
    sampler's thread only. :meth:`close` releases what :meth:`read` acquired.
    """

    @abc.abstractmethod
    def read(self) -> list[GpuUsage]:
        """The usage of each GPU now."""

    def close(self) -> None:  # noqa: B027 - nothing to release unless an implementation says so
        """Release the driver (called once, from the sampler's thread, when sampling stops)."""


class StaticProbe(GpuProbe):
    """Fixed readings, or a fixed reason there are none (``problem``)."""

    def __init__(self, usage: Sequence[GpuUsage] = (), problem: str | None = None) -> None:
        self._usage = list(usage)
        self._problem = problem

    def read(self) -> list[GpuUsage]:
        if self._problem is not None:
            raise GpuUnavailable(self._problem)
        return list(self._usage)


class NvmlProbe(GpuProbe):
    """The NVIDIA driver's readings (nvidia-ml-py), for the GPUs ``visible`` lists (the process's
    ``CUDA_VISIBLE_DEVICES``: NVML indices or UUIDs), or every GPU when it is None."""

    def __init__(self, visible: str | None) -> None:
        self._visible = visible
        self._nvml: Any = None
        self._handles: list[tuple[int, Any]] | None = None

    def read(self) -> list[GpuUsage]:
        if self._handles is None:
            self._handles = self._open()
        nvml = self._nvml
        usage = []
        for index, handle in self._handles:
            rates = nvml.nvmlDeviceGetUtilizationRates(handle)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            usage.append(GpuUsage(index=index, util=float(rates.gpu), mem_used=int(memory.used)))
        return usage

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None

    def _open(self) -> list[tuple[int, Any]]:
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as exc:
            raise GpuUnavailable(f"the NVIDIA driver cannot be used ({type(exc).__name__}: {exc})") from None
        self._nvml = pynvml
        if self._visible is None:
            ids = [str(i) for i in range(pynvml.nvmlDeviceGetCount())]
        else:
            ids = [p.strip() for p in self._visible.split(",") if p.strip()]
        handles = []
        for gpu_id in ids:
            if gpu_id.startswith("-"):
                break  # CUDA's rule: the list ends at the first invalid id
            try:
                if gpu_id.isdigit():
                    handle = pynvml.nvmlDeviceGetHandleByIndex(int(gpu_id))
                else:
                    handle = pynvml.nvmlDeviceGetHandleByUUID(gpu_id)
                handles.append((int(pynvml.nvmlDeviceGetIndex(handle)), handle))
            except Exception:  # an id NVML does not know (e.g. a MIG slice): not sampled
                continue
        if not handles:
            raise GpuUnavailable("NVML sees no GPU for this process")
        return handles


class SystemMetricsSampler:
    """Logs system metrics every ``interval`` seconds from a daemon thread until :meth:`stop`.

    Args:
        log: Where the points go: called as ``log(metrics, step)`` (e.g. ``run.log_metrics``).
        interval: Seconds between samples; 0 turns the sampler off (start and stop do nothing).
        gpus: Reads the GPUs (default: :class:`NvmlProbe` for every GPU). When it cannot, that is
            said once through ``notice`` and the GPU part is skipped from then on.
        notice: Says a one-line message (default: print it to stderr, i.e. the trial's log).
    """

    def __init__(
        self,
        log: LogMetrics,
        *,
        interval: float = DEFAULT_INTERVAL,
        gpus: GpuProbe | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError(f"system metrics interval: {interval:g}: must be >= 0 (0 turns it off)")
        self.interval = interval
        self._log = log
        self._gpus: GpuProbe | None = gpus if gpus is not None else NvmlProbe(None)
        self._notice = notice or _print_notice
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._step = 0

    def start(self) -> None:
        """Start sampling (once; nothing happens with interval 0)."""
        if self.interval <= 0 or self._thread is not None:
            return
        import psutil

        psutil.cpu_percent(None)  # the first call sets the baseline the next one measures against
        self._thread = threading.Thread(target=self._loop, name="sweeptrack-sysmetrics", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sampling and wait (up to ``timeout`` seconds) for the thread to end."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def sample(self) -> dict[str, float]:
        """One reading of every metric (GPU ones only while the GPUs can be read)."""
        import psutil

        metrics = {
            "system/cpu_percent": float(psutil.cpu_percent(None)),
            "system/ram_used": float(psutil.virtual_memory().used),
        }
        if self._gpus is not None:
            try:
                for gpu in self._gpus.read():
                    metrics[f"system/gpu{gpu.index}_util"] = gpu.util
                    metrics[f"system/gpu{gpu.index}_mem_used"] = float(gpu.mem_used)
            except Exception as exc:  # GpuUnavailable, or a driver that fails mid-way
                reason = str(exc) if isinstance(exc, GpuUnavailable) else f"{type(exc).__name__}: {exc}"
                self._notice(f"sweeptrack: no GPU metrics: {reason}; logging CPU and RAM only")
                self._close_gpus()
        return metrics

    def __enter__(self) -> SystemMetricsSampler:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self._log(self.sample(), self._step)
                except Exception as exc:  # the run ended or its controller went away: stop quietly
                    self._notice(f"sweeptrack: system metrics stopped: {type(exc).__name__}: {exc}")
                    return
                self._step += 1
        finally:
            self._close_gpus()

    def _close_gpus(self) -> None:
        probe, self._gpus = self._gpus, None
        if probe is not None:
            probe.close()


def interval_from_env(environ: Mapping[str, str]) -> float:
    """The interval a sweep set for this trial (:data:`ENV_INTERVAL`); 0 when unset or invalid."""
    try:
        interval = float(environ.get(ENV_INTERVAL) or 0)
    except ValueError:
        return 0.0
    return interval if interval > 0 and interval < float("inf") else 0.0


def _print_notice(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
