"""Decide: the cheapest configuration that meets your latency target at your traffic, and the
stack to deploy it.

Searches every family's configurations (Lambda memory and architecture, provisioned
concurrency, SnapStart, SageMaker instance type, count and autoscaling, SageMaker
Serverless memory and concurrency, Lambda Managed Instances), keeps what meets the
target, and says which is cheapest at your traffic and at what traffic that changes.
Durations come from a results file (`kit local`, `kit aws`; a `kit tune` sweep adds the
memory model) or from values given by hand.

Examples:
  python -m kit recommend --results results/local.json --per-day 5000 --business-hours 09-17 --weekdays
  python -m kit recommend --results results/aws.json --rpm 300 --p99-ms 500 --architectures x86_64
  python -m kit recommend --billed-ms 200 --cpu-ms 150 --memory-mb 1769 --rpm 72 --p99-ms 2000
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kit.cli import options
from kit.errors import KitError

DEFAULT_OUT = "results/recommend"


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    src = p.add_argument_group("what was measured (--results, or the primitives below)")
    src.add_argument("--results", help="a results JSON from `kit local`, `kit aws` or `kit tune`")
    src.add_argument("--billed-ms", type=float, default=200.0, help="by hand: duration per request")
    src.add_argument("--memory-mb", type=int, default=1769, help="by hand: ... at this memory")
    src.add_argument(
        "--cpu-ms", type=float, default=0.0, help="by hand: the part that scales with vCPUs"
    )
    src.add_argument("--init-ms", type=float, default=0.0, help="by hand: init per cold start")
    src.add_argument("--restore-ms", type=float, default=0.0, help="by hand: SnapStart restore")
    src.add_argument("--proxy-billed-ms", type=float, default=100.0, help="by hand: proxy Lambda")
    src.add_argument(
        "--endpoint-ms", type=float, default=100.0, help="by hand: endpoint time per request"
    )
    options.add_demand(
        p.add_argument_group("traffic (one of --rpm, --per-day, --per-month, --replay)")
    )
    g = p.add_argument_group("target and constraints")
    g.add_argument("--p99-ms", type=float, default=1000.0, help="p99 latency target (default 1000)")
    g.add_argument("--p50-ms", type=float, help="optional p50 latency target")
    g.add_argument(
        "--entry",
        choices=["s3", "http"],
        default="s3",
        help="s3: upload -> item (asynchronous, default); http: request -> response",
    )
    g.add_argument("--architectures", default="x86_64,arm64", help="allowed (default both)")
    g.add_argument(
        "--max-instances",
        type=int,
        default=4,
        help="SageMaker instances, or Managed Instances kept running (which may scale to 16x) (4)",
    )
    g.add_argument("--instance-types", help="SageMaker types to consider (default: catalogue)")
    g.add_argument(
        "--families", help="only these: lambda, snapstart, sagemaker, serverless, managed"
    )
    g.add_argument("--budget", type=float, help="monthly budget in USD")
    g.add_argument(
        "--arm64-factor",
        type=float,
        default=1.0,
        help="arm64 duration / x86 duration (default 1.0, unverified: no arm64 here)",
    )
    s = p.add_argument_group("search")
    s.add_argument(
        "--levels",
        default="0.1,0.3,1,3,10,30,100",
        help="traffic levels as multiples of yours (default 0.1,0.3,1,3,10,30,100)",
    )
    s.add_argument("--ci-reps", type=int, default=10, help="bootstrap resamples (default 10)")
    s.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    s.add_argument("--prices", help="JSON file overriding entries of pricing.json")
    s.add_argument("--platform", help="JSON file overriding entries of platform.json")
    s.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the outputs ({DEFAULT_OUT})")
    s.add_argument("--no-preflight", action="store_true", help="do not check the stack config")
    s.add_argument("--model-path", help="modelPath for the stack file (default: Pulumi.yaml's)")


def target_from(args: argparse.Namespace, max_object_bytes: int | None) -> Any:
    """The Target the flags describe."""
    from kit.decide.recommend.space import Target

    return Target(
        p99_ms=args.p99_ms,
        p50_ms=args.p50_ms,
        entry=args.entry,
        architectures=options.names(args.architectures),
        max_instances=args.max_instances,
        instance_types=options.names(args.instance_types),
        families=options.names(args.families),
        budget=args.budget,
        max_object_bytes=max_object_bytes,
    )


def run(args: argparse.Namespace) -> int:
    """Search, print the answer and the table, write JSON, PNG and the stack file."""
    from kit import results
    from kit.decide.recommend import study
    from kit.render.recommend import plot_frontier, print_recommendation

    levels = options.numbers("--levels", args.levels)
    if any(x <= 0 for x in levels) or len(levels) > 12:
        raise KitError("--levels: give up to 12 positive multiples of your traffic, e.g. 0.1,1,10")
    if not 0 <= args.ci_reps <= 200:
        raise KitError(f"--ci-reps {args.ci_reps}: use 0 to 200")
    if not 0 <= args.seed < 2**63:
        raise KitError(f"--seed {args.seed}: use a non-negative integer")
    doc = results.load(args.results) if args.results else None
    demand = options.demand_from(args)
    target = target_from(args, study.largest_upload(doc))
    console = options.console(170)
    console.print(f"Traffic: {demand.restated()}")
    with options.progress_bar(console) as progress:
        found = study.recommend(
            doc,
            demand,
            target,
            primitives=study.Primitives(
                billed_ms=args.billed_ms,
                memory_mb=args.memory_mb,
                cpu_ms=args.cpu_ms,
                init_ms=args.init_ms,
                restore_ms=args.restore_ms,
                proxy_billed_ms=args.proxy_billed_ms,
                endpoint_ms=args.endpoint_ms,
            ),
            levels=tuple(sorted(set(levels) | {1.0})),
            arm64_factor=args.arm64_factor,
            ci_reps=args.ci_reps,
            seed=args.seed,
            prices=Path(args.prices) if args.prices else None,
            platform=Path(args.platform) if args.platform else None,
            out=None if args.no_preflight else Path(args.out),
            model_path=args.model_path,
            progress=progress,
        )
    print_recommendation(console, found)
    out = Path(args.out)
    console.print(f"wrote {results.write_json(found, out / 'recommend.json')}")
    console.print(f"wrote {plot_frontier(found, out / 'frontier.png')}")
    return 0
