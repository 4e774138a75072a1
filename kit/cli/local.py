"""The whole pipeline on an embedded AWS emulator (`make demo`).

Uploads labelled WAVs to an emulated S3 and runs every variant's real handler
in local Lambda execution environments (awslambdaric processes, SnapStart copies
forked from an initialized snapshot, the SageMaker serving app as a process);
prints latency per variant, checks that every upload ended as exactly one item,
and writes results/local.json, PNG plots and the report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from audio_inference.settings import HTTP, VARIANTS

from kit.errors import EXIT_CHECKS, EXIT_INTERRUPTED, EXIT_OK, KitError
from kit.measure.local.config import LocalConfig

D = LocalConfig  # the defaults of every option below
DEMO_WARM = 360
"""37 warm uploads of the default schedule + 360 >= 368, what a bounded p99 needs."""


def local_config(args: argparse.Namespace) -> LocalConfig:
    """The run's settings from the flags and the stack settings (--stack-config)."""
    from kit.measure.setup import from_settings
    from kit.stack.settings import read_stack

    stack = read_stack(Path(args.stack_config) if args.stack_config else None, check_model=False)
    asked = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(asked) - set(VARIANTS))
    variants = tuple(
        v
        for v in VARIANTS
        if v in asked and (args.entry == "all" or (v == HTTP) == (args.entry == "http"))
    )
    if unknown or not variants:
        raise KitError(
            f"--variants {args.variants!r}: "
            + (f"unknown {', '.join(unknown)}; " if unknown else "no variant for this --entry; ")
            + f"use some of {','.join(VARIANTS)}"
        )
    for flag, rate in (
        ("--crash-rate", args.crash_rate),
        ("--s3-fault-rate", args.s3_fault_rate),
        ("--dynamodb-fault-rate", args.dynamodb_fault_rate),
    ):
        if not 0 <= rate <= 1:
            raise KitError(f"{flag} {rate}: a share between 0 and 1")
    requests, concurrency, rpm, cold = args.requests, args.concurrency, args.rpm, args.cold_starts
    warm = args.warm
    if args.burst:  # everything at once: no pacing, no forced idle gaps, no warm phase
        requests, concurrency, rpm, cold, warm = args.burst, args.burst, 0.0, 1, 0
    checks = (
        ("--requests", requests, 1, 100_000),
        ("--warm", warm, 0, 100_000),
        ("--concurrency", concurrency, 1, 1000),
        ("--burst", args.burst, 0, 10_000),
        ("--max-environments", args.max_environments, 1, 1000),
        ("--cold-starts", cold, 0, 1000),
    )
    for flag, value, low, high in checks:
        if not low <= value <= high:
            raise KitError(f"{flag} {value}: use {low} to {high}")
    if not 0 <= rpm <= 100_000:  # NaN fails this too
        raise KitError(f"--rpm {rpm}: use 0 (as fast as possible) to 100,000")
    if not 0.1 <= args.idle_timeout <= 3600:
        raise KitError(f"--idle-timeout {args.idle_timeout}: use 0.1 to 3,600 seconds")
    return LocalConfig(
        setups=from_settings(stack, variants),
        requests=requests,
        warm=warm,
        rpm=rpm,
        concurrency=concurrency,
        cold_starts=cold,
        idle_timeout_s=args.idle_timeout,
        seed=args.seed,
        model_dir=Path(args.model_dir).resolve(),
        samples_dir=Path(args.samples).resolve(),
        out_dir=Path(args.out).resolve(),
        max_environments=args.max_environments,
        crash_rate=args.crash_rate,
        s3_fault_rate=args.s3_fault_rate,
        dynamodb_fault_rate=args.dynamodb_fault_rate,
        burst=args.burst,
        cpu_share=args.cpu_share,
    )


def run(args: argparse.Namespace) -> int:
    """Run, print the table and checks, write results/local.json, the plots and the report."""
    from rich.panel import Panel

    from kit import results
    from kit.cli import options
    from kit.measure.local.config import BANNER, ensure_inputs
    from kit.measure.local.cpu_share import CpuShare, vcpus_for
    from kit.measure.local.run import run as run_local
    from kit.render.plots import plot_latency
    from kit.render.tables import latency_table, run_lines

    cfg = local_config(args)
    console = options.console(150)
    console.print(Panel(BANNER, title="kit local", border_style="yellow"))
    cpu = CpuShare.detect()
    if not cfg.cpu_share:
        console.print("CPU share: off (--no-cpu-share): every environment may use all cores.")
    elif cpu.active:
        shares = ", ".join(
            f"{v} {vcpus_for(cfg.memory_mb(v)):.2f} vCPU"
            if (m := cfg.setups[v].managed) is None
            else f"{v} {m.vcpus} vCPU per environment of {m.max_concurrency} processes"
            for v in cfg.variants
        )
        console.print(f"CPU share: {cpu.mechanism} quotas: {shares}.")
    else:
        console.print(
            f"[yellow]CPU share: no quota can be set here ({cpu.reason}); environments run "
            "unthrottled, so memory sizes do not change speed in this run.[/yellow]"
        )
    ensure_inputs(cfg, console)
    try:
        doc = run_local(cfg, console)
    except KeyboardInterrupt:
        console.print(
            "[yellow]Interrupted: every process started by this run was stopped.[/yellow]"
        )
        return EXIT_INTERRUPTED
    out = results.write(doc, cfg.out_dir / "local.json")
    plots = plot_latency(doc, cfg.out_dir)
    console.print(latency_table(doc))
    for line in run_lines(doc):
        console.print(line)
    console.print(f"wrote {out} and " + ", ".join(p.name for p in plots))
    if args.report:
        from kit.decide.report import write_report

        paths = write_report(doc, cfg.out_dir, console=console)
        console.print(f"report: {paths[0]} (and {paths[1].name})")
    ok = doc.checks.lost == 0 and doc.checks.duplicated == 0
    return EXIT_OK if ok else EXIT_CHECKS


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    p.add_argument(
        "--requests", type=int, default=D.requests, help="uploads per variant (default 40)"
    )
    p.add_argument(
        "--warm",
        type=int,
        default=DEMO_WARM,
        help=f"warm uploads per variant after --requests, without idle gaps (default {DEMO_WARM}: "
        f"with the default --requests, enough warm samples to state a p99 with a 95%% interval)",
    )
    p.add_argument(
        "--rpm",
        type=float,
        default=D.rpm,
        help="pace uploads at this rate; 0 = as fast as possible",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=D.concurrency,
        help="uploads in flight per variant (default 1); managed runs its own phases of 1 .. "
        "managedMaxConcurrency - 1, then twice its slots, to measure each concurrency level",
    )
    p.add_argument(
        "--cold-starts",
        type=int,
        default=D.cold_starts,
        help="idle gaps force this many cold starts per Lambda variant (default 3)",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=D.idle_timeout_s,
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
    p.add_argument("--seed", type=int, default=D.seed, help="sample order seed (default 7)")
    p.add_argument(
        "--model-dir", default="build", help="folder with model.onnx + model.json (default build)"
    )
    p.add_argument("--samples", default="build/samples", help="labelled WAVs with manifest.csv")
    p.add_argument("--out", default="results", help="output folder (default results)")
    faults = p.add_argument_group(
        "faults and bursts (every upload still ends as exactly one item or one failure-queue message)"
    )
    faults.add_argument(
        "--burst", type=int, default=D.burst, help="upload this many objects per variant at once"
    )
    faults.add_argument(
        "--max-environments",
        type=int,
        default=D.max_environments,
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
