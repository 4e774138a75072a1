"""What ``kit aws`` sends (light: the command line reads its defaults from here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kit import ROOT
from kit.measure.schedule import cold_positions


@dataclass
class Workload:
    """What to send."""

    requests: int = 30
    rpm: float = 0.0
    concurrency: int = 1
    cold_strategy: str = "none"
    cold_starts: int = 3
    burst: int = 4
    seed: int = 7
    samples_dir: Path = ROOT / "build" / "samples"
    model_dir: Path = ROOT / "build"
    """The deployed model's folder (model.json names it in the results)."""
    wait_timeout_s: float = 180.0
    logs_timeout_s: float = 120.0
    variants: list[str] = field(default_factory=list)

    def cold_points(self) -> set[int]:
        """Schedule positions where a cold start is forced."""
        if self.cold_strategy == "none":
            return set()
        return cold_positions(self.requests, self.cold_starts)
