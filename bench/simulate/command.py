"""``python -m bench simulate``: cost and tail latency per variant under traffic shapes.

Measured service times (a results file of ``bench local`` or ``bench aws``, or
values given by hand) are run through a model of each platform at every traffic
level and shape: Lambda environments that start cold and retire when idle,
SageMaker workers behind a queue (with t2 CPU credits), serverless concurrency
limits. The answer per level: the cheapest variant whose p99 meets the target.

Examples:
  python -m bench simulate --results results/local.json
  python -m bench simulate --results results/local.json --shape poisson,diurnal --slo-p99-ms 300
  python -m bench simulate --results results/aws.json --replay access.log --json sim.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.cost.inputs import add_primitive_args, manual_variants, parse_price
from bench.cost.model import CostInputError, Pricing

from .engine import Options
from .platform import Platform, PlatformError
from .service import Service, ServiceError, from_costs, from_results, managed_instances
from .sweep import DEFAULT_LEVELS, DEFAULT_SLO_MS, sweep
from .traffic import SHAPES, Traffic, TrafficError, load_trace, make


def build_services(
    args: Any, doc: dict | None, pricing: Pricing, platform: Platform
) -> list[Service]:
    """The variants to simulate, plus Lambda Managed Instances unless turned off."""
    if doc is not None:
        services = from_results(doc, getattr(args, "snapstart_versions", None))
    else:
        services = from_costs(manual_variants(args))
    wanted = [v for v in (getattr(args, "variants", None) or "").split(",") if v]
    if wanted:
        unknown = set(wanted) - {s.name for s in services}
        if unknown:
            raise ServiceError(
                f"--variants: {', '.join(sorted(unknown))} not in the results "
                f"({', '.join(s.name for s in services)})"
            )
        services = [s for s in services if s.name in wanted]
    mi = getattr(args, "managed_instances", platform["managed_instances_instance"])
    base = next((s for s in services if s.cost.kind == "lambda"), None)
    if mi and mi != "none" and base is not None:
        pricing.ec2_hour(mi)
        services.append(managed_instances(base, mi, int(platform["managed_instances_count"])))
    return services


def build_traffic(args: Any, span_s: float) -> list[Traffic]:
    """Every (shape, level) to simulate; a replay is one level of its own."""
    import numpy as np

    shapes = [s.strip() for s in args.shape.split(",") if s.strip()]
    for s in shapes:
        if s not in SHAPES or s == "replay":
            raise TrafficError(
                f"--shape {s!r}: use {', '.join(x for x in SHAPES if x != 'replay')} "
                "(a trace is given with --replay FILE)"
            )
    try:
        levels = [float(x) for x in str(args.rpm).split(",") if x.strip()]
    except ValueError:
        raise TrafficError(f"--rpm {args.rpm!r}: give numbers separated by commas") from None
    out = [
        make(s, r, span_s, args.offpeak, args.burst_on_s, args.burst_off_s)
        for s in shapes
        for r in levels
    ]
    if args.replay:
        out.append(load_trace(Path(args.replay), np.random.default_rng(args.seed)))
    return out


def run(args: Any, doc: dict | None, console: Any) -> dict:
    """Simulate with a progress bar; return the sweep document."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    pricing = Pricing.load(args.prices)
    platform = Platform.load(
        args.platform,
        lambda_idle_lifetime_s=args.idle_lifetime_s,
        serverless_max_concurrency=getattr(args, "serverless_max_concurrency", None),
    )
    services = build_services(args, doc, pricing, platform)
    given = [parse_price(p) for p in (getattr(args, "price", None) or [])]
    shapes = build_traffic(args, pricing.seconds_per_month)
    opts = Options(
        max_exact=args.max_exact, seed=args.seed, max_instances=args.max_instances, pricing=pricing
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(label: str, n: float, total: float) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"simulating {label}", total=total)
            bar.advance(tasks[label], n)

        return sweep(
            services,
            shapes,
            platform,
            opts,
            pricing,
            slo_ms=args.slo_p99_ms,
            ci_reps=args.ci_reps,
            gpu_ms=args.gpu_ms,
            given=given,
            progress=progress,
        )


