"""Lambda Managed Instances in the simulator: environments that each run several requests.

The rules, each with where it comes from:

- Capacity. An execution environment has ``vcpus`` vCPUs and runs up to ``slots`` requests at
  once, one process each (the stack's PerExecutionEnvironmentMaxConcurrency). An instance
  holds the environments that fit beside its OS reservation (``environments_per_instance``),
  and at least three instances run while the function is active (AZ resiliency: AWS's
  Lambda Managed Instances pages). Instances are billed by the second they run.
- Routing. A request goes to the active environment with the fewest requests in flight: the
  router sends it elsewhere when an environment is busy (AWS's scaling page).
- Service time. Measured, never derived: a request that starts with k requests in its
  environment (itself included) takes a time drawn from the invocations ``kit local``
  measured at concurrency k (``Service.by_concurrency``).
- Full. With every slot busy an asynchronous event waits for the first free slot (Lambda
  keeps asynchronous events and retries them); a synchronous request is throttled (429).
- Scaling. Every minute the environments' CPU use (busy slot-seconds x threads per request,
  over their vCPU-seconds) is compared with a target; above it, more environments are
  started, ready after a delay and at most double the count at a time (AWS: "If your traffic
  more than doubles within 5 minutes, you may see throttles"); below half of it for the
  cool-down, the count falls back to what the target needs, never below the minimum.
  Target, delay and cool-down are ``platform.json`` parameters, unverified.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from audio_inference.settings import (
    MANAGED_INSTANCES_AT_START,
    environments_per_instance,
    instances_for,
)
from numba import njit

from kit.decide.cost.pricing import CostInputError, Pricing

from .kernels import _heap_pop, _heap_push
from .platform import PlatformParams

# managed_pool state slots (float64 array ``st``)
M_HEAP, M_ACTIVE, M_LAST_T, M_MINUTE, M_BUSY_ACC, M_PENDING_T, M_PENDING_N = range(7)
M_LOW_SINCE, M_INSTANCE_S = 7, 8


@dataclass(frozen=True)
class ManagedShape:
    """One managed configuration as the simulator runs it."""

    vcpus: int
    """vCPUs of one environment."""
    memory_mb: int
    slots: int
    """Requests one environment runs at once (max concurrency)."""
    threads: int
    """onnxruntime threads of each request process."""
    min_environments: int
    max_environments: int
    """The function's maximum, already capped by what MaxVCpuCount's instances hold."""
    per_instance: int
    """Environments one instance holds."""
    min_instances: int = MANAGED_INSTANCES_AT_START

    def instances(self, environments: int) -> int:
        """Instances running ``environments`` (never fewer than ``min_instances``)."""
        return max(self.min_instances, instances_for(environments, self.per_instance))


def shape_for(
    pricing: Pricing,
    instance_type: str,
    *,
    vcpus: int,
    memory_mb: int,
    slots: int,
    threads: int,
    min_environments: int,
    max_environments: int,
    max_vcpus: int,
) -> ManagedShape:
    """The shape of a configuration on ``instance_type``; CostInputError when none fits."""
    ec2 = pricing.ec2_type(instance_type)
    per_instance = environments_per_instance(ec2.vcpus, ec2.memory_gib, vcpus, memory_mb)
    if per_instance < 1:
        raise CostInputError(
            f"{instance_type} ({ec2.vcpus} vCPUs, {ec2.memory_gib:g} GiB) holds no {vcpus}-vCPU "
            f"{memory_mb} MB environment beside its OS reservation; choose a larger type"
        )
    most = per_instance * max(MANAGED_INSTANCES_AT_START, max_vcpus // ec2.vcpus)
    top = max(1, min(max_environments, most))
    return ManagedShape(
        vcpus=vcpus,
        memory_mb=memory_mb,
        slots=slots,
        threads=threads,
        min_environments=min(max(1, min_environments), top),
        max_environments=top,
        per_instance=per_instance,
    )


@njit(cache=True)
def managed_pool(
    arrivals: np.ndarray,
    u: np.ndarray,
    samples: np.ndarray,
    offsets: np.ndarray,
    counts: np.ndarray,
    slots: int,
    per_instance: int,
    min_instances: int,
    min_envs: int,
    max_envs: int,
    cpu_per_slot: float,
    target: float,
    delay_s: float,
    cooldown_s: float,
    synchronous: bool,
    st: np.ndarray,
    busy: np.ndarray,
    heap_end: np.ndarray,
    heap_env: np.ndarray,
    latency_ms: np.ndarray,
    served_ms: np.ndarray,
) -> None:
    """Run one chunk of arrivals (sorted, seconds); fills latency_ms (NaN: throttled) and
    served_ms. ``cpu_per_slot`` is threads / vCPUs of an environment."""
    n_heap = int(st[M_HEAP])
    active = int(st[M_ACTIVE])
    last_t = st[M_LAST_T]
    minute = st[M_MINUTE]
    busy_acc = st[M_BUSY_ACC]
    pending_t = st[M_PENDING_T]
    pending_n = int(st[M_PENDING_N])
    low_since = st[M_LOW_SINCE]
    instance_s = st[M_INSTANCE_S]
    levels = counts.shape[0]
    for i in range(arrivals.shape[0]):
        t = arrivals[i]
        running = max(min_instances, (active + per_instance - 1) // per_instance)
        instance_s += running * (t - last_t)
        last_t = t
        while n_heap > 0 and heap_end[0] <= t:
            busy[heap_env[0]] -= 1
            _heap_pop(heap_end, heap_env, n_heap)
            n_heap -= 1
        if pending_t > 0.0 and t >= pending_t:
            active = pending_n
            pending_t = 0.0
        while t >= minute + 60.0:
            utilization = busy_acc * cpu_per_slot / (60.0 * active)
            busy_acc = 0.0
            minute += 60.0
            if utilization > target:
                low_since = -1.0
                if pending_t == 0.0 and active < max_envs:
                    need = int(math.ceil(active * utilization / target))
                    pending_n = min(max_envs, active + max(1, min(need - active, active)))
                    pending_t = minute + delay_s
            elif utilization < target / 2.0 and active > min_envs and pending_t == 0.0:
                if low_since < 0.0:
                    low_since = minute
                elif minute - low_since >= cooldown_s:
                    need = int(math.ceil(active * utilization / target))
                    active = max(min_envs, need, 1)
                    low_since = minute
            else:
                low_since = -1.0
        best = 0
        for e in range(1, active):
            if busy[e] < busy[best]:
                best = e
        if busy[best] < slots:
            start = t
            busy[best] += 1
            level = busy[best]
            env = best
        elif synchronous or n_heap == 0:
            latency_ms[i] = np.nan
            served_ms[i] = 0.0
            continue
        else:  # an asynchronous event waits for the first slot that frees up
            start = heap_end[0]
            env = heap_env[0]
            _heap_pop(heap_end, heap_env, n_heap)
            n_heap -= 1
            level = busy[env]
        k = min(level, levels) - 1
        s = samples[offsets[k] + int(u[i] * counts[k])]
        _heap_push(heap_end, heap_env, n_heap, start + s / 1000.0, env)
        n_heap += 1
        busy_acc += s / 1000.0
        latency_ms[i] = (start - t) * 1000.0 + s
        served_ms[i] = s
    st[M_HEAP] = n_heap
    st[M_ACTIVE] = active
    st[M_LAST_T] = last_t
    st[M_MINUTE] = minute
    st[M_BUSY_ACC] = busy_acc
    st[M_PENDING_T] = pending_t
    st[M_PENDING_N] = pending_n
    st[M_LOW_SINCE] = low_since
    st[M_INSTANCE_S] = instance_s


class ManagedRunner:
    """One managed variant's environments between chunks of one traffic window."""

    def __init__(
        self,
        shape: ManagedShape,
        by_concurrency: tuple[np.ndarray, ...],
        platform: PlatformParams,
        synchronous: bool,
        steady_rate: float | None = None,
    ) -> None:
        levels = [np.asarray(a, dtype=np.float64) for a in by_concurrency[: shape.slots]]
        if not levels or any(a.size == 0 for a in levels):
            raise ValueError("managed: service times are needed at every concurrency level")
        self.shape = shape
        self.samples = np.concatenate(levels)
        self.counts = np.array([a.size for a in levels], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        self.cpu_per_slot = shape.threads / shape.vcpus
        self.target = float(platform["managed_target_utilization"])
        self.delay = float(platform["managed_scale_out_delay_s"])
        self.cooldown = float(platform["managed_scale_in_cooldown_s"])
        self.synchronous = synchronous
        active = shape.min_environments
        if steady_rate is not None:  # a window of a long month starts where scaling settles
            busy = steady_rate * float(np.mean(levels[0])) / 1000.0
            needed = math.ceil(busy * self.cpu_per_slot / self.target)
            active = min(max(active, needed), shape.max_environments)
        self.st = np.zeros(9)
        self.st[M_ACTIVE] = active
        self.st[M_LOW_SINCE] = -1.0
        self.busy = np.zeros(shape.max_environments, dtype=np.int64)
        size = shape.max_environments * shape.slots + 1
        self.heap_end = np.zeros(size)
        self.heap_env = np.zeros(size, dtype=np.int64)

    def run(self, arrivals: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latency (ms, NaN when throttled) and service time of each arrival."""
        latency = np.empty(arrivals.size)
        served = np.empty(arrivals.size)
        s = self.shape
        managed_pool(
            arrivals,
            u,
            self.samples,
            self.offsets,
            self.counts,
            s.slots,
            s.per_instance,
            s.min_instances,
            s.min_environments,
            s.max_environments,
            self.cpu_per_slot,
            self.target,
            self.delay,
            self.cooldown,
            self.synchronous,
            self.st,
            self.busy,
            self.heap_end,
            self.heap_env,
            latency,
            served,
        )
        return latency, served

    def instance_seconds(self, end: float) -> float:
        """Instance-seconds run up to ``end`` (seconds from the window's start)."""
        st = self.st
        running = self.shape.instances(int(st[M_ACTIVE]))
        return float(st[M_INSTANCE_S] + running * max(0.0, end - st[M_LAST_T]))
