"""Settings of one local run (``kit local``): what the CLI builds and the run records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio_inference.settings import VARIANTS

from kit import ROOT
from kit.errors import KitError
from kit.measure.schedule import cold_positions
from kit.results import VariantSetup

BANNER = (
    "[bold]Local emulation, not AWS.[/bold] S3, SQS and DynamoDB are moto on loopback; each "
    "Lambda environment is a local awslambdaric process and SnapStart restores are forks of an "
    "initialized process; a managed (Lambda Managed Instances) environment is one process per concurrent request under one "
    "CPU quota. Not reproduced: Firecracker microVM start and snapshot restore, and "
    "network latency to AWS services. Each environment gets the CPU share of its memory size "
    "(memory / 1,769 MB vCPUs, capped at this machine's cores) through a cgroup quota where the "
    "machine allows it (see the line below). A crashed or timed-out environment is discarded and the "
    "invocation retried twice, with Lambda's ~1 and ~2 minute delays scaled down to 1 and 2 s, then "
    "kept in the failure queue. Use it to check the pipeline and compare variants relative to each "
    "other; use `kit aws` for figures that price a deployment."
)


@dataclass
class LocalConfig:
    """Settings of one local run (recorded in the results file)."""

    setups: dict[str, VariantSetup]
    """The variants to run, each with the settings the stack would deploy it with."""
    requests: int = 40
    warm: int = 0
    """Uploads after ``requests``, without idle gaps: warm samples enough to state a p99."""
    rpm: float = 0.0
    concurrency: int = 1
    cold_starts: int = 3
    idle_timeout_s: float = 2.0
    seed: int = 7
    model_dir: Path = ROOT / "build"
    samples_dir: Path = ROOT / "build" / "samples"
    out_dir: Path = ROOT / "results"
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
    cpu_share: bool = True
    """Give each environment its memory's CPU share (a cgroup quota) where the machine allows it."""
    burst: int = 0
    """Upload this many objects per variant at once instead of the paced schedule."""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def variants(self) -> tuple[str, ...]:
        """The variants, in the kit's order."""
        return tuple(v for v in VARIANTS if v in self.setups)

    @property
    def timeout_s(self) -> float:
        """Every function's timeout (one stack setting)."""
        return float(max(s.timeout_s for s in self.setups.values()))

    def memory_mb(self, variant: str) -> int:
        """The variant's function memory."""
        return self.setups[variant].memory_mb

    def provisioned(self, variant: str) -> int:
        """Environments started before traffic (provisioned concurrency)."""
        return self.setups[variant].provisioned_concurrency

    def gap_indices(self, variant: str | None = None) -> set[int]:
        """Requests preceded by an idle gap longer than the idle timeout (forced cold starts);
        none for a managed variant, whose environments never retire."""
        if variant is not None and self.setups[variant].managed is not None:
            return set()
        return cold_positions(self.requests, self.cold_starts) - {0}  # 0 is cold anyway

    def in_flight(self, variant: str, total: int) -> list[int]:
        """Uploads in flight at each position of ``variant``'s schedule: --concurrency, or for a
        managed variant (unless bursting) equal phases of 1, 2, ... slots - 1 uploads, then
        twice its slots (the upload and delivery before each invocation leave fewer running at
        once; the last phase keeps every slot busy), so durations are measured at each level."""
        managed = self.setups[variant].managed
        if managed is None or self.burst:
            return [self.concurrency] * total
        slots = managed.max_concurrency
        levels = [*range(1, slots), 2 * slots]
        return [levels[i * len(levels) // max(total, 1)] for i in range(total)]

    def run_settings(self) -> dict[str, object]:
        """The driver's settings as the results file records them (``run``)."""
        return {
            "model_dir": str(self.model_dir),
            "requests": self.requests,
            "warm": self.warm,
            "rpm": self.rpm,
            "concurrency": self.concurrency,
            "cold_starts": self.cold_starts,
            "idle_timeout_s": self.idle_timeout_s,
            "seed": self.seed,
            "burst": self.burst,
            "max_environments": self.max_environments,
            "retry_delays_s": list(self.retry_delays_s),
            "crash_rate": self.crash_rate,
            "s3_fault_rate": self.s3_fault_rate,
            "dynamodb_fault_rate": self.dynamodb_fault_rate,
            "gap_indices": sorted(self.gap_indices()),
            "samples": str(self.samples_dir),
            **self.extra,
        }


def ensure_inputs(cfg: LocalConfig, console: Any) -> None:
    """Build the model and the labelled samples if they are missing."""
    import subprocess
    import sys

    if not (cfg.model_dir / "model.onnx").exists():
        console.print("[yellow]No model yet: running `python -m model_build` first.[/yellow]")
        subprocess.run([sys.executable, "-m", "model_build"], cwd=ROOT, check=True)
    from model_build import ModelBuildError
    from model_build.samples import labelled_folders, read_manifest

    default = LocalConfig.samples_dir  # only the demo's own folder is filled with demo samples
    missing = not (cfg.samples_dir / "manifest.csv").exists()
    if missing and not labelled_folders(cfg.samples_dir) and cfg.samples_dir == default:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "model_build",
                "samples",
                "--out",
                str(cfg.samples_dir),
                "--count",
                "40",
            ],
            cwd=ROOT,
            check=True,
        )
    try:
        read_manifest(cfg.samples_dir)
    except ModelBuildError as exc:
        raise KitError(f"--samples {exc}") from None
