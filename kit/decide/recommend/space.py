"""The search space: what the user needs (Target), what was measured (Basis), and every
configuration of every family (Candidate), with the stack settings that deploy it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import product
from typing import Any

import numpy as np
from audio_inference.settings import (
    MANAGED_INSTANCES_AT_START,
    SERVERLESS_MEMORY_MB,
    SERVERLESS_PAYLOAD_BYTES,
)

from components.managed_settings import architecture_of
from kit.decide.cost.model import Pricing
from kit.decide.cost.pricing import CostInputError
from kit.decide.memory import predict_ms
from kit.decide.simulate.engine import endpoint_workers
from kit.decide.simulate.platform import PlatformParams
from kit.decide.simulate.service import Service
from kit.errors import KitError
from kit.results import Kind, MemoryModel

FAMILIES = {
    "lambda": "Lambda",
    "snapstart": "Lambda SnapStart",
    "sagemaker": "SageMaker real-time",
    "serverless": "SageMaker Serverless",
    "managed": "Lambda Managed Instances",
}
PER_REQUEST = ("lambda", "snapstart")
"""Families billed per request (what "Lambda stops being the smartest choice" is about)."""
SYNCHRONOUS_FAMILIES = ("lambda",)
"""What the http entry can be served by in this kit (a function URL, with or without PC)."""
MEMORY_GRID_MB = (128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008, 4096, 5120, 6144, 8192, 10240)
SERVERLESS_CONCURRENCY = (1, 2, 5, 10, 20, 50, 100, 200)
LEVELS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
"""Traffic levels searched, as multiples of the user's demand."""

MANAGED_SCALE_TO = (1, 4, 16)
"""Lambda Managed Instances may scale to these multiples of the instances it keeps running."""
NOT_DEPLOYABLE: dict[str, str] = {}
"""Families the kit prices but cannot deploy, with the reason (none today)."""


class RecommendError(KitError):
    """A search that cannot be run as asked; the message says what to change."""


@dataclass(frozen=True)
class Target:
    """What the user needs: the latency target on one entry, and constraints."""

    p99_ms: float = 1000.0
    p50_ms: float | None = None
    entry: str = "s3"
    """s3 (upload -> item, asynchronous) or http (request -> response)"""
    architectures: tuple[str, ...] = ("x86_64", "arm64")
    max_instances: int = 4
    instance_types: tuple[str, ...] = ()
    """SageMaker types to consider (empty: the whole catalogue)"""
    managed_types: tuple[str, ...] = ()
    budget: float | None = None
    families: tuple[str, ...] = ()
    """only these families (empty: all the entry allows)"""
    memory_grid: tuple[int, ...] = MEMORY_GRID_MB
    max_object_bytes: int | None = None
    """the largest upload measured (decides whether Serverless's 4 MB payload fits)"""

    def __post_init__(self) -> None:
        if self.entry not in ("s3", "http"):
            raise RecommendError(f"--entry {self.entry!r}: use s3 or http")
        for name, value in (("--p99-ms", self.p99_ms), ("--p50-ms", self.p50_ms)):
            if value is not None and not (math.isfinite(value) and 1 <= value <= 3_600_000):
                raise RecommendError(f"{name} {value!r}: use 1 to 3,600,000 ms")
        if not 1 <= self.max_instances <= 10:  # the stack's sagemakerMaxInstanceCount range
            raise RecommendError(f"--max-instances {self.max_instances}: use 1 to 10")
        if self.budget is not None and not (math.isfinite(self.budget) and self.budget > 0):
            raise RecommendError(f"--budget {self.budget!r}: give a positive monthly amount")
        unknown = set(self.families) - set(FAMILIES)
        if unknown:
            raise RecommendError(
                f"--families {', '.join(sorted(unknown))}: use {', '.join(FAMILIES)}"
            )
        bad = [a for a in self.architectures if a not in ("x86_64", "arm64")]
        if bad or not self.architectures:
            raise RecommendError("--architectures: use x86_64, arm64 or both")


@dataclass
class Basis:
    """The measured (or given) service times everything is derived from."""

    lambda_: Service | None
    """the model-in-Lambda variant for the entry (standard/container for s3, http for http)"""
    snapstart: Service | None = None
    sagemaker: Service | None = None
    managed: Service | None = None
    """the measured managed variant (durations per concurrency level)"""
    memory: MemoryModel | None = None
    """duration per memory size; None: memory is fixed at the measured size"""
    memory_note: str = ""
    min_memory_mb: int = 128
    arm64_factor: float = 1.0
    sources: dict[str, str] = field(default_factory=dict)
    """family -> which measurement it rests on (variant, sample counts)"""

    def scale(self, memory_mb: int, architecture: str) -> float:
        """Duration at ``memory_mb`` over the duration at the measured size."""
        assert self.lambda_ is not None
        ref = self.lambda_.cost.memory_mb
        factor = self.arm64_factor if architecture == "arm64" else 1.0
        if self.memory is None:
            return factor
        return factor * predict_ms(self.memory, memory_mb) / predict_ms(self.memory, ref)


