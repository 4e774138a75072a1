"""``python -m benchmarks runtime|simulator``: the measurements ``make bench`` runs."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "runtime": (
        "benchmarks.runtime",
        "inference runtime overheads per model size -> build/bench.json",
    ),
    "simulator": ("benchmarks.simulator", "speed and memory of the traffic simulator"),
    "recommend": ("benchmarks.recommend", "wall time of kit recommend's whole search"),
}


def main(argv: list[str] | None = None) -> int:
    """Run one benchmark."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="BENCHMARK")
    for name, (module, summary) in COMMANDS.items():
        mod = importlib.import_module(module)
        q = sub.add_parser(
            name,
            help=summary,
            description=mod.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.configure(q)
        q.set_defaults(run=mod.main)
    args = p.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
