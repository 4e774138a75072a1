"""What the cost model is told: variants from a results file, from primitives, or from given prices."""

from __future__ import annotations

from dataclasses import dataclass

from audio_inference.settings import (
    DEFAULT_ARCHITECTURE,
    DEFAULT_LAMBDA_MEMORY_MB,
    DEFAULT_PROXY_MEMORY_MB,
    DEFAULT_SAGEMAKER_INSTANCE_TYPE,
    HTTP,
    SAGEMAKER,
    SNAPSTART,
    STANDARD,
)

from kit.results import Kind, Results

from .model import CostInputError, VariantCost


@dataclass(frozen=True, kw_only=True)
class Primitives:
    """Variants described by hand, without a results file (``--billed-ms 120`` and friends)."""

    memory_mb: int = DEFAULT_LAMBDA_MEMORY_MB
    billed_ms: float = 200.0
    """Billed ms per invocation of the model-in-Lambda variants."""
    architecture: str = DEFAULT_ARCHITECTURE
    cold_fraction: float | None = None
    """Share of invocations that are cold starts (None: from the results file, or 0)."""
    init_ms: float = 0.0
    """Billed INIT per on-demand cold start."""
    restore_ms: float = 0.0
    """Billed restore per SnapStart restore."""
    snapstart_versions: int = 1
    proxy_memory_mb: int = DEFAULT_PROXY_MEMORY_MB
    proxy_billed_ms: float = 100.0
    instance_type: str = DEFAULT_SAGEMAKER_INSTANCE_TYPE
    instance_count: int = 1

    def variants(self) -> list[VariantCost]:
        """Standard, SnapStart and SageMaker as described."""
        arch, cold = self.architecture, self.cold_fraction or 0.0
        return [
            VariantCost(
                name=STANDARD,
                kind=Kind.LAMBDA,
                memory_mb=self.memory_mb,
                billed_ms=self.billed_ms,
                billed_init_ms=self.init_ms,
                architecture=arch,
                cold_fraction=cold,
            ),
            VariantCost(
                name=SNAPSTART,
                kind=Kind.SNAPSTART,
                memory_mb=self.memory_mb,
                billed_ms=self.billed_ms,
                billed_restore_ms=self.restore_ms,
                snapstart_versions=self.snapstart_versions,
                architecture=arch,
                cold_fraction=cold,
            ),
            VariantCost(
                name=SAGEMAKER,
                kind=Kind.SAGEMAKER,
                memory_mb=self.proxy_memory_mb,
                billed_ms=self.proxy_billed_ms,
                billed_init_ms=self.init_ms,
                instance_type=self.instance_type,
                instance_count=self.instance_count,
                architecture=arch,
                cold_fraction=cold,
            ),
        ]


def variants_from_results(
    doc: Results, cold_fraction: float | None = None, snapstart_versions: int | None = None
) -> list[VariantCost]:
    """Cost inputs from a results file: its measured summary and each variant's recorded setup.

    SnapStart's cache is billed per active published version: the count given,
    else the one the run recorded (``kit aws`` counts them).
    """
    out = []
    for name, s in doc.summary.items():
        setup = doc.variants[name]
        http = setup.entry == "http"
        out.append(
            VariantCost(
                name=name,
                kind=setup.kind,
                memory_mb=setup.memory_mb,
                architecture=setup.architecture,
                billed_ms=float(s.billed_ms_mean or 0.0),
                cold_fraction=s.cold_fraction if cold_fraction is None else cold_fraction,
                billed_init_ms=float(s.billed_init_ms_mean or 0.0),
                billed_restore_ms=float(s.billed_restore_ms_mean or 0.0),
                snapstart_versions=snapstart_versions or setup.snapstart_versions or 1,
                provisioned_concurrency=setup.provisioned_concurrency,
                instance_type=setup.instance_type or DEFAULT_SAGEMAKER_INSTANCE_TYPE,
                instance_count=setup.instance_count or 1,
                serverless_memory_mb=setup.serverless_memory_mb or 0,
                # the proxy waits while the endpoint works: its duration bounds the billed time
                serverless_ms=float(s.billed_ms_mean or 0.0)
                if setup.kind == Kind.SERVERLESS
                else 0.0,
                nat_gateways=setup.managed.nat_gateways if setup.managed else 0,
                # the http variant gets the audio in the request: no S3 upload or reads
                s3_puts=0 if http or name == HTTP else 1,
                s3_gets=0 if http or name == HTTP else 2,
            )
        )
    return out


def parse_price(text: str) -> VariantCost:
    """A variant given as ``NAME=PER_1M:FIXED`` (a price per 1M requests and a fixed monthly cost)."""
    try:
        name, values = text.split("=", 1)
        per_million, fixed = (float(x) for x in values.split(":", 1))
    except ValueError:
        raise CostInputError(
            f"--price {text!r}: use NAME=PER_MILLION:FIXED_MONTHLY, e.g. standard=13.80:0"
        ) from None
    if not name.strip():
        raise CostInputError(f"--price {text!r}: the variant needs a name before '='")
    return VariantCost(
        name=name.strip(), kind=Kind.MANUAL, per_million=per_million, fixed_monthly=fixed
    ).check()
