"""Stack configuration: defaults from Pulumi.yaml, values from the stack, checked early.

Every message names the setting at fault and says how to fix it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from audio_inference.endpoint import minimum_timeout_seconds
from audio_inference.settings import (
    ARCHITECTURES,
    DEFAULT_SAGEMAKER_INSTANCE_TYPE,
    EPHEMERAL_STORAGE_MB,
    LAMBDA_MEMORY_MB,
    LAMBDA_TIMEOUT_SECONDS,
    MANAGED,
    MAX_PAYLOAD_BYTES,
    PROVISIONABLE,
    SAGEMAKER,
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MEMORY_MB,
    SNAPSTART,
    SNAPSTART_EPHEMERAL_STORAGE_MB,
    VARIANTS,
)

from .aws_models import ec2_instance_types, hosting_instance_types, log_retention_days
from .managed_settings import ManagedSettings, ManagedSettingsError, load_managed

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = ROOT / "Pulumi.yaml"


GRAVITON = re.compile(r"^ml\.[a-z]+\d+g[a-z]*\.")
"""SageMaker's arm64 families (ml.c6g, ml.c7g, ml.m6g, ml.m7g, ml.r7g, ml.c6gn, ml.g5g, ...)."""


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
    sagemaker_max_instance_count: int
    """0: no autoscaling; else target tracking from sagemaker_instance_count up to this"""
    sagemaker_target_invocations_per_instance: int
    sagemaker_serverless_max_concurrency: int
    model_path: Path
    max_object_mb: int
    max_audio_seconds: int
    log_retention_days: int
    force_destroy_bucket: bool
    managed: ManagedSettings
    provisioned_concurrency: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    region: str | None = None

    def memory_mb(self, variant: str) -> int:
        """Configured memory of ``variant``'s function."""
        if variant == MANAGED:
            return self.managed.memory_mb
        return self.proxy_memory_mb if variant == SAGEMAKER else self.lambda_memory_mb

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
        if kind == "string" or key in LIST_SETTINGS:  # a list, or "a,b" (see _variants)
            return stack_config.get(key)
        return stack_config.get_object(key)  # maps

    return load(get)


def stack_file_values(path: Path | None) -> dict[str, Any]:
    """This project's settings from a ``Pulumi.<stack>.yaml`` (keys without the namespace).

    ``aws:region`` is returned as ``region`` when set.
    """
    if path is None:
        return {}
    try:
        doc = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StackConfigError(f"stack config {path}: cannot read it as YAML ({exc})") from None
    namespace = project_name() + ":"
    values: dict[str, Any] = {}
    for key, value in (doc.get("config") or {}).items():
        if key.startswith(namespace):
            name = key[len(namespace) :]
            if name not in project_schema():
                raise StackConfigError(
                    f"stack config {path}: {key} is not a setting of this project; "
                    f"known: {', '.join(project_schema())}"
                )
            values[name] = (
                value.get("value")
                if isinstance(value, dict) and "secure" not in value and "value" in value
                else value
            )
            if not (isinstance(value, dict) and "secure" in value):
                stack = Path(path).name.removeprefix("Pulumi.").rsplit(".", 1)[0]
                error = cli_type_error(stack, name, project_schema()[name], values[name])
                if error:
                    raise StackConfigError(f"stack config {path}: {error}")
                values[name] = _as_declared(project_schema()[name], values[name])
        elif key == "aws:region":
            values["region"] = value
    return values


LIST_SETTINGS = ("variants", "vpcSubnetIds", "vpcSecurityGroupIds")
"""Untyped in Pulumi.yaml: read as a YAML list, a JSON list or a comma-separated string."""

INT_STRING = re.compile(r"[+-]?[0-9]+")
"""What Go's strconv.Atoi accepts (the Pulumi CLI's test for an integer given as a string)."""


def cli_type_error(stack: str, key: str, declared: dict[str, Any], value: Any) -> str | None:
    """The Pulumi CLI's refusal of a stack value that does not match its declared type.

    ``pulumi up`` checks every explicitly typed project setting before the program runs
    (``ValidateConfigValue`` in sdk/go/common/workspace/project.go; untyped settings are
    skipped): a string must be a string; an integer an int or a string strconv.Atoi
    parses; a boolean a bool or "true"/"false"; an array a YAML list whose items match.
    """
    kind = declared.get("type")
    if kind is None:
        return None

    def ok(kind: str, items: dict[str, Any] | None, value: Any) -> bool:
        if kind == "string":
            return isinstance(value, str)
        if kind == "integer":
            if isinstance(value, str):
                return INT_STRING.fullmatch(value) is not None
            return isinstance(value, int) and not isinstance(value, bool)
        if kind == "boolean":
            return isinstance(value, bool) or value in ("true", "false")
        if kind == "array":
            return (
                isinstance(value, list)
                and items is not None
                and all(ok(items.get("type", ""), items.get("items"), v) for v in value)
            )
        return True

    if ok(kind, declared.get("items"), value):
        return None
    shown = f"array<{declared.get('items', {}).get('type', '?')}>" if kind == "array" else kind
    return (
        f"Stack '{stack}' with configuration key '{key}' must be of type '{shown}' "
        f"(found {value!r}): the Pulumi CLI refuses it before the program runs; "
        f"{_fix(key, declared.get('default'))}"
    )