@dataclass
class Candidate:
    """One configuration to deploy: its family, what to simulate, what to set in the stack."""

    family: str
    label: str
    service: Service
    config: dict[str, Any]
    autoscale_to: int = 0
    notes: tuple[str, ...] = ()


# -- configurations ------------------------------------------------------------------------


def _lambda_like(basis: Basis, base: Service, family: str, target: Target) -> list[Candidate]:
    sizes = (
        [m for m in target.memory_grid if m >= basis.min_memory_mb]
        if basis.memory is not None
        else [base.cost.memory_mb]
    )
    out = []
    variant = base.cost.name
    for arch in target.architectures:
        for memory in sizes:
            f = basis.scale(memory, arch)
            svc = replace(
                base,
                cost=replace(base.cost, memory_mb=memory, architecture=arch),
                warm_ms=base.warm_ms * f,
            )
            notes = (
                (f"arm64 duration = x86 x {basis.arm64_factor:.2f} (unverified)",)
                if arch == "arm64"
                else ()
            )
            config = {"variants": [variant], "lambdaMemoryMb": memory, "architecture": arch}
            label = f"{FAMILIES[family]} {memory:,} MB {arch}"
            out.append(Candidate(family, label, svc, config, notes=notes))
    return out


def _provisioned(basis: Basis, candidates: list[Candidate], peak_rate: float) -> list[Candidate]:
    out = []
    for c in candidates:
        busy = peak_rate * float(np.mean(c.service.warm_ms)) / 1000  # mean busy environments
        top = max(1, min(50, math.ceil(busy * 1.5 + 3 * math.sqrt(busy + 1))))
        counts = sorted({n for n in (1, 2, 3, 5, 8, 13, 20, 30, 50) if n <= top} | {top})
        for n in counts:
            svc = replace(c.service, cost=replace(c.service.cost, provisioned_concurrency=n))
            variant = c.config["variants"][0]
            config = c.config | {"provisionedConcurrency": {variant: n}}
            label = f"{c.label}, {n} provisioned"
            out.append(Candidate("lambda", label, svc, config, notes=c.notes))
    return out


def _sagemaker(
    basis: Basis, target: Target, platform: PlatformParams, pricing: Pricing
) -> list[Candidate]:
    assert basis.sagemaker is not None
    base = basis.sagemaker
    catalogue = pricing.data["prices"]["sagemaker_instance_hour"]["instances"]
    types = target.instance_types or tuple(t for t in catalogue if not t.startswith("ml.g"))
    out = []
    for typ in types:
        if typ not in catalogue:
            raise RecommendError(
                f"--instance-types {typ}: not in the price catalogue ({', '.join(catalogue)})"
            )
        t2 = typ.startswith("ml.t2.")
        workers = endpoint_workers(platform, typ)
        for count in range(1, target.max_instances + 1):
            tops = [count] if t2 else range(count, target.max_instances + 1)
            for top in tops:
                svc = replace(
                    base,
                    cost=replace(
                        base.cost,
                        kind=Kind.SAGEMAKER,
                        instance_type=typ,
                        instance_count=count,
                        serverless_memory_mb=0,
                    ),
                )
                config = {
                    "variants": ["sagemaker"],
                    "sagemakerInstanceType": typ,
                    "sagemakerInstanceCount": count,
                }
                label = f"SageMaker {typ} x {count}"
                if top > count:
                    # the simulator tracks utilisation; SageMaker tracks invocations per
                    # instance per minute: the same target, in SageMaker's unit
                    utilisation = float(platform["sagemaker_autoscaling_target_utilization"])
                    per_minute = utilisation * workers * 60_000 / float(np.mean(base.endpoint_ms))
                    config["sagemakerMaxInstanceCount"] = top
                    config["sagemakerTargetInvocationsPerInstance"] = max(1, int(per_minute))
                    label += f", autoscaling to {top}"
                notes = ("instance CPU speed = the measured machine's (factor 1.0, unverified)",)
                out.append(
                    Candidate("sagemaker", label, svc, config, autoscale_to=top, notes=notes)
                )
    return out


def _serverless(basis: Basis, target: Target) -> list[Candidate]:
    assert basis.sagemaker is not None
    base = basis.sagemaker
    out = []
    for memory in range(SERVERLESS_MEMORY_MB[0], SERVERLESS_MEMORY_MB[1] + 1, 1024):
        for conc in SERVERLESS_CONCURRENCY:
            svc = replace(
                base,
                cost=replace(base.cost, kind=Kind.SERVERLESS, serverless_memory_mb=memory),
                max_concurrency=conc,
            )
            config = {
                "variants": ["sagemaker"],
                "sagemakerServerlessMemoryMb": memory,
                "sagemakerServerlessMaxConcurrency": conc,
            }
            notes = (
                "serverless processing time = the measured endpoint's at any memory (unverified)",
            )
            out.append(
                Candidate(
                    "serverless",
                    f"SageMaker Serverless {memory:,} MB, max concurrency {conc}",
                    svc,
                    config,
                    notes=notes,
                )
            )
    return out


