"""Cost model: monthly cost of each variant against traffic, and where the lines cross.

Per variant, from measured figures (a results file) or values given by hand:

- variable cost per request: Lambda requests + billed duration (tiered GB-s) +
  billed INIT on on-demand cold starts, SnapStart restore (per GB) and billed
  restore duration on restores, the 128 MB proxy for SageMaker, SageMaker
  Serverless GB-s, one S3 PUT and the handler's S3 GETs, one DynamoDB write;
- fixed monthly cost: endpoint instance hours, SnapStart cache per active version.

Prices come from ``pricing.json`` (region, date, source per price); any of
them can be overridden from a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

from audio_inference.settings import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_LAMBDA_MEMORY_MB,
    DEFAULT_SAGEMAKER_INSTANCE_TYPE,
    LAMBDA_MEMORY_MB,
    MANAGED_MEMORY_MB,
)

from kit.results import Kind

from .pricing import CostInputError, Pricing

DEFAULT_RPM = (10, 50, 72, 200, 1000)
LABELS = {
    Kind.LAMBDA: "Lambda",
    Kind.SNAPSTART: "Lambda SnapStart",
    Kind.SAGEMAKER: "SageMaker endpoint + proxy",
    Kind.SERVERLESS: "SageMaker Serverless + proxy",
    Kind.MANAGED: "Lambda Managed Instances",
    Kind.MANUAL: "given price",
}


@dataclass(frozen=True, kw_only=True)
class VariantCost:
    """What determines one variant's cost (primitives, or a given price)."""

    name: str
    kind: Kind
    memory_mb: int = DEFAULT_LAMBDA_MEMORY_MB
    architecture: str = DEFAULT_ARCHITECTURE
    billed_ms: float = 0.0
    """Mean billed duration per invocation (the function's, or the proxy's for SageMaker)."""
    cold_fraction: float = 0.0
    billed_init_ms: float = 0.0
    """Billed INIT per on-demand cold start."""
    billed_restore_ms: float = 0.0
    """Billed restore duration per SnapStart restore."""
    snapstart_versions: int = 1
    provisioned_concurrency: int = 0
    """Environments kept initialized all month (reserved GB-seconds); invocations then pay the
    lower provisioned duration rate and start cold only beyond them (assumed: never)."""
    instance_type: str = DEFAULT_SAGEMAKER_INSTANCE_TYPE
    instance_count: float = 1
    """instances (a mean when the simulator autoscales)"""
    serverless_memory_mb: int = 0
    serverless_ms: float = 0.0
    """Billed processing time per request on a serverless endpoint."""
    per_million: float = 0.0
    """manual: variable cost per 1M requests."""
    fixed_monthly: float = 0.0
    """manual: fixed monthly cost."""
    nat_gateways: int = 0
    """NAT gateways the variant's network needs (Managed Instances in the stack's own VPC: 1)."""
    s3_puts: int = 1
    """The upload (0 for the http variant: the audio arrives in the request)."""
    s3_gets: int = 2
    dynamodb_writes: int = 1

    def check(self) -> VariantCost:
        """Refuse impossible values with a message naming them."""
        if self.kind not in tuple(Kind):
            raise CostInputError(f"{self.name}: kind {self.kind!r} is not one of {', '.join(Kind)}")
        if self.architecture not in ARCHITECTURES:
            raise CostInputError(
                f"{self.name}: architecture {self.architecture!r} is not one of "
                f"{', '.join(ARCHITECTURES)}"
            )
        low, high = MANAGED_MEMORY_MB if self.kind == Kind.MANAGED else LAMBDA_MEMORY_MB
        if self.kind != Kind.MANUAL and not low <= self.memory_mb <= high:
            raise CostInputError(
                f"{self.name}: memory {self.memory_mb} MB is outside {LABELS[self.kind]}'s "
                f"{low}-{high} MB"
            )
        for attr in (
            "billed_ms",
            "billed_init_ms",
            "billed_restore_ms",
            "serverless_ms",
            "per_million",
            "fixed_monthly",
        ):
            value = getattr(self, attr)
            if not math.isfinite(value) or value < 0:
                raise CostInputError(
                    f"{self.name}: {attr} is {value}; durations and prices must be finite and >= 0"
                )
        if self.provisioned_concurrency < 0 or (
            self.provisioned_concurrency and self.kind == Kind.SNAPSTART
        ):
            raise CostInputError(
                f"{self.name}: provisioned_concurrency={self.provisioned_concurrency}: it must be "
                ">= 0, and SnapStart cannot be combined with it"
            )
        if self.snapstart_versions < 1:
            raise CostInputError(
                f"{self.name}: snapstart_versions={self.snapstart_versions}: at least the live "
                "version is active"
            )
        if not 0 <= self.cold_fraction <= 1:  # NaN fails this too
            raise CostInputError(
                f"{self.name}: cold fraction {self.cold_fraction} must be between 0 and 1"
            )
        if not math.isfinite(self.instance_count) or self.instance_count < 0:
            raise CostInputError(
                f"{self.name}: instance count {self.instance_count} must be finite and >= 0"
            )
        if self.kind == Kind.SERVERLESS and not 1024 <= self.serverless_memory_mb <= 6144:
            raise CostInputError(
                f"{self.name}: serverless memory {self.serverless_memory_mb} MB must be 1024-6144"
            )
        return self

    @property
    def label(self) -> str:
        """Readable name for tables and plots."""
        if self.kind == Kind.SAGEMAKER:
            return f"{self.name} ({self.instance_type} x{self.instance_count:g} + {self.memory_mb} MB proxy)"
        if self.kind == Kind.MANAGED:
            nat = " + NAT gateway" if self.nat_gateways else ""
            return f"{self.name} ({self.instance_type} x{self.instance_count:g}{nat})"
        if self.kind in (Kind.LAMBDA, Kind.SNAPSTART):
            return f"{self.name} ({self.memory_mb} MB {self.architecture})"
        return self.name


