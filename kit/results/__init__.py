"""The results file: the one contract between measuring (``kit.measure``) and deciding (``kit.decide``).

``kit local`` and ``kit aws`` write it; ``kit simulate``, ``kit cost``, ``kit
recommend`` and ``kit report`` read it. Every setting that is priced or
simulated is recorded per variant (``variants``), so a decision never prices a
default instead of what was measured. The field-by-field description is
``docs/results.md``; ``load`` validates types and ranges and names the field at
fault in one line; files of schema v1 are read and converted, with what v1 did
not record listed in ``assumed``.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from audio_inference.settings import (
    DEFAULT_ARCHITECTURE,
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MEMORY_MB,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kit.errors import KitError

from .jsonio import standard_json, write_json  # noqa: F401 - re-exported: results.write_json
from .managed import ManagedSetup
from .quantiles import Quantile

SCHEMA: Literal["audio-inference-kit/results/v2"] = "audio-inference-kit/results/v2"
SCHEMA_V1 = "audio-inference-kit/results/v1"
MEMORY_MB = (128, 32_768)
"""Function memory: standard Lambda allows 128-10,240 MB, Managed Instances up to 32 GB."""

Ms = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class ResultsError(KitError):
    """A results file is missing or malformed; the message names the field."""


class Kind(StrEnum):
    """How a variant is priced and simulated (its compute family)."""

    LAMBDA = "lambda"
    SNAPSTART = "snapstart"
    SAGEMAKER = "sagemaker"
    SERVERLESS = "sagemaker-serverless"
    MANAGED = "managed-instances"
    MANUAL = "manual"
    """A price given by hand (cost model only; never in a results file)."""


class Record(BaseModel):
    """Base of every record: no NaN or infinity, no unknown fields."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid", populate_by_name=True)


class VariantSetup(Record):
    """What one variant ran on: every setting the cost model or the simulator uses."""

    kind: Kind
    entry: Literal["s3", "http"] = "s3"
    """s3: an upload triggers it (asynchronous); http: a request waits for the answer."""
    memory_mb: Annotated[int, Field(ge=MEMORY_MB[0], le=MEMORY_MB[1])]
    """The function's memory (the 128 MB proxy's for sagemaker)."""
    architecture: Literal["x86_64", "arm64"] = DEFAULT_ARCHITECTURE  # type: ignore[assignment]
    provisioned_concurrency: Count = 0
    snapstart_versions: Annotated[int, Field(ge=1)] | None = None
    """Active published SnapStart versions, each cached and billed (snapstart only)."""
    instance_type: str | None = None
    """SageMaker real-time instance type (or the EC2 type of Managed Instances)."""
    instance_count: Annotated[int, Field(ge=1, le=1000)] | None = None
    serverless_memory_mb: (
        Annotated[int, Field(ge=SERVERLESS_MEMORY_MB[0], le=SERVERLESS_MEMORY_MB[1])] | None
    ) = None
    serverless_max_concurrency: (
        Annotated[int, Field(ge=SERVERLESS_MAX_CONCURRENCY[0], le=SERVERLESS_MAX_CONCURRENCY[1])]
        | None
    ) = None
    timeout_s: Annotated[int, Field(ge=1, le=900)] = 90
    managed: ManagedSetup | None = None
    """Lambda Managed Instances: environments, concurrency and capacity (managed only)."""

    @model_validator(mode="after")
    def _consistent(self) -> VariantSetup:
        if (self.kind == Kind.MANAGED) != (self.managed is not None) or (
            self.kind == Kind.MANAGED and not self.instance_type
        ):
            raise ValueError("a managed variant (and only it) needs managed and instance_type")
        if self.kind == Kind.SNAPSTART and self.provisioned_concurrency:
            raise ValueError("SnapStart cannot be combined with provisioned concurrency")
        if self.kind == Kind.SAGEMAKER and not (self.instance_type and self.instance_count):
            raise ValueError("a real-time SageMaker variant needs instance_type and instance_count")
        if self.kind == Kind.SERVERLESS and not self.serverless_memory_mb:
            raise ValueError("a serverless SageMaker variant needs serverless_memory_mb")
        if self.serverless_memory_mb and self.serverless_memory_mb % 1024:
            raise ValueError("serverless_memory_mb must be a multiple of 1024")
        return self


