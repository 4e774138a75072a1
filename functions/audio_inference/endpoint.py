"""Adapter for a SageMaker endpoint that runs ``LocalClassifier`` (the proxy variant's classifier).

The object's name travels to the container in SageMaker's CustomAttributes
header, so an error from the endpoint names ``s3://bucket/key`` like every
other variant's error does.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any
from urllib.parse import quote, unquote

from botocore.config import Config
from botocore.exceptions import ClientError

from .audio import AudioError
from .core import Classification, check_scores, elapsed_ms
from .settings import ENDPOINT_RESPONSE_SECONDS

CUSTOM_ATTRIBUTES_MAX = 1024  # SageMaker's limit on the CustomAttributes header
CONNECT_SECONDS = 5
# Room on top of the container's 60 s for a SageMaker Serverless cold start; AWS
# publishes no bound, so this is an assumption (stated in the README).
COLD_START_ROOM_SECONDS = 15
MARGIN_SECONDS = 5  # left for writing the item and the failure path


class EndpointError(RuntimeError):
    """The endpoint failed for a reason that is not the input's fault (retry)."""


def encode_name(name: str) -> str:
    """The object's name as a CustomAttributes value (visible ASCII, at most 1024 characters)."""
    encoded = quote(name, safe="/:@")
    if len(encoded) <= CUSTOM_ATTRIBUTES_MAX:
        return encoded
    cut = encoded[: CUSTOM_ATTRIBUTES_MAX - 3]
    escape = cut.rfind("%", len(cut) - 2)  # never end inside a %XX escape
    return (cut[:escape] if escape >= 0 else cut) + "..."


def decode_name(header: str | None) -> str | None:
    """Inverse of encode_name, for the serving app."""
    return unquote(header) if header else None


def minimum_timeout_seconds() -> int:
    """The shortest function timeout that fits one full endpoint call."""
    return CONNECT_SECONDS + ENDPOINT_RESPONSE_SECONDS + COLD_START_ROOM_SECONDS + MARGIN_SECONDS


def client_config(function_timeout_s: float) -> Config:
    """sagemaker-runtime client settings whose read timeout x attempts fit the function timeout.

    One attempt may take the container's 60 s plus a serverless cold start;
    retries are only allowed while every attempt still fits, so the function
    never times out inside botocore (which would lose the error message).
    """
    read = ENDPOINT_RESPONSE_SECONDS + COLD_START_ROOM_SECONDS
    per_attempt = CONNECT_SECONDS + read
    budget = function_timeout_s - MARGIN_SECONDS
    if budget < per_attempt:  # shorter than recommended: shrink the read timeout to fit
        read = max(1, int(budget - CONNECT_SECONDS))
        per_attempt = CONNECT_SECONDS + read
    attempts = max(1, int(budget // per_attempt))
    return Config(
        connect_timeout=CONNECT_SECONDS,
        read_timeout=read,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )


class EndpointClassifier:
    """Send the bytes to a SageMaker endpoint that runs LocalClassifier."""

    def __init__(self, sagemaker_runtime: Any, endpoint_name: str) -> None:
        self.client = sagemaker_runtime
        self.endpoint_name = endpoint_name

    def classify(self, data: bytes, name: str) -> Classification:
        """Invoke the endpoint; a 4xx from the container becomes AudioError with its message."""
        start = time.perf_counter()
        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                Body=data,
                ContentType="audio/wav",
                Accept="application/json",
                CustomAttributes=encode_name(name),
            )
        except self.client.exceptions.ModelError as exc:
            status = exc.response.get("OriginalStatusCode", 500)
            message = exc.response.get("OriginalMessage") or str(exc)
            with contextlib.suppress(ValueError, AttributeError):
                message = json.loads(message).get("error", message)
            if 400 <= int(status) < 500:
                # the container knew the name from the header, which may be shortened:
                # the error item names the whole object
                sent = decode_name(encode_name(name)) or ""
                if sent != name and message.startswith(sent):
                    message = name + message[len(sent) :]
                raise AudioError(message) from None
            raise EndpointError(
                f"endpoint {self.endpoint_name} failed ({status}): {message}"
            ) from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ValidationError":  # e.g. over a serverless endpoint's 4 MB
                raise AudioError(
                    f"{name}: the endpoint refused the request ({error.get('Message', '')[:300]})"
                ) from None
            raise
        try:
            body = json.loads(response["Body"].read())
            scores = {str(k): float(v) for k, v in body["scores"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EndpointError(
                f"endpoint {self.endpoint_name} answered something that is not a classification: {exc}"
            ) from None
        check_scores(scores, name)
        timings = {f"endpoint_{k}": v for k, v in body.get("timings_ms", {}).items()}
        timings["inference"] = elapsed_ms(start)  # what the proxy waits for: the round trip
        return Classification(
            label=body["label"],
            scores=scores,
            model_sha256=body["model_sha256"],
            timings_ms=timings,
            audio_seconds=body.get("audio_seconds"),
        )
