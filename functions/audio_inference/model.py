"""The ONNX model session: one per execution environment, sized to its CPUs."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def available_cpus() -> int:
    """CPUs this process may use (Lambda grants ~1 vCPU per 1,769 MB, up to 6)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one waveform."""

    label: str
    scores: dict[str, float]


class OnnxModel:
    """An onnxruntime session plus the metadata written by ``model_build export``."""

    def __init__(self, onnx_bytes: bytes, metadata: dict, threads: int | None = None) -> None:
        import onnxruntime  # imported here so the SageMaker proxy never loads it

        self.metadata = metadata
        self.labels: list[str] = list(metadata["labels"])
        if not isinstance(metadata.get("sample_rate"), int) or metadata["sample_rate"] <= 0:
            raise ValueError(
                "model.json has no positive integer sample_rate: write it with "
                "`python -m model_build export` (or `model_build check` for your own model)"
            )
        self.sample_rate: int = metadata["sample_rate"]
        """The rate the model expects its waveform at, from model.json (the only source)."""
        self.sha256 = hashlib.sha256(onnx_bytes).hexdigest()
        expected = metadata.get("sha256")
        if expected and expected != self.sha256:
            raise ValueError(
                f"model.onnx has sha256 {self.sha256[:12]}... but model.json expects "
                f"{expected[:12]}...: upload both files from the same `model_build export`"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or available_cpus()
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self.session = onnxruntime.InferenceSession(
            onnx_bytes, options, providers=["CPUExecutionProvider"]
        )
        self.input_name = metadata.get("input_name", self.session.get_inputs()[0].name)
        self.output_name = metadata.get("output_name", self.session.get_outputs()[0].name)

    @classmethod
    def from_dir(cls, model_dir: str | Path, threads: int | None = None) -> OnnxModel:
        """Load ``model.onnx`` and ``model.json`` from a folder (SageMaker's /opt/ml/model)."""
        folder = Path(model_dir)
        return cls(
            (folder / "model.onnx").read_bytes(),
            json.loads((folder / "model.json").read_text()),
            threads,
        )

    def predict(self, waveform: np.ndarray) -> Prediction:
        """Classify one mono float32 waveform at ``sample_rate``."""
        probs = self.session.run([self.output_name], {self.input_name: waveform[None, :]})[0][0]
        scores = {label: float(p) for label, p in zip(self.labels, probs, strict=True)}
        return Prediction(label=self.labels[int(np.argmax(probs))], scores=scores)

    def prime(self) -> None:
        """Run one inference so lazy allocations happen now (before a SnapStart snapshot)."""
        rng = np.random.default_rng(0)
        self.predict((0.1 * rng.standard_normal(self.sample_rate)).astype(np.float32))
