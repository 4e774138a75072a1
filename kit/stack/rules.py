"""The documented rules AWS applies that botocore's models do not carry (preflight's second
layer): standard Lambda's memory and timeout, SnapStart's /tmp, Managed Instances' function
size, runtime and publishing, CloudWatch Logs retention values, Serverless memory steps."""

from __future__ import annotations

import re
from typing import Any

from audio_inference.settings import LAMBDA_MEMORY_MB, LAMBDA_TIMEOUT_SECONDS, MANAGED_MEMORY_MB


def kit_rules(typ: str, inputs: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Documented limits the API models do not carry: (field, problem, source)."""
    from components.aws_models import log_retention_days

    out = []
    managed = (inputs.get("capacityProviderConfig") or {}).get(
        "lambdaManagedInstancesCapacityProviderConfig"
    )
    if typ == "aws:lambda/function:Function" and managed:
        out += _managed_rules(inputs, managed)
    if typ == "aws:lambda/function:Function" and not managed:
        low, high = LAMBDA_MEMORY_MB
        if not low <= int(inputs.get("memorySize", low)) <= high:
            out.append(
                (
                    "MemorySize",
                    f"{inputs['memorySize']} MB is outside standard Lambda's {low}-{high} MB",
                    "Lambda quotas",
                )
            )
        low, high = LAMBDA_TIMEOUT_SECONDS
        if not low <= int(inputs.get("timeout", low)) <= high:
            out.append(
                ("Timeout", f"{inputs['timeout']} s is outside {low}-{high} s", "Lambda quotas")
            )
        if inputs.get("snapStart") and inputs.get("ephemeralStorage", {}).get("size", 512) != 512:
            out.append(
                ("Size", "SnapStart requires 512 MB of /tmp", "Lambda SnapStart limitations")
            )
    retention = inputs.get("retentionInDays")
    known = log_retention_days()
    if (
        typ == "aws:cloudwatch/logGroup:LogGroup"
        and retention is not None
        and retention not in known
    ):
        problem = f"{retention} days is not a value PutRetentionPolicy accepts"
        out.append(("retentionInDays", problem, "botocore docs of PutRetentionPolicy"))
    if typ == "aws:sagemaker/endpointConfiguration:EndpointConfiguration":
        for variant in inputs.get("productionVariants", []):
            memory = (variant.get("serverlessConfig") or {}).get("memorySizeInMb")
            if memory is not None and memory % 1024:
                out.append(
                    (
                        "MemorySizeInMB",
                        f"{memory} MB is not a multiple of 1024",
                        "SageMaker Serverless docs",
                    )
                )
    return out


def _managed_rules(inputs: dict[str, Any], managed: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Lambda Managed Instances' function rules: 2 GB minimum, whole vCPUs at the memory per
    vCPU ratio, a runtime it supports, published versions only."""
    source = "Lambda Managed Instances guide"
    out = []
    memory = int(inputs.get("memorySize", 128))
    low, high = MANAGED_MEMORY_MB
    ratio = float(managed.get("executionEnvironmentMemoryGibPerVcpu") or 2)
    if not low <= memory <= high:
        out.append(
            ("MemorySize", f"{memory} MB is outside Managed Instances' {low}-{high} MB", source)
        )
    elif memory % round(1024 * ratio):
        out.append(
            (
                "MemorySize",
                f"{memory} MB is not a whole number of vCPUs at {ratio:g} GiB per vCPU",
                source,
            )
        )
    runtime = str(inputs.get("runtime", ""))
    version = tuple(int(n) for n in re.findall(r"\d+", runtime)[:2])
    if runtime.startswith("python") and version < (3, 13):
        out.append(("Runtime", f"{runtime}: Managed Instances run Python 3.13 and newer", source))
    if not inputs.get("publish"):
        out.append(("Publish", "a Managed Instances function runs published versions only", source))
    return out
