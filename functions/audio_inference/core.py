"""The pure core: audio bytes in, classification out. No boto3, no environment.

Lambda handlers, the SageMaker serving app and the local runner all call
``LocalClassifier.classify``; the SageMaker proxy uses ``endpoint.EndpointClassifier``,
which sends the same bytes to an endpoint running ``LocalClassifier``.
"""

from __future__ import annotations

import math
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


def elapsed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a perf_counter reading), rounded to microseconds."""
    return round((time.perf_counter() - start) * 1000, 3)


def check_scores(scores: dict[str, float], name: str) -> None:
    """Scores must be finite probabilities; anything else is the input's fault, not a crash."""
    if not all(math.isfinite(v) for v in scores.values()):
        raise AudioError(
            f"{name}: the model produced non-finite scores for this audio (its sample values "
            "overflow the front end); normalise the file to [-1, 1] and upload it again"
        )


class LocalClassifier:
    """Decode, preprocess and run the ONNX model in this process."""

    def __init__(self, model: OnnxModel, max_seconds: float | None = None) -> None:
        self.model = model
        self.max_seconds = max_seconds

    def classify(self, data: bytes, name: str) -> Classification:
        """Classify WAV bytes; raise AudioError for input that cannot be classified."""
        start = time.perf_counter()
        waveform = load_waveform(data, name, self.model.sample_rate, self.max_seconds)
        decode_ms = elapsed_ms(start)
        start = time.perf_counter()
        try:
            prediction = self.model.predict(waveform)
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            # The model itself refused this input (e.g. a graph that reshapes the wave into
            # fixed frames, on a clip no frame size divides): deterministic, so this record
            # gets an error item and its siblings go on.
            raise AudioError(
                f"{name}: the model failed on this clip ({waveform.shape[0]} samples, "
                f"{waveform.shape[0] / self.model.sample_rate:g} s): {type(exc).__name__}: "
                f"{str(exc)[:300]}; check the model with `python -m model_build check`, "
                "which tries awkward clip lengths"
            ) from exc
        check_scores(prediction.scores, name)
        return Classification(
            label=prediction.label,
            scores=prediction.scores,
            model_sha256=self.model.sha256,
            timings_ms={"decode": decode_ms, "inference": elapsed_ms(start)},
            audio_seconds=round(waveform.shape[0] / self.model.sample_rate, 3),
        )
