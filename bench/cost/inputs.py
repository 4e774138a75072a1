"""What the cost model is told: variants from a results file, from primitives, or from given prices."""

from __future__ import annotations

import argparse
from typing import Any

from audio_inference.settings import DEFAULT_LAMBDA_MEMORY_MB, DEFAULT_PROXY_MEMORY_MB, HTTP

from .model import CostInputError, VariantCost


def variants_from_results(
    doc: dict, cold_fraction: float | None = None, snapstart_versions: int | None = None
) -> list[VariantCost]:
    """Cost inputs from a results file's measured summary.

    SnapStart's cache is billed per active published version: the count given,
    else the one the run recorded (``bench aws`` counts them), else one.
    """
    config = doc.get("config", {})
    versions = snapstart_versions or int(config.get("snapstart_versions") or 1)
    provisioned = config.get("provisioned") or config.get("provisioned_concurrency") or {}
    arch = config.get("architecture", "x86_64")
    out = []
    for name, s in doc["summary"].items():
        common = {
            "name": name,
            "memory_mb": int(s["memory_mb"] or 128),
            "architecture": arch,
            "billed_ms": float(s["billed_ms_mean"] or 0.0),
            "cold_fraction": s["cold_fraction"] if cold_fraction is None else cold_fraction,
        }
        if name == "snapstart":
            out.append(
                VariantCost(
                    kind="snapstart",
                    billed_restore_ms=float(s["billed_restore_ms_mean"] or 0),
                    snapstart_versions=versions,
                    **common,
                )
            )
        elif name == "sagemaker":
            instance = doc.get("endpoint", {}).get("instance_type") or config.get(
                "sagemaker_instance_type", "ml.t2.medium"
            )
            if instance == "serverless":
                out.append(
                    VariantCost(
                        kind="sagemaker-serverless",
                        serverless_memory_mb=int(
                            config.get("sagemaker_serverless_memory_mb", 2048)
                        ),
                        serverless_ms=float(s.get("endpoint_ms_mean") or s["billed_ms_mean"] or 0),
                        billed_init_ms=float(s["billed_init_ms_mean"] or 0),
                        **common,
                    )
                )
            else:
                out.append(
                    VariantCost(
                        kind="sagemaker",
                        instance_type=instance,
                        instance_count=int(config.get("sagemaker_instance_count", 1)),
                        billed_init_ms=float(s["billed_init_ms_mean"] or 0),
                        **common,
                    )
                )
        else:
            out.append(
                VariantCost(
                    kind="lambda",
                    billed_init_ms=float(s["billed_init_ms_mean"] or 0),
                    provisioned_concurrency=int(provisioned.get(name, 0)),
                    # the http variant gets the audio in the request: no S3 upload or reads
                    s3_puts=0 if name == HTTP else 1,
                    s3_gets=0 if name == HTTP else 2,
                    **common,
                )
            )
    return out


def parse_price(text: str) -> VariantCost:
    """A variant given as ``NAME=PER_1M:FIXED`` (a price per 1M requests and a fixed monthly cost)."""
    try:
        name, values = text.split("=", 1)
        per_million, fixed = (float(x) for x in values.split(":", 1))
    except ValueError:
        raise CostInputError(
            f"--price {text!r}: use NAME=PER_MILLION:FIXED_MONTHLY, e.g. standard=13.80:0"
        ) from None
    return VariantCost(name=name, kind="manual", per_million=per_million, fixed_monthly=fixed)


def manual_variants(args: Any) -> list[VariantCost]:
    """Variants from hand-given primitives (memory, billed ms, instance type, cold fraction)."""
    common = {"architecture": args.arch, "cold_fraction": args.cold_fraction or 0.0}
    return [
        VariantCost(
            name="standard",
            kind="lambda",
            memory_mb=args.memory_mb,
            billed_ms=args.billed_ms,
            billed_init_ms=args.init_ms,
            **common,
        ),
        VariantCost(
            name="snapstart",
            kind="snapstart",
            memory_mb=args.memory_mb,
            billed_ms=args.billed_ms,
            billed_restore_ms=args.restore_ms,
            snapstart_versions=args.snapstart_versions,
            **common,
        ),
        VariantCost(
            name="sagemaker",
            kind="sagemaker",
            memory_mb=args.proxy_memory_mb,
            billed_ms=args.proxy_billed_ms,
            billed_init_ms=args.init_ms,
            instance_type=args.instance_type,
            instance_count=args.instance_count,
            **common,
        ),
    ]


def add_primitive_args(group: argparse._ArgumentGroup) -> None:
    """Options that describe the variants by hand when there is no results file."""
    group.add_argument(
        "--memory-mb",
        type=int,
        default=DEFAULT_LAMBDA_MEMORY_MB,
        help=f"Lambda memory (default {DEFAULT_LAMBDA_MEMORY_MB})",
    )
    group.add_argument(
        "--billed-ms", type=float, default=200.0, help="billed ms per invocation (default 200)"
    )
    group.add_argument("--arch", default="x86_64", choices=["x86_64", "arm64"])
    group.add_argument(
        "--cold-fraction",
        type=float,
        default=None,
        help="share of invocations that are cold starts (overrides the results file)",
    )
    group.add_argument(
        "--init-ms", type=float, default=0.0, help="billed INIT per on-demand cold start"
    )
    group.add_argument(
        "--restore-ms", type=float, default=0.0, help="billed restore per SnapStart restore"
    )
    group.add_argument(
        "--snapstart-versions",
        type=int,
        default=1,
        help="active published SnapStart versions, each cached and billed (default 1; "
        "`bench prune` deletes unused ones)",
    )
    group.add_argument("--proxy-memory-mb", type=int, default=DEFAULT_PROXY_MEMORY_MB)
    group.add_argument("--proxy-billed-ms", type=float, default=100.0)
    group.add_argument("--instance-type", default="ml.t2.medium")
    group.add_argument("--instance-count", type=int, default=1)
