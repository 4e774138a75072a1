"""``python -m bench aws``: benchmark a deployed stack; ``python -m bench tune``: sweep Lambda memory.

Uploads labelled samples under each variant's prefix, waits for the prediction
items, reads the functions' REPORT lines from CloudWatch Logs and joins them
to the items through the request id the handler stores. The results file has
the same schema as ``bench local`` (target "aws"), so ``bench cost`` and
``bench report`` work on it unchanged.

Exit codes: 0 done, 1 finished with lost or failed items, 2 bad input or stack
outputs, 3 declined at the confirmation prompt, 130 interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from audio_inference.settings import HTTP

from bench import results
from bench.render.plots import plot_latency
from bench.render.tables import latency_table

from .outputs import EXIT_CHECKS, EXIT_INTERRUPTED, EXIT_OK, BenchError, check_outputs, load_outputs
from .run import AwsRun, Workload, confirm


def _workload(args: Any, variants: list[str]) -> Workload:
    if args.requests < 1 or args.concurrency < 1 or args.rpm < 0:
        raise BenchError("--requests and --concurrency must be >= 1 and --rpm >= 0")
    samples = Path(args.samples)
    if not (samples / "manifest.csv").exists():
        raise BenchError(
            f"{samples}/manifest.csv is missing: run `make samples` "
            "(python -m model_build samples) first"
        )
    return Workload(
        requests=args.requests,
        rpm=args.rpm,
        concurrency=args.concurrency,
        cold_strategy=args.cold_strategy,
        cold_starts=args.cold_starts,
        seed=args.seed,
        samples_dir=samples,
        wait_timeout_s=args.wait_timeout,
        logs_timeout_s=args.logs_timeout,
        variants=variants,
    )


def _console() -> Any:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 150)


def main(args: Any) -> int:
    """``python -m bench aws``."""

    from rich.progress import Progress

    console = _console()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        outputs = load_outputs(args.stack, args.outputs)
        variants = [
            v
            for v in check_outputs(outputs, args.variants.split(",") if args.variants else None)
            if args.entry == "all" or (v == HTTP) == (args.entry == "http")
        ]
        work = _workload(args, variants)
        confirm(console, outputs, work, args.yes)
        with Progress(console=console) as progress:
            doc = AwsRun(outputs, work).run(progress)
    except BenchError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return exc.code
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; cold-start changes were undone[/yellow]")
        return EXIT_INTERRUPTED
    out_dir = Path(args.out)
    path = out_dir / "aws.json"
    results.write(doc, path)
    plot_latency(doc, out_dir)
    console.print(latency_table(doc))
    missing = sum(1 for r in doc["invocations"] if r["status"] != "lost" and not r["report_found"])
    console.print(
        f"lost items: {doc['checks']['lost']}; REPORT lines not found: {missing}; wrote {path}"
    )
    console.print(f"next: python -m bench report {path}")
    return EXIT_OK if doc["checks"]["lost"] == 0 else EXIT_CHECKS


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Declare this command and its options (``python -m bench`` wires it in)."""
    p = sub.add_parser(
        "aws",
        help="benchmark a deployed stack (uploads real audio)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_aws_options(p)
    p.set_defaults(run=main)


def add_aws_options(p: argparse.ArgumentParser) -> None:
    """Options ``bench aws`` and ``bench tune`` share."""
    p.add_argument("--stack", help="Pulumi stack name (runs `pulumi stack output --json`)")
    p.add_argument("--outputs", help="file with the JSON `pulumi stack output --json` prints")
    p.add_argument("--variants", default="", help="comma-separated subset (default: all deployed)")
    p.add_argument(
        "--entry",
        choices=["all", "s3", "http"],
        default="all",
        help="s3: the upload variants; http: the function-URL variant (SigV4-signed POSTs, "
        "latency = request -> response)",
    )
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
