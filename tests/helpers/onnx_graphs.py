"""Small ONNX graphs built by hand (not by the kit): stand-ins for models users bring."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper


def graph_model(
    path, *, elem=TensorProto.FLOAT, in_shape=("batch", "samples"), classes=3, softmax=True
):
    """A small model: mean, max and min of the waveform scored into ``classes`` outputs."""
    x = helper.make_tensor_value_info("wave", elem, list(in_shape))
    nodes = [
        helper.make_node("ReduceMean", ["wave", "axes"], ["m"], keepdims=1),
        helper.make_node("ReduceMax", ["wave", "axes"], ["mx"], keepdims=1),
        helper.make_node("ReduceMin", ["wave", "axes"], ["mn"], keepdims=1),
        helper.make_node("Concat", ["m", "mx", "mn"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "w"], ["logits"]),
    ]
    nodes.append(
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1)
        if softmax
        else helper.make_node("Identity", ["logits"], ["probs"])
    )
    inits = [
        helper.make_tensor("axes", TensorProto.INT64, [1], [len(in_shape) - 1]),
        helper.make_tensor(
            "w", TensorProto.FLOAT, [3, classes], np.linspace(-1, 1, 3 * classes).tolist()
        ),
    ]
    out = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", classes])
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x], [out], inits),
        opset_imports=[helper.make_opsetid("", 18)],
    )
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def model_folder(model, folder, labels):
    """Write ``model`` as model.onnx with the model.json the handlers read; returns the folder."""
    import hashlib
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    meta = {
        "labels": list(labels),
        "sample_rate": 16_000,
        "input_name": "wave",
        "output_name": "probs",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
    }
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


def unstable_model(folder, threshold: float = 0.6):
    """A two-class model whose scores are NaN when the waveform's peak is under ``threshold``.

    scores = [s, 1 - s] with s = sqrt(peak - threshold): real onnxruntime, a real NaN.
    Writes model.onnx and its model.json into ``folder``; returns the folder.
    """
    x = helper.make_tensor_value_info("wave", TensorProto.FLOAT, ["batch", "samples"])
    nodes = [
        helper.make_node("ReduceMax", ["wave", "axes"], ["peak"], keepdims=1),
        helper.make_node("Sub", ["peak", "threshold"], ["above"]),
        helper.make_node("Sqrt", ["above"], ["s"]),
        helper.make_node("Sub", ["one", "s"], ["rest"]),
        helper.make_node("Concat", ["s", "rest"], ["probs"], axis=1),
    ]
    inits = [
        helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
        helper.make_tensor("threshold", TensorProto.FLOAT, [], [threshold]),
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
    ]
    out = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 2])
    model = helper.make_model(
        helper.make_graph(nodes, "unstable", [x], [out], inits),
        opset_imports=[helper.make_opsetid("", 18)],
    )
    model.ir_version = 8
    return model_folder(model, folder, ["loud", "quiet"])


def framed_model(path, frame: int = 8000):
    """A two-class model that reshapes the wave into frames of ``frame`` samples.

    Runs on any clip whose length is a multiple of ``frame`` (0.5, 1 and 3 s at 16 kHz) and
    fails in onnxruntime's Reshape on every other length, like a fixed-window model.
    """
    x = helper.make_tensor_value_info("wave", TensorProto.FLOAT, ["batch", "samples"])
    nodes = [
        helper.make_node("Reshape", ["wave", "frames_shape"], ["frames"]),  # [batch, n, frame]
        helper.make_node("ReduceMean", ["frames", "axes"], ["m"], keepdims=1),  # [batch, 1, 1]
        helper.make_node("Reshape", ["m", "column"], ["col"]),  # [batch, 1]
        helper.make_node("Concat", ["col", "col"], ["pair"], axis=1),
        helper.make_node("Mul", ["pair", "signs"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    inits = [
        helper.make_tensor("frames_shape", TensorProto.INT64, [3], [0, -1, frame]),
        helper.make_tensor("axes", TensorProto.INT64, [2], [1, 2]),
        helper.make_tensor("column", TensorProto.INT64, [2], [0, 1]),
        helper.make_tensor("signs", TensorProto.FLOAT, [2], [1.0, -1.0]),
    ]
    out = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 2])
    model = helper.make_model(
        helper.make_graph(nodes, "framed", [x], [out], inits),
        opset_imports=[helper.make_opsetid("", 18)],
    )
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
