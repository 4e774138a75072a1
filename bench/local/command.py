"""``python -m bench local``: the whole pipeline on an embedded AWS emulator (``make demo``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from audio_inference.settings import (
    HTTP,
    VARIANTS,
)
from rich.console import Console
from rich.panel import Panel

from bench import ROOT, results
from bench.render.plots import plot_latency
from bench.render.tables import latency_table

from .config import BANNER, LocalConfig
from .cpu_share import CpuShare, vcpus_for
from .run import ensure_inputs, run


def main(args: Any) -> int:
    """CLI entry: run, print the table, write results/local.json and the plots."""
    from components.config import StackConfigError, read_settings

    console = Console(width=None if sys.stdout.isatty() else 150)
    try:
        stack = read_settings(
            Path(args.stack_config) if args.stack_config else None, check_model=False
        )
    except StackConfigError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    variants = tuple(
        v
        for v in VARIANTS
        if v in args.variants.split(",")
        and (args.entry == "all" or (v == HTTP) == (args.entry == "http"))
    )
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown or not variants:
        console.print(
            f"[red]error:[/red] unknown variant(s) {', '.join(sorted(unknown))}; use {','.join(VARIANTS)}"
        )
        return 2
    rates = (args.crash_rate, args.s3_fault_rate, args.dynamodb_fault_rate)
    if any(not 0 <= r <= 1 for r in rates):
        console.print("[red]error:[/red] fault rates must be between 0 and 1")
        return 2
    if args.burst:  # everything at once: no pacing, no forced idle gaps
        args.requests, args.concurrency, args.rpm, args.cold_starts = args.burst, args.burst, 0, 1
    if args.requests < 1 or args.concurrency < 1 or args.rpm < 0 or args.max_environments < 1:
        console.print("[red]error:[/red] --requests and --concurrency must be >= 1 and --rpm >= 0")
        return 2
    memory = {v: stack.memory_mb(v) for v in variants}
    cfg = LocalConfig(
        requests=args.requests,
        rpm=args.rpm,
        concurrency=args.concurrency,
        cold_starts=args.cold_starts,
        idle_timeout_s=args.idle_timeout,
        variants=variants,
        provisioned={v: n for v, n in stack.provisioned_concurrency.items() if v in variants},
        seed=args.seed,
        model_dir=Path(args.model_dir).resolve(),
        samples_dir=Path(args.samples).resolve(),
        out_dir=Path(args.out).resolve(),
        memory_mb=memory,
        architecture=stack.architecture,
        sagemaker_instance_type=stack.sagemaker_instance_type,
        timeout_s=float(stack.timeout_seconds),
        max_environments=args.max_environments,
        crash_rate=args.crash_rate,
        s3_fault_rate=args.s3_fault_rate,
        dynamodb_fault_rate=args.dynamodb_fault_rate,
        burst=args.burst,
        cpu_share=args.cpu_share,
    )
    console.print(Panel(BANNER, title="bench local", border_style="yellow"))
    cpu = CpuShare.detect()
    if not args.cpu_share:
        console.print("CPU share: off (--no-cpu-share): every environment may use all cores.")
    elif cpu.active:
        shares = ", ".join(f"{v} {vcpus_for(m):.2f} vCPU" for v, m in memory.items())
        console.print(f"CPU share: {cpu.mechanism} quotas: {shares}.")
    else:
        console.print(
            f"[yellow]CPU share: no quota can be set here ({cpu.reason}); environments run "
            "unthrottled, so memory sizes do not change speed in this run.[/yellow]"
        )
    ensure_inputs(cfg, console)
    try:
        doc = run(cfg, console)
    except KeyboardInterrupt:
        console.print(
            "[yellow]Interrupted: every process started by this run was stopped.[/yellow]"
        )
        return 130
    out = cfg.out_dir / "local.json"
    results.write(doc, out)
    plots = plot_latency(doc, cfg.out_dir)
    console.print(latency_table(doc))
    checks = doc["checks"]
    accuracy = "n/a" if checks["accuracy"] is None else f"{checks['accuracy']:.1%}"
    style = "green" if checks["lost"] == 0 and checks["duplicated"] == 0 else "red"
    console.print(
        f"[{style}]{checks['uploads']} uploads: {checks['items']} items, {checks['failed']} in the "
        f"failure queue with a reason, {checks['lost']} unaccounted, "
        f"{checks['duplicated']} duplicated; {checks['redelivered']} redeliveries absorbed by the "
        f"idempotent write[/{style}]; prediction accuracy vs true labels: {accuracy}"
    )
    faults = doc["config"].get("faults", {})
    if any(faults.values()):
        console.print(
            f"faults: {faults['crashes_injected']} environment crashes injected, "
            f"{faults['aws_errors_injected'] or 'no'} AWS errors injected, "
            f"{faults['throttled_invocations']} throttled invocations (retried)"
        )
    if doc["endpoint"]:
        console.print(
            "SageMaker serving app startup (the endpoint's cold start, local): "
            f"{doc['endpoint']['startup_ms']:.0f} ms"
        )
    if doc["config"]["snapshot_init_ms"] is not None:
        console.print(
            "SnapStart snapshot init (once per published version, before any request): "
            f"{doc['config']['snapshot_init_ms']:.0f} ms"
        )
    console.print(
        f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} and "
        + ", ".join(p.name for p in plots)
    )
    if getattr(args, "report", True):
        from bench.report import write_report

        paths = write_report(doc, cfg.out_dir)
        console.print(f"report: {paths[0]} (and {paths[1].name})")
    return 0 if checks["lost"] == 0 and checks["duplicated"] == 0 else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Declare this command and its options (``python -m bench`` wires it in)."""
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
        "--variants", default=",".join(VARIANTS), help="comma-separated subset (default: all)"
    )
    p.add_argument(
        "--entry",
        choices=["all", "s3", "http"],
        default="all",
        help="s3: the upload variants; http: the function-URL variant, timed request -> response",
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
        "--no-cpu-share",
        dest="cpu_share",
        action="store_false",
        help="let every environment use all cores instead of its memory's CPU share",
    )
    p.add_argument(
        "--no-report", dest="report", action="store_false", help="skip the Markdown/HTML report"
    )
    p.set_defaults(run=main)
