"""Run variants through a traffic shape: latency percentiles, cold starts, queueing, cost.

Every variant sees the same arrivals (common random numbers), so differences
between variants are not sampling noise of the traffic. Up to ``max_exact``
requests a span is simulated request by request; above it each traffic level
is simulated as a stationary window of its share of ``max_exact`` requests and
weighted by the time spent at that level (aggregate mode: cold starts at level
changes are then not counted, which the result says).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from audio_inference.settings import DEFAULT_SERVERLESS_MAX_CONCURRENCY

from kit.decide.cost.model import CostModel, Pricing, VariantCost
from kit.results import Kind

from . import kernels as k
from .managed import ManagedRunner
from .platform import PlatformParams
from .service import Service
from .traffic import Traffic

MISS = k.MISS
bin_upper_ms = k.bin_upper_ms


@dataclass
class Tally:
    """What one variant did with the simulated requests (weighted sums)."""

    requests: float = 0.0
    cold: float = 0.0
    endpoint_cold: float = 0.0
    throttled: float = 0.0
    queued: float = 0.0
    provisioned: float = 0.0
    billed_ms: float = 0.0
    billed_cold_ms: float = 0.0
    endpoint_ms: float = 0.0
    server_seconds: float = 0.0
    span_s: float = 0.0
    hist: np.ndarray = field(default_factory=lambda: np.zeros(MISS + 1, dtype=np.float64))

    def add(self, other: Tally, weight: float) -> None:
        """Accumulate another tally scaled by ``weight``."""
        for name in (
            "requests",
            "cold",
            "endpoint_cold",
            "throttled",
            "queued",
            "provisioned",
            "billed_ms",
            "billed_cold_ms",
            "endpoint_ms",
            "server_seconds",
            "span_s",
        ):
            setattr(self, name, getattr(self, name) + weight * getattr(other, name))
        self.hist += weight * other.hist

    def percentile(self, q: float) -> float:
        """Latency percentile (ms) from the histogram; inf when it falls among throttled ones."""
        total = self.hist.sum()
        if total == 0:
            return math.nan
        index = int(np.searchsorted(np.cumsum(self.hist), q / 100 * total))
        return bin_upper_ms(min(index, MISS))


class _Pool:
    """A lambda_pool's state between chunks."""

    def __init__(
        self,
        limit: int,
        scale: int,
        provisioned: int,
        idle_lifetime_s: float,
        synchronous: bool,
    ) -> None:
        self.limit, self.scale, self.idle_s, self.sync = limit, scale, idle_lifetime_s, synchronous
        self.st = np.zeros(5)
        self.st[k.ST_PC_IDLE] = provisioned
        cap = limit + provisioned + 1
        self.busy_end = np.zeros(cap)
        self.busy_tag = np.zeros(cap, dtype=np.int64)
        self.idle = np.zeros(cap)
        self.ring = np.full(scale, -1e18)

    def run(
        self, arrivals: np.ndarray, warm: np.ndarray, cold: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        latency = np.empty(arrivals.size)
        kind = np.empty(arrivals.size, dtype=np.int8)
        k.lambda_pool(
            arrivals,
            warm,
            cold,
            self.idle_s,
            self.limit,
            self.scale,
            self.sync,
            self.st,
            self.busy_end,
            self.busy_tag,
            self.idle,
            self.ring,
            latency,
            kind,
        )
        return latency, kind


class _Queue:
    """A fifo_servers' state between chunks."""

    def __init__(
        self,
        workers: int,
        instances: int,
        max_instances: int,
        t2: bool,
        p: PlatformParams,
        steady_load: float | None,
    ) -> None:
        self.workers, self.max_servers = workers, workers * max_instances
        self.autoscale = max_instances > instances
        self.st = np.zeros(8)
        self.st[k.F_ACTIVE] = workers * instances
        self.st[k.F_LOW_SINCE] = -1.0
        self.free_at = np.zeros(self.max_servers)
        self.credit_rate = p["t2_credits_per_hour"] / 60.0 * instances if t2 else 0.0
        self.max_credits = p["t2_max_credits"] * instances
        self.baseline = p["t2_baseline_per_vcpu"] if t2 else 1.0
        credits = p["t2_initial_credits"] * instances
        if steady_load is not None:
            # a window of a long month starts from the balance the month converges to:
            # full below the baseline, empty above it
            below = steady_load < self.baseline * workers * instances
            credits = self.max_credits if below else 0.0
        self.st[k.F_CREDITS] = credits if t2 else 0.0
        self.target = p["sagemaker_autoscaling_target_utilization"]
        self.delay = p["sagemaker_scale_out_delay_s"]
        self.cooldown = p["sagemaker_scale_in_cooldown_s"]
        self.max_wait = float(p["queue_max_wait_s"])

    def run(self, arrivals: np.ndarray, service: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wait = np.empty(arrivals.size)
        served = np.empty(arrivals.size)
        k.fifo_servers(
            arrivals,
            service,
            self.workers,
            self.max_servers,
            self.credit_rate,
            self.max_credits,
            self.baseline,
            self.autoscale,
            self.target,
            self.delay,
            self.cooldown,
            self.max_wait,
            self.st,
            self.free_at,
            wait,
            served,
        )
        return wait, served

    def server_seconds(self, end: float) -> float:
        st = self.st
        return float(st[k.F_SERVER_S] + st[k.F_ACTIVE] * max(0.0, end - st[k.F_LAST_T]))


@dataclass
class Options:
    """How to simulate (beyond the platform file)."""

    max_exact: int = 50_000_000
    chunk: int = 1 << 20
    seed: int = 7
    max_instances: int = 1
    """SageMaker instances autoscaling may reach (the deployed count = no autoscaling)"""
    pricing: Pricing = field(default_factory=Pricing.load)


def endpoint_workers(platform: PlatformParams, instance_type: str) -> int:
    """Serving workers of one SageMaker instance: one per vCPU (2 for an unlisted type)."""
    return int(platform["sagemaker_instance_vcpus"].get(instance_type, 2))


def _draw(samples: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Samples picked by uniform draws (with replacement)."""
    return samples[(u * samples.size).astype(np.int64)]


class Runner:
    """One variant's simulation state across the chunks of one traffic window."""

    def __init__(
        self,
        service: Service,
        platform: PlatformParams,
        opts: Options,
        idle_s: float,
        steady_rate: float | None = None,
    ) -> None:
        self.s = service
        self.p = platform
        v = service.cost
        limit = int(platform["lambda_account_concurrency"])
        scale = int(platform["lambda_scale_envs_per_10s"])
        self.tally = Tally()
        self.t0 = self.server_s0 = 0.0
        self.queue: _Queue | None = None
        self.endpoint_pool: _Pool | None = None
        self.managed: ManagedRunner | None = None
        if v.kind == Kind.MANAGED:
            assert service.managed is not None, f"{v.name}: a managed service needs its shape"
            self.managed = ManagedRunner(
                service.managed, service.by_concurrency, platform, service.synchronous, steady_rate
            )
        if v.kind == Kind.SAGEMAKER:
            workers = endpoint_workers(platform, v.instance_type)
            t2 = v.instance_type.startswith("ml.t2.")
            top = int(v.instance_count) if t2 else max(opts.max_instances, int(v.instance_count))
            load = (
                None
                if steady_rate is None
                else steady_rate * float(np.mean(service.endpoint_ms)) / 1000.0
            )
            self.queue = _Queue(workers, int(v.instance_count), top, t2, platform, load)
        if v.kind == Kind.SERVERLESS:
            self.endpoint_pool = _Pool(
                service.max_concurrency or DEFAULT_SERVERLESS_MAX_CONCURRENCY,
                scale,
                0,
                float(platform["serverless_idle_lifetime_s"]),
                True,
            )
        self.pool = (
            None
            if v.kind == Kind.MANAGED
            else _Pool(limit, scale, v.provisioned_concurrency, idle_s, service.synchronous)
        )

    def _run_managed(self, managed: ManagedRunner, arrivals: np.ndarray, u: np.ndarray) -> None:
        t = self.tally
        latency, served = managed.run(arrivals, u)
        throttled = np.isnan(latency)
        t.requests += arrivals.size
        t.throttled += float(np.count_nonzero(throttled))
        t.queued += float(np.count_nonzero(latency[~throttled] > served[~throttled]))
        t.endpoint_ms += float(served.sum())
        k.histogram_add(t.hist, latency)

    def run(self, arrivals: np.ndarray, u: np.ndarray) -> None:
        """Feed one chunk of arrivals; ``u`` holds three uniform draws per request."""
        if self.managed is not None:  # environments, slots and scaling: managed.py
            self._run_managed(self.managed, arrivals, u[2])
            return
        s, t = self.s, self.tally
        n = arrivals.size
        warm = _draw(s.warm_ms, u[0])
        cold = _draw(s.cold_ms, u[1]) if s.cold_ms.size else np.zeros(n)
        extra = np.zeros(n)
        if self.queue is not None:
            service = _draw(s.endpoint_ms, u[2])
            wait, served = self.queue.run(arrivals, service)
            refused = np.isnan(wait)
            queued = wait > 0
            t.throttled += float(np.count_nonzero(refused))
            t.endpoint_ms += float(served.sum())
            # the proxy waits for the endpoint; a refused call ends in an error at the limit
            extra = np.where(refused, self.queue.max_wait * 1000.0, wait + (served - service))
        if self.endpoint_pool is not None:
            service = _draw(s.endpoint_ms, u[2])
            start = np.full(n, self.p["serverless_cold_start_s"] * 1000.0)
            ep_latency, ep_kind = self.endpoint_pool.run(arrivals, service, start)
            throttled = ep_kind == k.THROTTLED
            # a throttled call fails the proxy; Lambda retries the event after its delay
            extra = np.where(
                throttled, self.p["lambda_async_retry_delay_s"] * 1000.0, ep_latency - service
            )
            t.queued += float(np.count_nonzero(throttled))
            t.endpoint_cold += float(np.count_nonzero(ep_kind == k.COLD))
            t.endpoint_ms += float(service.sum())
        assert self.pool is not None
        latency, kind = self.pool.run(arrivals, warm + extra, cold)
        busy = warm + extra
        cold_n, throttled, pool_queued, provisioned, billed, billed_cold = k.pool_tally(
            kind, busy, cold
        )
        if self.queue is not None:
            latency[refused] = np.nan  # no prediction came back
            pool_queued = float(
                np.count_nonzero(queued | (kind == k.QUEUED) | (kind == k.QUEUED_PROVISIONED))
            )
        t.requests += n
        t.cold += cold_n
        t.throttled += throttled
        t.queued += pool_queued
        t.provisioned += provisioned
        t.billed_ms += billed
        t.billed_cold_ms += billed_cold
        k.histogram_add(t.hist, latency)

    def restart_tally(self, at_s: float) -> None:
        """Forget what was counted so far (a warm-up); keep the environments and queues."""
        self.tally = Tally()
        self.t0 = at_s
        self.server_s0 = self._server_seconds(at_s)

    def _server_seconds(self, at_s: float) -> float:
        """Instance-seconds so far: endpoint instances, or managed instances."""
        if self.queue is not None:
            return self.queue.server_seconds(at_s)
        if self.managed is not None:
            return self.managed.instance_seconds(at_s)
        return 0.0

    def finish(self, end_s: float) -> Tally:
        """Close the window: instance time, span."""
        if self.queue is not None or self.managed is not None:
            self.tally.server_seconds = self._server_seconds(end_s) - self.server_s0
        self.tally.span_s = end_s - self.t0
        return self.tally


def _windows(
    traffic: Traffic, max_exact: int, warmup_s: float
) -> list[tuple[Traffic, float, float]]:
    """The traffic to simulate, the weight of each piece and its uncounted warm-up (seconds).

    Up to ``max_exact`` expected requests: the whole span. Above it (aggregate mode):
    a stationary shape is simulated for a window holding ``max_exact`` requests after a
    warm-up that is not counted (so one deployment's first cold starts are not scaled up);
    a repeating shape for as many whole periods as fit; when not even one period fits,
    each rate level as a stationary window weighted by its time (cold starts at level
    changes are then not counted).
    """
    total = traffic.expected_requests
    if traffic.timestamps is not None or total <= max_exact:
        return [(traffic, 1.0, 0.0)]
    if traffic.shape == "poisson":
        window = traffic.span_s * max_exact / total
        return [
            (
                traffic.prefix(min(window + warmup_s, traffic.span_s)),
                traffic.span_s / window,
                warmup_s,
            )
        ]
    period = traffic.period_s
    if period is not None and total * period / traffic.span_s <= max_exact:
        window = period * math.floor(max_exact / (total * period / traffic.span_s))
        return [(traffic.prefix(window), traffic.span_s / window, 0.0)]
    out = []
    for rate, seconds in traffic.levels():
        if rate <= 0:
            continue
        window = seconds * max_exact / total
        length = window + warmup_s
        piece = Traffic("poisson", rate * 60, length, np.array([0.0, length]), np.array([rate]))
        out.append((piece, seconds / window, warmup_s))
    return out


def drops_transients(traffic: Traffic, max_exact: int) -> bool:
    """Whether ``simulate`` falls back to one stationary window per rate level, so that
    transients at level changes (queues building up, autoscaling lag, cold starts) are
    not counted; whole periods of a repeating shape and stationary windows keep them."""
    return len(_windows(traffic, max_exact, 0.0)) > 1


def simulate(
    services: list[Service],
    traffic: Traffic,
    platform: PlatformParams,
    opts: Options,
    idle_s: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[dict[str, Tally], bool]:
    """Tallies per variant for one traffic shape, and whether aggregate mode was used."""
    idle = float(platform["lambda_idle_lifetime_s"] if idle_s is None else idle_s)
    windows = _windows(traffic, opts.max_exact, warmup_s=2 * idle)
    totals = {s.name: Tally() for s in services}
    for w_index, (piece, weight, warmup) in enumerate(windows):
        steady = piece.expected_requests / piece.span_s if warmup else None
        runners = [Runner(s, platform, opts, idle, steady) for s in services]
        rng = np.random.default_rng([opts.seed, w_index])
        counting = warmup == 0
        for chunk in piece.arrivals(rng, opts.chunk):
            # every variant sees the same arrivals and the same draws (common random numbers)
            u = rng.random((3, chunk.size))
            cut = chunk.size if counting else int(np.searchsorted(chunk, warmup))
            for runner in runners:
                runner.run(chunk[:cut], u[:, :cut])
                if not counting and cut < chunk.size:
                    runner.restart_tally(warmup)
                    runner.run(chunk[cut:], u[:, cut:])
            counting = counting or cut < chunk.size
            if progress:
                progress(chunk.size * weight)
        for runner in runners:
            totals[runner.s.name].add(runner.finish(piece.span_s), weight)
    return totals, len(windows) > 1 or windows[0][0] is not traffic


def priced(service: Service, tally: Tally, platform: PlatformParams) -> VariantCost:
    """The variant's pricing inputs with the simulated means filled in."""
    v = service.cost
    done = max(tally.requests - tally.throttled, 1.0)
    cold = tally.cold / max(tally.requests, 1.0)
    per_cold = tally.billed_cold_ms / tally.cold if tally.cold else 0.0
    changes: dict[str, Any] = {"billed_ms": tally.billed_ms / done, "cold_fraction": cold}
    if v.kind == Kind.SNAPSTART:
        changes["billed_restore_ms"] = per_cold
    else:
        changes["billed_init_ms"] = per_cold
    if v.kind == Kind.SAGEMAKER and tally.span_s > 0:
        workers = endpoint_workers(platform, v.instance_type)
        changes["instance_count"] = tally.server_seconds / tally.span_s / workers
    if v.kind == Kind.SERVERLESS:
        changes["serverless_ms"] = tally.endpoint_ms / max(tally.requests, 1.0)
    if v.kind == Kind.MANAGED:  # instances are the bill: their mean count over the span
        mean = tally.server_seconds / tally.span_s if tally.span_s > 0 else v.instance_count
        changes = {"billed_ms": 0.0, "cold_fraction": 0.0, "instance_count": mean}
    return replace(v, **changes)


def monthly_cost(
    service: Service, tally: Tally, traffic: Traffic, platform: PlatformParams, pricing: Pricing
) -> tuple[float, dict[str, float], VariantCost]:
    """Monthly cost at this traffic's rate (requests scaled to a month) and its breakdown."""
    v = priced(service, tally, platform)
    model = CostModel([v], pricing)
    n_month = traffic.expected_requests * pricing.seconds_per_month / traffic.span_s
    parts = model.breakdown(v, n_month)
    return sum(parts.values()), parts, v
