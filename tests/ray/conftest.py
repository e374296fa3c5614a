"""The Ray tests' cluster: one real local cluster per session, 2 CPUs and 2 logical GPUs
(`num_gpus=1` actors are placed on them without CUDA), inside a network namespace of the
test run's own (.ci/ray-tests starts pytest under `unshare -n`), so nothing leaves loopback.
Every executor a test makes is closed (its actors killed) when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from graphrt import Runtime
from graphrt.distributed import RayExecutor

GPUS = 2


def private_network() -> bool:
    """True inside a network namespace with loopback only (the interfaces of this process)."""
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return [line.split(":")[0].strip() for line in lines] == ["lo"]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    if not private_network():
        pytest.fail("the Ray tests run in a network namespace of their own: .ci/ray-tests")
    import os

    import ray

    from graphrt.distributed.executor import ZERO_COPY

    saved = {var: os.environ.get(var) for var in ZERO_COPY}
    os.environ.update(ZERO_COPY)  # as RayExecutor does for a cluster it starts
    ray.init(num_cpus=2, num_gpus=GPUS, include_dashboard=False, log_to_driver=False,
             namespace="graphrt-tests")
    yield ray
    ray.shutdown()
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


Make = Callable[..., tuple[Runtime, RayExecutor]]


def make_cluster(base: Path, **options: Any) -> tuple[Runtime, RayExecutor]:
    executor = RayExecutor(router=options.pop("router", "cache-aware"),
                           workers=options.pop("workers", None), timeout_s=20.0)
    options.setdefault("cache_dir", base / "cache")
    rt = Runtime(executor=executor, device="cpu", output_dir=base / "out", **options)
    executor.start()
    return rt, executor


@pytest.fixture
def cluster(ray_cluster: Any, tmp_path: Path) -> Iterator[Make]:
    """Makes (runtime, executor) pairs on the session's cluster; closes them afterwards."""
    made: list[RayExecutor] = []

    def make(**options: Any) -> tuple[Runtime, RayExecutor]:
        rt, executor = make_cluster(tmp_path / f"c{len(made)}", **options)
        made.append(executor)
        return rt, executor

    yield make
    for executor in made:
        executor.close()


@pytest.fixture(scope="module")
def shared_cluster(ray_cluster: Any, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[Runtime, RayExecutor, Path]]:
    """One (runtime, executor, its folder) for every test of a module."""
    base = tmp_path_factory.mktemp("shared")
    rt, executor = make_cluster(base)
    yield rt, executor, base
    executor.close()
