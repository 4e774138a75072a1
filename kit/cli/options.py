"""Option groups several commands share, and turning parsed flags into the library's options.

Defaults are read from the library's option dataclasses, so each is defined once.
Nothing here imports numpy, boto3 or matplotlib (``--help`` stays instant).
"""

from __future__ import annotations

import argparse
import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from audio_inference.settings import ARCHITECTURES

from kit.decide.cost.inputs import Primitives
from kit.decide.simulate.options import SimulateOptions, TrafficOptions
from kit.errors import KitError

TRAFFIC = TrafficOptions()
SIMULATE = SimulateOptions()
PRIMITIVES = Primitives()


def default(cls: Any, name: str) -> Any:
    """The default of one field of an options dataclass."""
    field = next(f for f in fields(cls) if f.name == name)
    return field.default


def numbers(flag: str, text: str) -> tuple[float, ...]:
    """Comma-separated finite numbers (``--rpm 10,100``); one line naming the flag if not."""
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise KitError(f"{flag} {text!r}: give numbers separated by commas, e.g. {flag} 10,100")
    try:
        values = tuple(float(p) for p in parts if p)
    except ValueError:
        raise KitError(f"{flag} {text!r}: give numbers separated by commas") from None
    if any(not math.isfinite(v) for v in values):
        raise KitError(f"{flag} {text!r}: every value must be a finite number")
    return values


def names(text: str | None) -> tuple[str, ...]:
    """Comma-separated names, blanks dropped."""
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def add_traffic(p: argparse.ArgumentParser, levels: tuple[float, ...] | None = None) -> None:
    """Traffic and platform options shared by simulate, cost and report."""
    levels = levels or TRAFFIC.levels_rpm
    text = ",".join(f"{x:g}" for x in levels)
    g = p.add_argument_group("traffic and platform")
    g.add_argument(
        "--shape",
        default=",".join(TRAFFIC.shapes),
        help="traffic shapes, comma-separated: poisson, diurnal, bursty (default poisson)",
    )
    g.add_argument("--rpm", default=text, help=f"average requests per minute (default {text})")
    g.add_argument(
        "--replay",
        help="replay a trace: CSV of timestamps, S3 server access log, or CloudWatch Logs "
        "Insights export (CSV or JSON with @timestamp); gzip is read too",
    )
    g.add_argument(
        "--offpeak",
        type=float,
        default=TRAFFIC.offpeak,
        help="diurnal: rate outside weekday business hours, as a share of the peak (default 0.1)",
    )
    g.add_argument(
        "--burst-on-s", type=float, default=TRAFFIC.burst_on_s, help="bursty: seconds on"
    )
    g.add_argument(
        "--burst-off-s", type=float, default=TRAFFIC.burst_off_s, help="bursty: seconds off"
    )
    g.add_argument(
        "--slo-p99-ms",
        type=float,
        default=SIMULATE.slo_p99_ms,
        help=f"latency target for the 99th percentile (default {SIMULATE.slo_p99_ms:g})",
    )
    g.add_argument("--platform", help="JSON file overriding entries of platform.json")
    g.add_argument(
        "--idle-lifetime-s",
        type=float,
        default=None,
        help="seconds an idle Lambda environment survives (default from platform.json: 600)",
    )
    g.add_argument(
        "--max-instances",
        type=int,
        default=SIMULATE.max_instances,
        help="let SageMaker autoscale up to this many instances (not T2; default 1 = as deployed)",
    )
    g.add_argument(
        "--managed-instances",
        default=SIMULATE.managed_instances,
        help="EC2 type for the Lambda Managed Instances row when the results have no measured "
        f"managed variant, or 'none' (default {SIMULATE.managed_instances})",
    )
    g.add_argument(
        "--gpu-ms",
        type=float,
        default=None,
        help="GPU time per request, to price GPU serverless offers (rows omitted without it)",
    )
    g.add_argument(
        "--ci-reps",
        type=int,
        default=SIMULATE.ci_reps,
        help="bootstrap resamples for the 90 %% intervals (default 10; 0 = none)",
    )
    g.add_argument(
        "--max-exact",
        type=int,
        default=SIMULATE.max_exact,
        help="simulate request by request up to this many requests per level; above it, "
        "a representative window scaled to the month (default 2,000,000)",
    )
    g.add_argument("--seed", type=int, default=SIMULATE.seed, help="random seed (default 7)")
    p.add_argument("--prices", help="JSON file overriding entries of pricing.json")


def simulate_options(args: argparse.Namespace) -> SimulateOptions:
    """The library's SimulateOptions from parsed traffic flags."""
    traffic = TrafficOptions(
        shapes=names(args.shape),
        levels_rpm=numbers("--rpm", args.rpm) if names(args.shape) else (),
        replay=Path(args.replay) if args.replay else None,
        offpeak=args.offpeak,
        burst_on_s=args.burst_on_s,
        burst_off_s=args.burst_off_s,
    )
    managed = getattr(args, "managed_instances", SIMULATE.managed_instances)
    return SimulateOptions(
        traffic=traffic,
        slo_p99_ms=args.slo_p99_ms,
        platform_file=Path(args.platform) if args.platform else None,
        prices_file=Path(args.prices) if getattr(args, "prices", None) else None,
        idle_lifetime_s=args.idle_lifetime_s,
        max_instances=args.max_instances,
        managed_instances=None if managed in (None, "", "none") else managed,
        gpu_ms=args.gpu_ms,
        ci_reps=args.ci_reps,
        max_exact=args.max_exact,
        seed=args.seed,
        variants=names(getattr(args, "variants", None)),
        snapstart_versions=getattr(args, "snapstart_versions", None),
        given_prices=tuple(getattr(args, "price", None) or ()),
    )


