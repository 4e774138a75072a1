"""Which memory size: each size of a sweep priced, the picks, and how speed tracks the CPU share."""

from __future__ import annotations

from typing import Any

from audio_inference.settings import LAMBDA_MB_PER_VCPU, SNAPSTART

from kit.results import Kind, MemoryModel, SizePoint

from .cost import CostModel, VariantCost

LAMBDA_MAX_VCPUS = 6


def vcpus(memory_mb: float) -> float:
    """The CPU share Lambda gives a memory size: 1,769 MB = 1 vCPU, at most 6."""
    return min(memory_mb / LAMBDA_MB_PER_VCPU, LAMBDA_MAX_VCPUS)


def cost_per_million(point: SizePoint, architecture: str) -> float | None:
    """The size's price per 1M invocations, from its measured billed duration."""
    if not point.billed_ms_mean:
        return None
    spec = VariantCost(
        name=point.variant,
        kind=Kind.SNAPSTART if point.variant == SNAPSTART else Kind.LAMBDA,
        memory_mb=point.memory_mb,
        billed_ms=point.billed_ms_mean,
        cold_fraction=point.cold_fraction,
        billed_init_ms=point.billed_init_ms_mean,
        billed_restore_ms=point.billed_restore_ms_mean,
        architecture=architecture,
    )
    return CostModel([spec]).per_million(spec)


def priced(points: list[SizePoint], architecture: str) -> list[dict[str, Any]]:
    """Every point with its cost per 1M requests."""
    return [
        {**p.model_dump(), "cost_per_million": cost_per_million(p, architecture)} for p in points
    ]


def picks(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Cheapest, fastest and balanced (lowest cost x median product) size per variant."""
    out: dict[str, dict[str, int]] = {}
    for v in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == v and r["cost_per_million"] and r["median_ms"]]
        if not mine:
            continue
        out[v] = {
            "cheapest": min(mine, key=lambda r: r["cost_per_million"])["memory_mb"],
            "fastest": min(mine, key=lambda r: r["median_ms"])["memory_mb"],
            "balanced": min(mine, key=lambda r: r["cost_per_million"] * r["median_ms"])[
                "memory_mb"
            ],
        }
    return out


def cpu_tracking(points: list[SizePoint], cores: float | None = None) -> list[dict[str, Any]]:
    """For neighbouring sizes: the duration and inference ratios next to the CPU-share ratio.

    For a CPU-bound model the inference time should follow the CPU share
    (seed 003: 512 -> 1,769 MB took p50 180 -> 55 ms, x3.3). ``cores`` caps the
    share where the sizes were emulated on a machine with fewer cores.
    """
    out = []
    for v in dict.fromkeys(p.variant for p in points):
        mine = sorted((p for p in points if p.variant == v), key=lambda p: p.memory_mb)
        for a, b in zip(mine, mine[1:], strict=False):
            share_a = min(vcpus(a.memory_mb), cores or LAMBDA_MAX_VCPUS)
            share_b = min(vcpus(b.memory_mb), cores or LAMBDA_MAX_VCPUS)
            expected = share_b / share_a
            duration = a.median_ms / b.median_ms if a.median_ms and b.median_ms else None
            infer = a.inference_ms / b.inference_ms if a.inference_ms and b.inference_ms else None
            out.append(
                {
                    "variant": v,
                    "from_mb": a.memory_mb,
                    "to_mb": b.memory_mb,
                    "duration_ratio": duration,
                    "inference_ratio": infer,
                    "cpu_share_ratio": expected,
                    "within_15_percent": duration is not None
                    and abs(duration / expected - 1) <= 0.15,
                    "inference_within_15_percent": infer is not None
                    and abs(infer / expected - 1) <= 0.15,
                }
            )
    return out


def _columns(memory_mb: float, cores: float | None) -> tuple[float, float, float]:
    """The fit's terms at one size: fixed, single-threaded (1 / min(v, 1)), parallel (1 / v)."""
    v = min(vcpus(memory_mb), cores or LAMBDA_MAX_VCPUS)
    return 1.0, 1.0 / min(v, 1.0), 1.0 / v


def fit_memory_model(
    points: list[SizePoint], cores: float | None = None, source: str = "sweep"
) -> dict[str, MemoryModel]:
    """Per variant, duration(memory) = fixed + single / min(v, 1) + parallel / v, v = the CPU
    share (1,769 MB = 1 vCPU, at most 6, capped at ``cores`` for a local sweep).

    The fixed part does not scale (waiting on S3 and DynamoDB), the single-threaded part
    scales up to one vCPU, the parallel part with every vCPU. Coefficients are the
    non-negative least-squares fit to the median durations (the best of the fits on every
    subset of terms whose coefficients come out non-negative: three unknowns, so an exact
    active-set search); the residual at each measured size says how well it holds.
    """
    import itertools

    import numpy as np

    out: dict[str, MemoryModel] = {}
    for variant in dict.fromkeys(p.variant for p in points):
        mine = sorted(
            (p for p in points if p.variant == variant and p.median_ms), key=lambda p: p.memory_mb
        )
        if len(mine) < 2:
            continue
        x = np.array([_columns(p.memory_mb, cores) for p in mine])
        y = np.array([p.median_ms for p in mine], dtype=float)
        best: tuple[float, np.ndarray] | None = None
        for k in range(1, 4):
            for subset in itertools.combinations(range(3), k):
                cols = x[:, subset]
                if np.linalg.matrix_rank(cols) < k:
                    continue
                coef, *_ = np.linalg.lstsq(cols, y, rcond=None)
                if (coef < 0).any():
                    continue
                full = np.zeros(3)
                full[list(subset)] = coef
                error = float(((x @ full - y) ** 2).sum())
                if best is None or error < best[0] - 1e-12:
                    best = (error, full)
        if best is None:
            continue
        coef = best[1]
        predicted = x @ coef
        out[variant] = MemoryModel(
            variant=variant,
            fixed_ms=float(coef[0]),
            single_thread_ms=float(coef[1]),
            parallel_ms=float(coef[2]),
            cores=cores,
            source=source,
            sizes_mb=[p.memory_mb for p in mine],
            measured_ms=[float(v) for v in y],
            residual_pct=[float((pr - m) / m * 100) for pr, m in zip(predicted, y, strict=True)],
            samples=[p.samples for p in mine],
        )
    return out


def predict_ms(model: MemoryModel, memory_mb: float) -> float:
    """The fitted duration at any memory size (within the CPU-share cap the fit assumed)."""
    fixed, single, parallel = _columns(memory_mb, model.cores)
    return model.fixed_ms * fixed + model.single_thread_ms * single + model.parallel_ms * parallel
