"""The simulator's Lambda Managed Instances model against closed forms and AWS's stated rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kit.decide.cost.pricing import Pricing
from kit.decide.simulate.managed import ManagedRunner, ManagedShape, shape_for
from kit.decide.simulate.platform import PlatformParams

PLATFORM = PlatformParams.load()


def shape(slots: int = 2, envs: int = 3, top: int | None = None, vcpus: int = 1) -> ManagedShape:
    return ManagedShape(
        vcpus=vcpus,
        memory_mb=2048,
        slots=slots,
        threads=1,
        min_environments=envs,
        max_environments=top or envs,
        per_instance=1,
    )


def poisson(rate: float, span: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.exponential(1 / rate, int(rate * span * 1.2)))[: int(rate * span)]


def run(
    runner: ManagedRunner, arrivals: np.ndarray, seed: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    return runner.run(arrivals, np.random.default_rng(seed).random(arrivals.size))


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/G/c/c (insensitive to the service-time distribution)."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def test_light_traffic_runs_every_request_at_its_measured_solo_time():
    runner = ManagedRunner(shape(), (np.full(5, 40.0), np.full(5, 80.0)), PLATFORM, False)
    arrivals = np.arange(1, 200) * 10.0  # one every 10 s: never two at once
    latency, served = run(runner, arrivals)
    assert np.all(latency == 40.0) and np.all(served == 40.0)
    # three instances (AZ resiliency) for the whole span, whatever the traffic
    assert runner.instance_seconds(arrivals[-1]) == pytest.approx(3 * arrivals[-1])


def test_a_request_meeting_another_in_its_environment_takes_the_level_two_time():
    runner = ManagedRunner(shape(envs=1), (np.full(3, 40.0), np.full(3, 100.0)), PLATFORM, False)
    latency, _ = run(runner, np.array([1.0, 1.01, 5.0]))
    assert list(latency) == [40.0, 100.0, 40.0]


def test_synchronous_requests_over_every_slot_are_lost_as_erlang_b_says():
    """Fixed capacity (min = max environments): a synchronous request finding all c slots busy
    is throttled, so the throttled share is Erlang's loss formula B(c, lambda x s)."""
    slots, envs, service_ms, rate = 2, 3, 500.0, 12.0
    runner = ManagedRunner(
        shape(slots=slots, envs=envs), (np.full(9, service_ms),) * slots, PLATFORM, True
    )
    latency, _ = run(runner, poisson(rate, 4000))
    lost = float(np.mean(np.isnan(latency)))
    expected = erlang_b(slots * envs, rate * service_ms / 1000)
    assert expected > 0.2 and lost == pytest.approx(expected, abs=0.02)


def test_asynchronous_events_wait_for_a_slot_instead():
    runner = ManagedRunner(shape(slots=1, envs=3), (np.full(9, 500.0),), PLATFORM, False)
    latency, _ = run(runner, poisson(5.0, 600))  # 2.5 busy of 3: queueing, nothing lost
    assert not np.isnan(latency).any() and np.mean(latency > 500.0) > 0.1


@pytest.mark.parametrize(("factor", "throttles"), [(1.9, False), (4.0, True)])
def test_traffic_more_than_doubling_within_five_minutes_is_throttled(factor, throttles):
    """AWS: 'If your traffic more than doubles within 5 minutes, you may see throttles'. With
    capacity settled for the old rate (the target's headroom) a jump below 2x runs, above it
    requests are throttled until new environments serve, and then no longer."""
    # 8 slots on 4 vCPUs, one thread each: 20 busy slots at the old rate = 10 environments
    # at the 0.5 target; x4 fills all 80 slots (Erlang B(80, 80) = 8 % lost)
    service_ms, rate = 100.0, 200.0
    settled = ManagedShape(
        vcpus=4, memory_mb=8192, slots=8, threads=1, min_environments=1, max_environments=200,
        per_instance=1,
    )  # fmt: skip
    runner = ManagedRunner(settled, (np.full(9, service_ms),) * 8, PLATFORM, True, rate)
    before = poisson(rate, 1800, seed=3)
    after = 1800 + poisson(rate * factor, 1800, seed=4)
    latency, _ = run(runner, np.concatenate([before, after]))
    jump = latency[before.size :]
    first, last = jump[after < 1800 + 300], jump[after > 1800 + 1200]
    assert np.isnan(latency[: before.size]).mean() < 0.001  # settled before the jump
    assert (np.isnan(first).mean() > 0.02) == throttles
    assert np.isnan(last).mean() < 0.001  # capacity caught up
    assert runner.instance_seconds(3600) > 10 * 3600  # more environments after the jump


def test_environments_scale_back_in_after_the_cool_down():
    runner = ManagedRunner(
        shape(slots=1, envs=3, top=30), (np.full(9, 100.0),), PLATFORM, False, steady_rate=60.0
    )
    busy = poisson(60.0, 1800, seed=5)
    quiet = 1800 + poisson(0.5, 3600, seed=6)
    run(runner, np.concatenate([busy, quiet]))
    settled = runner.shape.instances(int(runner.st[1]))
    assert settled == 3  # back at the minimum an hour later


def test_shapes_keep_each_instances_os_reservation():
    pricing = Pricing.load()
    args = {"slots": 2, "threads": 1, "min_environments": 3, "max_environments": 100}
    large = shape_for(pricing, "c7g.large", vcpus=1, memory_mb=2048, max_vcpus=12, **args)
    assert large.per_instance == 1  # 2 vCPUs and 4 GiB, 1 vCPU and 1 GiB for the OS
    assert large.max_environments == 6  # MaxVCpuCount 12 = 6 instances
    xlarge = shape_for(pricing, "c7g.xlarge", vcpus=1, memory_mb=2048, max_vcpus=12, **args)
    assert xlarge.per_instance == 3 and xlarge.instances(7) == 3 and xlarge.instances(10) == 4
    with pytest.raises(Exception, match="holds no 2-vCPU"):
        shape_for(pricing, "c7g.large", vcpus=2, memory_mb=4096, max_vcpus=12, **args)
    assert math.isclose(pricing.ec2_type("m7g.large").memory_gib, 8)
