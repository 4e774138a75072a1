"""Results documents for tests, built the way the drivers build them (``results.build``)."""

from __future__ import annotations

from kit import results
from kit.results import CpuEmulation, Invocation, Kind, ModelIdentity, VariantSetup

MODEL = ModelIdentity(sha256="ab" * 32, size_bytes=1000, sample_rate=16_000, labels=["a", "b"])


def setup(kind: Kind = Kind.LAMBDA, memory_mb: int = 4096, **kw: object) -> VariantSetup:
    """A variant's setup (sagemaker ones get an instance unless told otherwise)."""
    if kind == Kind.SAGEMAKER:
        kw.setdefault("instance_type", "ml.t2.medium")
        kw.setdefault("instance_count", 1)
    if kind == Kind.SNAPSTART:
        kw.setdefault("snapstart_versions", 1)
    return VariantSetup(kind=kind, memory_mb=memory_mb, **kw)  # type: ignore[arg-type]


def doc(
    variants: dict[str, VariantSetup],
    durations_ms: dict[str, list[float]],
    cold_ms: dict[str, list[float]] | None = None,
) -> results.Results:
    """A results file whose invocations have these warm durations (and these cold starts)."""
    records = []
    for name, values in durations_ms.items():
        colds = (cold_ms or {}).get(name, [])
        for i, d in enumerate(values):
            cold = i < len(colds)
            snap = variants[name].kind == Kind.SNAPSTART
            records.append(
                Invocation(
                    variant=name,
                    object=f"s3://b/{name}/{i}",
                    index=i,
                    sample=f"{i}.wav",
                    status="ok",
                    duration_ms=d,
                    billed_ms=float(int(d) + 1),
                    cold=cold,
                    init_ms=colds[i] if cold and not snap else None,
                    restore_ms=colds[i] if cold and snap else None,
                    billed_init_ms=float(int(colds[i]) + 1) if cold and not snap else 0,
                    billed_restore_ms=float(int(colds[i]) + 1) if cold and snap else 0,
                    memory_mb=variants[name].memory_mb,
                )
            )
    return results.build(
        target="local",
        model=MODEL,
        variants=variants,
        records=records,
        cpu=CpuEmulation(mechanism="none"),
    )


def hostile_doc(labels: list[str], source: str, run: dict, host: str) -> results.Results:
    """A Lambda run whose model.json, run settings and machine carry the given values
    (markup, scripts, outside image paths) where a results file may hold text."""
    hostile = doc({"standard": setup()}, {"standard": [20.0 + i % 5 for i in range(40)]})
    model = ModelIdentity(
        sha256="ab" * 32, size_bytes=1, sample_rate=16_000, labels=labels, source=source
    )
    return hostile.model_copy(update={"model": model, "run": run, "machine": {"host": host}})
