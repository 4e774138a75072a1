"""Stack outputs: read them, check that a run has what it needs, and the clients to use.

The output names are defined once in ``components.outputs`` (the program exports them).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from audio_inference.settings import UPLOAD_VARIANTS, VARIANTS

from components import outputs as out
from kit import ROOT
from kit.errors import KitError

MAY_BE_EMPTY = {out.PROVISIONED_CONCURRENCY, out.SAGEMAKER_SERVERLESS_MEMORY_MB}
"""Outputs whose empty value ({} or 0) is a real answer, not a missing output."""


def load_outputs(stack: str | None, outputs_file: str | None) -> dict:
    """Stack outputs from ``pulumi stack output --json`` or a file holding that JSON."""
    if outputs_file:
        try:
            return json.loads(Path(outputs_file).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise KitError(f"--outputs {outputs_file}: cannot read it as JSON ({exc})") from None
    if not stack:
        raise KitError(
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
        raise KitError(
            "the pulumi CLI is not on PATH: install it, or pass --outputs FILE"
        ) from None
    if done.returncode != 0:
        raise KitError(
            f"`pulumi stack output --stack {stack}` failed: {done.stderr.strip()[-500:]}"
        )
    return json.loads(done.stdout)


def check_outputs(outputs: dict, wanted: list[str] | None = None) -> list[str]:
    """Return the variants to run; refuse when an output the run needs is missing."""
    if not isinstance(outputs, dict):
        raise KitError(
            "stack outputs: expected the JSON object `pulumi stack output --json` prints"
        )
    for key in out.REQUIRED:
        if _missing(outputs, key):
            raise KitError(
                f"stack output {key!r} is missing: run `pulumi up` on this stack, or pass the "
                "complete `pulumi stack output --json` with --outputs"
            )
    deployed = [v for v in outputs[out.VARIANTS] if v in VARIANTS]
    variants = wanted or deployed
    for v in variants:
        if v not in deployed:
            raise KitError(
                f"variant {v!r} is not deployed in this stack (it has {', '.join(deployed)}); "
                f"add it with `pulumi config set` and `pulumi up`, or drop it from --variants"
            )
        keys = [out.FUNCTION_NAMES, out.LOG_GROUP_NAMES, out.MEMORY_MB]
        keys += [out.UPLOAD_PREFIXES] if v in UPLOAD_VARIANTS else []
        for key in keys:
            if not isinstance(outputs.get(key), dict) or v not in outputs[key]:
                raise KitError(
                    f"stack output {key!r} has no entry for {v!r}: run `pulumi up` again"
                )
        for key in out.PER_VARIANT.get(v, ()):
            if _missing(outputs, key):
                raise KitError(
                    f"stack output {key!r} is missing, which the {v} variant needs: run `pulumi up`"
                )
    return variants


def _missing(outputs: dict[str, Any], key: str) -> bool:
    value = outputs.get(key)
    return value is None or (key not in MAY_BE_EMPTY and value in ("", [], {}))


def variant_memory(outputs: dict, variant: str) -> int:
    """The deployed memory of ``variant``'s function, from the stack outputs (one source)."""
    return int(outputs[out.MEMORY_MB][variant])


class Clients:
    """boto3 clients for the stack's region (endpoints honour AWS_ENDPOINT_URL*)."""

    def __init__(self, region: str) -> None:
        import boto3

        session = boto3.Session(region_name=region)
        self.s3 = session.client("s3")
        self.dynamodb = session.client("dynamodb")
        self.logs = session.client("logs")
        self.lambda_ = session.client("lambda")