def _as_declared(declared: dict[str, Any], value: Any) -> Any:
    """A CLI-accepted string as the program reads it (``get_int``, ``get_bool``)."""
    if isinstance(value, str) and declared.get("type") == "integer":
        return int(value)
    if isinstance(value, str) and declared.get("type") == "boolean":
        return value == "true"
    return value


def read_settings(stack_file: Path | None = None, check_model: bool = True) -> StackConfig:
    """The one way to read stack settings outside Pulumi: defaults from Pulumi.yaml,
    values from ``stack_file`` (a ``Pulumi.<stack>.yaml``) when given."""
    values = stack_file_values(stack_file)
    region = values.pop("region", None)
    return dataclasses.replace(load(values.get, check_model), region=region)


def _variants(raw: Any) -> list[str]:
    """A list, a JSON list string, or a comma-separated string (``standard,snapstart``)."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            import json

            try:
                raw = json.loads(text)
            except ValueError:
                raise StackConfigError(f"variants={raw!r} is not a JSON list") from None
        else:
            return [v.strip() for v in text.split(",") if v.strip()]
    if not isinstance(raw, list):
        raise StackConfigError(f"variants={raw!r} must be a list")
    return [str(v).strip() for v in raw]


def load(get: Callable[[str], Any], check_model: bool = True) -> StackConfig:
    """Build a StackConfig; ``get(key)`` returns the stack's value or None for the default."""
    schema = project_schema()

    def value(key: str) -> Any:
        given = get(key)
        return schema[key].get("default") if given is None else given

    variants = _variants(value("variants"))
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise StackConfigError(
            f"variants={variants!r}: {', '.join(map(repr, unknown)) or 'empty list'} is not a variant; "
            f"choose from {', '.join(VARIANTS)} and set exactly the ones you want, e.g. "
            "`pulumi config set variants standard,snapstart`"
        )
    architecture = value("architecture")
    if architecture not in ARCHITECTURES:
        raise StackConfigError(
            f"architecture={architecture!r} must be {' or '.join(ARCHITECTURES)}; {_fix('architecture', 'arm64')}"
        )
    storage = _int_range(
        "ephemeralStorageMb", value("ephemeralStorageMb"), *EPHEMERAL_STORAGE_MB, 512
    )
    if SNAPSTART in variants and storage != SNAPSTART_EPHEMERAL_STORAGE_MB:
        raise StackConfigError(
            f"ephemeralStorageMb={storage} cannot be used with SnapStart, which requires "
            f"{SNAPSTART_EPHEMERAL_STORAGE_MB} MB; {_fix('ephemeralStorageMb', 512)} "
            "or remove snapstart from variants"
        )
    instance_type = value("sagemakerInstanceType")
    serverless_mb = int(value("sagemakerServerlessMemoryMb"))
    offered = hosting_instance_types()
    if SAGEMAKER in variants and not serverless_mb and instance_type not in offered:
        hint = (
            " (ml.t3.medium is not offered for real-time endpoints)"
            if instance_type == "ml.t3.medium"
            else ""
        )
        similar = sorted(t for t in offered if t.startswith(str(instance_type).rsplit(".", 1)[0]))
        raise StackConfigError(
            f"sagemakerInstanceType={instance_type!r} is not a real-time hosting instance{hint} "
            f"(SageMaker's API lists {len(offered)}"
            + (f", e.g. {', '.join(similar[:6])}" if similar else "")
            + f"); e.g. `pulumi config set sagemakerInstanceType {DEFAULT_SAGEMAKER_INSTANCE_TYPE}`"
        )
    if SAGEMAKER in variants and not serverless_mb and GRAVITON.match(str(instance_type)):
        raise StackConfigError(
            f"sagemakerInstanceType={instance_type!r} is a Graviton (arm64) type, and the serving "
            "image (sagemaker/Dockerfile) is built for linux/amd64 only; choose an x86 type, e.g. "
            "`pulumi config set sagemakerInstanceType ml.c5.large`"
        )
    if serverless_mb:
        _int_range("sagemakerServerlessMemoryMb", serverless_mb, *SERVERLESS_MEMORY_MB, 2048)
        if serverless_mb % 1024:
            raise StackConfigError(
                f"sagemakerServerlessMemoryMb={serverless_mb} must be a multiple of 1024 "
                f"({SERVERLESS_MEMORY_MB[0]}-{SERVERLESS_MEMORY_MB[1]}); "
                f"{_fix('sagemakerServerlessMemoryMb', 2048)}"
            )
    count = _int_range("sagemakerInstanceCount", value("sagemakerInstanceCount"), 1, 10, 1)
    top = _int_range("sagemakerMaxInstanceCount", value("sagemakerMaxInstanceCount"), 0, 10, 0)
    per_instance = _int_range(
        "sagemakerTargetInvocationsPerInstance",
        value("sagemakerTargetInvocationsPerInstance"),
        0,
        1_000_000,
        600,
    )
    if top:
        # SageMaker does not autoscale T2 ("they already allow for increased capacity",
        # endpoint-auto-scaling-prerequisites.html); serverless scales by itself.
        reason = (
            "serverless endpoints scale by themselves"
            if serverless_mb
            else "SageMaker does not autoscale T2 instances"
            if str(instance_type).startswith("ml.t2.")
            else f"it is below sagemakerInstanceCount={count}"
            if top < count
            else "sagemakerTargetInvocationsPerInstance is not set"
            if not per_instance
            else None
        )
        if reason:
            raise StackConfigError(
                f"sagemakerMaxInstanceCount={top} cannot be used: {reason}; "
                "`pulumi config set sagemakerMaxInstanceCount 0` turns autoscaling off"
            )
    timeout = _int_range("timeoutSeconds", value("timeoutSeconds"), *LAMBDA_TIMEOUT_SECONDS, 90)
    if SAGEMAKER in variants and timeout < minimum_timeout_seconds():
        raise StackConfigError(
            f"timeoutSeconds={timeout} is too short for the sagemaker proxy: one endpoint call may "
            f"take {minimum_timeout_seconds()} s (the container's 60 s plus room for a serverless "
            f"cold start); {_fix('timeoutSeconds', 90)}"
        )
    retention = int(value("logRetentionDays"))
    if retention not in log_retention_days():
        raise StackConfigError(
            f"logRetentionDays={retention} is not a retention CloudWatch Logs accepts; use one of "
            f"{', '.join(map(str, log_retention_days()))}; {_fix('logRetentionDays', 7)}"
        )
    model_path = Path(value("modelPath"))
    if not model_path.is_absolute():
        model_path = ROOT / model_path
    for needed in (model_path, model_path.parent / "model.json") if check_model else ():
        if not needed.is_file():
            raise StackConfigError(
                f"modelPath: {needed} does not exist; run `make model` (python -m model_build) "
                "or point modelPath at an exported model.onnx with model.json beside it"
            )
    provisioned = value("provisionedConcurrency") or {}
    if not isinstance(provisioned, dict):
        raise StackConfigError(
            f"provisionedConcurrency={provisioned!r} must be a map of variant to count; "
            "set entries with `pulumi config set --path provisionedConcurrency.http 2`"
        )
    for variant, count in provisioned.items():
        if variant == SNAPSTART:
            raise StackConfigError(
                "provisionedConcurrency.snapstart: SnapStart cannot be combined with provisioned "
                "concurrency; use it on standard, container or http, "
                "`pulumi config rm --path provisionedConcurrency.snapstart`"
            )
        if variant not in PROVISIONABLE or variant not in variants:
            raise StackConfigError(
                f"provisionedConcurrency.{variant}: {variant!r} is not a deployed variant that "
                f"can keep provisioned concurrency ({', '.join(PROVISIONABLE)} in variants)"
            )
        _int_range(f"provisionedConcurrency.{variant}", count, 0, 1000, 1)
    try:
        managed = load_managed(value, _int_range, ec2_instance_types())
    except ManagedSettingsError as exc:
        raise StackConfigError(str(exc)) from None
    tags = value("tags") or {}
    if not isinstance(tags, dict):
        raise StackConfigError(
            f"tags={tags!r} must be a map; set entries with `pulumi config set --path tags.owner me`"
        )
    return StackConfig(
        variants=tuple(v for v in VARIANTS if v in variants),
        lambda_memory_mb=_int_range(
            "lambdaMemoryMb", value("lambdaMemoryMb"), *LAMBDA_MEMORY_MB, 4096
        ),
        architecture=architecture,
        timeout_seconds=timeout,
        ephemeral_storage_mb=storage,
        proxy_memory_mb=_int_range("proxyMemoryMb", value("proxyMemoryMb"), *LAMBDA_MEMORY_MB, 128),
        sagemaker_instance_type=instance_type,
        sagemaker_instance_count=count,
        sagemaker_serverless_memory_mb=serverless_mb,
        sagemaker_max_instance_count=top,
        sagemaker_target_invocations_per_instance=per_instance,
        sagemaker_serverless_max_concurrency=_int_range(
            "sagemakerServerlessMaxConcurrency",
            value("sagemakerServerlessMaxConcurrency"),
            *SERVERLESS_MAX_CONCURRENCY,
            5,
        ),
        model_path=model_path,
        max_object_mb=_int_range(
            "maxObjectMb",
            value("maxObjectMb"),
            1,
            MAX_PAYLOAD_BYTES // 2**20,
            MAX_PAYLOAD_BYTES // 2**20,
        ),
        max_audio_seconds=_int_range("maxAudioSeconds", value("maxAudioSeconds"), 1, 600, 30),
        log_retention_days=retention,
        force_destroy_bucket=bool(value("forceDestroyBucket")),
        managed=managed,
        provisioned_concurrency={str(k): int(v) for k, v in provisioned.items() if v},
        tags={str(k): str(v) for k, v in tags.items()},
    )
