"""Options of a simulation: the traffic to simulate and how (defaults defined once, here).

Light on purpose (no numpy): the command line reads its defaults from these
dataclasses, and ``--help`` must not import the simulator. Every range a flag
can take is checked here, so the library refuses the same values the CLI does
and no flag can drive an unbounded allocation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from audio_inference.settings import DEFAULT_MANAGED_INSTANCE_TYPE

from kit.errors import KitError

SHAPES = ("poisson", "diurnal", "bursty")
"""Synthetic shapes (a trace is given with ``replay``)."""
MIN_RPM, MAX_RPM = 0.01, 100_000.0
DEFAULT_LEVELS = (0.1, 1.0, 10.0, 72.0, 200.0, 1000.0, 10000.0)
DEFAULT_SLO_MS = 1000.0
MIN_BURST_S = 1.0
"""The shortest burst or gap: one second keeps a month's rate segments under ~2.6M."""


class OptionError(KitError):
    """An option value out of range; the message names the flag."""


def _finite(flag: str, value: float, low: float, high: float = math.inf) -> None:
    if not (math.isfinite(value) or (value == math.inf and high == math.inf)) or not (
        low <= value <= high
    ):
        bound = f"{low:g} to {high:g}" if math.isfinite(high) else f"at least {low:g}"
        raise OptionError(f"{flag} {value!r} is out of range: use {bound}")


@dataclass(frozen=True, kw_only=True)
class TrafficOptions:
    """Which traffic to simulate."""

    shapes: tuple[str, ...] = ("poisson",)
    levels_rpm: tuple[float, ...] = DEFAULT_LEVELS
    """Average requests per minute of each level (the month's mean)."""
    replay: Path | None = None
    """A trace to replay as its own level (CSV, S3 access log, Logs Insights export)."""
    offpeak: float = 0.1
    """diurnal: the rate outside weekday business hours, as a share of the peak."""
    burst_on_s: float = 300.0
    burst_off_s: float = 1500.0

    def __post_init__(self) -> None:
        if not self.shapes and self.replay is None:
            raise OptionError("--shape: name at least one shape (poisson, diurnal, bursty)")
        for s in self.shapes:
            if s not in SHAPES:
                raise OptionError(
                    f"--shape {s!r}: use {', '.join(SHAPES)} (a trace is given with --replay FILE)"
                )
        if self.shapes and not self.levels_rpm:
            raise OptionError("--rpm: give at least one traffic level, e.g. --rpm 10,100")
        for r in self.levels_rpm:
            _finite("--rpm", r, MIN_RPM, MAX_RPM)
        _finite("--offpeak", self.offpeak, 0.0, 1.0)
        _finite("--burst-on-s", self.burst_on_s, MIN_BURST_S, 30 * 86400)
        _finite("--burst-off-s", self.burst_off_s, 0.0, 30 * 86400)
        if self.burst_off_s and self.burst_off_s < MIN_BURST_S:
            raise OptionError(f"--burst-off-s {self.burst_off_s:g}: use 0 or at least 1 s")


@dataclass(frozen=True, kw_only=True)
class SimulateOptions:
    """How to simulate, beyond the traffic."""

    traffic: TrafficOptions = field(default_factory=TrafficOptions)
    slo_p99_ms: float = DEFAULT_SLO_MS
    """The latency target for the 99th percentile."""
    platform_file: Path | None = None
    prices_file: Path | None = None
    idle_lifetime_s: float | None = None
    """Seconds an idle Lambda environment survives (None: platform.json's value)."""
    max_instances: int = 1
    """SageMaker instances autoscaling may reach (1 = as deployed, no autoscaling)."""
    managed_instances: str | None = DEFAULT_MANAGED_INSTANCE_TYPE
    """EC2 type of the simulated Lambda Managed Instances row (None: no such row)."""
    gpu_ms: float | None = None
    """GPU time per request, to price GPU serverless offers (rows omitted without it)."""
    ci_reps: int = 10
    """Bootstrap resamples for the 90 % intervals (0 = none)."""
    max_exact: int = 2_000_000
    """Requests simulated one by one per level; above it, a window scaled to the month."""
    seed: int = 7
    variants: tuple[str, ...] = ()
    """Only these variants of the results file (empty: all)."""
    snapstart_versions: int | None = None
    given_prices: tuple[str, ...] = ()
    """Variants known only by their price, ``NAME=PER_1M:FIXED``."""

    def __post_init__(self) -> None:
        _finite("--slo-p99-ms", self.slo_p99_ms, 1.0, 3_600_000.0)
        if self.idle_lifetime_s is not None:
            _finite("--idle-lifetime-s", self.idle_lifetime_s, 1.0, 7 * 86400)
        if not 1 <= self.max_instances <= 100:
            raise OptionError(f"--max-instances {self.max_instances}: use 1 to 100")
        if self.gpu_ms is not None:
            _finite("--gpu-ms", self.gpu_ms, 0.0, 900_000.0)
        if not 0 <= self.ci_reps <= 1000:
            raise OptionError(f"--ci-reps {self.ci_reps}: use 0 to 1000")
        if not 10_000 <= self.max_exact <= 500_000_000:
            raise OptionError(f"--max-exact {self.max_exact}: use 10,000 to 500,000,000")
        if not 0 <= self.seed < 2**63:
            raise OptionError(f"--seed {self.seed}: use a non-negative integer")
        if self.snapstart_versions is not None and not 1 <= self.snapstart_versions <= 1000:
            raise OptionError(f"--snapstart-versions {self.snapstart_versions}: use 1 to 1000")
