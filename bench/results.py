"""The results file shared by ``bench local``, ``bench aws``, ``bench cost`` and ``bench report``.

Schema (``schema`` = "audio-inference-kit/results/v1"):

- ``target``: "local" or "aws"; ``created_at``: ISO time; ``config``: the run's settings
  (requests, rpm, concurrency, seed, variants, memory_mb per variant, architecture,
  sagemaker instance type, model sha256, ...); ``machine``: where it ran.
- ``summary``: per variant: count, ok, errors, lost, duplicated, mean_ms, median_ms,
  std_ms, p90_ms, p99_ms (latency = init or restore + duration on a cold start,
  duration otherwise), cold_starts, cold_fraction, cold_mean_ms, warm_median_ms,
  e2e_median_ms, e2e_p90_ms, duration_median_ms, billed_ms_mean (duration),
  billed_init_ms_mean (per cold start), billed_restore_ms_mean (per restore),
  memory_mb, max_memory_used_mb, accuracy.
- ``invocations``: one record per invocation (see ``RECORD_FIELDS``).
- ``endpoint``: SageMaker endpoint facts (startup_ms, instance_type) when deployed.
- ``checks``: uploads, items (ok and error), failed (kept in the failure queue with a reason),
  lost (neither: unaccounted), duplicated, accuracy.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = "audio-inference-kit/results/v1"
RECORD_FIELDS = {
    "variant": "standard | snapstart | sagemaker",
    "object": "s3://bucket/key uploaded",
    "index": "position in the variant's schedule",
    "true_label": "label of the sample file",
    "label": "predicted label (None on error)",
    "status": "ok | error (an error item) | failed (in the failure queue) | lost (neither)",
    "cold": "first invocation of a new execution environment",
    "init_ms": "on-demand init (cold only)",
    "restore_ms": "SnapStart restore (cold only)",
    "duration_ms": "handler duration (Lambda's Duration)",
    "billed_ms": "duration rounded up to 1 ms",
    "billed_init_ms": "billed INIT phase (on-demand cold starts)",
    "billed_restore_ms": "billed restore (SnapStart cold starts)",
    "latency_ms": "init/restore + duration when cold, else duration",
    "e2e_ms": "upload start until the item is in DynamoDB",
    "max_memory_mb": "peak memory of the environment",
    "memory_mb": "configured memory",
    "environment": "execution environment id",
    "request_id": "Lambda request id (joins logs and items)",
}
SUMMARY_FIELDS = (
    "count",
    "ok",
    "errors",
    "lost",
    "duplicated",
    "mean_ms",
    "median_ms",
    "std_ms",
    "p90_ms",
    "p99_ms",
    "cold_starts",
    "cold_fraction",
    "cold_mean_ms",
    "warm_median_ms",
    "e2e_median_ms",
    "e2e_p90_ms",
    "duration_median_ms",
    "billed_ms_mean",
    "billed_init_ms_mean",
    "billed_restore_ms_mean",
    "memory_mb",
    "max_memory_used_mb",
    "accuracy",
)


@dataclass(kw_only=True)
class Invocation:
    """One upload and what became of it: the record both ``bench local`` and ``bench aws`` write.

    ``latency_ms`` is derived (init or restore + duration on a cold start), so
    the two drivers cannot compute it differently.
    """

    variant: str
    object: str
    index: int
    sample: str
    true_label: str | None
    status: str
    label: str | None = None
    error: str | None = None
    cold: bool = False
    init_ms: float | None = None
    restore_ms: float | None = None
    duration_ms: float | None = None
    billed_ms: float | None = None
    billed_init_ms: float = 0
    billed_restore_ms: float = 0
    latency_ms: float | None = field(init=False, default=None)
    e2e_ms: float | None = None
    max_memory_mb: float | None = None
    memory_mb: int | None = None
    environment: str | None = None
    request_id: str | None = None
    attempts: int = 1
    duplicated: int = 0
    """More than one item for one upload (the table's key should make it impossible)."""
    redelivered: int = 0
    """Deliveries the idempotent write absorbed (a retry after a crash, a redelivery)."""
    timings_ms: dict[str, float] | None = None
    report_found: bool | None = None
    """bench aws: whether the REPORT line was found in CloudWatch Logs."""

    def __post_init__(self) -> None:
        if self.duration_ms is not None:
            self.latency_ms = self.duration_ms + (self.init_ms or self.restore_ms or 0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (RECORD_FIELDS and the extras above)."""
        return asdict(self)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0-100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def summarize(records: list[dict], memory_mb: dict[str, int]) -> dict[str, dict]:
    """Per-variant figures from invocation records."""
    out: dict[str, dict] = {}
    for variant in dict.fromkeys(r["variant"] for r in records):
        rows = [r for r in records if r["variant"] == variant]
        done = [
            r for r in rows if r["status"] in ("ok", "error") and r.get("latency_ms") is not None
        ]
        latency = [r["latency_ms"] for r in done]
        cold = [r for r in done if r["cold"]]
        warm = [r["latency_ms"] for r in done if not r["cold"]]
        e2e = [r["e2e_ms"] for r in done if r.get("e2e_ms") is not None]
        labelled = [r for r in rows if r["status"] == "ok" and r.get("true_label")]
        memory = [r["max_memory_mb"] for r in rows if r.get("max_memory_mb")]
        out[variant] = {
            "count": len(rows),
            "ok": sum(r["status"] == "ok" for r in rows),
            "errors": sum(r["status"] in ("error", "failed") for r in rows),
            "lost": sum(r["status"] == "lost" for r in rows),
            "duplicated": sum(r.get("duplicated", 0) for r in rows),
            "mean_ms": _mean(latency),
            "median_ms": statistics.median(latency) if latency else None,
            "std_ms": statistics.stdev(latency) if len(latency) > 1 else 0.0,
            "p90_ms": percentile(latency, 90),
            "p99_ms": percentile(latency, 99),
            "cold_starts": len(cold),
            "cold_fraction": len(cold) / len(done) if done else 0.0,
            "cold_mean_ms": _mean([r["latency_ms"] for r in cold]),
            "warm_median_ms": statistics.median(warm) if warm else None,
            "e2e_median_ms": statistics.median(e2e) if e2e else None,
            "e2e_p90_ms": percentile(e2e, 90),
            "duration_median_ms": statistics.median([r["duration_ms"] for r in done])
            if done
            else None,
            "billed_ms_mean": _mean([r["billed_ms"] for r in done]),
            "billed_init_ms_mean": _mean(
                [r["billed_init_ms"] for r in cold if r.get("billed_init_ms")]
            )
            or 0.0,
            "billed_restore_ms_mean": _mean(
                [r["billed_restore_ms"] for r in cold if r.get("billed_restore_ms")]
            )
            or 0.0,
            "memory_mb": memory_mb.get(variant),
            "max_memory_used_mb": max(memory) if memory else None,
            "accuracy": (sum(r["label"] == r["true_label"] for r in labelled) / len(labelled))
            if labelled
            else None,
        }
    return out


def build(
    target: str,
    config: dict,
    records: list[dict],
    memory_mb: dict[str, int],
    endpoint: dict | None = None,
    machine: dict | None = None,
) -> dict:
    """Assemble a results document."""
    summary = summarize(records, memory_mb)
    ok = [r for r in records if r["status"] == "ok" and r.get("true_label")]
    return {
        "schema": SCHEMA,
        "target": target,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config,
        "machine": machine or {},
        "endpoint": endpoint or {},
        "summary": summary,
        "checks": {
            "uploads": len(records),
            "items": sum(r["status"] in ("ok", "error") for r in records),
            "failed": sum(r["status"] == "failed" for r in records),
            "lost": sum(s["lost"] for s in summary.values()),
            "duplicated": sum(s["duplicated"] for s in summary.values()),
            "redelivered": sum(r.get("redelivered", 0) for r in records),
            "accuracy": (sum(r["label"] == r["true_label"] for r in ok) / len(ok)) if ok else None,
        },
        "invocations": records,
    }


class ResultsError(ValueError):
    """A results file is missing or malformed; the message says which part."""


def validate(doc: dict) -> dict:
    """Check the shape of a results document; return it."""
    if doc.get("schema") != SCHEMA:
        raise ResultsError(
            f"not a results file of this kit (schema {doc.get('schema')!r}, expected {SCHEMA})"
        )
    for key in ("target", "config", "summary", "invocations", "checks"):
        if key not in doc:
            raise ResultsError(f"results file has no {key!r} section")
    for variant, figures in doc["summary"].items():
        missing = [f for f in SUMMARY_FIELDS if f not in figures]
        if missing:
            raise ResultsError(f"summary of {variant} lacks {', '.join(missing)}")
    for i, record in enumerate(doc["invocations"]):
        missing = [f for f in RECORD_FIELDS if f not in record]
        if missing:
            raise ResultsError(f"invocation {i} lacks {', '.join(missing)}")
    return doc


def load(path: Path) -> dict:
    """Read and validate a results file."""
    try:
        return validate(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise ResultsError(
            f"{path} does not exist: run `python -m bench local` (or `bench aws`) first"
        ) from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not JSON: {exc}") from None


def write(doc: dict, path: Path) -> None:
    """Write a results document."""
    write_json(validate(doc), path)


def write_json(doc: Any, path: Path | str) -> Path:
    """Any figures as indented JSON (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path
