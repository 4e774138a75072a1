"""Write report.md and report.html (self-contained) for a results file: the run's
configuration, latency, simulated cost and tail latency by traffic, plots and a
plain-language verdict."""

from __future__ import annotations

import argparse
from pathlib import Path

from kit.cli import options


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    p.add_argument("results", help="results JSON (results/local.json, or results/aws.json)")
    p.add_argument("--out", default=None, help="output folder (default: beside the results file)")
    p.add_argument(
        "--cold-fraction",
        type=float,
        default=None,
        help="price the warm cost table with this share of cold starts (the simulation "
        "derives its own from the traffic)",
    )
    options.add_traffic(p)
    options.add_demand(
        p.add_argument_group(
            "your traffic, for the recommendation (default: 4,000 a day, weekdays 09-17)"
        ),
        averages=False,
    )


def run(args: argparse.Namespace) -> int:
    """Simulate, write the report, say where."""
    from kit import results
    from kit.decide.recommend.space import Target
    from kit.decide.report import write_report

    doc = results.load(args.results)
    opts = options.simulate_options(args)
    out = Path(args.out) if args.out else Path(args.results).parent
    console = options.console()
    md, html = write_report(
        doc,
        out,
        opts.prices_file,
        args.cold_fraction,
        traffic=opts,
        console=console,
        demand=options.demand_from(args, averages=False),
        target=Target(p99_ms=opts.slo_p99_ms),
    )
    console.print(f"wrote {md} and {html}")
    return 0
