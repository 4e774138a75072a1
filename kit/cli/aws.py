"""Benchmark a deployed stack: upload labelled samples, wait for every item, join REPORT lines.

Uploads labelled samples under each variant's prefix (or POSTs them, SigV4
signed, to the http variant's function URL), waits for the prediction items,
reads the functions' REPORT lines from CloudWatch Logs and joins them to the
items through the request id the handler stores. The results file has the same
schema as `kit local` (target "aws"), so every deciding command reads it.

Exit codes: 0 done, 1 finished with lost items, 2 bad input or stack outputs,
3 declined at the confirmation prompt, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kit.cli import options
from kit.errors import EXIT_CHECKS, EXIT_DECLINED, EXIT_OK, KitError
from kit.measure.aws.workload import Workload

COLD_STRATEGIES = ("none", "burst", "reconfigure")


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    add_aws_options(p)


def add_aws_options(p: argparse.ArgumentParser) -> None:
    """Options ``kit aws`` and ``kit tune`` share (defaults from Workload)."""
    d = Workload
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
    p.add_argument("--requests", type=int, default=d.requests, help="uploads per variant (30)")
    p.add_argument(
        "--rpm", type=float, default=d.rpm, help="pace uploads; 0 = as fast as --concurrency allows"
    )
    p.add_argument("--concurrency", type=int, default=d.concurrency, help="uploads sent together")
    p.add_argument(
        "--cold-strategy",
        choices=COLD_STRATEGIES,
        default="reconfigure",
        help="force cold starts: reconfigure (new config / SnapStart version), burst, or none",
    )
    p.add_argument(
        "--cold-starts", type=int, default=d.cold_starts, help="forced cold starts per variant (3)"
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--samples", default="build/samples", help="labelled WAVs with manifest.csv")
    p.add_argument("--model-dir", default="build", help="the deployed model's folder (model.json)")
    p.add_argument(
        "--wait-timeout", type=float, default=d.wait_timeout_s, help="seconds to wait for items"
    )
    p.add_argument(
        "--logs-timeout",
        type=float,
        default=d.logs_timeout_s,
        help="seconds to wait for late REPORT lines",
    )
    p.add_argument("--out", default="results", help="output folder (default results)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def workload(args: argparse.Namespace, variants: list[str]) -> Workload:
    """The library's Workload from the flags, with every range checked."""
    for flag, value, low, high in (
        ("--requests", args.requests, 1, 10_000),
        ("--concurrency", args.concurrency, 1, 100),
        ("--cold-starts", args.cold_starts, 0, 100),
    ):
        if not low <= value <= high:
            raise KitError(f"{flag} {value}: use {low} to {high}")
    if not 0 <= args.rpm <= 10_000:
        raise KitError(f"--rpm {args.rpm}: use 0 (as fast as possible) to 10,000")
    for flag, value in (
        ("--wait-timeout", args.wait_timeout),
        ("--logs-timeout", args.logs_timeout),
    ):
        if not 0 < value <= 3600:
            raise KitError(f"{flag} {value}: use a number of seconds up to 3,600")
    samples = Path(args.samples)
    if not (samples / "manifest.csv").exists():
        raise KitError(
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
        model_dir=Path(args.model_dir),
        wait_timeout_s=args.wait_timeout,
        logs_timeout_s=args.logs_timeout,
        variants=variants,
    )


def deployed_variants(
    args: argparse.Namespace, outputs: dict, model_in_lambda: bool = False
) -> list[str]:
    """The variants to run: the asked ones (or every deployed one) of this entry."""
    from audio_inference.settings import HTTP, SAGEMAKER

    from kit.measure.aws.outputs import check_outputs

    wanted = options.names(args.variants) or None
    variants = [
        v
        for v in check_outputs(outputs, list(wanted) if wanted else None)
        if args.entry == "all" or (v == HTTP) == (args.entry == "http")
    ]
    if model_in_lambda:  # the proxy's memory is fixed; tune sizes the model functions
        variants = [v for v in variants if v != SAGEMAKER]
    if not variants:
        raise KitError(
            f"no deployed variant matches --variants {args.variants!r} --entry {args.entry}"
        )
    return variants


def estimate_cost(outputs: dict, work: Workload, runs: int = 1) -> float:
    """Rough cost of the traffic itself (endpoint hours are already being paid)."""
    from components import outputs as out
    from kit.decide.cost import CostModel, VariantCost
    from kit.results import Kind

    total = 0.0
    for v in work.variants:
        spec = VariantCost(
            name=v,
            kind=Kind.LAMBDA,
            memory_mb=int(outputs[out.MEMORY_MB][v]),
            billed_ms=500,
            cold_fraction=0.2,
            billed_init_ms=2000,
            architecture=outputs[out.ARCHITECTURE],
        )
        total += CostModel([spec]).monthly(spec, work.requests * runs)
    return total


def confirm(
    console: Any, outputs: dict, work: Workload, yes: bool, extra: str = "", runs: int = 1
) -> None:
    """Show what will happen and ask; refuse without a terminal unless --yes."""
    from rich.table import Table

    from components import outputs as out

    table = Table(title=f"About to benchmark stack resources in {outputs[out.REGION]}")
    for col in ("variant", "function", "sends to", "requests", "cold starts"):
        table.add_column(col)
    for v in work.variants:
        prefix = (outputs.get(out.UPLOAD_PREFIXES) or {}).get(v)
        target = (
            f"s3://{outputs[out.BUCKET_NAME]}/{prefix}"
            if prefix
            else (outputs.get(out.FUNCTION_URLS) or {}).get(v, "-")
        )
        table.add_row(
            v, outputs[out.FUNCTION_NAMES][v], target, str(work.requests * runs), work.cold_strategy
        )
    console.print(table)
    console.print(
        f"Estimated cost of this traffic: about ${estimate_cost(outputs, work, runs):.4f} "
        f"(Lambda, S3, DynamoDB; endpoint hours are billed anyway). {extra}"
    )
    if yes:
        return
    if not sys.stdin.isatty():
        raise KitError(
            "refusing to send traffic without confirmation: run in a terminal or pass --yes",
            EXIT_DECLINED,
        )
    answer = input("Proceed? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise KitError("declined: nothing was uploaded", EXIT_DECLINED)


def run(args: argparse.Namespace) -> int:
    """Benchmark, print the table, write results/aws.json and the plots."""
    from rich.progress import Progress

    from kit import results
    from kit.measure.aws.outputs import load_outputs
    from kit.measure.aws.run import AwsRun
    from kit.render.plots import plot_latency
    from kit.render.tables import latency_table

    console = options.console(150)
    outputs = load_outputs(args.stack, args.outputs)
    work = workload(args, deployed_variants(args, outputs))
    confirm(console, outputs, work, args.yes)
    try:
        with Progress(console=console) as progress:
            doc = AwsRun(outputs, work).run(progress)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; cold-start changes were undone[/yellow]")
        raise
    out_dir = Path(args.out)
    path = results.write(doc, out_dir / "aws.json")
    plot_latency(doc, out_dir)
    console.print(latency_table(doc))
    missing = sum(1 for r in doc.invocations if r.status != "lost" and not r.report_found)
    console.print(f"lost items: {doc.checks.lost}; REPORT lines not found: {missing}; wrote {path}")
    console.print(f"next: python -m kit report {path}")
    return EXIT_OK if doc.checks.lost == 0 else EXIT_CHECKS
