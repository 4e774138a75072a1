"""Service times per variant: the measured samples of a results file, or given values.

Each variant is simulated from draws of its own measurements:
- ``warm_ms``: the handler's duration on a warm environment (the proxy's for SageMaker,
  which includes the endpoint round trip at the run's load);
- ``cold_ms``: what a cold start adds (on-demand init, or SnapStart restore);
- ``endpoint_ms``: SageMaker only, the serving app's own time per request
  (decode + inference), which occupies a worker and so sets the queue;
- ``by_concurrency``: Lambda Managed Instances only, the handler's duration measured with
  k requests running in its environment (k = 1, 2, ...; see ``simulate/managed.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from audio_inference.settings import (
    DEFAULT_MANAGED_GIB_PER_VCPU,
    DEFAULT_MANAGED_MAX_CONCURRENCY,
    DEFAULT_MANAGED_MAX_ENVIRONMENTS,
    DEFAULT_MANAGED_MAX_VCPUS,
    DEFAULT_MANAGED_MEMORY_MB,
    DEFAULT_MANAGED_MIN_ENVIRONMENTS,
    HTTP,
    managed_vcpus,
    model_threads,
)

from kit.decide.cost.inputs import variants_from_results
from kit.decide.cost.model import Pricing, VariantCost
from kit.errors import KitError
from kit.results import Invocation, Kind, Results

from .managed import ManagedShape, shape_for

MANAGED_ROW = "managed-instances"
"""The Lambda Managed Instances row added when no managed variant was measured."""


class ServiceError(KitError):
    """Service times that cannot be simulated; the message names the variant."""


@dataclass
class Service:
    """One variant: its pricing inputs and its measured times (ms)."""

    cost: VariantCost
    warm_ms: np.ndarray
    cold_ms: np.ndarray
    endpoint_ms: np.ndarray
    synchronous: bool = False
    """an HTTP entry: over a limit the caller gets a 429 instead of waiting"""
    max_concurrency: int | None = None
    """SageMaker Serverless: the endpoint's MaxConcurrency (None: the platform default)"""
    managed: ManagedShape | None = None
    """Lambda Managed Instances: environments, slots and scaling bounds"""
    by_concurrency: tuple[np.ndarray, ...] = ()
    """Lambda Managed Instances: durations measured at 1, 2, ... requests per environment"""
    assumed: str = ""
    """What the service times rest on when they are not this variant's own measurement"""

    @property
    def name(self) -> str:
        """The variant's name."""
        return self.cost.name

    def resampled(self, rng: np.random.Generator) -> Service:
        """The same variant with each sample set drawn again with replacement (bootstrap)."""

        def again(a: np.ndarray) -> np.ndarray:
            return rng.choice(a, a.size) if a.size else a

        return replace(
            self,
            warm_ms=again(self.warm_ms),
            cold_ms=again(self.cold_ms),
            endpoint_ms=again(self.endpoint_ms),
            by_concurrency=tuple(again(a) for a in self.by_concurrency),
        )


def _array(values: list[float | None]) -> np.ndarray:
    return np.asarray([v for v in values if v is not None], dtype=np.float64)


def _endpoint_ms(record: Invocation) -> float | None:
    timings = record.timings_ms or {}
    decode, inference = timings.get("endpoint_decode"), timings.get("endpoint_inference")
    if decode is None or inference is None:
        return None
    return float(decode) + float(inference)


def by_concurrency(rows: list[Invocation], slots: int) -> tuple[tuple[np.ndarray, ...], str]:
    """Durations per concurrency level 1..``slots`` of a managed variant's invocations, and a
    note when a level had to borrow its nearest measured neighbour's samples."""
    levels: dict[int, list[float]] = {}
    for r in rows:
        if r.duration_ms is not None and r.concurrency is not None:
            levels.setdefault(min(r.concurrency, slots), []).append(r.duration_ms)
    if not levels:  # kit aws records no concurrency: its durations stand for every level
        warm = _array([r.duration_ms for r in rows])
        return tuple(warm for _ in range(slots)), (
            "durations measured without their concurrency stand for every level"
        )
    out, borrowed = [], []
    for k in range(1, slots + 1):
        if k not in levels:  # the nearest measured level, the busier one on a tie
            near = min(levels, key=lambda m: (abs(m - k), -m))
            borrowed.append(f"{k} from {near}")
            levels[k] = levels[near]
        out.append(np.asarray(levels[k], dtype=np.float64))
    note = f"concurrency levels without samples: {', '.join(borrowed)}" if borrowed else ""
    return tuple(out), note


