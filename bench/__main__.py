"""``python -m bench COMMAND``: local proof of concept, benchmarks, cost model, report.

Each command declares its own options beside its job (``add_parser``); this
module only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = (
    "bench.local.command",
    "bench.cost.command",
    "bench.simulate.command",
    "bench.simulate.scale",
    "bench.report",
    "bench.preflight",
    "bench.aws.command",
    "bench.aws.tune",
    "bench.prune",
    "bench.runtime_bench",
)


def parser() -> argparse.ArgumentParser:
    """The CLI (every command has --help)."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse and run; user errors exit 2 with one line."""
    args = parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