class ModelIdentity(Record):
    """Which model produced the numbers."""

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size_bytes: Count
    sample_rate: Annotated[int, Field(gt=0, le=768_000)]
    labels: list[str] = Field(default_factory=list)
    source: str = "model_build"
    size: str | None = None
    """The reference family's size name (tiny, small, base, large), None for your own model."""
    parameters: Count | None = None


class CpuEmulation(Record):
    """How CPU speed per memory size was obtained."""

    mechanism: Literal["cgroup-v1", "cgroup-v2", "none", "off", "aws"]
    """cgroup quotas (local), none (could not be set), off (turned off), aws (real Lambda)."""
    vcpus: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    note: str = ""


class Invocation(Record):
    """One upload (or request) and what became of it; both drivers build exactly this."""

    variant: str
    object: str
    """s3://bucket/key uploaded (or the http variant's request name)."""
    index: Count
    """Position in the variant's schedule."""
    sample: str
    true_label: str | None = None
    status: Literal["ok", "error", "failed", "lost"]
    """ok, error (an error item), failed (kept in the failure queue with a reason), lost (neither)."""
    label: str | None = None
    error: str | None = None
    cold: bool = False
    """First invocation of a new execution environment."""
    init_ms: Ms | None = None
    restore_ms: Ms | None = None
    duration_ms: Ms | None = None
    billed_ms: Ms | None = None
    billed_init_ms: Ms = 0
    billed_restore_ms: Ms = 0
    latency_ms: Ms | None = None
    """Derived: init or restore + duration on a cold start, duration otherwise."""
    e2e_ms: Ms | None = None
    """Upload start until the item is in DynamoDB (http: request until response)."""
    max_memory_mb: Ms | None = None
    memory_mb: Annotated[int, Field(ge=MEMORY_MB[0], le=MEMORY_MB[1])] | None = None
    environment: str | None = None
    request_id: str | None = None
    attempts: Count = 1
    duplicated: Count = 0
    """More than one item for one upload (the table's key should make it impossible)."""
    redelivered: Count = 0
    """Deliveries the idempotent write absorbed (a retry after a crash, a redelivery)."""
    timings_ms: dict[str, Ms] | None = None
    report_found: bool | None = None
    """kit aws: whether the REPORT line was found in CloudWatch Logs."""
    concurrency: Annotated[int, Field(ge=1)] | None = None
    """Managed Instances: requests its environment ran meanwhile, itself included (the mean
    over its duration, rounded)."""

    @model_validator(mode="after")
    def _latency(self) -> Invocation:
        if self.duration_ms is not None:
            self.latency_ms = self.duration_ms + (self.init_ms or self.restore_ms or 0)
        return self


class Summary(Record):
    """Per-variant figures computed from the invocations (``summarize``)."""

    count: Count
    ok: Count
    errors: Count
    lost: Count
    duplicated: Count
    mean_ms: Ms | None
    median_ms: Ms | None
    std_ms: Ms
    p90_ms: Ms | None
    p99_ms: Ms | None
    cold_starts: Count
    cold_fraction: Share
    cold_mean_ms: Ms | None
    warm_median_ms: Ms | None
    e2e_median_ms: Ms | None
    e2e_p90_ms: Ms | None
    duration_median_ms: Ms | None
    billed_ms_mean: Ms | None
    billed_init_ms_mean: Ms
    billed_restore_ms_mean: Ms
    max_memory_used_mb: Ms | None
    accuracy: Share | None
    warm_count: Count = 0
    warm: dict[str, Quantile] = Field(default_factory=dict)
    """Warm latency percentiles ("p50", "p90", "p99") with order-statistic intervals."""


