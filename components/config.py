"""Stack configuration: defaults from Pulumi.yaml, values from the stack, checked early.

Every message names the setting at fault and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from audio_inference.settings import SAGEMAKER, SNAPSTART, VARIANTS

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = ROOT / "Pulumi.yaml"
# Instance types that SageMaker real-time hosting accepts and the cost model prices.
# (ml.t3.medium exists for notebooks, not for endpoints.)
HOSTING_INSTANCE_TYPES = frozenset(
    {
        "ml.t2.medium",
        "ml.t2.large",
        "ml.t2.xlarge",
        "ml.m5.large",
        "ml.m5.xlarge",
        "ml.c5.large",
        "ml.c5.xlarge",
        "ml.c6i.large",
        "ml.m6i.large",
        "ml.g4dn.xlarge",
    }
)


class StackConfigError(ValueError):
    """A stack setting is invalid; the message names it and says how to fix it."""


def project_schema() -> dict[str, dict[str, Any]]:
    """The ``config:`` block of Pulumi.yaml (each setting's default and description)."""
    return yaml.safe_load(PROJECT_FILE.read_text())["config"]


def project_name() -> str:
    """The project name from Pulumi.yaml (the config namespace)."""
    return str(yaml.safe_load(PROJECT_FILE.read_text())["name"])


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Validated stack settings (see Pulumi.yaml for each one's meaning)."""

    variants: tuple[str, ...]
    lambda_memory_mb: int
    architecture: str
    timeout_seconds: int
    ephemeral_storage_mb: int
    proxy_memory_mb: int
    sagemaker_instance_type: str
    sagemaker_instance_count: int
    sagemaker_serverless_memory_mb: int
    sagemaker_serverless_max_concurrency: int
    model_path: Path
    max_object_mb: int
    max_audio_seconds: int
    log_retention_days: int
    force_destroy_bucket: bool
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def model_dir(self) -> Path:
        """Folder holding model.onnx and model.json."""
        return self.model_path.parent


def _fix(key: str, example: Any) -> str:
    return f"fix it with `pulumi config set {key} {example}`"


def _int_range(key: str, value: Any, low: int, high: int, example: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StackConfigError(
            f"{key}={value!r} must be an integer from {low} to {high}; {_fix(key, example)}"
        )
    return value


def from_pulumi(stack_config: Any) -> StackConfig:
    """Load from a ``pulumi.Config``, reading each setting with its declared type."""
    schema = project_schema()

    def get(key: str) -> Any:
        kind = schema[key].get("type")
        if kind == "integer":
            return stack_config.get_int(key)
        if kind == "boolean":
            return stack_config.get_bool(key)
        if kind == "string":
            return stack_config.get(key)
        return stack_config.get_object(key)  # arrays and maps

    return load(get)


def load(get: Callable[[str], Any]) -> StackConfig:
    """Build a StackConfig; ``get(key)`` returns the stack's value or None for the default."""
    schema = project_schema()

    def value(key: str) -> Any:
        given = get(key)
        return schema[key].get("default") if given is None else given

    variants = value("variants")
    if isinstance(variants, str):
        variants = [v.strip() for v in variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise StackConfigError(
            f"variants={variants!r}: {', '.join(map(repr, unknown)) or 'empty list'} is not a variant; "
            f"choose from {', '.join(VARIANTS)}, e.g. `pulumi config set --path 'variants[0]' standard`"
        )
    architecture = value("architecture")
    if architecture not in ("x86_64", "arm64"):
        raise StackConfigError(
            f"architecture={architecture!r} must be x86_64 or arm64; {_fix('architecture', 'arm64')}"
        )
    storage = _int_range("ephemeralStorageMb", value("ephemeralStorageMb"), 512, 10240, 512)
    if SNAPSTART in variants and storage > 512:
        raise StackConfigError(
            f"ephemeralStorageMb={storage} cannot be used with SnapStart, which requires 512 MB; "
            f"{_fix('ephemeralStorageMb', 512)} or remove snapstart from variants"
        )
    instance_type = value("sagemakerInstanceType")
    serverless_mb = int(value("sagemakerServerlessMemoryMb"))
    if SAGEMAKER in variants and not serverless_mb and instance_type not in HOSTING_INSTANCE_TYPES:
        hint = (
            " (ml.t3.medium is not offered for real-time endpoints)"
            if instance_type == "ml.t3.medium"
            else ""
        )
        raise StackConfigError(
            f"sagemakerInstanceType={instance_type!r} is not a real-time hosting instance{hint}; "
            f"use one of {', '.join(sorted(HOSTING_INSTANCE_TYPES))}, "
            f"e.g. `pulumi config set sagemakerInstanceType ml.t2.medium`"
        )
    if serverless_mb:
        _int_range("sagemakerServerlessMemoryMb", serverless_mb, 1024, 6144, 2048)
        if serverless_mb % 1024:
            raise StackConfigError(
                f"sagemakerServerlessMemoryMb={serverless_mb} must be a multiple of 1024 (1024-6144); "
                f"{_fix('sagemakerServerlessMemoryMb', 2048)}"
            )
    model_path = Path(value("modelPath"))
    if not model_path.is_absolute():
        model_path = ROOT / model_path
    for needed in (model_path, model_path.parent / "model.json"):
        if not needed.is_file():
            raise StackConfigError(
                f"modelPath: {needed} does not exist; run `make model` (python -m model_build) "
                "or point modelPath at an exported model.onnx with model.json beside it"
            )
    tags = value("tags") or {}
    if not isinstance(tags, dict):
        raise StackConfigError(
            f"tags={tags!r} must be a map; set entries with `pulumi config set --path tags.owner me`"
        )
    return StackConfig(
        variants=tuple(v for v in VARIANTS if v in variants),
        lambda_memory_mb=_int_range("lambdaMemoryMb", value("lambdaMemoryMb"), 128, 10240, 4096),
        architecture=architecture,
        timeout_seconds=_int_range("timeoutSeconds", value("timeoutSeconds"), 1, 900, 90),
        ephemeral_storage_mb=storage,
        proxy_memory_mb=_int_range("proxyMemoryMb", value("proxyMemoryMb"), 128, 10240, 128),
        sagemaker_instance_type=instance_type,
        sagemaker_instance_count=_int_range(
            "sagemakerInstanceCount", value("sagemakerInstanceCount"), 1, 10, 1
        ),
        sagemaker_serverless_memory_mb=serverless_mb,
        sagemaker_serverless_max_concurrency=_int_range(
            "sagemakerServerlessMaxConcurrency",
            value("sagemakerServerlessMaxConcurrency"),
            1,
            200,
            5,
        ),
        model_path=model_path,
        max_object_mb=_int_range("maxObjectMb", value("maxObjectMb"), 1, 6, 6),
        max_audio_seconds=_int_range("maxAudioSeconds", value("maxAudioSeconds"), 1, 600, 30),
        log_retention_days=int(value("logRetentionDays")),
        force_destroy_bucket=bool(value("forceDestroyBucket")),
        tags={str(k): str(v) for k, v in tags.items()},
    )
