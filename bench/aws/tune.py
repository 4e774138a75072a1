"""``python -m bench tune``: sweep Lambda memory on a deployed stack, cost and speed per size."""

from __future__ import annotations

import argparse
import json
import signal
import statistics
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from audio_inference.settings import (
    LAMBDA_MEMORY_MB,
    SAGEMAKER,
    SNAPSTART,
    STANDARD,
)

from bench import results
from bench.render.plots import plot_sweep

from .cold import ColdStarts
from .command import _console, _workload, add_aws_options
from .outputs import EXIT_INTERRUPTED, EXIT_OK, BenchError, Clients, check_outputs, load_outputs
from .run import AwsRun, Workload, confirm


@dataclass
class SweepPoint:
    """One memory size's figures for one variant."""

    variant: str
    memory_mb: int
    median_ms: float | None
    p90_ms: float | None
    cold_ms: float | None
    cost_per_million: float | None
    errors: int


def sweep(
    outputs: dict,
    work: Workload,
    memories: list[int],
    clients: Clients | None = None,
    progress: Any = None,
    runner: Any = None,
) -> dict:
    """Set each memory size on the Lambda variants, run the workload, restore the original sizes."""

    clients = clients or Clients(outputs["region"])
    lambdas = [v for v in work.variants if v != SAGEMAKER]  # the proxy's size is fixed
    if not lambdas:
        raise BenchError(
            "tune needs a model-in-Lambda variant deployed (the proxy's size is fixed)"
        )
    names = {v: outputs["function_names"][v] for v in lambdas}
    original = {
        v: clients.lambda_.get_function_configuration(FunctionName=n)["MemorySize"]
        for v, n in names.items()
    }
    cold = ColdStarts(clients.lambda_, outputs, "reconfigure")
    runner = runner or (lambda o, w: AwsRun(o, w, clients).run(progress))
    points: list[SweepPoint] = []
    runs: dict[int, dict] = {}
    try:
        for memory in memories:
            for v, name in names.items():
                clients.lambda_.update_function_configuration(FunctionName=name, MemorySize=memory)
                cold._wait_updated(name)
                if v == SNAPSTART:  # a new size needs a new published version behind the alias
                    cold.force(v)
            sized = {**outputs["memory_mb"], **dict.fromkeys(lambdas, memory)}
            doc = runner({**outputs, "memory_mb": sized}, replace(work, variants=lambdas))
            runs[memory] = doc
            points += size_points(doc, memory, lambdas, outputs.get("architecture", "x86_64"))
    finally:
        for v, name in names.items():
            clients.lambda_.update_function_configuration(FunctionName=name, MemorySize=original[v])
            cold._wait_updated(name)
        cold.restore()
    return {
        "original_memory_mb": original,
        "points": [asdict(p) for p in points],
        "picks": picks(points),
        "runs": runs,
        "restore_calls": cold.calls,
    }


def size_points(doc: dict, memory: int, variants: list[str], architecture: str) -> list[SweepPoint]:
    """One run's figures per variant at one memory size (median, p90, cold start, cost per 1M)."""
    from bench.cost import CostModel, VariantCost

    points = []
    for v in variants:
        s = doc["summary"].get(v)
        if not s:
            continue
        spec = VariantCost(
            name=v,
            kind="snapstart" if v == SNAPSTART else "lambda",
            memory_mb=memory,
            billed_ms=s["billed_ms_mean"] or 0,
            cold_fraction=s["cold_fraction"],
            billed_init_ms=s["billed_init_ms_mean"],
            billed_restore_ms=s["billed_restore_ms_mean"],
            architecture=architecture,
        )
        durations = [
            r["duration_ms"] for r in doc["invocations"] if r["variant"] == v and r["duration_ms"]
        ]
        points.append(
            SweepPoint(
                v,
                memory,
                s["duration_median_ms"],
                results.percentile(durations, 90),
                s["cold_mean_ms"],
                CostModel([spec]).per_million(spec) if s["billed_ms_mean"] else None,
                s["errors"] + s["lost"],
            )
        )
    return points


