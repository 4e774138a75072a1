"""``python -m bench COMMAND``: local proof of concept, benchmarks, cost model, report."""

from __future__ import annotations

import argparse
import sys


def _runtime(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runtime", help="micro-benchmarks of the inference runtime -> build/bench.json",
                       description=__import__("bench.runtime_bench", fromlist=["x"]).__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", default="build", help="folder with model.onnx, model.json, checkpoint.pt")
    p.add_argument("--repeats", type=int, default=5, help="fresh processes per cold-start figure (default 5)")
    p.add_argument("--iterations", type=int, default=200, help="calls per warm figure (default 200)")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput figure (default 5)")
    p.add_argument("--out", default="build/bench.json", help="JSON output (default build/bench.json)")
    p.set_defaults(run=lambda a: __import__("bench.runtime_bench", fromlist=["x"]).main(a))


COMMANDS = [_runtime]


def parser() -> argparse.ArgumentParser:
    """The CLI (every command has --help)."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = p.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse and run; user errors exit 2 with one line."""
    args = parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
