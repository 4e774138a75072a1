"""``python -m bench cost``: monthly cost per variant, crossovers and sensitivity."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.render.plots import plot_cost
from bench.render.tables import cost_tables
from bench.simulate.command import add_traffic_args

from .inputs import add_primitive_args, manual_variants, parse_price, variants_from_results
from .model import CostInputError, CostModel, Pricing


def main(args: Any) -> int:
    """``python -m bench cost``."""
    from rich.console import Console

    from bench import results as results_mod

    console = Console(width=None if __import__("sys").stdout.isatty() else 160)
    try:
        rpm = tuple(float(x) for x in args.rpm.split(",") if x.strip())
        if any(r < 0 for r in rpm):
            raise CostInputError("--rpm values must be >= 0")
        pricing = Pricing.load(args.prices, args.hours_per_month)
        if args.price:
            variants = [parse_price(p) for p in args.price]
        elif args.results:
            variants = variants_from_results(
                results_mod.load(Path(args.results)),
                args.cold_fraction,
                args.snapstart_versions if args.snapstart_versions != 1 else None,
            )
        else:
            variants = manual_variants(args)
        model = CostModel(variants, pricing)
        report = model.report(rpm)
        if args.results and args.cold_fraction is None and args.simulate:
            # measured samples: the cold-start share comes from simulated traffic, not the run
            from bench.simulate.command import main as simulate_main

            console.print(
                "Simulating traffic from the measured samples (`--no-simulate` for the steady "
                "model with the run's own cold-start share):"
            )
            return simulate_main(args)
    except (CostInputError, results_mod.ResultsError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    for table in cost_tables(report):
        console.print(table)
    if args.json:
        console.print(f"wrote {results_mod.write_json(report, args.json)}")
    if args.plot:
        console.print(f"wrote {plot_cost(report, Path(args.plot), log=args.log)}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Declare this command and its options (``python -m bench`` wires it in)."""
    p = sub.add_parser(
        "cost",
        help="monthly cost per variant, crossovers and sensitivity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("inputs (one of: --results, --price, or the primitives below)")
    src.add_argument("--results", help="a results JSON from `bench local` or `bench aws`")
    src.add_argument(
        "--price",
        action="append",
        metavar="NAME=PER_1M:FIXED",
        help="a variant by its price per 1M requests and fixed monthly cost (repeatable)",
    )
    add_primitive_args(src)
    add_traffic_args(p, "10,50,72,200,1000")
    p.add_argument(
        "--no-simulate",
        dest="simulate",
        action="store_false",
        help="with --results: price the run's own cold-start share at steady traffic instead of "
        "simulating traffic",
    )
    p.add_argument("--hours-per-month", type=float, default=None, help="default 730")
    p.add_argument("--prices", help="JSON file overriding entries of bench/cost/pricing.json")
    p.add_argument("--json", help="write the figures as JSON here")
    p.add_argument("--plot", help="write the cost plot (PNG) here")
    p.add_argument("--log", action="store_true", help="log scales on the plot")
    p.set_defaults(run=main)
