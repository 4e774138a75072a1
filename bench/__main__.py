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


def _local(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("local", help="the whole pipeline on an embedded AWS emulator (make demo)",
                       description="Upload labelled WAVs to an emulated S3 and run every variant's real "
                       "handler in local Lambda environments; print latency per variant and write "
                       "results/local.json, PNG plots and the report.")
    p.add_argument("--requests", type=int, default=40, help="uploads per variant (default 40)")
    p.add_argument("--rpm", type=float, default=0.0, help="pace uploads at this rate; 0 = as fast as possible")
    p.add_argument("--concurrency", type=int, default=1, help="uploads in flight per variant (default 1)")
    p.add_argument("--cold-starts", type=int, default=3,
                   help="idle gaps force this many cold starts per Lambda variant (default 3)")
    p.add_argument("--idle-timeout", type=float, default=2.0,
                   help="seconds before an idle environment is retired (default 2)")
    p.add_argument("--variants", default="standard,snapstart,sagemaker", help="comma-separated subset")
    p.add_argument("--seed", type=int, default=7, help="sample order seed (default 7)")
    p.add_argument("--model-dir", default="build", help="folder with model.onnx + model.json (default build)")
    p.add_argument("--samples", default="build/samples", help="labelled WAVs with manifest.csv")
    p.add_argument("--out", default="results", help="output folder (default results)")
    p.add_argument("--no-report", dest="report", action="store_false", help="skip the Markdown/HTML report")
    p.set_defaults(run=lambda a: __import__("bench.local", fromlist=["x"]).main(a))


COMMANDS = [_local, _runtime]


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
