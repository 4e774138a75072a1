"""Per-variant figures computed from the invocation records (the ``summary`` section)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import Invocation, Summary
from .quantiles import quantile

if TYPE_CHECKING:
    from . import Results

WARM_PERCENTILES = (50.0, 90.0, 99.0)
MIN_COLD_STARTS = 6
"""Cold starts a bounded 95 % interval on their median needs (see quantiles.samples_needed)."""


def few_cold_starts(doc: Results) -> list[str]:
    """ "variant count" for each variant that can start cold and started cold fewer than
    MIN_COLD_STARTS times (Managed Instances never start cold)."""
    return [
        f"{v} {s.cold_starts}"
        for v, s in doc.summary.items()
        if s.cold_starts < MIN_COLD_STARTS and doc.variants[v].managed is None
    ]


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0-100, numpy's default method); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(records: list[Invocation], labels: list[str] | None = None) -> dict[str, Summary]:
    """One ``Summary`` per variant, in the order the variants first appear.

    ``accuracy`` counts only samples whose label is one of ``labels`` (all, when None).
    """
    out: dict[str, Summary] = {}
    for variant in dict.fromkeys(r.variant for r in records):
        rows = [r for r in records if r.variant == variant]
        done = [r for r in rows if r.status in ("ok", "error") and r.latency_ms is not None]
        latency = [r.latency_ms for r in done if r.latency_ms is not None]
        cold = [r for r in done if r.cold]
        warm = [r.latency_ms for r in done if not r.cold and r.latency_ms is not None]
        e2e = [r.e2e_ms for r in done if r.e2e_ms is not None]
        durations = [r.duration_ms for r in done if r.duration_ms is not None]
        billed = [r.billed_ms for r in done if r.billed_ms is not None]
        memory = [r.max_memory_mb for r in rows if r.max_memory_mb]
        labelled = [
            r
            for r in rows
            if r.status == "ok" and r.true_label and (labels is None or r.true_label in labels)
        ]
        out[variant] = Summary(
            count=len(rows),
            ok=sum(r.status == "ok" for r in rows),
            errors=sum(r.status in ("error", "failed") for r in rows),
            lost=sum(r.status == "lost" for r in rows),
            duplicated=sum(r.duplicated for r in rows),
            mean_ms=_mean(latency),
            median_ms=_median(latency),
            std_ms=statistics.stdev(latency) if len(latency) > 1 else 0.0,
            p90_ms=percentile(latency, 90),
            p99_ms=percentile(latency, 99),
            cold_starts=len(cold),
            cold_fraction=len(cold) / len(done) if done else 0.0,
            cold_mean_ms=_mean([r.latency_ms for r in cold if r.latency_ms is not None]),
            warm_median_ms=_median(warm),
            e2e_median_ms=_median(e2e),
            e2e_p90_ms=percentile(e2e, 90),
            duration_median_ms=_median(durations),
            billed_ms_mean=_mean(billed),
            billed_init_ms_mean=_mean([r.billed_init_ms for r in cold if r.billed_init_ms]) or 0.0,
            billed_restore_ms_mean=_mean([r.billed_restore_ms for r in cold if r.billed_restore_ms])
            or 0.0,
            max_memory_used_mb=max(memory) if memory else None,
            warm_count=len(warm),
            warm={f"p{q:g}": quantile(warm, q) for q in WARM_PERCENTILES},
            accuracy=(sum(r.label == r.true_label for r in labelled) / len(labelled))
            if labelled
            else None,
        )
    return out


def accuracy(records: list[Invocation], labels: list[str]) -> tuple[float | None, str]:
    """Share of uploads predicted as their sample's label, and what that compares against.

    Only samples whose label is one of the model's count: a user's own model
    run on the kit's demo samples (labels it does not know) has no accuracy,
    and the note says so instead of reporting 0 %.
    """
    known = set(labels)
    answered = [r for r in records if r.status == "ok"]
    if not answered:
        return None, "no upload was answered"
    with_label = [r for r in answered if r.true_label]
    if not with_label:
        return None, "the samples carry no labels (a manifest.csv with a label column gives them)"
    comparable = [r for r in with_label if r.true_label in known]
    if not comparable:
        foreign = sorted({r.true_label for r in with_label if r.true_label})[:4]
        return None, (
            f"the samples' labels ({', '.join(foreign)}) are not the model's "
            f"({', '.join(labels[:4]) or 'none'}): give samples of your own with --samples"
        )
    right = sum(r.label == r.true_label for r in comparable)
    skipped = len(with_label) - len(comparable)
    note = f"{right} of {len(comparable)} labelled uploads predicted as their sample's label"
    if skipped:
        note += f"; {skipped} with labels the model does not know left out"
    return right / len(comparable), note
