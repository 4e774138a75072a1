"""Settings of one local run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audio_inference.settings import (
    VARIANTS,
)

from bench import ROOT
from bench.schedule import cold_positions

BANNER = (
    "[bold]Local emulation, not AWS.[/bold] S3, SQS and DynamoDB are moto on loopback; each "
    "Lambda environment is a local awslambdaric process and SnapStart restores are forks of an "
    "initialized process. Not reproduced: Firecracker microVM start and snapshot restore, and "
    "network latency to AWS services. Each environment gets the CPU share of its memory size "
    "(memory / 1,769 MB vCPUs, capped at this machine's cores) through a cgroup quota where the "
    "machine allows it (see the line below). A crashed or timed-out environment is discarded and the "
    "invocation retried twice, with Lambda's ~1 and ~2 minute delays scaled down to 1 and 2 s, then "
    "kept in the failure queue. Use it to check the pipeline and compare variants relative to each "
    "other; use `python -m bench aws` for figures that price a deployment."
)


@dataclass
class LocalConfig:
    """Settings of one local run (recorded in the results file)."""

    requests: int = 40
    rpm: float = 0.0
    concurrency: int = 1
    cold_starts: int = 3
    idle_timeout_s: float = 2.0
    variants: tuple[str, ...] = VARIANTS
    seed: int = 7
    model_dir: Path = ROOT / "build"
    samples_dir: Path = ROOT / "build" / "samples"
    out_dir: Path = ROOT / "results"
    memory_mb: dict[str, int] = field(default_factory=dict)
    architecture: str = "x86_64"
    sagemaker_instance_type: str = "ml.t2.medium"
    timeout_s: float = 90.0
    serving_workers: int = 1
    max_environments: int = 10
    """Concurrency limit per function; beyond it invocations are throttled and retried."""
    retry_delays_s: tuple[float, ...] = (1.0, 2.0)
    """Lambda's two async retries come ~1 and ~2 minutes apart; scaled down 60x locally."""
    crash_rate: float = 0.0
    """Share of invocations whose environment is killed mid-invocation (fault injection)."""
    s3_fault_rate: float = 0.0
    """Share of the handlers' S3 requests answered 503 SlowDown (fault injection)."""
    dynamodb_fault_rate: float = 0.0
    """Share of the handlers' DynamoDB requests answered ThrottlingException (fault injection)."""
    provisioned: dict[str, int] = field(default_factory=dict)
    """Provisioned concurrency per variant (from the stack settings): environments started before traffic."""
    cpu_share: bool = True
    """Give each environment its memory's CPU share (a cgroup quota) where the machine allows it."""
    burst: int = 0
    """Upload this many objects per variant at once instead of the paced schedule."""

    def gap_indices(self) -> set[int]:
        """Requests preceded by an idle gap longer than the idle timeout (forced cold starts)."""
        return cold_positions(self.requests, self.cold_starts) - {0}  # 0 is cold anyway
