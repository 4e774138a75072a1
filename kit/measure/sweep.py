"""The memory sweep: the same workload at several Lambda memory sizes, on AWS or locally.

``aws_sweep`` sets each size on the deployed model-in-Lambda functions, runs the
workload and restores the original sizes (also after a failure or Ctrl-C);
``local_sweep`` runs the standard variant on the emulator with each size's CPU
share. Both return one results file per size; ``size_points`` reduces them to
the measured figures per size (pricing them is the deciding side's job).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from audio_inference.settings import SAGEMAKER, SNAPSTART, STANDARD

from kit.errors import KitError
from kit.results import Results, SizePoint
from kit.results.summary import percentile

from .aws.cold import ColdStarts
from .aws.outputs import Clients
from .aws.run import AwsRun
from .aws.workload import Workload
from .local.config import LocalConfig


def aws_sweep(
    outputs: dict,
    work: Workload,
    memories: list[int],
    clients: Clients | None = None,
    progress: Any = None,
    runner: Callable[[dict, Workload], Results] | None = None,
) -> dict[int, Results]:
    """Set each memory size on the Lambda variants, run the workload, restore the original sizes."""
    clients = clients or Clients(outputs["region"])
    lambdas = [v for v in work.variants if v != SAGEMAKER]  # the proxy's size is fixed
    if not lambdas:
        raise KitError("tune needs a model-in-Lambda variant deployed (the proxy's size is fixed)")
    names = {v: outputs["function_names"][v] for v in lambdas}
    original = {
        v: clients.lambda_.get_function_configuration(FunctionName=n)["MemorySize"]
        for v, n in names.items()
    }
    cold = ColdStarts(clients.lambda_, outputs, "reconfigure")
    run = runner or (lambda o, w: AwsRun(o, w, clients).run(progress))
    runs: dict[int, Results] = {}
    try:
        for memory in memories:
            for v, name in names.items():
                clients.lambda_.update_function_configuration(FunctionName=name, MemorySize=memory)
                cold.wait_updated(name)
                if v == SNAPSTART:  # a new size needs a new published version behind the alias
                    cold.force(v)
            sized = {**outputs["memory_mb"], **dict.fromkeys(lambdas, memory)}
            runs[memory] = run({**outputs, "memory_mb": sized}, replace(work, variants=lambdas))
    finally:
        for v, name in names.items():
            clients.lambda_.update_function_configuration(FunctionName=name, MemorySize=original[v])
            cold.wait_updated(name)
        cold.restore()
    return runs


def local_sweep(
    memories: list[int], base: LocalConfig, progress: Callable[[], None] | None = None
) -> dict[int, Results]:
    """The standard variant on the emulator at each size, with that size's CPU share."""
    from .local.run import run

    runs: dict[int, Results] = {}
    setup = base.setups[STANDARD]
    for memory in memories:
        cfg = replace(
            base,
            setups={STANDARD: setup.model_copy(update={"memory_mb": memory})},
            out_dir=base.out_dir / f"local-{memory}mb",
        )
        from rich.console import Console

        runs[memory] = run(cfg, Console(quiet=True), quiet=True)
        if progress is not None:
            progress()
    return runs


def median_timing(doc: Results, variant: str, name: str) -> float | None:
    """Median of one handler timing (e.g. inference) over the warm, successful invocations."""
    values = [
        float(r.timings_ms[name])
        for r in doc.invocations
        if r.variant == variant
        and r.status == "ok"
        and not r.cold
        and r.timings_ms is not None
        and name in r.timings_ms
    ]
    return statistics.median(values) if values else None


def size_points(runs: dict[int, Results]) -> list[SizePoint]:
    """The measured figures of every variant at every size."""
    points = []
    for memory, doc in runs.items():
        for v, s in doc.summary.items():
            durations = [r.duration_ms for r in doc.invocations if r.variant == v and r.duration_ms]
            points.append(
                SizePoint(
                    variant=v,
                    memory_mb=memory,
                    median_ms=s.duration_median_ms,
                    p90_ms=percentile(durations, 90),
                    cold_ms=s.cold_mean_ms,
                    inference_ms=median_timing(doc, v, "inference"),
                    billed_ms_mean=s.billed_ms_mean,
                    cold_fraction=s.cold_fraction,
                    billed_init_ms_mean=s.billed_init_ms_mean,
                    billed_restore_ms_mean=s.billed_restore_ms_mean,
                    errors=s.errors + s.lost,
                    samples=sum(
                        1
                        for r in doc.invocations
                        if r.variant == v and not r.cold and r.duration_ms
                    ),
                )
            )
    return points