def from_results(
    doc: Results, snapstart_versions: int | None = None, pricing: Pricing | None = None
) -> list[Service]:
    """A Service per variant of a ``kit local`` or ``kit aws`` results file."""
    out = []
    for cost in variants_from_results(doc, snapstart_versions=snapstart_versions):
        rows = [
            r
            for r in doc.invocations
            if r.variant == cost.name and r.status in ("ok", "error") and r.duration_ms is not None
        ]
        warm = _array([r.duration_ms for r in rows if not r.cold])
        if not warm.size:
            warm = _array([r.duration_ms for r in rows])
        if not warm.size:
            raise ServiceError(
                f"{cost.name}: the results file has no completed invocation to take times from; "
                "re-run the benchmark for this variant"
            )
        cold = _array([r.restore_ms or r.init_ms for r in rows if r.cold])
        endpoint = _array([_endpoint_ms(r) for r in rows])
        if cost.kind in (Kind.SAGEMAKER, Kind.SERVERLESS) and not endpoint.size:
            # no server-side timings recorded: the proxy's duration is an upper bound
            endpoint = warm.copy()
        setup = doc.variants[cost.name]
        service = Service(
            cost=replace(cost, cold_fraction=0.0),
            warm_ms=warm,
            cold_ms=cold,
            endpoint_ms=endpoint,
            synchronous=setup.entry == "http",
            max_concurrency=setup.serverless_max_concurrency,
        )
        if setup.managed is not None and setup.instance_type:
            m = setup.managed
            levels, note = by_concurrency(rows, m.max_concurrency)
            shape = shape_for(
                pricing or Pricing.load(),
                setup.instance_type,
                vcpus=m.vcpus,
                memory_mb=setup.memory_mb,
                slots=m.max_concurrency,
                threads=m.threads,
                min_environments=m.min_environments,
                max_environments=m.max_environments,
                max_vcpus=m.max_vcpus,
            )
            service = replace(
                service,
                cost=replace(service.cost, instance_count=shape.instances(shape.min_environments)),
                managed=shape,
                by_concurrency=levels,
                assumed=note,
            )
        out.append(service)
    return out


def from_costs(variants: list[VariantCost], endpoint_ms: float | None = None) -> list[Service]:
    """Services with one fixed time each, from hand-given primitives (``kit cost`` options)."""
    out = []
    for v in variants:
        cold = v.billed_restore_ms if v.kind == Kind.SNAPSTART else v.billed_init_ms
        out.append(
            Service(
                cost=replace(v, cold_fraction=0.0),
                warm_ms=np.array([max(v.billed_ms, 1.0)]),
                cold_ms=np.array([cold]) if cold else np.array([]),
                endpoint_ms=np.array([endpoint_ms or max(v.billed_ms, 1.0)]),
                synchronous=v.name == HTTP,
            )
        )
    return out


def managed_instances(
    base: Service, instance_type: str, count: int, pricing: Pricing | None = None
) -> Service:
    """Lambda Managed Instances running ``base``'s handler, when no managed variant was
    measured: the stack's default environment (1 vCPU, 2 requests at once) on ``count``
    instances, each request taking ``base``'s warm time x max(1, k x threads / vCPUs) with k
    requests in its environment (the vCPUs shared evenly: an assumption, said in ``assumed``)."""
    vcpus = managed_vcpus(DEFAULT_MANAGED_MEMORY_MB, DEFAULT_MANAGED_GIB_PER_VCPU)
    slots = DEFAULT_MANAGED_MAX_CONCURRENCY
    threads = model_threads(vcpus, slots)
    shape = shape_for(
        pricing or Pricing.load(),
        instance_type,
        vcpus=vcpus,
        memory_mb=DEFAULT_MANAGED_MEMORY_MB,
        slots=slots,
        threads=threads,
        min_environments=max(DEFAULT_MANAGED_MIN_ENVIRONMENTS, count),
        max_environments=max(DEFAULT_MANAGED_MAX_ENVIRONMENTS, count),
        max_vcpus=DEFAULT_MANAGED_MAX_VCPUS,
    )
    shape = replace(shape, min_instances=count)
    return Service(
        cost=replace(
            base.cost,
            name=MANAGED_ROW,
            kind=Kind.MANAGED,
            memory_mb=DEFAULT_MANAGED_MEMORY_MB,
            instance_type=instance_type,
            instance_count=count,
            provisioned_concurrency=0,
            nat_gateways=1,
        ),
        warm_ms=base.warm_ms,
        cold_ms=np.array([]),
        endpoint_ms=base.warm_ms,
        synchronous=base.synchronous,
        managed=shape,
        by_concurrency=tuple(
            base.warm_ms * max(1.0, k * threads / vcpus) for k in range(1, slots + 1)
        ),
        assumed=f"not measured: {base.name}'s warm times, slowed by max(1, k x {threads} / "
        f"{vcpus}) with k requests sharing an environment's {vcpus} vCPU(s)",
    )