class Checks(Record):
    """Did every upload end as exactly one item (or one failure-queue message)?"""

    uploads: Count
    items: Count
    failed: Count
    lost: Count
    duplicated: Count
    redelivered: Count = 0
    accuracy: Share | None = None
    accuracy_note: str = ""
    """What the accuracy compares against, or why there is none."""


class Consistency(Record):
    """A local run's check of one variant's warm inference against raw ``session.run``."""

    variant: str
    handler_median_ms: Ms | None = None
    reference_median_ms: Ms | None = None
    ratio: Annotated[float, Field(gt=0)] | None = None
    """Median over invocations of handler inference / reference median of the same clip."""
    handler_samples: Count = 0
    reference_samples: Count = 0
    vcpus: Annotated[float, Field(gt=0)] | None = None
    trusted: bool
    note: str = ""


class Endpoint(Record):
    """SageMaker endpoint facts measured by the run."""

    name: str | None = None
    startup_ms: Ms | None = None
    note: str = ""


class SizePoint(Record):
    """One memory size of a sweep, for one variant: what was measured there."""

    variant: str
    memory_mb: Annotated[int, Field(ge=MEMORY_MB[0], le=MEMORY_MB[1])]
    median_ms: Ms | None
    p90_ms: Ms | None
    cold_ms: Ms | None
    inference_ms: Ms | None
    """Median of the handler's own inference time (warm, successful invocations)."""
    billed_ms_mean: Ms | None
    cold_fraction: Share
    billed_init_ms_mean: Ms
    billed_restore_ms_mean: Ms
    errors: Count
    samples: Count = 0
    """Warm invocations measured at this size."""


class MemoryModel(Record):
    """duration(memory) = fixed + single_thread / min(v, 1) + parallel / v, fitted to a sweep
    (``kit tune``); v is the CPU share, 1,769 MB = 1 vCPU, at most 6 (or ``cores``)."""

    variant: str
    fixed_ms: Ms
    single_thread_ms: Ms
    parallel_ms: Ms
    cores: Annotated[float, Field(gt=0)] | None = None
    """The cap on v the sweep ran under (a local sweep: this machine's cores)."""
    source: str = "sweep"
    sizes_mb: list[int]
    measured_ms: list[Ms]
    residual_pct: list[float]
    """(fitted - measured) / measured at each size, in percent."""
    samples: list[Count] = Field(default_factory=list)


class Results(Record):
    """A whole results file."""

    schema_: Literal["audio-inference-kit/results/v2"] = Field(SCHEMA, alias="schema")
    target: Literal["local", "aws"]
    created_at: str
    model: ModelIdentity
    variants: dict[str, VariantSetup]
    run: dict[str, Any] = Field(default_factory=dict)
    """The driver's own settings (requests, pacing, seed, cold-start strategy, faults)."""
    cpu: CpuEmulation
    region: str | None = None
    machine: dict[str, Any] = Field(default_factory=dict)
    endpoint: Endpoint | None = None
    summary: dict[str, Summary]
    invocations: list[Invocation]
    checks: Checks
    consistency: dict[str, Consistency] = Field(default_factory=dict)
    """Local runs: each model-in-Lambda variant's warm inference vs raw session.run."""
    memory_model: dict[str, MemoryModel] = Field(default_factory=dict)
    """From a memory sweep: the duration of any memory size (``kit tune`` writes it)."""
    assumed: list[str] = Field(default_factory=list)
    """Facts the file did not record and the reader assumed (a converted v1 file)."""

    @model_validator(mode="after")
    def _every_variant_described(self) -> Results:
        for name in self.summary:
            if name not in self.variants:
                raise ValueError(
                    f"summary names variant {name!r} but variants does not describe it"
                )
        for i, r in enumerate(self.invocations):
            if r.variant not in self.variants:
                raise ValueError(f"invocations.{i}: variant {r.variant!r} is not in variants")
        return self

    def untrusted(self) -> list[str]:
        """Variants the local consistency check flagged as emulation artefacts."""
        return [v for v, c in self.consistency.items() if not c.trusted]

    def without(self, names: list[str]) -> Results:
        """The same document without ``names`` (what a decision may rest on)."""
        if not names:
            return self
        return self.model_copy(
            update={
                "variants": {k: v for k, v in self.variants.items() if k not in names},
                "summary": {k: v for k, v in self.summary.items() if k not in names},
                "invocations": [r for r in self.invocations if r.variant not in names],
            }
        )

    def dump(self) -> dict[str, Any]:
        """The JSON document."""
        return self.model_dump(mode="json", by_alias=True)


def build(
    *,
    target: Literal["local", "aws"],
    model: ModelIdentity,
    variants: dict[str, VariantSetup],
    records: list[Invocation],
    cpu: CpuEmulation,
    run: dict[str, Any] | None = None,
    region: str | None = None,
    endpoint: Endpoint | None = None,
    machine: dict[str, Any] | None = None,
    consistency: dict[str, Consistency] | None = None,
) -> Results:
    """Assemble (and validate) a results document."""
    from .summary import accuracy, summarize

    summary = summarize(records, model.labels or None)
    share, note = accuracy(records, model.labels)
    return Results(
        target=target,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=model,
        variants=variants,
        run=run or {},
        cpu=cpu,
        region=region,
        machine=machine or {},
        endpoint=endpoint,
        summary=summary,
        consistency=consistency or {},
        invocations=records,
        checks=Checks(
            uploads=len(records),
            items=sum(r.status in ("ok", "error") for r in records),
            failed=sum(r.status == "failed" for r in records),
            lost=sum(s.lost for s in summary.values()),
            duplicated=sum(s.duplicated for s in summary.values()),
            redelivered=sum(r.redelivered for r in records),
            accuracy=share,
            accuracy_note=note,
        ),
    )


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error["loc"]) or "(top level)"


def _one_line(path: Path | str, exc: ValidationError) -> ResultsError:
    first = exc.errors()[0]
    given = repr(first.get("input"))
    given = given if len(given) <= 60 else given[:57] + "..."
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    message = first["msg"].removeprefix("Value error, ")
    return ResultsError(
        f"{path}: {_where(first)}: {message} (found {given}){more}; "
        "fix the field or write the file again with `kit local` or `kit aws`"
    )


def validate(doc: Any, path: Path | str = "results") -> Results:
    """A results document from parsed JSON (schema v2, or v1 converted); ResultsError if not."""
    if not isinstance(doc, dict):
        raise ResultsError(f"{path}: not a results file (a JSON object is expected)")
    if doc.get("schema") == SCHEMA_V1:
        from .v1 import from_v1

        doc = from_v1(doc)
    elif doc.get("schema") != SCHEMA:
        raise ResultsError(
            f"{path}: not a results file of this kit (schema {str(doc.get('schema'))[:60]!r}, "
            f"expected {SCHEMA})"
        )
    try:
        return Results.model_validate(doc)
    except ValidationError as exc:
        raise _one_line(path, exc) from None


def load(path: Path | str) -> Results:
    """Read and validate a results file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path} does not exist: run `kit local` (or `kit aws`) first") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ResultsError(f"{path} is not JSON: {str(exc)[:200]}") from None
    return validate(doc, path)


def write(doc: Results, path: Path | str) -> Path:
    """Write a results document (validated once more, so nothing invalid reaches disk)."""
    Results.model_validate(doc.dump())
    return write_json(doc.dump(), path)


def finite(value: float | None) -> bool:
    """Whether a figure is a real number (not None, NaN or infinite)."""
    return value is not None and math.isfinite(value)
