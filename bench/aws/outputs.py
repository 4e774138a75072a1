"""Stack outputs: read them, check that a run has what it needs, and the clients to use."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
from audio_inference.settings import (
    HTTP,
    SAGEMAKER,
    SNAPSTART,
    UPLOAD_VARIANTS,
    VARIANTS,
)

from bench import ROOT

REQUIRED_OUTPUTS = (
    "region",
    "bucket_name",
    "table_name",
    "variants",
    "function_names",
    "log_group_names",
    "memory_mb",
)
PER_VARIANT_OUTPUTS = {
    SNAPSTART: ("snapstart_alias_name",),
    SAGEMAKER: ("endpoint_name",),
    HTTP: ("function_urls",),
}
EXIT_OK, EXIT_CHECKS, EXIT_INPUT, EXIT_DECLINED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class BenchError(RuntimeError):
    """A user-facing failure with the exit code to use."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def load_outputs(stack: str | None, outputs_file: str | None) -> dict:
    """Stack outputs from ``pulumi stack output --json`` or a file holding that JSON."""
    if outputs_file:
        try:
            return json.loads(Path(outputs_file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BenchError(f"--outputs {outputs_file}: cannot read it as JSON ({exc})") from None
    if not stack:
        raise BenchError(
            "name the stack with --stack NAME, or pass --outputs FILE "
            "(the JSON printed by `pulumi stack output --json`)"
        )
    try:
        done = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except FileNotFoundError:
        raise BenchError(
            "the pulumi CLI is not on PATH: install it, or pass --outputs FILE"
        ) from None
    if done.returncode != 0:
        raise BenchError(
            f"`pulumi stack output --stack {stack}` failed: {done.stderr.strip()[-500:]}"
        )
    return json.loads(done.stdout)


def check_outputs(outputs: dict, wanted: list[str] | None = None) -> list[str]:
    """Return the variants to run; refuse when an output the run needs is missing."""
    for key in REQUIRED_OUTPUTS:
        if key not in outputs or outputs[key] in (None, "", [], {}):
            raise BenchError(
                f"stack output {key!r} is missing: run `pulumi up` on this stack, or pass the "
                "complete `pulumi stack output --json` with --outputs"
            )
    deployed = [v for v in outputs["variants"] if v in VARIANTS]
    variants = wanted or deployed
    for v in variants:
        if v not in deployed:
            raise BenchError(
                f"variant {v!r} is not deployed in this stack (it has {', '.join(deployed)}); "
                f"add it with `pulumi config set` and `pulumi up`, or drop it from --variants"
            )
        keys = ["function_names", "log_group_names", "memory_mb"]
        keys += ["upload_prefixes"] if v in UPLOAD_VARIANTS else []
        for key in keys:
            if v not in outputs.get(key, {}):
                raise BenchError(
                    f"stack output {key!r} has no entry for {v!r}: run `pulumi up` again"
                )
        for key in PER_VARIANT_OUTPUTS.get(v, ()):
            if not outputs.get(key):
                raise BenchError(
                    f"stack output {key!r} is missing, which the {v} variant needs: run `pulumi up`"
                )
    return variants


def variant_memory(outputs: dict, variant: str) -> int:
    """The deployed memory of ``variant``'s function, from the stack outputs (one source)."""
    return int(outputs["memory_mb"][variant])


class Clients:
    """boto3 clients for the stack's region (endpoints honour AWS_ENDPOINT_URL*)."""

    def __init__(self, region: str) -> None:
        session = boto3.Session(region_name=region)
        self.s3 = session.client("s3")
        self.dynamodb = session.client("dynamodb")
        self.logs = session.client("logs")
        self.lambda_ = session.client("lambda")
