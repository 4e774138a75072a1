"""Export a trained checkpoint to ONNX behind a gate: checker + parity with torch.

The artifact (``model.onnx`` + ``model.json``) appears in the output folder only
if every check passes; otherwise nothing is left there and the command fails.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch

from . import ModelBuildError
from .net import SAMPLE_RATE

PARITY_TOLERANCE = 1e-4
INPUT_NAME = "waveform"
OUTPUT_NAME = "probabilities"


class GateError(ModelBuildError):
    """The exported graph failed a check; no artifact was written."""


def parity_waveforms(seed: int = 1234) -> list[np.ndarray]:
    """16 test waveforms from 0.5 s to 10 s: tones, noise, digital silence, full-scale noise."""
    rng = np.random.default_rng(seed)
    seconds = np.linspace(0.5, 10.0, 16)
    waves = []
    for i, s in enumerate(seconds):
        n = int(s * SAMPLE_RATE)
        if i == 0:
            w = np.zeros(n)  # digital silence
        elif i == 1:
            w = rng.uniform(-1.0, 1.0, n)  # full-scale noise
        elif i % 2:
            t = np.arange(n) / SAMPLE_RATE
            w = 0.5 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t)
        else:
            w = rng.standard_normal(n) * rng.uniform(0.001, 0.3)
        waves.append(w.astype(np.float32))
    return waves


def export_onnx(model: torch.nn.Module, path: Path) -> None:
    """Export with the dynamo exporter; batch and sample axes are dynamic."""
    example = torch.zeros(2, SAMPLE_RATE)
    batch = torch.export.Dim("batch", min=1, max=1024)
    samples = torch.export.Dim("samples", min=1600, max=SAMPLE_RATE * 600)
    # The exporter logs optional-op registration (torchvision) and a report line
    # per stage; none of it is actionable here.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={"waveform": {0: batch, 1: samples}},
            verbose=False,
        )
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    program.save(str(path))


def check_parity(model: torch.nn.Module, onnx_path: Path) -> dict:
    """Compare onnxruntime with torch on the parity set; return the figures."""
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    diffs = []
    model.eval()
    waves = parity_waveforms()
    with torch.no_grad():
        for w in waves:
            expected = model(torch.from_numpy(w)[None]).numpy()
            got = session.run([OUTPUT_NAME], {INPUT_NAME: w[None]})[0]
            diffs.append(float(np.max(np.abs(expected - got))))
        # A batch of several clips checks the dynamic batch axis too.
        shortest = min(len(w) for w in waves)
        stacked = np.stack([w[:shortest] for w in waves[:8]])
        expected = model(torch.from_numpy(stacked)).numpy()
        got = session.run([OUTPUT_NAME], {INPUT_NAME: stacked})[0]
        diffs.append(float(np.max(np.abs(expected - got))))
    return {
        "waveforms": len(waves),
        "seconds_min": round(len(waves[0]) / SAMPLE_RATE, 2),
        "seconds_max": round(len(waves[-1]) / SAMPLE_RATE, 2),
        "max_abs_diff": max(diffs),
        "tolerance": PARITY_TOLERANCE,
    }


def gate(model: torch.nn.Module, candidate: Path) -> dict:
    """Run onnx.checker and the parity check on ``candidate``; raise GateError on failure."""
    try:
        onnx.checker.check_model(str(candidate), full_check=True)
    except Exception as exc:
        raise GateError(f"onnx.checker rejected the exported model: {exc}") from None
    try:
        parity = check_parity(model, candidate)
    except Exception as exc:
        raise GateError(f"onnxruntime could not run the exported model: {exc}") from None
    if not parity["max_abs_diff"] <= PARITY_TOLERANCE:
        raise GateError(
            f"parity check failed: onnxruntime differs from torch by {parity['max_abs_diff']:.3g} "
            f"(limit {PARITY_TOLERANCE}); the export is wrong, nothing was written"
        )
    return parity


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish(
    model: torch.nn.Module,
    candidate: Path,
    out_dir: Path,
    labels: list[str],
    metrics: dict,
) -> dict:
    """Gate ``candidate`` and, only if it passes, move it to ``out_dir`` with its metadata."""
    out_onnx, out_json = out_dir / "model.onnx", out_dir / "model.json"
    try:
        parity = gate(model, candidate)
    except GateError:
        for stale in (out_onnx, out_json):
            stale.unlink(missing_ok=True)
        raise
    proto = onnx.load(str(candidate), load_external_data=False)
    metadata = {
        "labels": labels,
        "sample_rate": SAMPLE_RATE,
        "size": getattr(model, "size", None),
        "source": "model_build (reference family)",
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": ["batch", "samples"],
        "opset": max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
        "sha256": sha256_of(candidate),
        "size_bytes": candidate.stat().st_size,
        "parity": parity,
        "heldout_accuracy": metrics.get("heldout_accuracy"),
        "training": metrics,
        "torch_version": torch.__version__.split("+")[0],
        "onnxruntime_version": onnxruntime.__version__,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.move(str(candidate), out_onnx)
    out_json.write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def export_checkpoint_to(
    model: torch.nn.Module, labels: list[str], metrics: dict, out_dir: Path
) -> dict:
    """Export, gate and publish; the temporary export never lands in ``out_dir`` on failure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
        candidate = Path(tmp) / "model.onnx"
        try:
            export_onnx(model, candidate)
        except Exception as exc:
            raise GateError(f"torch.onnx.export failed: {exc}") from None
        return publish(model, candidate, out_dir, labels, metrics)
