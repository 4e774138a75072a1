"""Traffic shapes: when requests arrive over a month (or a replayed trace).

A shape is a piecewise-constant rate (requests per second) over the span. Arrivals
are drawn as a non-homogeneous Poisson process by time rescaling: unit-rate
exponential gaps in "expected requests" space, mapped back to time through the
cumulative rate. Chunks keep memory flat at any volume. A replayed trace is its
own arrival times.

Shapes (the rate given is the month's average, so shapes compare at equal volume):
- ``poisson``: the same rate all month;
- ``diurnal``: weekdays 09:00-17:00 at full rate, other hours at ``offpeak`` of it
  (seed 003: "4,000 a day, in bursts, mostly during business hours"); the month
  starts on a Monday at 00:00;
- ``bursty``: all traffic in ``on_s``-second bursts separated by ``off_s`` seconds;
- ``replay``: timestamps from a CSV, an S3 server access log or a CloudWatch Logs
  Insights export (``replay.load_trace``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from kit.errors import KitError

from .options import MAX_RPM, MIN_RPM
from .options import SHAPES as SYNTHETIC

SHAPES = (*SYNTHETIC, "replay")


class TrafficError(KitError):
    """A traffic option or trace that cannot be used; the message names it."""


@dataclass
class Traffic:
    """Arrival process over ``span_s`` seconds."""

    shape: str
    rpm: float
    """average requests per minute over the span"""
    span_s: float
    edges: np.ndarray
    """segment boundaries (seconds), len(rates) + 1"""
    rates: np.ndarray
    """requests per second in each segment"""
    timestamps: np.ndarray | None = None
    """replay: the arrival times themselves (seconds from the trace's start)"""
    source: str = ""
    period: float | None = None
    """the length of a repeating pattern, when the shape has one (a week for ``weekly``)"""

    @property
    def expected_requests(self) -> float:
        """Mean number of arrivals over the span."""
        if self.timestamps is not None:
            return float(self.timestamps.size)
        return float(np.sum(self.rates * np.diff(self.edges)))

    @property
    def label(self) -> str:
        """Readable name."""
        if self.shape == "replay":
            return f"replay of {self.source}"
        return f"{self.shape} {self.rpm:,.4g} RPM"

    @property
    def period_s(self) -> float | None:
        """Length of the repeating pattern (None: stationary, or a trace)."""
        if self.period is not None:
            return self.period
        if self.shape == "diurnal":
            return 7 * 86400.0
        if self.shape == "bursty" and self.rates.size > 1:
            return float(self.edges[2] - self.edges[0]) if self.rates[1] == 0 else None
        return None

    def prefix(self, seconds: float) -> Traffic:
        """The first ``seconds`` of this traffic."""
        cut = np.searchsorted(self.edges, seconds, side="left")
        edges = np.append(self.edges[:cut], seconds)
        return Traffic(
            self.shape, self.rpm, seconds, edges, self.rates[: edges.size - 1], period=self.period
        )

    def levels(self) -> list[tuple[float, float]]:
        """Distinct rates and the time spent at each: [(rate per s, seconds)]."""
        out: dict[float, float] = {}
        for rate, d in zip(self.rates, np.diff(self.edges), strict=True):
            out[float(rate)] = out.get(float(rate), 0.0) + float(d)
        return sorted(out.items())

    def arrivals(self, rng: np.random.Generator, chunk: int = 1 << 20) -> Iterator[np.ndarray]:
        """Sorted arrival times (seconds), ``chunk`` at a time."""
        if self.timestamps is not None:
            for i in range(0, self.timestamps.size, chunk):
                yield self.timestamps[i : i + chunk]
            return
        cum = np.concatenate([[0.0], np.cumsum(self.rates * np.diff(self.edges))])
        total = cum[-1]
        u = 0.0
        while True:
            draws = u + np.cumsum(rng.exponential(1.0, chunk))
            u = float(draws[-1])
            draws = draws[draws < total]
            if draws.size:
                seg = np.searchsorted(cum, draws, side="right") - 1
                yield self.edges[seg] + (draws - cum[seg]) / self.rates[seg]
            if u >= total:
                return


def _check_rpm(rpm: float) -> None:
    if not MIN_RPM <= rpm <= MAX_RPM:
        raise TrafficError(
            f"traffic of {rpm:g} requests per minute is outside {MIN_RPM:g}-{MAX_RPM:,.0f} RPM"
        )


def make(
    shape: str,
    rpm: float,
    span_s: float,
    offpeak: float = 0.1,
    on_s: float = 300.0,
    off_s: float = 1500.0,
) -> Traffic:
    """A synthetic shape at an average of ``rpm`` over ``span_s`` seconds."""
    _check_rpm(rpm)
    mean = rpm / 60.0
    if shape == "poisson":
        return Traffic(shape, rpm, span_s, np.array([0.0, span_s]), np.array([mean]))
    if shape == "diurnal":
        if not 0 <= offpeak <= 1:
            raise TrafficError(f"--offpeak {offpeak} must be between 0 and 1")
        hours = np.arange(int(np.ceil(span_s / 3600)))
        weekday, hour = (hours // 24) % 7 < 5, hours % 24
        weight = np.where(weekday & (hour >= 9) & (hour < 17), 1.0, offpeak)
        edges = np.minimum(np.arange(hours.size + 1) * 3600.0, span_s)
        scale = mean * span_s / float(np.sum(weight * np.diff(edges)))
        return _drop_empty(Traffic(shape, rpm, span_s, edges, weight * scale))
    if shape == "bursty":
        if on_s <= 0 or off_s < 0:
            raise TrafficError(f"--burst-on-s {on_s} must be > 0 and --burst-off-s {off_s} >= 0")
        starts = np.arange(0.0, span_s, on_s + off_s)
        edges = np.minimum(np.stack([starts, starts + on_s]).T.ravel(), span_s)
        edges = np.append(edges, span_s)
        rates = np.tile([1.0, 0.0], starts.size)
        scale = mean * span_s / float(np.sum(rates * np.diff(edges)))
        return _drop_empty(Traffic(shape, rpm, span_s, edges, rates * scale))
    raise TrafficError(f"unknown traffic shape {shape!r}; use one of {', '.join(SHAPES)}")


def _drop_empty(t: Traffic) -> Traffic:
    """Merge away zero-length segments (the arrival mapping divides by the rate of each)."""
    d = np.diff(t.edges)
    keep = d > 0
    t.edges = np.append(t.edges[:-1][keep], t.edges[-1])
    t.rates = t.rates[keep]
    return t
