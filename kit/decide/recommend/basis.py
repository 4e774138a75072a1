"""The basis of a search: measured service times (a results file) or values given by hand,
and the memory model that scales them to other sizes."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from audio_inference.settings import LAMBDA_MB_PER_VCPU

from kit.decide.simulate.service import from_costs, from_results
from kit.results import Kind, MemoryModel, Results

from .space import MEMORY_GRID_MB, Basis, RecommendError

LAMBDA_MAX_VCPUS = 6


def _median(values: list[float]) -> float:
    return float(np.median(np.asarray(values, dtype=float)))


def assumed_memory_model(doc: Results, variant: str) -> tuple[MemoryModel | None, str]:
    """Without a sweep: decode + inference (the handler's own timings) scale with the CPU
    share below one vCPU, and nothing gains above it; the rest (S3, DynamoDB) is fixed."""
    rows = [
        r
        for r in doc.invocations
        if r.variant == variant
        and r.status == "ok"
        and not r.cold
        and r.timings_ms
        and r.duration_ms
    ]
    if not rows:
        return None, "memory is fixed at the measured size (no warm timings to split CPU from I/O)"
    timings = [r.timings_ms or {} for r in rows]
    cpu = _median([float(t.get("decode", 0)) + float(t.get("inference", 0)) for t in timings])
    total = _median([float(r.duration_ms or 0) for r in rows])
    memory = doc.variants[variant].memory_mb
    v = min(memory / LAMBDA_MB_PER_VCPU, 1.0)
    model = MemoryModel(
        variant=variant,
        fixed_ms=max(total - cpu, 0.0),
        single_thread_ms=cpu * v,
        parallel_ms=0.0,
        cores=None,
        source="assumed",
        sizes_mb=[memory],
        measured_ms=[total],
        residual_pct=[0.0],
        samples=[len(rows)],
    )
    note = (
        f"memory model assumed (no `kit tune` sweep): decode + inference ({cpu:,.1f} ms of "
        f"{total:,.1f} ms at {memory:,} MB, median of {len(rows)} warm) scale with the CPU share "
        "below 1 vCPU (1,769 MB) and gain nothing above; run `kit tune` to measure it"
    )
    return model, note


def basis_from_results(doc: Results, entry: str, arm64_factor: float = 1.0) -> Basis:
    """The search's basis from a results file: only variants the consistency check trusts."""
    trusted = doc.without(doc.untrusted())
    services = {s.name: s for s in from_results(trusted)}
    setups = trusted.variants
    if entry == "http":
        lam = services.get("http")
    else:
        lam = next((services[n] for n in ("standard", "container") if n in services), None)
    snap = services.get("snapstart") if entry == "s3" else None
    sm = next(
        (s for s in services.values() if s.cost.kind in (Kind.SAGEMAKER, Kind.SERVERLESS)), None
    )
    managed = next((s for s in services.values() if s.cost.kind == Kind.MANAGED), None)
    basis = Basis(
        lambda_=lam,
        snapstart=snap,
        sagemaker=sm if entry == "s3" else None,
        managed=managed if entry == "s3" else None,
        arm64_factor=arm64_factor,
    )
    if lam is not None:
        swept = trusted.memory_model.get(lam.name)
        if swept is not None:
            basis.memory = swept
            basis.memory_note = (
                f"memory model from a `kit tune` sweep over {', '.join(f'{m:,}' for m in swept.sizes_mb)} MB "
                f"(fit residuals up to {max(abs(r) for r in swept.residual_pct):.1f} %)"
            )
        else:
            basis.memory, basis.memory_note = assumed_memory_model(trusted, lam.name)
        used = trusted.summary[lam.name].max_memory_used_mb if lam.name in trusted.summary else None
        if used:
            need = used * 1.2
            basis.min_memory_mb = next((m for m in MEMORY_GRID_MB if m >= need), MEMORY_GRID_MB[-1])
            basis.memory_note += (
                f"; sizes from {basis.min_memory_mb:,} MB (peak memory used {used:,.0f} MB + 20 %)"
            )
        else:
            basis.min_memory_mb = 512
            basis.memory_note += "; sizes from 512 MB (memory used not measured)"
    for svc in (basis.lambda_, basis.snapstart, basis.sagemaker, basis.managed):
        if svc is None:
            continue
        if svc.managed is not None:
            counts = ", ".join(f"{a.size} at {k}" for k, a in enumerate(svc.by_concurrency, 1))
            basis.sources[svc.name] = (
                f"{svc.name}: {counts} requests per {svc.managed.vcpus}-vCPU environment "
                f"({setups[svc.name].memory_mb:,} MB)"
            )
            continue
        endpoint = svc.cost.kind in (Kind.SAGEMAKER, Kind.SERVERLESS)
        basis.sources[svc.name] = (
            f"{svc.name}: {svc.warm_ms.size} warm, {svc.cold_ms.size} cold samples"
            + (f", {svc.endpoint_ms.size} endpoint" if endpoint else "")
            + f" at {setups[svc.name].memory_mb:,} MB"
        )
    return basis


def basis_from_primitives(
    billed_ms: float,
    memory_mb: int,
    cpu_ms: float,
    init_ms: float,
    restore_ms: float,
    proxy_billed_ms: float,
    endpoint_ms: float,
    entry: str = "s3",
    arm64_factor: float = 1.0,
) -> Basis:
    """A basis from values given by hand: ``billed_ms`` at ``memory_mb``, of which ``cpu_ms``
    scales with every vCPU (t(m) = fixed + cpu * m_ref / m, up to 6 vCPUs)."""
    from kit.decide.cost.inputs import Primitives

    for name, value in (
        ("--billed-ms", billed_ms),
        ("--cpu-ms", cpu_ms),
        ("--endpoint-ms", endpoint_ms),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise RecommendError(f"{name} {value!r}: give a duration of 0 ms or more")
    if cpu_ms > billed_ms:
        raise RecommendError(
            f"--cpu-ms {cpu_ms:g} is more than --billed-ms {billed_ms:g}: it is a part of it"
        )
    prims = Primitives(
        memory_mb=memory_mb,
        billed_ms=billed_ms,
        init_ms=init_ms,
        restore_ms=restore_ms,
        proxy_billed_ms=proxy_billed_ms,
    )
    services = {s.name: s for s in from_costs(prims.variants(), endpoint_ms=endpoint_ms)}
    lam = services["standard"]
    if entry == "http":
        lam = replace(lam, cost=replace(lam.cost, name="http", s3_puts=0), synchronous=True)
    v = min(memory_mb / LAMBDA_MB_PER_VCPU, LAMBDA_MAX_VCPUS)
    model = MemoryModel(
        variant=lam.name,
        fixed_ms=billed_ms - cpu_ms,
        single_thread_ms=0.0,
        parallel_ms=cpu_ms * v,
        cores=None,
        source="given",
        sizes_mb=[memory_mb],
        measured_ms=[billed_ms],
        residual_pct=[0.0],
    )
    note = (
        f"durations given by hand: {billed_ms:g} ms at {memory_mb:,} MB, of which {cpu_ms:g} ms "
        "scale with every vCPU"
        if cpu_ms
        else f"durations given by hand: {billed_ms:g} ms at every memory size"
    )
    return Basis(
        lambda_=lam,
        snapstart=services["snapstart"] if entry == "s3" else None,
        sagemaker=services["sagemaker"] if entry == "s3" else None,
        memory=model,
        memory_note=note,
        min_memory_mb=128,
        arm64_factor=arm64_factor,
        sources={n: f"{n}: given by hand" for n in services},
    )
