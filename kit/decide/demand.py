"""Traffic in the user's terms ("5,000 a day, weekdays 09-17 Berlin"), as a simulated month.

A ``Demand`` is what the user said; ``traffic(scale)`` is that demand (or ``scale`` times
it) as the simulator's piecewise-constant rate over a month of ``hours_per_month``; its
``restated()`` line says back what was understood, with the average and peak rates, so a
misread flag is visible before anything is decided.

The month starts on a Monday at 00:00 in the given time zone (fixed UTC offset on
2026-01-05: daylight saving time is not modelled, which moves business hours by one
hour for part of the year).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from kit.errors import KitError

from .simulate.options import MAX_RPM, MIN_RPM
from .simulate.replay import load_trace
from .simulate.traffic import Traffic

WEEK_S = 7 * 86400.0


class DemandError(KitError):
    """Traffic given in a way that cannot be used; the message names the flag."""


def parse_hours(text: str) -> tuple[int, int]:
    """``"09-17"`` -> (9, 17): active from 09:00 until 17:00 local time."""
    try:
        start, end = (int(part) for part in text.split("-"))
    except ValueError:
        raise DemandError(
            f"--business-hours {text!r}: give START-END in whole hours, e.g. 09-17"
        ) from None
    if not 0 <= start < end <= 24:
        raise DemandError(f"--business-hours {text!r}: use 0 <= START < END <= 24, e.g. 09-17")
    return start, end


def utc_offset_hours(tz: str) -> float:
    """The zone's UTC offset in hours (on 2026-01-05, so daylight saving time is not applied)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DemandError(
            f"--tz {tz!r} is not a time zone: use an IANA name such as UTC or Europe/Berlin"
        ) from None
    offset = datetime(2026, 1, 5, 12, tzinfo=zone).utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