def _managed(basis: Basis, target: Target, pricing: Pricing) -> list[Candidate]:
    """Instance type x instances x requests per environment, on the measured environment
    (its vCPUs and memory; durations per concurrency level up to the measured maximum), or,
    without a managed measurement, on the Lambda variant's times under a stated assumption."""
    from kit.decide.simulate.managed import shape_for
    from kit.decide.simulate.service import managed_instances

    assert basis.lambda_ is not None or basis.managed is not None
    measured = basis.managed
    if measured is None:
        assert basis.lambda_ is not None
        measured = managed_instances(basis.lambda_, pricing.ec2_types()[0], 3, pricing)
    shape = measured.managed
    assert shape is not None
    types = target.managed_types or tuple(pricing.ec2_types())
    counts = list(
        range(MANAGED_INSTANCES_AT_START, max(MANAGED_INSTANCES_AT_START, target.max_instances) + 1)
    )
    slots = sorted({c for c in (1, 2, 4, 8, 16) if c <= shape.slots} | {shape.slots})
    ratio = max(1, round(shape.memory_mb / 1024 / shape.vcpus))
    out = []
    for typ in types:
        arch = architecture_of(typ)
        if arch not in target.architectures:
            continue
        factor = basis.arm64_factor if arch == "arm64" else 1.0
        vcpus = pricing.ec2_type(typ).vcpus
        for c, n, scale in product(slots, counts, MANAGED_SCALE_TO):
            top = n * scale
            try:
                on_type = shape_for(
                    pricing, typ, vcpus=shape.vcpus, memory_mb=shape.memory_mb, slots=c,
                    threads=shape.threads, min_environments=n, max_environments=top,
                    max_vcpus=top * vcpus,
                )  # fmt: skip
            except CostInputError:
                break  # the measured environment does not fit this type
            per = on_type.per_instance
            svc = replace(
                measured,
                cost=replace(
                    measured.cost,
                    name="managed",
                    kind=Kind.MANAGED,
                    architecture=arch,
                    instance_type=typ,
                    instance_count=n,
                    nat_gateways=1,
                ),
                managed=replace(on_type, min_environments=n * per, max_environments=top * per),
                by_concurrency=tuple(a * factor for a in measured.by_concurrency[:c]),
            )
            config = {
                "variants": ["managed"],
                "managedInstanceType": typ,
                "managedMemoryMb": shape.memory_mb,
                "managedMemoryGibPerVcpu": ratio,
                "managedMaxConcurrency": c,
                "managedMinEnvironments": n * per,
                "managedMaxEnvironments": top * per,
                "managedMaxVcpus": top * vcpus,
            }
            label = f"Lambda Managed Instances {typ} x {n}, {c} per environment"
            if top > n:
                label += f", scaling to {top}"
            notes = (
                "instance CPU speed = the measured machine's (factor 1.0, unverified)",
                "one NAT gateway priced (the stack's own VPC)",
            ) + ((measured.assumed,) if measured.assumed else ())
            out.append(Candidate("managed", label, svc, config, autoscale_to=top, notes=notes))
    return out


def candidates(
    basis: Basis, target: Target, platform: PlatformParams, pricing: Pricing, peak_rate: float
) -> dict[str, list[Candidate]]:
    """Every configuration of every family the entry allows, by family."""
    allowed = SYNCHRONOUS_FAMILIES if target.entry == "http" else tuple(FAMILIES)
    wanted = [f for f in allowed if not target.families or f in target.families]
    out: dict[str, list[Candidate]] = {}
    if basis.lambda_ is not None:
        plain = _lambda_like(basis, basis.lambda_, "lambda", target)
        if "lambda" in wanted:  # on demand, and with provisioned concurrency
            out["lambda"] = plain + _provisioned(basis, plain, peak_rate)
    if "managed" in wanted and (basis.managed is not None or basis.lambda_ is not None):
        out["managed"] = _managed(basis, target, pricing)
    if basis.snapstart is not None and "snapstart" in wanted:
        out["snapstart"] = _lambda_like(basis, basis.snapstart, "snapstart", target)
    if basis.sagemaker is not None:
        if "sagemaker" in wanted:
            out["sagemaker"] = _sagemaker(basis, target, platform, pricing)
        if "serverless" in wanted:
            too_big = (target.max_object_bytes or 0) > SERVERLESS_PAYLOAD_BYTES
            out["serverless"] = [] if too_big else _serverless(basis, target)
    return out
