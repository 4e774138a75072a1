"""The one source of truth for names, limits and ranges shared by functions, stack, bench and tests.

Environment variable names, variant names, the predictions table's key schema,
the upload prefixes and AWS's limits are defined here and imported everywhere
else. Stack defaults live in Pulumi.yaml (a test checks they agree with the
constants below). This module has no dependencies so the Pulumi program can
import it too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

# Environment variables read by the handlers (set by the Pulumi components and
# by the local runner).
ENV_PREDICTIONS_TABLE = "PREDICTIONS_TABLE"
ENV_MODEL_S3_URI = "MODEL_S3_URI"
ENV_VARIANT = "VARIANT"
ENV_ENDPOINT_NAME = "ENDPOINT_NAME"
ENV_MAX_OBJECT_BYTES = "MAX_OBJECT_BYTES"
ENV_MAX_AUDIO_SECONDS = "MAX_AUDIO_SECONDS"
ENV_MODEL_DIR = "MODEL_DIR"
ENV_FUNCTION_TIMEOUT = "FUNCTION_TIMEOUT_SECONDS"
ENV_FAILURE_QUEUE_URL = "FAILURE_QUEUE_URL"
ENV_MODEL_THREADS = "MODEL_THREADS"
"""onnxruntime threads per process; set where one environment runs several requests at once."""

# Variant names, also the range key values in the table.
STANDARD = "standard"
SNAPSTART = "snapstart"
SAGEMAKER = "sagemaker"
CONTAINER = "container"  # container-image Lambda, model baked into the image
HTTP = "http"  # standard Lambda behind a function URL: POST audio, get the prediction back
# Lambda Managed Instances: python3.13 on EC2 capacity in your VPC, several requests at once
# per execution environment (one process each), no cold starts, billed per instance-hour.
MANAGED = "managed"
VARIANTS: tuple[str, ...] = (STANDARD, SNAPSTART, SAGEMAKER, CONTAINER, HTTP, MANAGED)
# Variants triggered by S3 uploads (the others answer HTTP requests).
UPLOAD_VARIANTS: tuple[str, ...] = (STANDARD, SNAPSTART, SAGEMAKER, CONTAINER, MANAGED)
# Variants whose function runs the ONNX model itself (the SageMaker proxy forwards the audio).
MODEL_IN_LAMBDA: tuple[str, ...] = (STANDARD, SNAPSTART, CONTAINER, HTTP, MANAGED)
# Variants that may keep provisioned concurrency (SnapStart cannot be combined with it).
PROVISIONABLE: tuple[str, ...] = (STANDARD, SAGEMAKER, CONTAINER, HTTP)
# Where the container image keeps the model (the image's /opt/model).
IMAGE_MODEL_DIR = "/opt/model"

# Entry point of each variant inside the function package.
HANDLERS = {
    STANDARD: "standard_handler.handler",
    SNAPSTART: "snapstart_handler.handler",
    SAGEMAKER: "sagemaker_proxy_handler.handler",
    CONTAINER: "standard_handler.handler",
    HTTP: "http_handler.handler",
    MANAGED: "standard_handler.handler",
}

# Predictions table key schema: one item per (object, variant).
TABLE_HASH_KEY = "object"
TABLE_RANGE_KEY = "variant"

# Uploads under incoming/<variant>/ trigger that variant only.
UPLOAD_ROOT = "incoming/"
UPLOAD_SUFFIX = ".wav"

# AWS limits (checked November 2026; see README "Configuration").
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda sync payload and SageMaker real-time payload
LAMBDA_MEMORY_MB = (128, 10_240)  # standard Lambda; Managed Instances allow more
LAMBDA_TIMEOUT_SECONDS = (1, 900)
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one vCPU of CPU time per 1,769 MB
EPHEMERAL_STORAGE_MB = (512, 10_240)
# Lambda Managed Instances (botocore's lambda model; "The minimum supported function size is
# 2GB and 1 vCPU", lambda-managed-instances-best-practices.html; 32 GB maximum).
MANAGED_MEMORY_MB = (2048, 32_768)
MANAGED_GIB_PER_VCPU = (2, 4, 8)  # ExecutionEnvironmentMemoryGiBPerVCpu: 2:1, 4:1 or 8:1
MANAGED_MAX_CONCURRENCY = (1, 1600)  # PerExecutionEnvironmentMaxConcurrency
MANAGED_MAX_VCPUS = (2, 15_000)  # CapacityProviderScalingConfig.MaxVCpuCount
MANAGED_ENVIRONMENTS = (0, 15_000)  # FunctionScalingConfig Min/MaxExecutionEnvironments
MANAGED_RUNTIME = "python3.13"  # Managed Instances run Python 3.13 and newer only
MANAGED_INSTANCES_AT_START = 3  # launched at publish for AZ resiliency, never fewer while active
# What each instance keeps for its OS and the Lambda agent: 1 vCPU and 1 GiB (AWS's agent
# toolkit for Lambda Managed Instances; not in the Developer Guide, so unverified). Only the
# rest holds execution environments.
MANAGED_RESERVED_VCPUS = 1
MANAGED_RESERVED_GIB = 1
SNAPSTART_EPHEMERAL_STORAGE_MB = 512
SERVERLESS_MEMORY_MB = (1024, 6144)  # SageMaker Serverless, in steps of 1024
SERVERLESS_MAX_CONCURRENCY = (1, 200)
ENDPOINT_RESPONSE_SECONDS = 60  # a SageMaker container must answer /invocations within this
# "The maximum request and response payload size for serverless invocations is 4 MB"
# (serverless-endpoints-invoke.html); read as 4,000,000 bytes, the smaller reading.
SERVERLESS_PAYLOAD_BYTES = 4_000_000
# A function URL's binary body reaches Lambda base64-encoded inside the event, and the event
# must fit the 6 MB invoke payload: 4/3 x body + headers and request context (64 KiB allowed).
HTTP_MAX_BODY_BYTES = (MAX_PAYLOAD_BYTES - 64 * 1024) * 3 // 4


def max_object_bytes(variant: str, configured: int, serverless: bool) -> int:
    """The largest upload ``variant`` can take: the configured limit, capped by what its
    entry can carry (a function URL's base64 event; a serverless endpoint's 4 MB)."""
    if variant == HTTP:
        return min(configured, HTTP_MAX_BODY_BYTES)
    if variant == SAGEMAKER and serverless:
        return min(configured, SERVERLESS_PAYLOAD_BYTES)
    return configured


ARCHITECTURES: tuple[str, ...] = ("x86_64", "arm64")
# Content types both synchronous entries (the function URL, the serving app) accept; a request
# without one is accepted too (the body is judged by its audio).
AUDIO_CONTENT_TYPES = frozenset(
    {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream"}
)

# Stack defaults, also declared in Pulumi.yaml (tests/unit/test_settings.py keeps them equal).
DEFAULT_LAMBDA_MEMORY_MB = 4096
DEFAULT_PROXY_MEMORY_MB = 128
DEFAULT_TIMEOUT_SECONDS = 90
DEFAULT_ARCHITECTURE = "x86_64"
DEFAULT_SAGEMAKER_INSTANCE_TYPE = "ml.t2.medium"
DEFAULT_SERVERLESS_MAX_CONCURRENCY = 5
DEFAULT_MAX_OBJECT_BYTES = MAX_PAYLOAD_BYTES
DEFAULT_MAX_AUDIO_SECONDS = 30.0
DEFAULT_MANAGED_INSTANCE_TYPE = "c7g.large"  # Graviton, 2 vCPUs / 4 GiB: one 1-vCPU environment
DEFAULT_MANAGED_MEMORY_MB = 2048  # the smallest environment: 1 vCPU at 2 GiB per vCPU
DEFAULT_MANAGED_GIB_PER_VCPU = 2
# Two request processes per 1-vCPU environment: one decodes or waits on S3 while the other
# runs the model; the runtime's own default (16 per vCPU) would load the model 16 times.
DEFAULT_MANAGED_MAX_CONCURRENCY = 2
DEFAULT_MANAGED_MAX_VCPUS = 12  # 6 c7g.large: room to double the 3 instances at start
DEFAULT_MANAGED_MIN_ENVIRONMENTS = 3
DEFAULT_MANAGED_MAX_ENVIRONMENTS = 6


def managed_vcpus(memory_mb: int, gib_per_vcpu: int) -> int:
    """vCPUs of one Managed Instances execution environment (its memory over the ratio)."""
    return max(1, memory_mb // (1024 * gib_per_vcpu))


def environments_per_instance(
    instance_vcpus: int, instance_gib: float, env_vcpus: int, env_memory_mb: int
) -> int:
    """Execution environments one instance holds once its OS reservation is taken out (0:
    the environment does not fit)."""
    by_cpu = (instance_vcpus - MANAGED_RESERVED_VCPUS) // env_vcpus
    by_memory = int((instance_gib - MANAGED_RESERVED_GIB) * 1024 // env_memory_mb)
    return max(0, min(by_cpu, by_memory))


def instances_for(environments: int, per_instance: int) -> int:
    """Instances running ``environments`` (never fewer than the three started for AZ
    resiliency)."""
    return max(MANAGED_INSTANCES_AT_START, -(-environments // max(1, per_instance)))


def model_threads(vcpus: int, concurrency: int) -> int:
    """onnxruntime threads per request process, so processes x threads <= vCPUs."""
    return max(1, vcpus // max(1, concurrency))


def upload_prefix(variant: str) -> str:
    """Return the S3 key prefix whose uploads trigger ``variant`` (the http variant's requests
    are stored under ``https://<url host>/requests/<id>`` instead)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")
    return f"{UPLOAD_ROOT}{variant}/"


def table_key(bucket: str, key: str, variant: str) -> dict[str, str]:
    """Return the table key of the result of ``variant`` for ``s3://bucket/key``."""
    return {TABLE_HASH_KEY: f"s3://{bucket}/{key}", TABLE_RANGE_KEY: variant}


class ConfigError(RuntimeError):
    """A required setting is missing or invalid; the message says which and how to fix it."""


def env_number(
    env: Mapping[str, str], name: str, default: float, kind: type = float, *, zero_ok: bool = False
) -> float:
    """A numeric setting from ``env``: ``default`` when unset, else a finite number > 0 (>= 0
    with ``zero_ok``), or ConfigError naming the variable. ``inf`` and ``nan`` are refused
    at start-up: a limit is lifted by setting a large finite value, not an infinite one."""
    raw = str(env.get(name, "")).strip()
    if not raw:
        return default
    what = "a whole number" if kind is int else "a number"
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not {what}: set it to {what} or unset it") from None
    if not math.isfinite(value):
        raise ConfigError(
            f"{name}={raw!r} is not finite: set a large finite value to lift the limit "
            f"(the default is {default:g})"
        )
    if value < 0 or (value == 0 and not zero_ok):
        bound = "zero or more" if zero_ok else "positive"
        raise ConfigError(f"{name}={raw!r} must be {bound} (the default is {default:g})")
    return value


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Handler configuration read from the environment."""

    predictions_table: str
    variant: str
    model_s3_uri: str | None = None
    endpoint_name: str | None = None
    model_dir: str | None = None
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS
    function_timeout_s: float = DEFAULT_TIMEOUT_SECONDS
    failure_queue_url: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read and validate settings; raise ConfigError naming the variable at fault."""
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(f"environment variable {name} is not set: set it on the function")
            return value

        variant = required(ENV_VARIANT)
        if variant not in VARIANTS:
            raise ConfigError(
                f"{ENV_VARIANT}={variant!r} is not a variant: use one of {', '.join(VARIANTS)}"
            )

        def number(name: str, default: float, kind: type) -> float:
            return env_number(env, name, default, kind)

        settings = cls(
            predictions_table=required(ENV_PREDICTIONS_TABLE),
            variant=variant,
            model_s3_uri=env.get(ENV_MODEL_S3_URI) or None,
            endpoint_name=env.get(ENV_ENDPOINT_NAME) or None,
            model_dir=env.get(ENV_MODEL_DIR) or None,
            max_object_bytes=int(number(ENV_MAX_OBJECT_BYTES, DEFAULT_MAX_OBJECT_BYTES, int)),
            max_audio_seconds=float(
                number(ENV_MAX_AUDIO_SECONDS, DEFAULT_MAX_AUDIO_SECONDS, float)
            ),
            function_timeout_s=float(number(ENV_FUNCTION_TIMEOUT, DEFAULT_TIMEOUT_SECONDS, float)),
            failure_queue_url=env.get(ENV_FAILURE_QUEUE_URL) or None,
        )
        if variant == SAGEMAKER:
            required(ENV_ENDPOINT_NAME)
        elif not settings.model_dir:
            required(ENV_MODEL_S3_URI)  # or MODEL_DIR: a model baked into the image
        return settings
