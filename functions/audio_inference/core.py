"""The pure core: audio bytes in, classification out. No boto3, no environment.

Lambda handlers, the SageMaker serving app and the local runner all call
``LocalClassifier.classify``; the SageMaker proxy uses ``EndpointClassifier``,
which sends the same bytes to an endpoint running ``LocalClassifier``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from .audio import AudioError, load_waveform
from .model import OnnxModel


@dataclass
class Classification:
    """A successful classification and where its time went."""

    label: str
    scores: dict[str, float]
    model_sha256: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    audio_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The body the serving app returns (and the proxy parses)."""
        return {
            "label": self.label,
            "scores": self.scores,
            "model_sha256": self.model_sha256,
            "timings_ms": self.timings_ms,
            "audio_seconds": self.audio_seconds,
        }


class Classifier(Protocol):
    """Anything that turns audio bytes into a Classification or raises AudioError."""

    def classify(self, data: bytes, name: str) -> Classification:
        """Classify the audio in ``data``; ``name`` is used in error messages."""
        ...


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


class LocalClassifier:
    """Decode, preprocess and run the ONNX model in this process."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model

    def classify(self, data: bytes, name: str) -> Classification:
        """Classify WAV bytes; raise AudioError for input that cannot be classified."""
        start = time.perf_counter()
        waveform = load_waveform(data, name)
        decode_ms = _ms(start)
        start = time.perf_counter()
        prediction = self.model.predict(waveform)
        return Classification(
            label=prediction.label,
            scores=prediction.scores,
            model_sha256=self.model.sha256,
            timings_ms={"decode": decode_ms, "inference": _ms(start)},
            audio_seconds=round(waveform.shape[0] / 16_000, 3),
        )


class EndpointError(RuntimeError):
    """The endpoint failed for a reason that is not the input's fault (retry)."""


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
            )
        except self.client.exceptions.ModelError as exc:
            status = exc.response.get("OriginalStatusCode", 500)
            message = exc.response.get("OriginalMessage") or str(exc)
            try:
                message = json.loads(message).get("error", message)
            except (ValueError, AttributeError):
                pass
            if 400 <= int(status) < 500:
                raise AudioError(message) from None
            raise EndpointError(
                f"endpoint {self.endpoint_name} failed ({status}): {message}"
            ) from exc
        body = json.loads(response["Body"].read())
        timings = {f"endpoint_{k}": v for k, v in body.get("timings_ms", {}).items()}
        timings["inference"] = _ms(start)  # what the proxy waits for: the endpoint round trip
        return Classification(
            label=body["label"],
            scores=body["scores"],
            model_sha256=body["model_sha256"],
            timings_ms=timings,
            audio_seconds=body.get("audio_seconds"),
        )