@dataclass
class Crossover:
    """Where two variants cost the same, or why they never do."""

    a: str
    b: str
    rpm: float | None
    requests_per_month: float | None
    cheaper_below: str | None = None
    reason: str = ""


@dataclass
class CostModel:
    """Monthly cost of each variant as a function of requests per month."""

    variants: list[VariantCost]
    pricing: Pricing = field(default_factory=Pricing.load)

    def __post_init__(self) -> None:
        for v in self.variants:
            v.check()
            if v.kind == Kind.SAGEMAKER:
                self.pricing.instance_hour(v.instance_type)
            if v.kind == Kind.MANAGED:
                self.pricing.ec2_type(v.instance_type)

    def requests(self, rpm: float) -> float:
        """Requests per month at a steady rate."""
        return rpm * 60 * self.pricing.hours_per_month

    def breakdown(self, v: VariantCost, n: float) -> dict[str, float]:
        """Monthly cost components for ``n`` requests."""
        p = self.pricing
        if v.kind == Kind.MANUAL:
            return {"variable": n * v.per_million / 1e6, "fixed": v.fixed_monthly}
        if v.kind == Kind.MANAGED:
            hourly = p.ec2_type(v.instance_type).hourly
            managed = {
                "lambda_requests": n * p.price("lambda_request"),
                "instances": hourly
                * (1 + p.price("managed_instances_fee"))
                * p.hours_per_month
                * v.instance_count,
            }
            if v.nat_gateways:
                managed["nat_gateway"] = self.nat_gateway(v.nat_gateways, n)
            return managed | {
                "s3_requests": n * (v.s3_puts * p.price("s3_put") + v.s3_gets * p.price("s3_get")),
                "dynamodb_writes": n * v.dynamodb_writes * p.price("dynamodb_write"),
                "log_ingestion": self.log_ingestion(n),
            }
        gb = v.memory_mb / 1024
        cold = n * v.cold_fraction
        gb_s = n * gb * v.billed_ms / 1000
        parts: dict[str, float] = {"lambda_requests": n * p.price("lambda_request")}
        if v.kind == Kind.SNAPSTART:
            gb_s += cold * gb * v.billed_restore_ms / 1000
            parts["snapstart_restore"] = cold * gb * p.price("snapstart_restore_gb")
            parts["snapstart_cache"] = (
                gb * p.seconds_per_month * p.price("snapstart_cache_gb_s") * v.snapstart_versions
            )
        elif p.price("lambda_init_billed") and not v.provisioned_concurrency:
            gb_s += cold * gb * v.billed_init_ms / 1000
        if v.provisioned_concurrency:
            arch = v.architecture
            parts["provisioned_concurrency"] = (
                v.provisioned_concurrency
                * gb
                * p.seconds_per_month
                * p.price(f"provisioned_concurrency_{arch}_gb_s")
            )
            parts["lambda_duration"] = gb_s * p.price(f"provisioned_duration_{arch}_gb_s")
        else:
            parts["lambda_duration"] = p.duration(gb_s, v.architecture)
        if v.kind == Kind.SAGEMAKER:
            parts["endpoint_hours"] = (
                p.instance_hour(v.instance_type) * p.hours_per_month * v.instance_count
            )
        if v.kind == Kind.SERVERLESS:
            parts["serverless_compute"] = (
                n
                * v.serverless_memory_mb
                / 1024
                * v.serverless_ms
                / 1000
                * p.price("sagemaker_serverless_gb_s")
            )
        s3 = v.s3_puts * p.price("s3_put") + v.s3_gets * p.price("s3_get")
        if s3:
            parts["s3_requests"] = n * s3
        parts["dynamodb_writes"] = n * v.dynamodb_writes * p.price("dynamodb_write")
        parts["log_ingestion"] = self.log_ingestion(n)
        return parts

    def nat_gateway(self, gateways: int, n: float) -> float:
        """A month of ``gateways`` NAT gateways with their public IPv4 addresses, and the
        bytes ``n`` invocations send through them."""
        p = self.pricing
        hours = (
            p.hours_per_month
            * gateways
            * (p.price("nat_gateway_hour") + p.price("public_ipv4_hour"))
        )
        processed = n * p.price("nat_bytes_per_invocation") / 1e9 * p.price("nat_gateway_gb")
        return hours + processed

    def log_ingestion(self, n: float) -> float:
        """CloudWatch Logs ingestion of ``n`` invocations' log lines (the function's, or the
        proxy's; a SageMaker endpoint's own logs are not counted)."""
        p = self.pricing
        return n * p.price("log_bytes_per_invocation") / 1e9 * p.price("cloudwatch_logs_ingest_gb")

    def fixed(self, v: VariantCost) -> float:
        """Monthly cost with no traffic."""
        return sum(self.breakdown(v, 0.0).values())

    def monthly(self, v: VariantCost, n: float) -> float:
        """Total monthly cost for ``n`` requests."""
        return sum(self.breakdown(v, n).values())

    def per_million(self, v: VariantCost) -> float:
        """Variable cost of one million requests (first price tier)."""
        return self.monthly(v, 1e6) - self.fixed(v)

    def crossover(self, a: VariantCost, b: VariantCost, max_rpm: float = 1e7) -> Crossover:
        """First traffic level where ``a`` and ``b`` cost the same, or "never" with the reason."""
        diff = lambda n: self.monthly(a, n) - self.monthly(b, n)  # noqa: E731
        top = self.requests(max_rpm)
        grid = [0.0] + [top * 10 ** (-k / 20) for k in range(200, -1, -1)]
        values = [diff(n) for n in grid]
        for (n0, d0), (n1, d1) in pairwise(zip(grid, values, strict=True)):
            # A crossing lies between n0 and n1 when the cost difference changes sign
            # (or reaches zero) there; equal costs at zero traffic are not a crossing.
            if d0 == 0 or (d1 != 0 and (d0 < 0) == (d1 < 0)):
                continue
            lo, hi = n0, n1
            for _ in range(100):  # bisection; tiers make the lines piecewise linear
                mid = (lo + hi) / 2
                if (diff(mid) < 0) == (d0 < 0):
                    lo = mid
                else:
                    hi = mid
            n = (lo + hi) / 2
            rpm = n / (60 * self.pricing.hours_per_month)
            return Crossover(a.name, b.name, rpm, n, cheaper_below=a.name if d0 < 0 else b.name)
        if all(abs(v) < 1e-9 for v in values):
            return Crossover(
                a.name, b.name, None, None, reason="they cost the same at every traffic level"
            )
        cheaper, other = (a, b) if values[-1] < 0 else (b, a)
        fixed_note = (
            "lower or equal fixed cost"
            if self.fixed(cheaper) <= self.fixed(other)
            else "higher fixed cost"
        )
        return Crossover(
            a.name,
            b.name,
            None,
            None,
            cheaper_below=cheaper.name,
            reason=f"{cheaper.name} is cheaper at every traffic level up to {max_rpm:,.0f} RPM "
            f"({fixed_note}, ${self.per_million(cheaper):.2f} vs "
            f"${self.per_million(other):.2f} per 1M requests)",
        )

    def crossovers(self) -> list[Crossover]:
        """Every pair of variants."""
        return [
            self.crossover(a, b)
            for i, a in enumerate(self.variants)
            for b in self.variants[i + 1 :]
        ]

    def cheapest_segments(self, max_rpm: float = 1e5) -> list[tuple[float, float, str]]:
        """(from_rpm, to_rpm, cheapest variant) over traffic, for the verdict."""
        points = [0.0] + [max_rpm * 10 ** (-k / 50) for k in range(300, -1, -1)]
        segments: list[list] = []
        for rpm in points:
            n = self.requests(rpm)
            best = min(self.variants, key=lambda v: self.monthly(v, n)).name
            if segments and segments[-1][2] == best:
                segments[-1][1] = rpm
            else:
                if segments:  # refine the boundary with the exact crossover
                    prev = next(v for v in self.variants if v.name == segments[-1][2])
                    cur = next(v for v in self.variants if v.name == best)
                    x = self.crossover(prev, cur)
                    edge = x.rpm if x.rpm is not None else rpm
                    segments[-1][1] = edge
                    segments.append([edge, rpm, best])
                else:
                    segments.append([rpm, rpm, best])
        segments[-1][1] = math.inf
        return [(s[0], s[1], s[2]) for s in segments]

    def sensitivity(
        self,
        lam: VariantCost,
        fixed: VariantCost,
        durations_ms: list[float] | None = None,
        memories_mb: list[int] | None = None,
    ) -> dict[str, Any]:
        """Crossover RPM of ``lam`` vs ``fixed`` across billed duration x memory size."""
        durations = (
            durations_ms
            or sorted({round(lam.billed_ms * f, 1) for f in (0.25, 0.5, 1, 2, 4)} - {0.0})
            or [50, 100, 200, 400]
        )
        memories = memories_mb or [512, 1024, 1769, 4096, LAMBDA_MEMORY_MB[1]]
        table = {}
        for d in durations:
            row = {}
            for m in memories:
                x = self.crossover(replace(lam, billed_ms=d, memory_mb=m), fixed)
                row[m] = x.rpm
            table[d] = row
        return {
            Kind.LAMBDA: lam.name,
            "fixed": fixed.name,
            "durations_ms": durations,
            "memories_mb": memories,
            "crossover_rpm": table,
        }

    def report(self, rpm_levels: tuple[float, ...] = DEFAULT_RPM) -> dict[str, Any]:
        """Everything the CLI prints and the report shows, as plain data."""
        levels = [
            {
                "rpm": r,
                "requests_per_month": self.requests(r),
                "totals": {v.name: self.monthly(v, self.requests(r)) for v in self.variants},
            }
            for r in rpm_levels
        ]
        out: dict[str, Any] = {
            "region": self.pricing.data["region"],
            "pricing_effective_date": self.pricing.data["effective_date"],
            "hours_per_month": self.pricing.hours_per_month,
            "variants": [
                {
                    **v.__dict__,
                    "label": v.label,
                    "per_million": self.per_million(v),
                    "fixed_monthly": self.fixed(v),
                    "breakdown_per_million": dict(self.breakdown(v, 1e6).items()),
                }
                for v in self.variants
            ],
            "levels": levels,
            "crossovers": [x.__dict__ for x in self.crossovers()],
            "cheapest": [
                {"from_rpm": a, "to_rpm": None if math.isinf(b) else b, "variant": n}
                for a, b, n in self.cheapest_segments()
            ],
        }
        lams = [v for v in self.variants if v.kind in (Kind.LAMBDA, Kind.SNAPSTART)]
        fixeds = [v for v in self.variants if self.fixed(v) > 1.0 and v.kind != Kind.SNAPSTART]
        if lams and fixeds and lams[0].billed_ms > 0:
            out["sensitivity"] = self.sensitivity(lams[0], fixeds[0])
        return out
