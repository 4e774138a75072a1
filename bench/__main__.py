"""``python -m bench COMMAND``: local proof of concept, benchmarks, cost model, report."""

from __future__ import annotations

import argparse
import sys

from audio_inference.settings import DEFAULT_LAMBDA_MEMORY_MB, DEFAULT_PROXY_MEMORY_MB


def _runtime(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "runtime",
        help="micro-benchmarks of the inference runtime -> build/bench.json",
        description=__import__("bench.runtime_bench", fromlist=["x"]).__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model-dir", default="build", help="folder with model.onnx, model.json, checkpoint.pt"
    )
    p.add_argument(
        "--repeats", type=int, default=5, help="fresh processes per cold-start figure (default 5)"
    )
    p.add_argument(
        "--iterations", type=int, default=200, help="calls per warm figure (default 200)"
    )
    p.add_argument(
        "--seconds", type=float, default=5.0, help="seconds per throughput figure (default 5)"
    )
    p.add_argument(
        "--out", default="build/bench.json", help="JSON output (default build/bench.json)"
    )
    p.set_defaults(run=lambda a: __import__("bench.runtime_bench", fromlist=["x"]).main(a))


def _local(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "local",
        help="the whole pipeline on an embedded AWS emulator (make demo)",
        description="Upload labelled WAVs to an emulated S3 and run every variant's real "
        "handler in local Lambda environments; print latency per variant and write "
        "results/local.json, PNG plots and the report.",
    )
    p.add_argument("--requests", type=int, default=40, help="uploads per variant (default 40)")
    p.add_argument(
        "--rpm", type=float, default=0.0, help="pace uploads at this rate; 0 = as fast as possible"
    )
    p.add_argument(
        "--concurrency", type=int, default=1, help="uploads in flight per variant (default 1)"
    )
    p.add_argument(
        "--cold-starts",
        type=int,
        default=3,
        help="idle gaps force this many cold starts per Lambda variant (default 3)",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=2.0,
        help="seconds before an idle environment is retired (default 2)",
    )
    p.add_argument(
        "--variants", default="standard,snapstart,sagemaker", help="comma-separated subset"
    )
    p.add_argument("--seed", type=int, default=7, help="sample order seed (default 7)")
    p.add_argument(
        "--model-dir", default="build", help="folder with model.onnx + model.json (default build)"
    )
    p.add_argument("--samples", default="build/samples", help="labelled WAVs with manifest.csv")
    p.add_argument("--out", default="results", help="output folder (default results)")
    faults = p.add_argument_group(
        "faults and bursts (every upload still ends as exactly one item or one failure-queue message)"
    )
    faults.add_argument(
        "--burst", type=int, default=0, help="upload this many objects per variant at once"
    )
    faults.add_argument(
        "--max-environments",
        type=int,
        default=10,
        help="local concurrency limit per function; beyond it invocations are throttled (default 10)",
    )
    faults.add_argument(
        "--crash-rate",
        type=float,
        default=0.0,
        help="share of invocations whose environment is killed",
    )
    faults.add_argument(
        "--s3-fault-rate",
        type=float,
        default=0.0,
        help="share of handler S3 requests answered 503 SlowDown",
    )
    faults.add_argument(
        "--dynamodb-fault-rate",
        type=float,
        default=0.0,
        help="share of handler DynamoDB requests answered ThrottlingException",
    )
    p.add_argument(
        "--stack-config",
        metavar="FILE",
        help="a Pulumi.<stack>.yaml whose settings (memory, architecture, instance type, "
        "timeout) the local run uses; default: Pulumi.yaml's defaults",
    )
    p.add_argument(
        "--no-report", dest="report", action="store_false", help="skip the Markdown/HTML report"
    )
    p.set_defaults(run=lambda a: __import__("bench.local", fromlist=["x"]).main(a))