def main(args: Any) -> int:
    """``python -m bench simulate``."""
    from rich.console import Console

    from bench import results as results_mod
    from bench.render.simulation import crossover_lines, plot_simulation, simulation_tables

    console = Console(width=None if sys.stdout.isatty() else 200)
    try:
        doc = results_mod.load(Path(args.results)) if args.results else None
        sim = run(args, doc, console)
    except (
        CostInputError,
        PlatformError,
        ServiceError,
        TrafficError,
        results_mod.ResultsError,
    ) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    for table in simulation_tables(sim):
        console.print(table)
    for line in crossover_lines(sim):
        console.print(f"crossover: {line}")
    for shape in sim["shapes"]:
        for level in shape["levels"]:
            if level.get("trace_cost"):
                console.print(
                    f"{level['label']}: this traffic would have cost "
                    + ", ".join(f"{n} ${c:,.2f}" for n, c in level["trace_cost"].items())
                    + f" over its {level['span_s'] / 86400:,.2f} days"
                )
        for line in shape["recommendation"]:
            console.print(f"• {line.replace('**', '')}")
    unverified = [p["name"] for p in sim["platform"] if p["verified"] is not True]
    console.print(
        "Assumed (unverified, see bench/simulate/platform.json; override with --platform): "
        + ", ".join(unverified)
    )
    if any(level["aggregate"] for s in sim["shapes"] for level in s["levels"]):
        console.print(
            f"Aggregate mode: levels above {args.max_exact:,} requests a month were simulated "
            "on a representative window and scaled (see `--max-exact`)."
        )
    if args.json:
        console.print(f"wrote {results_mod.write_json(sim, args.json)}")
    if args.plot:
        console.print(f"wrote {plot_simulation(sim, Path(args.plot))}")
    return 0


def add_traffic_args(p: argparse.ArgumentParser, levels: str) -> None:
    """Traffic and platform options shared by simulate, cost and report."""
    g = p.add_argument_group("traffic and platform")
    g.add_argument(
        "--shape",
        default="poisson",
        help="traffic shapes, comma-separated: poisson, diurnal, bursty (default poisson)",
    )
    g.add_argument(
        "--rpm", default=levels, help=f"average requests per minute, 0.01-100000 (default {levels})"
    )
    g.add_argument(
        "--replay",
        help="replay a trace: CSV of timestamps, S3 server access log, or CloudWatch Logs "
        "Insights export (CSV or JSON with @timestamp)",
    )
    g.add_argument(
        "--offpeak",
        type=float,
        default=0.1,
        help="diurnal: rate outside weekday business hours, as a share of the peak (default 0.1)",
    )
    g.add_argument(
        "--burst-on-s", type=float, default=300.0, help="bursty: seconds on (default 300)"
    )
    g.add_argument(
        "--burst-off-s", type=float, default=1500.0, help="bursty: seconds off (default 1500)"
    )
    g.add_argument(
        "--slo-p99-ms",
        type=float,
        default=DEFAULT_SLO_MS,
        help=f"latency target for the 99th percentile (default {DEFAULT_SLO_MS:g})",
    )
    g.add_argument(
        "--platform", help="JSON file overriding entries of bench/simulate/platform.json"
    )
    g.add_argument(
        "--idle-lifetime-s",
        type=float,
        default=None,
        help="seconds an idle Lambda environment survives (default from platform.json: 600)",
    )
    g.add_argument(
        "--max-instances",
        type=int,
        default=1,
        help="let SageMaker autoscale up to this many instances (not T2; default 1 = as deployed)",
    )
    g.add_argument(
        "--managed-instances",
        default="c7g.large",
        help="EC2 type for the Lambda Managed Instances row, or 'none' (default c7g.large)",
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
        default=10,
        help="bootstrap resamples for the 90 %% intervals (default 10; 0 = none)",
    )
    g.add_argument(
        "--max-exact",
        type=int,
        default=2_000_000,
        help="simulate request by request up to this many requests per level; above it, "
        "a representative window scaled to the month (default 2,000,000)",
    )
    g.add_argument("--seed", type=int, default=7, help="random seed (default 7)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Declare this command and its options (``python -m bench`` wires it in)."""
    p = sub.add_parser(
        "simulate",
        help="cost and p50/p95/p99 latency per variant by traffic level and shape",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("inputs (--results, or the primitives below)")
    src.add_argument("--results", help="a results JSON from `bench local` or `bench aws`")
    src.add_argument("--variants", help="only these variants, comma-separated")
    src.add_argument(
        "--price",
        action="append",
        metavar="NAME=PER_1M:FIXED",
        help="add a variant by its price alone (no latency), repeatable",
    )
    add_primitive_args(src)
    add_traffic_args(p, ",".join(f"{x:g}" for x in DEFAULT_LEVELS))
    p.add_argument("--prices", help="JSON file overriding entries of bench/cost/pricing.json")
    p.add_argument("--json", help="write the figures as JSON here")
    p.add_argument("--plot", help="write the cost-versus-traffic plot (PNG) here")
    p.set_defaults(run=main)
