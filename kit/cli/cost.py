"""Monthly cost per variant at steady traffic, where the lines cross, and sensitivity.

From a results file (simulated traffic by default, `--no-simulate` for the
steady model with the run's own cold-start share), from primitives given by
hand, or from prices alone: `--price standard=13.80:0 --price sagemaker=0.81:40.88`
reproduces the seed article's table (crossover about 72 RPM).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kit.cli import options

LEVELS = (10.0, 50.0, 72.0, 200.0, 1000.0)


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    src = p.add_argument_group("inputs (one of: --results, --price, or the primitives below)")
    src.add_argument("--results", help="a results JSON from `kit local` or `kit aws`")
    src.add_argument(
        "--price",
        action="append",
        metavar="NAME=PER_1M:FIXED",
        help="a variant by its price per 1M requests and fixed monthly cost (repeatable)",
    )
    options.add_primitives(src)
    options.add_traffic(p, LEVELS)
    p.add_argument(
        "--no-simulate",
        dest="simulate",
        action="store_false",
        help="with --results: price the run's own cold-start share at steady traffic instead of "
        "simulating traffic",
    )
    p.add_argument("--hours-per-month", type=float, default=None, help="default 730")
    options.add_output(p)
    p.add_argument("--log", action="store_true", help="log scales on the plot")


def run(args: argparse.Namespace) -> int:
    """Price, print the tables, write JSON and plot."""
    from kit import results
    from kit.decide.cost import CostModel, Pricing, variants_from_results
    from kit.decide.cost.inputs import parse_price
    from kit.render.plots import plot_cost
    from kit.render.tables import cost_tables

    console = options.console()
    opts = options.simulate_options(args)
    doc = results.load(args.results) if args.results else None
    if doc is not None and args.cold_fraction is None and args.simulate and not args.price:
        # measured samples: the cold-start share comes from simulated traffic, not the run
        from kit.decide.simulate.study import run_study
        from kit.render.simulation import plot_simulation, print_simulation

        console.print(
            "Simulating traffic from the measured samples (`--no-simulate` for the steady "
            "model with the run's own cold-start share):"
        )
        with options.progress_bar(console) as progress:
            sim = run_study(opts, doc, options.primitives(args), progress)
        print_simulation(console, sim, opts.max_exact)
        if args.json:
            console.print(f"wrote {results.write_json(sim, args.json)}")
        if args.plot:
            console.print(f"wrote {plot_simulation(sim, Path(args.plot))}")
        return 0
    pricing = Pricing.load(opts.prices_file, args.hours_per_month)
    if args.price:
        variants = [parse_price(p) for p in args.price]
    elif doc is not None:
        variants = variants_from_results(doc, args.cold_fraction, args.snapstart_versions)
    else:
        variants = options.primitives(args).variants()
    report = CostModel(variants, pricing).report(opts.traffic.levels_rpm)
    for table in cost_tables(report):
        console.print(table)
    if args.json:
        console.print(f"wrote {results.write_json(report, args.json)}")
    if args.plot:
        console.print(f"wrote {plot_cost(report, Path(args.plot), log=args.log)}")
    return 0
