"""Cost and tail latency per variant under traffic shapes, from measured service times.

Measured samples (a results file of `kit local` or `kit aws`, or values given by
hand) are run through a model of each platform at every traffic level and shape:
Lambda environments that start cold and retire when idle, SageMaker workers
behind a queue (with t2 CPU credits), serverless concurrency limits. The answer
per level: the cheapest variant whose p99 meets the target.

Examples:
  python -m kit simulate --results results/local.json
  python -m kit simulate --results results/local.json --shape poisson,diurnal --slo-p99-ms 300
  python -m kit simulate --results results/aws.json --replay access.log --json sim.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kit.cli import options


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    src = p.add_argument_group("inputs (--results, or the primitives below)")
    src.add_argument("--results", help="a results JSON from `kit local` or `kit aws`")
    src.add_argument("--variants", help="only these variants, comma-separated")
    src.add_argument(
        "--price",
        action="append",
        metavar="NAME=PER_1M:FIXED",
        help="add a variant by its price alone (no latency), repeatable",
    )
    options.add_primitives(src)
    options.add_traffic(p)
    options.add_output(p)


def run(args: argparse.Namespace) -> int:
    """Simulate with a progress bar, print the tables, write JSON and plot."""
    from kit import results
    from kit.decide.simulate.study import run_study
    from kit.render.simulation import plot_simulation, print_simulation

    opts = options.simulate_options(args)
    doc = results.load(args.results) if args.results else None
    console = options.console(200)
    with options.progress_bar(console) as progress:
        sim = run_study(opts, doc, options.primitives(args), progress)
    print_simulation(console, sim, opts.max_exact)
    if args.json:
        console.print(f"wrote {results.write_json(sim, args.json)}")
    if args.plot:
        console.print(f"wrote {plot_simulation(sim, Path(args.plot))}")
    return 0
