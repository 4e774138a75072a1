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


def _save(nodes, inputs, outputs, inits, path, opset=18):
    model = helper.make_model(
        helper.make_graph(nodes, "g", inputs, outputs, inits),
        opset_imports=[helper.make_opsetid("", opset)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _t(name, values, elem=TensorProto.FLOAT, dims=None):
    values = np.asarray(values)
    return helper.make_tensor(
        name, elem, list(values.shape if dims is None else dims), values.flatten().tolist()
    )


def stateful_vad(path, frame=512, state_size=16):
    """Silero-VAD's interface: ``input [batch, frame]`` (any other frame length fails, as the
    real graph's Reshape does), ``state [2, batch, S]``, ``sr`` (int64 scalar) in;
    ``output [batch, 1]`` (a sigmoid) and ``stateN`` out. The score rises with the frame's
    energy and with the state, which carries a decaying memory of earlier frames."""
    f = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("input", f, ["batch", "frame"]),
        helper.make_tensor_value_info("state", f, [2, "batch", state_size]),
        helper.make_tensor_value_info("sr", TensorProto.INT64, []),
    ]
    outputs = [
        helper.make_tensor_value_info("output", f, ["batch", 1]),
        helper.make_tensor_value_info("stateN", f, [2, "batch", state_size]),
    ]
    nodes = [
        helper.make_node("Reshape", ["input", "frame_shape"], ["framed"]),  # exactly `frame`
        helper.make_node("Mul", ["framed", "framed"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["energy"], axes=[1], keepdims=1),  # [batch, 1]
        helper.make_node("Unsqueeze", ["energy", "ax0"], ["e3"]),  # [1, batch, 1]
        helper.make_node("Mul", ["state", "decay"], ["kept"]),
        helper.make_node("Add", ["kept", "e3"], ["stateN"]),
        helper.make_node("ReduceMean", ["stateN"], ["memory"], axes=[0, 2], keepdims=0),  # [batch]
        helper.make_node("Unsqueeze", ["memory", "ax1"], ["memory2"]),
        helper.make_node("Cast", ["sr"], ["srf"], to=f),
        helper.make_node("Mul", ["srf", "zero"], ["sr0"]),  # the rate is read, as Silero does
        helper.make_node("Add", ["energy", "memory2"], ["level"]),
        helper.make_node("Mul", ["level", "gain"], ["scaled"]),
        helper.make_node("Sub", ["scaled", "bias"], ["logit"]),
        helper.make_node("Add", ["logit", "sr0"], ["logit2"]),
        helper.make_node("Sigmoid", ["logit2"], ["output"]),
    ]
    inits = [
        _t("frame_shape", [0, frame], TensorProto.INT64),
        _t("ax0", [0], TensorProto.INT64),
        _t("ax1", [1], TensorProto.INT64),
        _t("decay", [0.5]),
        _t("zero", [0.0]),
        _t("gain", [40.0]),
        _t("bias", [2.0]),
    ]
    return _save(nodes, inputs, outputs, inits, path, opset=16)  # Silero v5's opset


def fixed_window(path, window=4000, classes=3):
    """basic-pitch's interface: a fixed ``[batch, window, 1]`` input and three outputs, the
    first ``[batch, time, classes]`` logits (per-frame scores), the others auxiliary."""
    f = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("input_2", f, ["batch", window, 1])]
    outputs = [
        helper.make_tensor_value_info("note", f, ["batch", 4, classes]),
        helper.make_tensor_value_info("onset", f, ["batch", 4, classes]),
        helper.make_tensor_value_info("contour", f, ["batch", 4, 2]),
    ]
    nodes = [
        helper.make_node("Reshape", ["input_2", "quarters"], ["q"]),  # [batch, 4, window/4]
        helper.make_node("ReduceMean", ["q", "ax2"], ["m"], keepdims=1),
        helper.make_node("Abs", ["q"], ["a"]),
        helper.make_node("ReduceMax", ["a", "ax2"], ["mx"], keepdims=1),
        helper.make_node("Concat", ["m", "mx"], ["feat"], axis=2),  # [batch, 4, 2]
        helper.make_node("MatMul", ["feat", "w"], ["note"]),
        helper.make_node("Sigmoid", ["note"], ["onset"]),
        helper.make_node("Identity", ["feat"], ["contour"]),
    ]
    inits = [
        _t("quarters", [0, 4, window // 4], TensorProto.INT64),
        _t("ax2", [2], TensorProto.INT64),
        _t("w", np.linspace(-2, 2, 2 * classes).reshape(2, classes)),
    ]
    return _save(nodes, inputs, outputs, inits, path)


def single_sigmoid(path):
    """A wake-word style detector: any-length ``[batch, samples]`` in, one sigmoid out."""
    f = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("audio", f, ["batch", "samples"])]
    outputs = [helper.make_tensor_value_info("p", f, ["batch", 1])]
    nodes = [
        helper.make_node("Abs", ["audio"], ["a"]),
        helper.make_node("ReduceMean", ["a", "ax1"], ["level"], keepdims=1),
        helper.make_node("Mul", ["level", "gain"], ["z"]),
        helper.make_node("Sub", ["z", "bias"], ["zb"]),
        helper.make_node("Sigmoid", ["zb"], ["p"]),
    ]
    inits = [_t("ax1", [1], TensorProto.INT64), _t("gain", [20.0]), _t("bias", [2.0])]
    return _save(nodes, inputs, outputs, inits, path)
