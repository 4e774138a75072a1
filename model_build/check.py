"""``python -m model_build check MODEL.onnx --labels ...``: does your own ONNX model fit the kit?

The contract every variant relies on: one float32 input ``[batch, samples]``
(a mono waveform at the model's sample rate; both axes dynamic) and an output
``[batch, classes]`` of class probabilities (finite, each in [0, 1], summing to
1), one class per label. The check reads the graph, runs it on generated audio
of several lengths and a batch of two, and writes the ``model.json`` the stack
and the handlers need beside the model, so ``modelPath`` can point at it.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from . import ModelBuildError

SECONDS = (0.5, 1.0, 3.0, 10.0)
"""Round clip lengths to try, besides the awkward ones of ``check_lengths``."""


def _next_prime(n: int) -> int:
    def prime(k: int) -> bool:
        return k > 1 and all(k % d for d in range(2, int(k**0.5) + 1))

    while not prime(n):
        n += 1
    return n


def check_lengths(sample_rate: int) -> list[int]:
    """Clip lengths (samples) the check runs: the shortest clip the handler accepts, round
    lengths, a prime number of samples (no window or hop divides it: a graph that reshapes
    the wave into fixed frames fails here, not on a user's 1.7 s clip) and the longest clip
    the stack accepts (MAX_AUDIO_SECONDS' default)."""
    from audio_inference.audio import MIN_SECONDS
    from audio_inference.settings import DEFAULT_MAX_AUDIO_SECONDS

    shortest = math.ceil(MIN_SECONDS * sample_rate)
    awkward = _next_prime(int(1.7 * sample_rate))
    lengths = [shortest, *(int(s * sample_rate) for s in SECONDS), awkward]
    return sorted(set(lengths + [int(DEFAULT_MAX_AUDIO_SECONDS * sample_rate)]))


class ContractError(ModelBuildError):
    """The model does not fit the kit's contract; the message says what and how to fix it."""


def _dims(value_info: Any) -> list[str | int]:
    shape = value_info.type.tensor_type.shape
    return [d.dim_param or (d.dim_value if d.HasField("dim_value") else "?") for d in shape.dim]


def check_graph(path: Path, labels: list[str]) -> dict[str, Any]:
    """Static checks of the graph; return what model.json records about it."""
    import onnx

    if not path.is_file():
        raise ContractError(f"{path} does not exist: pass the path of an .onnx file")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises several types for a bad file
        raise ContractError(f"{path} is not a valid ONNX model ({exc}); export it again") from None
    external = [
        t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL
    ]
    if external:
        raise ContractError(
            f"{path.name} keeps {len(external)} tensors in external data files; the kit loads the "
            "model from bytes (S3 or the image) and cannot follow them: save it as one file, "
            "onnx.save(onnx.load(path), 'model.onnx', save_as_external_data=False) (under 2 GB)"
        )
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # onnx raises several types for a bad file
        raise ContractError(f"{path} is not a valid ONNX model ({exc}); export it again") from None
    if not proto.graph.output:
        raise ContractError(
            f"{path.name} has no outputs; the kit reads one: class probabilities [batch, classes]"
        )
    initializers = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ContractError(
            f"{path.name} has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); the kit "
            "feeds exactly one: a float32 waveform [batch, samples]; `python -m model_build wrap` feeds state and "
            "sample-rate inputs itself (a streaming model's state carried across frames)"
        )
    (waveform,) = inputs
    if waveform.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        kind = onnx.TensorProto.DataType.Name(waveform.type.tensor_type.elem_type)
        raise ContractError(
            f"input {waveform.name!r} is {kind}; it must be FLOAT (float32 samples in [-1, 1])"
        )
    dims = _dims(waveform)
    if len(dims) != 2:
        raise ContractError(
            f"input {waveform.name!r} has shape {dims}; it must be [batch, samples] (mono "
            "waveform; the kit mixes channels down and resamples before inference); `python -m model_build wrap` "
            "adapts [batch, samples, 1] and [batch, 1, samples]"
        )
    static = [
        axis
        for axis, d in zip(("batch", "samples"), dims, strict=True)
        if isinstance(d, int) and d > 0
    ]
    if static:
        raise ContractError(
            f"input {waveform.name!r} has a fixed {' and '.join(static)} axis {dims}; export it with "
            "dynamic axes (clips have any length), or let `python -m model_build wrap` frame clips into its window"
        )
    output = proto.graph.output[0]
    if output.type.tensor_type.elem_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE):
        kind = onnx.TensorProto.DataType.Name(output.type.tensor_type.elem_type)
        raise ContractError(
            f"output {output.name!r} is {kind}; it must be FLOAT class probabilities [batch, classes]"
        )
    out_dims = _dims(output)
    if len(out_dims) != 2:
        raise ContractError(
            f"output {output.name!r} has shape {out_dims}; it must be [batch, classes] "
            "(`python -m model_build wrap` averages extra axes and picks one of several outputs with --output)"
        )
    if isinstance(out_dims[1], int) and out_dims[1] > 0 and out_dims[1] != len(labels):
        raise ContractError(
            f"output {output.name!r} has {out_dims[1]} classes but --labels names {len(labels)}; "
            "give one label per class, in the model's order"
        )
    opsets = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    return {
        "input_name": waveform.name,
        "output_name": output.name,
        "input_shape": ["batch", "samples"],
        "opset": max(opsets) if opsets else None,
    }


def check_run(
    path: Path, labels: list[str], sample_rate: int, graph: dict[str, Any]
) -> dict[str, Any]:
    """Run the model on generated audio (several lengths, and a batch of two)."""
    import onnxruntime
    from audio_inference.audio import to_model_input

    from .data import LABELS, make_clip

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ContractError(f"onnxruntime cannot load {path.name}: {exc}") from None
    rng = np.random.default_rng(0)
    waves = []
    lengths = check_lengths(sample_rate)
    for i, n in enumerate(lengths):
        clip = make_clip(LABELS[i % len(LABELS)], rng)
        wave = to_model_input(clip.samples[:, None], clip.sample_rate, sample_rate)
        waves.append(np.resize(wave, n).astype(np.float32))
    one_second = waves[lengths.index(sample_rate)] if sample_rate in lengths else waves[0]
    batches = [w[None, :] for w in waves] + [np.stack([one_second, one_second])]
    for batch in batches:
        try:
            probs = session.run([graph["output_name"]], {graph["input_name"]: batch})[0]
        except Exception as exc:
            raise ContractError(
                f"{path.name} fails on a [{batch.shape[0]}, {batch.shape[1]}] waveform "
                f"({batch.shape[1] / sample_rate:g} s at {sample_rate} Hz): {exc}. The kit "
                "sends clips of any length from the shortest accepted to MAX_AUDIO_SECONDS "
                f"(tried {', '.join(map(str, lengths))} samples); a model with a fixed window "
                "must frame the clip itself (pad to a multiple of its window)"
            ) from None
        if probs.shape != (batch.shape[0], len(labels)):
            raise ContractError(
                f"{path.name} answered shape {list(probs.shape)} for a batch of {batch.shape[0]}; "
                f"expected [{batch.shape[0]}, {len(labels)}] (one score per label)"
            )
        if (
            not np.all(np.isfinite(probs))
            or probs.min() < 0
            or probs.max() > 1
            or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
        ):
            raise ContractError(
                f"{path.name}'s outputs are not class probabilities (each row must be finite, in "
                "[0, 1] and sum to 1); put a softmax at the end of the model, or let `python -m model_build wrap` add "
                "it (and turn a single sigmoid into two classes)"
            )
    return {
        "run_on_samples": lengths,
        "run_on_seconds": [round(n / sample_rate, 4) for n in lengths],
        "batch_checked": 2,
    }


def check_model(
    path: Path,
    labels: list[str],
    sample_rate: int,
    out_dir: Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Check the contract and write model.json (beside the model, or with a copy in ``out_dir``).

    A model.json that records a kit build's provenance (parity with torch, held-out
    accuracy) is not replaced unless ``force``: it is the only record of those figures.
    """
    if len(labels) == 1:  # a yes/no model: the label and its complement
        labels = [labels[0], f"not-{labels[0]}"]
    if len(set(labels)) != len(labels):
        raise ContractError(f"--labels {','.join(labels)!r}: give distinct labels")
    if not 1000 <= sample_rate <= 192_000:
        raise ContractError(
            f"--sample-rate {sample_rate} is not a plausible audio rate (1-192 kHz)"
        )
    graph = check_graph(path, labels)
    existing = (out_dir or path.parent) / "model.json"
    if not force and existing.is_file():
        try:
            old = json.loads(existing.read_text())
        except (OSError, ValueError):
            old = {}
        if isinstance(old, dict) and (old.get("parity") or old.get("heldout_accuracy") is not None):
            raise ContractError(
                f"{existing} records a kit build's parity and accuracy figures; checking would "
                "replace them: pass --out DIR for a copy, or --force to replace them"
            )
    ran = check_run(path, labels, sample_rate, graph)
    data = path.read_bytes()
    target = path
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / "model.onnx"
        target.write_bytes(data)
    elif path.name != "model.onnx":
        raise ContractError(
            f"{path.name}: the stack loads model.onnx with model.json beside it; rename the file "
            "or pass --out DIR to write both there"
        )
    metadata = {
        "labels": labels,
        "sample_rate": sample_rate,
        **graph,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "checked": ran,
        "source": "model_build check (your own model)",
        "heldout_accuracy": None,
    }
    (target.parent / "model.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata
