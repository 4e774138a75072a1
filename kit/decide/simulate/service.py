"""Service times per variant: the measured samples of a results file, or given values.

Each variant is simulated from draws of its own measurements:
- ``warm_ms``: the handler's duration on a warm environment (the proxy's for SageMaker,
  which includes the endpoint round trip at the run's load);
- ``cold_ms``: what a cold start adds (on-demand init, or SnapStart restore);
- ``endpoint_ms``: SageMaker only, the serving app's own time per request
  (decode + inference), which occupies a worker and so sets the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from audio_inference.settings import HTTP

from kit.decide.cost.inputs import variants_from_results
from kit.decide.cost.model import VariantCost
from kit.errors import KitError
from kit.results import Invocation, Kind, Results

MANAGED_ROW = "managed-instances"
"""The simulated Lambda Managed Instances row (priced and simulated, not measured)."""


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
        )


def _array(values: list[float | None]) -> np.ndarray:
    return np.asarray([v for v in values if v is not None], dtype=np.float64)


def _endpoint_ms(record: Invocation) -> float | None:
    timings = record.timings_ms or {}
    decode, inference = timings.get("endpoint_decode"), timings.get("endpoint_inference")
    if decode is None or inference is None:
        return None
    return float(decode) + float(inference)


def from_results(doc: Results, snapstart_versions: int | None = None) -> list[Service]:
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
        out.append(
            Service(
                cost=replace(cost, cold_fraction=0.0),
                warm_ms=warm,
                cold_ms=cold,
                endpoint_ms=endpoint,
                synchronous=setup.entry == "http",
                max_concurrency=setup.serverless_max_concurrency,
            )
        )
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


def managed_instances(base: Service, instance_type: str, count: int) -> Service:
    """Lambda Managed Instances running ``base``'s handler: no cold starts, a queue per vCPU."""
    return Service(
        cost=replace(
            base.cost,
            name=MANAGED_ROW,
            kind=Kind.MANAGED,
            instance_type=instance_type,
            instance_count=count,
            provisioned_concurrency=0,
        ),
        warm_ms=base.warm_ms,
        cold_ms=np.array([]),
        endpoint_ms=base.warm_ms,
        synchronous=base.synchronous,
    )