def _cost(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cost",
        help="monthly cost per variant, crossovers and sensitivity",
        description=__import__("bench.cost", fromlist=["x"]).__doc__,
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
    src.add_argument(
        "--memory-mb",
        type=int,
        default=DEFAULT_LAMBDA_MEMORY_MB,
        help=f"Lambda memory (default {DEFAULT_LAMBDA_MEMORY_MB})",
    )
    src.add_argument(
        "--billed-ms", type=float, default=200.0, help="billed ms per invocation (default 200)"
    )
    src.add_argument("--arch", default="x86_64", choices=["x86_64", "arm64"])
    src.add_argument(
        "--cold-fraction",
        type=float,
        default=None,
        help="share of invocations that are cold starts (overrides the results file)",
    )
    src.add_argument(
        "--init-ms", type=float, default=0.0, help="billed INIT per on-demand cold start"
    )
    src.add_argument(
        "--restore-ms", type=float, default=0.0, help="billed restore per SnapStart restore"
    )
    src.add_argument(
        "--snapstart-versions",
        type=int,
        default=1,
        help="active published SnapStart versions, each cached and billed (default 1; "
        "`bench prune` deletes unused ones)",
    )
    src.add_argument("--proxy-memory-mb", type=int, default=DEFAULT_PROXY_MEMORY_MB)
    src.add_argument("--proxy-billed-ms", type=float, default=100.0)
    src.add_argument("--instance-type", default="ml.t2.medium")
    src.add_argument("--instance-count", type=int, default=1)
    p.add_argument(
        "--rpm", default="10,50,72,200,1000", help="traffic levels (requests per minute)"
    )
    p.add_argument("--hours-per-month", type=float, default=None, help="default 730")
    p.add_argument("--prices", help="JSON file overriding entries of bench/pricing.json")
    p.add_argument("--json", help="write the figures as JSON here")
    p.add_argument("--plot", help="write the cost plot (PNG) here")
    p.add_argument("--log", action="store_true", help="log scales on the plot")
    p.set_defaults(run=lambda a: __import__("bench.cost", fromlist=["x"]).main(a))


def _report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the Markdown + HTML decision report for a results file",
        description="Write report.md and report.html (self-contained) with the run's "
        "configuration, latency, cost, plots and a plain-language verdict.",
    )
    p.add_argument("results", help="results JSON (results/local.json or from bench aws)")
    p.add_argument("--out", default=None, help="output folder (default: beside the results file)")
    p.add_argument("--prices", help="JSON file overriding entries of bench/pricing.json")
    p.add_argument(
        "--cold-fraction",
        type=float,
        default=None,
        help="assume this share of cold starts instead of the measured one",
    )
    p.add_argument("--rpm", default="10,50,72,200,1000", help="traffic levels for the cost table")
    p.set_defaults(run=lambda a: __import__("bench.report", fromlist=["x"]).main(a))


def _aws_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", help="Pulumi stack name (runs `pulumi stack output --json`)")
    p.add_argument("--outputs", help="file with the JSON `pulumi stack output --json` prints")
    p.add_argument("--variants", default="", help="comma-separated subset (default: all deployed)")
    p.add_argument("--requests", type=int, default=30, help="uploads per variant (default 30)")
    p.add_argument(
        "--rpm", type=float, default=0.0, help="pace uploads; 0 = as fast as --concurrency allows"
    )
    p.add_argument("--concurrency", type=int, default=1, help="uploads sent together (default 1)")
    p.add_argument(
        "--cold-strategy",
        choices=["none", "burst", "reconfigure"],
        default="reconfigure",
        help="force cold starts: reconfigure (new config / SnapStart version), burst, or none",
    )
    p.add_argument(
        "--cold-starts", type=int, default=3, help="forced cold starts per variant (default 3)"
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--samples", default="build/samples", help="labelled WAVs with manifest.csv")
    p.add_argument("--wait-timeout", type=float, default=180.0, help="seconds to wait for items")
    p.add_argument(
        "--logs-timeout", type=float, default=120.0, help="seconds to wait for late REPORT lines"
    )
    p.add_argument("--out", default="results", help="output folder (default results)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _aws(sub: argparse._SubParsersAction) -> None:
    doc = __import__("bench.aws", fromlist=["x"]).__doc__
    p = sub.add_parser(
        "aws",
        help="benchmark a deployed stack (uploads real audio)",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _aws_options(p)
    p.set_defaults(run=lambda a: __import__("bench.aws", fromlist=["x"]).main(a))


def _tune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune",
        help="sweep Lambda memory on a deployed stack: cost and speed per size",
        description="Set each memory size on the standard and SnapStart functions, run the "
        "same workload, report median/p90/cold-start duration and cost per 1M per size, "
        "and restore the original size afterwards (also after a failure or Ctrl-C).",
    )
    _aws_options(p)
    p.add_argument(
        "--memory", default="512,1024,1769,3008,4096", help="sizes in MB (default 512,...,4096)"
    )
    p.set_defaults(run=lambda a: __import__("bench.aws", fromlist=["x"]).tune_main(a))


def _prune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prune",
        help="delete SnapStart versions nothing invokes (each one is billed while it exists)",
        description=__import__("bench.prune", fromlist=["x"]).__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--stack", help="Pulumi stack name (runs `pulumi stack output --json`)")
    p.add_argument("--outputs", help="file with the JSON `pulumi stack output --json` prints")
    p.add_argument(
        "--keep-previous",
        type=int,
        default=1,
        help="also keep this many versions older than the live one (default 1, for rollback)",
    )
    p.add_argument("--dry-run", action="store_true", help="show the plan, delete nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(run=lambda a: __import__("bench.prune", fromlist=["x"]).main(a))


def _preflight(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preflight",
        help="check a stack's settings against what AWS accepts, without the CLI or an account",
        description=__import__("bench.preflight", fromlist=["x"]).__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--stack-config",
        metavar="FILE",
        help="a Pulumi.<stack>.yaml to check (default: Pulumi.yaml's defaults)",
    )
    p.add_argument(
        "--stack", default="dev", help="stack name used for resource names (default dev)"
    )
    p.add_argument("--json", help="write the findings as JSON here")
    p.set_defaults(run=lambda a: __import__("bench.preflight", fromlist=["x"]).main(a))


COMMANDS = [_local, _cost, _report, _aws, _tune, _prune, _preflight, _runtime]


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