def _median_timing(doc: dict, name: str) -> float | None:
    """Median of one handler timing (e.g. inference) over the warm, successful invocations."""
    values = [
        float(r["timings_ms"][name])
        for r in doc["invocations"]
        if r["status"] == "ok" and not r["cold"] and name in (r.get("timings_ms") or {})
    ]
    return statistics.median(values) if values else None


def local_sweep(memories: list[int], args: Any, progress: Any = None) -> dict:
    """The same sweep on the local emulator, each size with its emulated CPU share (a prediction).

    For a CPU-bound model the duration ratio between two sizes should follow
    their CPU-share ratio (seed 003: 512 -> 1,769 MB took p50 180 -> 55 ms);
    ``shape`` reports both for each pair of neighbouring sizes.
    """
    from rich.console import Console

    from bench.local.config import LocalConfig
    from bench.local.cpu_share import CpuShare, vcpus_for
    from bench.local.run import run

    points: list[SweepPoint] = []
    runs: dict[int, dict] = {}
    for memory in memories:
        cfg = LocalConfig(
            requests=args.requests,
            cold_starts=1,
            variants=(STANDARD,),
            memory_mb={STANDARD: memory},
            model_dir=Path(args.model_dir).resolve(),
            samples_dir=Path(args.samples).resolve(),
            out_dir=Path(args.out).resolve() / f"local-{memory}mb",
            seed=args.seed,
        )
        doc = run(cfg, Console(quiet=True), quiet=True)
        runs[memory] = doc
        points += size_points(doc, memory, [STANDARD], "x86_64")
        if progress is not None:
            progress.advance(progress.task_ids[0])
    by_size = {p.memory_mb: p for p in points}
    inference = {m: _median_timing(doc, "inference") for m, doc in runs.items()}
    shape = []
    for low, high in zip(memories, memories[1:], strict=False):
        a, b = by_size.get(low), by_size.get(high)
        if a and b and a.median_ms and b.median_ms:
            measured = a.median_ms / b.median_ms
            expected = vcpus_for(high) / vcpus_for(low)
            i_low, i_high = inference.get(low), inference.get(high)
            infer = i_low / i_high if i_low and i_high else None
            shape.append(
                {
                    "from_mb": low,
                    "to_mb": high,
                    "duration_ratio": measured,
                    "inference_ratio": infer,
                    "cpu_share_ratio": expected,
                    "within_15_percent": abs(measured / expected - 1) <= 0.15,
                    "inference_within_15_percent": infer is not None
                    and abs(infer / expected - 1) <= 0.15,
                }
            )
    return {
        "prediction": "local: CPU share emulated with "
        + (CpuShare.detect().mechanism if CpuShare.detect().active else "nothing (unthrottled)"),
        "points": [asdict(p) for p in points],
        "picks": picks(points),
        "runs": runs,
        "shape": shape,
    }


def picks(points: list[SweepPoint]) -> dict[str, dict]:
    """Cheapest, fastest and balanced (lowest cost x median product) size per variant."""
    out: dict[str, dict] = {}
    for v in dict.fromkeys(p.variant for p in points):
        rows = [p for p in points if p.variant == v and p.cost_per_million and p.median_ms]
        if not rows:
            continue
        out[v] = {
            "cheapest": min(rows, key=lambda p: p.cost_per_million or 0.0).memory_mb,
            "fastest": min(rows, key=lambda p: p.median_ms or 0.0).memory_mb,
            "balanced": min(
                rows, key=lambda p: (p.cost_per_million or 0.0) * (p.median_ms or 0.0)
            ).memory_mb,
        }
    return out