def add_primitives(group: argparse._ArgumentGroup) -> None:
    """Options that describe the variants by hand when there is no results file."""
    d = PRIMITIVES
    group.add_argument(
        "--memory-mb", type=int, default=d.memory_mb, help=f"Lambda memory (default {d.memory_mb})"
    )
    group.add_argument(
        "--billed-ms", type=float, default=d.billed_ms, help="billed ms per invocation (200)"
    )
    group.add_argument("--arch", default=d.architecture, choices=list(ARCHITECTURES))
    group.add_argument(
        "--cold-fraction",
        type=float,
        default=None,
        help="share of invocations that are cold starts (overrides the results file)",
    )
    group.add_argument(
        "--init-ms", type=float, default=d.init_ms, help="billed INIT per on-demand cold start"
    )
    group.add_argument(
        "--restore-ms",
        type=float,
        default=d.restore_ms,
        help="billed restore per SnapStart restore",
    )
    group.add_argument(
        "--snapstart-versions",
        type=int,
        default=None,
        help="active published SnapStart versions, each cached and billed (default: the results "
        "file's count, else 1; `kit prune` deletes unused ones)",
    )
    group.add_argument("--proxy-memory-mb", type=int, default=d.proxy_memory_mb)
    group.add_argument("--proxy-billed-ms", type=float, default=d.proxy_billed_ms)
    group.add_argument("--instance-type", default=d.instance_type)
    group.add_argument("--instance-count", type=int, default=d.instance_count)


def primitives(args: argparse.Namespace) -> Primitives:
    """The library's Primitives from parsed flags."""
    return Primitives(
        memory_mb=args.memory_mb,
        billed_ms=args.billed_ms,
        architecture=args.arch,
        cold_fraction=args.cold_fraction,
        init_ms=args.init_ms,
        restore_ms=args.restore_ms,
        snapstart_versions=args.snapstart_versions or 1,
        proxy_memory_mb=args.proxy_memory_mb,
        proxy_billed_ms=args.proxy_billed_ms,
        instance_type=args.instance_type,
        instance_count=args.instance_count,
    )


def add_demand(t: argparse._ArgumentGroup, averages: bool = True) -> None:
    """Traffic in the user's terms (``kit recommend``; ``kit report`` without the averages,
    whose --rpm and --replay are the simulation's)."""
    if averages:
        t.add_argument("--rpm", type=float, help="average requests per minute")
        t.add_argument("--replay", help="a trace: CSV of timestamps, S3 access log, Logs Insights")
        t.add_argument(
            "--offpeak", type=float, default=0.0, help="rate outside active hours, share of peak"
        )
    t.add_argument("--per-day", type=float, help="requests on each active day")
    t.add_argument("--per-month", type=float, help="requests a month")
    t.add_argument("--business-hours", help="active hours, e.g. 09-17 (local time, see --tz)")
    t.add_argument("--weekdays", action="store_true", help="traffic on Monday to Friday only")
    t.add_argument("--tz", default="UTC", help="time zone of --business-hours (default UTC)")
    t.add_argument("--peak-ratio", type=float, help="peak / average, for --rpm or --per-month")


def demand_from(args: argparse.Namespace, averages: bool = True) -> Any:
    """The Demand the traffic flags describe (None when none was given without averages)."""
    from kit.decide.demand import Demand, parse_hours

    rpm = getattr(args, "rpm", None) if averages else None
    replay = getattr(args, "replay", None) if averages else None
    if not averages and args.per_day is None and args.per_month is None:
        return None
    return Demand(
        rpm=rpm,
        per_day=args.per_day,
        per_month=args.per_month,
        replay=Path(replay) if replay else None,
        business_hours=parse_hours(args.business_hours) if args.business_hours else None,
        weekdays=args.weekdays,
        tz=args.tz,
        offpeak=getattr(args, "offpeak", 0.0) if averages else 0.0,
        peak_ratio=args.peak_ratio,
    )


def add_output(p: argparse.ArgumentParser, plot: bool = True) -> None:
    """--json and --plot."""
    p.add_argument("--json", help="write the figures as JSON here")
    if plot:
        p.add_argument("--plot", help="write the plot (PNG) here")


def console(width: int = 160) -> Any:
    """A rich console: the terminal's width, or ``width`` when output is not a terminal."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else width)


@contextlib.contextmanager
def progress_bar(con: Any) -> Iterator[Callable[[str, float, float], None]]:
    """A rich progress bar per label; yields ``progress(label, advance, total)``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=con,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(label: str, n: float, total: float) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"simulating {label}", total=total)
            bar.advance(tasks[label], n)

        yield progress
