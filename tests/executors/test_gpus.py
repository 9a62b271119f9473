"""GPUs on the local executor: which card a trial gets (whole, shared by fraction, shared by memory),
requests no card can hold, and the CUDA_VISIBLE_DEVICES a real trial process sees. There is no GPU
here: the GPUs are a StaticInventory of made-up cards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sweeptrack.core.errors import SweepError
from sweeptrack.core.model import RunStatus
from sweeptrack.executors.gpus import Gpu, NvmlInventory, StaticInventory
from sweeptrack.executors.local import LocalExecutor
from sweeptrack.executors.resources import ResourcePool
from sweeptrack.spec.model import Resources
from sweeptrack.testing.executor_conformance import Collector, make_request, write_trials

GB = 10**9
TWO_24GB_CARDS = StaticInventory([Gpu(id="0", memory=24 * GB), Gpu(id="1", memory=24 * GB)])

GPU_TRIALS = """
import os
import time
from pathlib import Path

import sweeptrack as st


def report(params):
    st.set_tag("cuda", os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"))
    st.set_tag("order", os.environ.get("CUDA_DEVICE_ORDER", "<unset>"))


def hold(params):
    report(params)
    folder = Path(params["folder"])
    partial = folder / f"partial-{params['me']}"  # renamed when written: the test never reads half
    partial.write_text(os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"))
    partial.rename(folder / f"started-{params['me']}")
    deadline = time.monotonic() + 60
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
"""


def pool(inventory: StaticInventory, cpus: int = 16) -> ResourcePool:
    return ResourcePool(cpus, inventory)


def take_all(pool: ResourcePool, resources: Resources, count: int) -> list[tuple[str, ...] | None]:
    return [pool.take(resources) for _ in range(count)]


# -- packing -----------------------------------------------------------------------------------
def test_memory_requests_go_two_per_24gb_card_and_a_fifth_waits() -> None:
    resources = Resources(gpu=0.5, gpu_memory=10 * GB)
    gpus = pool(TWO_24GB_CARDS)
    gpus.check(resources)
    assert gpus.slots(resources) == 4
    first_four = take_all(gpus, resources, 4)
    assert sorted(first_four) == [("0",), ("0",), ("1",), ("1",)]  # type: ignore[type-var]
    assert gpus.take(resources) is None  # 24 GB - 2 x 10 GB leaves 4 GB on each card
    gpus.give(resources, ("1",))
    assert gpus.take(resources) == ("1",)


def test_memory_not_fractions_decides_how_many_share_a_card() -> None:
    small = Resources(gpu=0.5, gpu_memory=5 * GB)  # 0.5 alone would allow two per card
    gpus = pool(StaticInventory([Gpu(id="0", memory=24 * GB)]))
    assert gpus.slots(small) == 4
    assert take_all(gpus, small, 5) == [("0",)] * 4 + [None]


def test_gpu_memory_alone_asks_for_a_share_of_one_card() -> None:
    gpus = pool(TWO_24GB_CARDS)
    assert take_all(gpus, Resources(gpu_memory=12 * GB), 5) == [("0",), ("0",), ("1",), ("1",), None]


def test_half_gpu_requests_go_two_per_card() -> None:
    gpus = pool(TWO_24GB_CARDS)
    half = Resources(gpu=0.5)
    assert gpus.slots(half) == 4
    assert sorted(take_all(gpus, half, 4)) == [("0",), ("0",), ("1",), ("1",)]  # type: ignore[type-var]
    assert gpus.take(half) is None


def test_third_gpu_requests_fill_a_card_of_unknown_memory() -> None:
    gpus = pool(StaticInventory(["3"]))
    third = Resources(gpu=1 / 3)
    assert take_all(gpus, third, 4) == [("3",)] * 3 + [None]


def test_whole_gpu_requests_get_distinct_cards() -> None:
    gpus = pool(StaticInventory([Gpu(id=str(i), memory=24 * GB) for i in range(4)]))
    one, two = Resources(gpu=1), Resources(gpu=2)
    assert take_all(gpus, one, 2) == [("0",), ("1",)]
    assert gpus.take(two) == ("2", "3")
    assert gpus.take(one) is None
    gpus.give(one, ("0",))
    assert gpus.take(one) == ("0",)


def test_shares_and_whole_cards_never_overlap() -> None:
    gpus = pool(TWO_24GB_CARDS)
    share, whole = Resources(gpu=0.5, gpu_memory=10 * GB), Resources(gpu=1)
    assert gpus.take(share) == ("0",)
    assert gpus.take(whole) == ("1",)  # not the card a share is on
    assert gpus.take(whole) is None
    assert gpus.take(share) == ("0",)  # the fullest card that still fits
    assert gpus.take(share) is None


def test_a_share_goes_on_the_fullest_card_that_fits() -> None:
    gpus = pool(TWO_24GB_CARDS)
    assert gpus.take(Resources(gpu_memory=20 * GB)) == ("0",)
    assert gpus.take(Resources(gpu_memory=3 * GB)) == ("0",)
    assert gpus.take(Resources(gpu_memory=3 * GB)) == ("1",)


def test_cpus_bound_gpu_trials_too() -> None:
    gpus = pool(TWO_24GB_CARDS, cpus=2)
    resources = Resources(cpu=1, gpu=0.25)
    assert gpus.slots(resources) == 2
    assert take_all(gpus, resources, 3) == [("0",), ("0",), None]


# -- requests that can never run -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (Resources(gpu_memory=30 * GB), r"asks for a share of a GPU with 30 GB of GPU memory but no GPUs"),
        (Resources(gpu=0.5, gpu_memory=30 * GB), r"GPU 0: 24 GB, GPU 1: 24 GB\); lower resources.gpu_memory"),
        (Resources(gpu=3), r"asks for 3 GPUs but this machine has 2"),
        (Resources(gpu=1.5), r"a share of one GPU \(up to 1\) or a whole number"),
    ],
)
def test_requests_no_card_can_hold_are_refused(resources: Resources, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        pool(TWO_24GB_CARDS).check(resources)


def test_gpu_memory_on_cards_of_unknown_memory_is_refused() -> None:
    with pytest.raises(SweepError, match=r"GPU 0: memory unknown\); lower resources.gpu_memory"):
        pool(StaticInventory([0])).check(Resources(gpu=0.5, gpu_memory=GB))


def test_no_gpu_says_why_and_cpu_trials_do_not_care() -> None:
    gpus = pool(StaticInventory([], why_none="no GPU was found on this machine (the NVIDIA driver is gone)"))
    gpus.check(Resources(cpu=1))
    with pytest.raises(SweepError, match=r"asks for 0.5 GPU\(s\) but no GPU .*\(the NVIDIA driver is gone\)"):
        gpus.check(Resources(gpu=0.5))


def test_nvml_inventory_without_a_driver_has_no_gpu() -> None:
    inventory = NvmlInventory(None)
    if inventory.gpus():
        pytest.skip("this machine has an NVIDIA GPU")
    assert "GPU" in inventory.why_none()


@pytest.mark.parametrize(("visible", "ids"), [("", ()), ("-1", ()), ("2, 5", ("2", "5")), ("4,-1,5", ("4",))])
def test_the_executors_own_visible_devices_limit_the_gpus(visible: str, ids: tuple[str, ...]) -> None:
    assert tuple(gpu.id for gpu in NvmlInventory(visible).gpus()) == ids


# -- what a trial process sees -------------------------------------------------------------------
@pytest.fixture
def gpu_trials(tmp_path: Path) -> Path:
    folder = write_trials(tmp_path / "trials")
    (folder / "gpu_trials.py").write_text(GPU_TRIALS)
    return folder


@pytest.fixture
def executors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., LocalExecutor]]:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)  # workers inherit this process's
    made: list[LocalExecutor] = []

    def make(parallel: int, inventory: StaticInventory, **options: object) -> LocalExecutor:
        executor = LocalExecutor(parallel, log_dir=tmp_path / "logs", grace=0.5, gpus=inventory, **options)  # type: ignore[arg-type]
        made.append(executor)
        return made[-1]

    yield make
    for executor in made:
        executor.shutdown()


def test_function_trials_see_their_own_card_and_cpu_trials_see_none(
    executors: Callable[..., LocalExecutor], gpu_trials: Path, tmp_path: Path
) -> None:
    inventory = StaticInventory([Gpu(id="GPU-fake-a", memory=24 * GB), Gpu(id="7", memory=24 * GB)])
    executor = executors(3, inventory, cpu_count=3)
    collector = Collector(executor)
    gpu_requests = [
        make_request(
            gpu_trials,
            entrypoint="gpu_trials:hold",
            params={"folder": str(tmp_path), "me": me},
            resources=Resources(gpu=1),
        )
        for me in ("a", "b")
    ]
    cpu_request = make_request(gpu_trials, entrypoint="gpu_trials:report", resources=Resources(cpu=1))
    for request in gpu_requests:
        executor.submit(request)
    collector.wait_until(
        lambda: (tmp_path / "started-a").exists() and (tmp_path / "started-b").exists(), "both GPU trials"
    )
    # Both run at once, so each holds its card while the other reads CUDA_VISIBLE_DEVICES.
    seen = {(tmp_path / f"started-{me}").read_text() for me in ("a", "b")}
    assert seen == {"GPU-fake-a", "7"}
    (finished,) = collector.run(cpu_request)
    assert finished.status is RunStatus.FINISHED, finished.error
    assert collector.tags(cpu_request.trial_id) == {"cuda": "<unset>", "order": "<unset>"}
    (tmp_path / "release").write_text("")
    for request in gpu_requests:
        assert collector.wait_finished(request.trial_id).status is RunStatus.FINISHED
        assert collector.tags(request.trial_id)["order"] == "PCI_BUS_ID"


def test_command_trials_sharing_a_card_by_memory_see_it(
    executors: Callable[..., LocalExecutor], gpu_trials: Path
) -> None:
    resources = Resources(gpu=0.5, gpu_memory=10 * GB)
    executor = executors(4, TWO_24GB_CARDS, cpu_count=4, resources=resources)
    assert executor.capacity == 4
    collector = Collector(executor)
    requests = [make_request(gpu_trials, mode="metrics", resources=resources) for _ in range(2)]
    for finished in collector.run(*requests):
        assert finished.status is RunStatus.FINISHED, finished.error
    assert [collector.tags(r.trial_id)["gpus"] for r in requests] == ["0", "0"]  # the fullest card that fits


def test_a_memory_request_no_card_holds_is_refused_at_submit(
    executors: Callable[..., LocalExecutor], gpu_trials: Path
) -> None:
    executor = executors(1, TWO_24GB_CARDS)
    with pytest.raises(SweepError, match=r"lower resources\.gpu_memory"):
        executor.submit(make_request(gpu_trials, mode="metrics", resources=Resources(gpu_memory=40 * GB)))
    assert executor.running == 0


def test_gpu_memory_on_ray_becomes_a_share_that_never_oversubscribes_a_card() -> None:
    from sweeptrack.executors.ray_gpus import memory_share

    card = 40 * 10**9
    assert memory_share(Resources(gpu_memory=10 * 10**9), card) == 0.25
    # Shares round up, so the shares of trials that fit by Ray's count fit the card's memory.
    third = memory_share(Resources(gpu_memory=card // 3 + 1), card)
    assert third > 1 / 3 and 3 * third > 1
    assert memory_share(Resources(gpu=0.5, gpu_memory=card // 10), card) == 0.1  # memory wins
    assert memory_share(Resources(gpu=2, gpu_memory=card // 2), card) == 2  # whole cards stay whole
    assert memory_share(Resources(gpu_memory=10**9), None) == 1.0  # unknown memory: a whole card
    assert memory_share(Resources(gpu=0.5), card) == 0.5
    with pytest.raises(SweepError, match=r"gpu_memory: 50 GB is more than the smallest GPU .* \(40 GB\)"):
        memory_share(Resources(gpu_memory=50 * 10**9), card)