@dataclass(frozen=True, kw_only=True)
class Demand:
    """How much traffic, and when (one of rpm, per_day, per_month or replay)."""

    rpm: float | None = None
    """average requests per minute over the whole week"""
    per_day: float | None = None
    """requests on each active day (each weekday with ``weekdays``)"""
    per_month: float | None = None
    business_hours: tuple[int, int] | None = None
    """active hours (local time); traffic outside them is ``offpeak`` of the peak rate"""
    weekdays: bool = False
    """traffic on Monday to Friday only (weekends at ``offpeak``)"""
    tz: str = "UTC"
    offpeak: float = 0.0
    """the rate outside the active hours, as a share of the peak rate"""
    peak_ratio: float | None = None
    """peak rate / average rate, for traffic given as an average (business hours 09-17
    weekdays unless given otherwise): the off-peak rate follows from it"""
    replay: Path | None = None

    def __post_init__(self) -> None:
        given = [n for n in ("rpm", "per_day", "per_month", "replay") if getattr(self, n)]
        if len(given) != 1:
            raise DemandError(
                "give the traffic once: --rpm, --per-day, --per-month or --replay "
                f"(got {', '.join('--' + g.replace('_', '-') for g in given) or 'none'})"
            )
        for name in ("rpm", "per_day", "per_month"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise DemandError(f"--{name.replace('_', '-')} {value!r}: give a positive number")
        if not (math.isfinite(self.offpeak) and 0 <= self.offpeak <= 1):
            raise DemandError(f"--offpeak {self.offpeak!r}: use a share between 0 and 1")
        if self.peak_ratio is not None:
            if self.per_day is not None:
                raise DemandError(
                    "--peak-ratio goes with --rpm or --per-month (an average); with --per-day "
                    "the active hours set the peak"
                )
            if not (math.isfinite(self.peak_ratio) and self.peak_ratio >= 1):
                raise DemandError(f"--peak-ratio {self.peak_ratio!r}: use a ratio of at least 1")
            limit = 1 / self._active_share()
            if self.peak_ratio > limit + 1e-9:
                raise DemandError(
                    f"--peak-ratio {self.peak_ratio:g} is impossible: with all traffic in the "
                    f"active hours the peak is {limit:.2f} x the average"
                )
        utc_offset_hours(self.tz)  # refuse an unknown zone now

    # -- the weekly profile -------------------------------------------------------------
    @property
    def shaped(self) -> bool:
        """Whether the rate varies over the week."""
        return bool(self.business_hours or self.weekdays or self.peak_ratio is not None)

    def _active_hours(self) -> np.ndarray:
        """One flag per hour of the week (Monday 00:00 local first): traffic at the peak rate."""
        hours = np.arange(168)
        active = np.ones(168, dtype=bool)
        hours_given = self.business_hours or ((9, 17) if self.peak_ratio else None)
        if hours_given:
            start, end = hours_given
            active &= (hours % 24 >= start) & (hours % 24 < end)
        if self.weekdays or (self.peak_ratio and not self.business_hours):
            active &= hours // 24 < 5
        return active

    def _active_share(self) -> float:
        return float(self._active_hours().mean())

    def _weights(self) -> np.ndarray:
        """Relative rate per hour of the week, in UTC hours (peak = 1)."""
        active = self._active_hours()
        share = float(active.mean())
        offpeak = self.offpeak
        if self.peak_ratio is not None and share < 1:
            # average = share * peak + (1 - share) * off  ->  off / peak from the ratio
            offpeak = max(0.0, (1 / self.peak_ratio - share) / (1 - share))
        weights = np.where(active, 1.0, offpeak)
        return np.roll(weights, -int(round(utc_offset_hours(self.tz))))

    def average_rpm(self) -> float:
        """Requests per minute averaged over the week (what the cost scales with)."""
        if self.rpm is not None:
            return self.rpm
        if self.per_month is not None:
            return self.per_month / (30.4167 * 1440)
        if self.per_day is not None:
            weights = self._weights()
            days = 5 if self.weekdays else 7
            # per_day counts the requests of an active day; the week holds days of them, plus
            # the off-peak share spread over the rest
            active = self._active_hours()
            per_active_hour = self.per_day * days / max(float(active.sum()), 1.0)
            week = per_active_hour * float(weights.sum())
            return week / (WEEK_S / 60)
        raise DemandError("a replayed trace has no fixed rate; see its restated line")

    def peak_rpm(self) -> float:
        """The busiest hour's rate."""
        weights = self._weights()
        return self.average_rpm() * float(weights.max() / weights.mean())

    # -- as simulated traffic -----------------------------------------------------------
    def traffic(self, span_s: float, scale: float = 1.0, seed: int = 7) -> Traffic:
        """``scale`` times this demand over ``span_s`` seconds, as the simulator's Traffic."""
        if self.replay is not None:
            return scaled_trace(
                load_trace(self.replay, np.random.default_rng(seed)),
                scale,
                np.random.default_rng(seed),
            )
        rpm = self.average_rpm() * scale
        if not MIN_RPM <= rpm <= MAX_RPM:
            raise DemandError(
                f"{rpm:,.4g} requests per minute is outside what the simulator takes "
                f"({MIN_RPM:g} to {MAX_RPM:,.0f} RPM)"
            )
        if not self.shaped:
            return Traffic("poisson", rpm, span_s, np.array([0.0, span_s]), np.array([rpm / 60]))
        weights = self._weights()
        n_hours = int(math.ceil(span_s / 3600))
        hourly = np.resize(weights, n_hours)
        edges = np.minimum(np.arange(n_hours + 1) * 3600.0, span_s)
        rate = rpm / 60 * span_s / float(np.sum(hourly * np.diff(edges)))
        rates = hourly * rate
        keep = np.diff(edges) > 0
        # merge equal neighbours: fewer segments, the same process
        e: list[float] = [float(edges[0])]
        r: list[float] = []
        for lo_rate, hi_edge, ok in zip(rates, edges[1:], keep, strict=True):
            if not ok:
                continue
            if r and r[-1] == lo_rate:
                e[-1] = hi_edge
            else:
                r.append(float(lo_rate))
                e.append(hi_edge)
        return Traffic("weekly", rpm, span_s, np.array(e), np.array(r), period=WEEK_S)

    def restated(self) -> str:
        """What was understood, in one line: '5,000 requests a day, weekdays 09-17 UTC = ...'."""
        if self.replay is not None:
            trace = load_trace(self.replay, np.random.default_rng(0))
            return f"the replayed trace {trace.source} = {trace.rpm:,.3g} RPM average"
        if self.rpm is not None:
            what = f"{self.rpm:,.4g} requests a minute on average"
        elif self.per_month is not None:
            what = f"{self.per_month:,.0f} requests a month"
        else:
            what = f"{self.per_day:,.0f} requests a day"
        when = []
        if self.weekdays or (self.peak_ratio and not self.business_hours):
            when.append("weekdays")
        hours = self.business_hours or ((9, 17) if self.peak_ratio else None)
        if hours:
            when.append(f"{hours[0]:02d}-{hours[1]:02d} {self.tz}")
        if when:
            what += ", " + " ".join(when)
        if self.shaped and (self.offpeak or self.peak_ratio):
            off = self._weights().min()
            what += f" (off-peak at {off:.0%} of the peak rate)"
        line = f"{what} = {self.average_rpm():,.3g} RPM average"
        if self.shaped:
            line += f", {self.peak_rpm():,.3g} RPM at peak"
        return line


def scaled_trace(trace: Traffic, scale: float, rng: np.random.Generator) -> Traffic:
    """A trace ``scale`` times as busy with the same timing pattern: whole copies, each
    jittered by up to a second, plus a random thinning for the fraction (scale < 1 thins)."""
    assert trace.timestamps is not None
    if scale == 1.0:
        return trace
    base = trace.timestamps
    copies = [base + rng.uniform(-1.0, 1.0, base.size) for _ in range(int(scale))]
    fraction = scale - int(scale)
    if fraction:
        copies.append(base[rng.random(base.size) < fraction])
    stamps = np.sort(np.clip(np.concatenate(copies), 0.0, trace.span_s))
    rpm = stamps.size / trace.span_s * 60
    if not MIN_RPM <= rpm <= MAX_RPM:
        raise DemandError(
            f"the trace scaled x{scale:g} is {rpm:,.4g} RPM, outside the simulator's range"
        )
    return Traffic(
        "replay",
        rpm,
        trace.span_s,
        trace.edges,
        np.array([stamps.size / trace.span_s]),
        timestamps=stamps,
        source=f"{trace.source}, x{scale:g}",
    )