def tune_main(args: Any) -> int:
    """``python -m bench tune``."""

    from rich.progress import Progress

    console = _console()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        memories = [int(m) for m in args.memory.split(",")]
        low, high = LAMBDA_MEMORY_MB
        bad = [m for m in memories if not low <= m <= high]
        if bad:
            raise BenchError(f"--memory {bad[0]} is outside Lambda's {low}-{high} MB")
        if args.local:
            with Progress(console=console) as progress:
                progress.add_task("local sizes", total=len(memories))
                doc = local_sweep(memories, args, progress)
            return _show(console, doc, Path(args.out), "local")
        outputs = load_outputs(args.stack, args.outputs)
        variants = [
            v
            for v in check_outputs(outputs, args.variants.split(",") if args.variants else None)
            if v != SAGEMAKER
        ]
        work = _workload(args, variants)
        confirm(
            console,
            outputs,
            work,
            args.yes,
            f"{len(memories)} memory sizes; the original size is "
            "restored afterwards, also after a failure or Ctrl-C.",
            runs=len(memories),
        )
        with Progress(console=console) as progress:
            doc = sweep(outputs, work, memories, progress=progress)
    except BenchError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return exc.code
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; the original memory sizes were restored[/yellow]")
        return EXIT_INTERRUPTED
    return _show(console, doc, Path(args.out), "aws")


def _show(console: Any, doc: dict, out_dir: Path, target: str) -> int:
    """Print the sweep table and picks; write tune.json, tune.png and a results file per size."""
    from rich.table import Table

    title = (
        "Memory sweep"
        if target == "aws"
        else f"Memory sweep, a LOCAL PREDICTION ({doc['prediction']})"
    )
    table = Table(title=title)
    for col in (
        "variant",
        "memory MB",
        "median ms",
        "p90 ms",
        "cold start ms",
        "cost per 1M",
        "errors",
    ):
        table.add_column(col)
    for p in doc["points"]:
        table.add_row(
            p["variant"],
            str(p["memory_mb"]),
            *(
                f"{x:,.1f}" if x is not None else "-"
                for x in (p["median_ms"], p["p90_ms"], p["cold_ms"])
            ),
            "-" if p["cost_per_million"] is None else f"${p['cost_per_million']:,.2f}",
            str(p["errors"]),
        )
    console.print(table)
    for v, pick in doc["picks"].items():
        console.print(
            f"{v}: cheapest {pick['cheapest']} MB, fastest {pick['fastest']} MB, "
            f"balanced {pick['balanced']} MB"
        )
    for pair in doc.get("shape", []):
        console.print(
            f"{pair['from_mb']} -> {pair['to_mb']} MB: duration x{pair['duration_ratio']:.2f} faster, "
            f"CPU share x{pair['cpu_share_ratio']:.2f} "
            + ("(tracks it within 15 %)" if pair["within_15_percent"] else "(not CPU-bound here)")
            + (
                f"; inference alone x{pair['inference_ratio']:.2f} "
                + (
                    "(tracks it within 15 %)"
                    if pair["inference_within_15_percent"]
                    else "(does not)"
                )
                if pair.get("inference_ratio")
                else ""
            )
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tune.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    for memory, run in doc["runs"].items():
        results.write(run, out_dir / f"{target}-{memory}mb.json")
    console.print(
        f"wrote {out_dir / 'tune.json'}, {plot_sweep(doc, out_dir / 'tune.png')} and one results file "
        "per size (each works with `bench report`)"
    )
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Declare this command and its options (``python -m bench`` wires it in)."""
    p = sub.add_parser(
        "tune",
        help="sweep Lambda memory on a deployed stack: cost and speed per size",
        description="Set each memory size on the standard and SnapStart functions, run the "
        "same workload, report median/p90/cold-start duration and cost per 1M per size, "
        "and restore the original size afterwards (also after a failure or Ctrl-C).",
    )
    add_aws_options(p)
    p.add_argument(
        "--memory", default="512,1024,1769,3008,4096", help="sizes in MB (default 512,...,4096)"
    )
    p.add_argument(
        "--local",
        action="store_true",
        help="predict on the local emulator instead (the standard variant, each size with its "
        "emulated CPU share); needs no stack",
    )
    p.add_argument("--model-dir", default="build", help="with --local: the model folder")
    p.set_defaults(run=tune_main)
