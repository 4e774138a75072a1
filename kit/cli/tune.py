"""Sweep Lambda memory: the same workload at each size, cost and speed per size, the picks.

On a deployed stack it sets each size on the standard and SnapStart functions,
runs the workload and restores the original size afterwards (also after a
failure or Ctrl-C). With --local it predicts on the emulator instead: the
standard variant at each size with that size's emulated CPU share (no stack).
Writes tune.json, tune.png and one results file per size.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from audio_inference.settings import LAMBDA_MEMORY_MB

from kit.cli import options
from kit.cli.aws import add_aws_options, confirm, deployed_variants, workload
from kit.errors import EXIT_OK, KitError

DEFAULT_SIZES = "512,1024,1769,3008,4096"


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    add_aws_options(p)
    p.add_argument("--memory", default=DEFAULT_SIZES, help=f"sizes in MB (default {DEFAULT_SIZES})")
    p.add_argument(
        "--local",
        action="store_true",
        help="predict on the local emulator instead (the standard variant, each size with its "
        "emulated CPU share); needs no stack",
    )


def sizes(text: str) -> list[int]:
    """The memory sizes, each within Lambda's range."""
    values = options.numbers("--memory", text)
    low, high = LAMBDA_MEMORY_MB
    bad = [m for m in values if m != int(m) or not low <= m <= high]
    if bad:
        raise KitError(f"--memory {bad[0]:g} is not a whole number of MB within {low}-{high}")
    return sorted({int(m) for m in values})


def run(args: argparse.Namespace) -> int:
    """Sweep, price each size, print and write."""
    from rich.progress import Progress

    console = options.console(150)
    memories = sizes(args.memory)
    if args.local:
        from kit.measure.local.config import ensure_inputs
        from kit.measure.local.cpu_share import CpuShare
        from kit.measure.sweep import local_sweep

        base = local_base(args)
        ensure_inputs(base, console)
        with Progress(console=console) as progress:
            task = progress.add_task("local sizes", total=len(memories))
            runs = local_sweep(memories, base, lambda: progress.advance(task))
        cpu = CpuShare.detect()
        label = f"a LOCAL PREDICTION (CPU share: {cpu.mechanism if cpu.active else 'unthrottled'})"
        return show(console, runs, Path(args.out), "local", label)
    from kit.measure.aws.outputs import load_outputs
    from kit.measure.sweep import aws_sweep

    outputs = load_outputs(args.stack, args.outputs)
    work = workload(args, deployed_variants(args, outputs, model_in_lambda=True))
    confirm(
        console,
        outputs,
        work,
        args.yes,
        f"{len(memories)} memory sizes; the original size is restored afterwards, also after a "
        "failure or Ctrl-C.",
        runs=len(memories),
    )
    with Progress(console=console) as progress:
        runs = aws_sweep(outputs, work, memories, progress=progress)
    return show(console, runs, Path(args.out), "aws", "on AWS")


def local_base(args: argparse.Namespace) -> Any:
    """The local run every size starts from (the standard variant at the stack's settings)."""
    from audio_inference.settings import STANDARD

    from kit.measure.local.config import LocalConfig
    from kit.measure.setup import from_settings
    from kit.stack.settings import read_stack

    workload(args, [STANDARD])  # the same range checks as on AWS
    return LocalConfig(
        setups=from_settings(read_stack(check_model=False), (STANDARD,)),
        requests=args.requests,
        cold_starts=1,
        seed=args.seed,
        model_dir=Path(args.model_dir).resolve(),
        samples_dir=Path(args.samples).resolve(),
        out_dir=Path(args.out).resolve(),
    )


def show(console: Any, runs: dict, out_dir: Path, target: str, label: str) -> int:
    """Price each size, print the table, picks and CPU tracking; write the files."""
    import os

    from kit import results
    from kit.decide.memory import cpu_tracking, fit_memory_model, picks, priced
    from kit.measure.sweep import size_points
    from kit.render.plots import plot_sweep
    from kit.render.tables import memory_model_lines, sweep_lines, sweep_table

    points = size_points(runs)
    architecture = next(iter(runs.values())).variants[points[0].variant].architecture
    rows = priced(points, architecture)
    chosen = picks(rows)
    cores = float(os.cpu_count() or 1) if target == "local" else None
    tracking = cpu_tracking(points, cores)
    models = fit_memory_model(points, cores, source=f"{target} sweep, median durations")
    console.print(sweep_table(rows, f"Memory sweep, {label}"))
    for line in sweep_lines(chosen, tracking) + memory_model_lines(models):
        console.print(line)
    doc = {
        "target": target,
        "label": label,
        "points": rows,
        "picks": chosen,
        "shape": tracking,
        "memory_model": {v: m.model_dump() for v, m in models.items()},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tune.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    for memory, run in runs.items():  # each size's file carries the fit, for the recommender
        results.write(
            run.model_copy(update={"memory_model": models}), out_dir / f"{target}-{memory}mb.json"
        )
    console.print(
        f"wrote {out_dir / 'tune.json'}, {plot_sweep(doc, out_dir / 'tune.png')} and one results "
        "file per size (each works with `kit report`)"
    )
    return EXIT_OK
