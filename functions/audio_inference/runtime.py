"""Composition root for the Lambda handlers: settings, clients, model, pipeline.

Called once at module scope of each handler, so everything built here is
reused across invocations of one execution environment.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.config import Config

from . import endpoint
from .core import LocalClassifier
from .model import OnnxModel
from .pipeline import Pipeline
from .settings import ENV_MODEL_DIR, ENV_MODEL_S3_URI, ConfigError, Settings
from .storage import FailureQueue, PredictionStore, S3Reader

# Standard retry mode backs off on throttling and 5xx; connect/read timeouts
# keep a hung call from eating the function's whole timeout.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
)

logging.getLogger("audio_inference").setLevel(logging.INFO)


def client(service: str, config: Config = CLIENT_CONFIG) -> Any:
    """A boto3 client with the kit's retry and timeout policy."""
    return boto3.client(service, config=config)


def _split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ConfigError(f"{ENV_MODEL_S3_URI}={uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def load_model_from_s3(s3: Any, uri: str) -> OnnxModel:
    """Download ``model.onnx`` and the ``model.json`` beside it; fail with a clear message."""
    bucket, key = _split_s3_uri(uri)
    meta_key = key.rsplit("/", 1)[0] + "/model.json" if "/" in key else "model.json"
    try:
        onnx_bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        metadata = json.loads(s3.get_object(Bucket=bucket, Key=meta_key)["Body"].read())
    except Exception as exc:
        raise ConfigError(
            f"cannot read the model from {ENV_MODEL_S3_URI}={uri} (and s3://{bucket}/{meta_key}): "
            f"{exc}. Upload model.onnx and model.json there or fix {ENV_MODEL_S3_URI}."
        ) from None
    try:
        return OnnxModel(onnx_bytes, metadata)
    except Exception as exc:
        raise ConfigError(
            f"the model at {ENV_MODEL_S3_URI}={uri} cannot be loaded: {exc}"
        ) from None


def load_model_from_dir(folder: str) -> OnnxModel:
    """Load ``model.onnx`` and ``model.json`` from a folder; fail with a clear message."""
    try:
        return OnnxModel.from_dir(folder)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load the model from {ENV_MODEL_DIR}={folder}: {exc}. Rebuild the image "
            "with model.onnx and model.json in that folder, or fix MODEL_DIR."
        ) from None


def build_pipeline(settings: Settings | None = None) -> Pipeline:
    """Build the pipeline for the configured variant (model in-process or endpoint)."""
    settings = settings or Settings.from_env()
    s3 = client("s3")
    reader = S3Reader(s3, settings.max_object_bytes)
    store = PredictionStore(client("dynamodb"), settings.predictions_table)
    failures = (
        FailureQueue(client("sqs"), settings.failure_queue_url)
        if settings.failure_queue_url
        else None
    )
    if settings.endpoint_name and not settings.model_s3_uri:
        runtime = client("sagemaker-runtime", endpoint.client_config(settings.function_timeout_s))
        classifier = endpoint.EndpointClassifier(runtime, settings.endpoint_name)
        return Pipeline(settings.variant, reader, store, classifier, failures=failures)
    if settings.model_dir:  # baked into the container image: no download on the cold path
        model = load_model_from_dir(settings.model_dir)
    else:
        assert settings.model_s3_uri  # Settings.from_env guarantees one of the two
        model = load_model_from_s3(s3, settings.model_s3_uri)
    return Pipeline(
        settings.variant,
        reader,
        store,
        LocalClassifier(model, settings.max_audio_seconds),
        model.sha256,
        failures,
    )


def reconnect(pipeline: Pipeline) -> None:
    """Give the pipeline fresh AWS clients (after a SnapStart restore, no copy shares a socket)."""
    pipeline.reader.s3 = client("s3")
    pipeline.store.client = client("dynamodb")
    if pipeline.failures is not None:
        pipeline.failures.sqs = client("sqs")
