"""``python -m model_build wrap MODEL.onnx --labels ... --out DIR``: fit a model to the contract.

The kit feeds one float32 waveform ``[batch, samples]`` of any length and reads class
probabilities ``[batch, classes]``. Most audio models people have are shaped otherwise;
this composes an ONNX graph around the model (no code of yours, nothing but
onnxruntime at run time) that:

- frames the clip into windows of the model's length (``--window``, ``--hop``; the last
  one zero-padded), runs the windows as one batch and pools the scores (``--pool``);
- for a streaming model with state inputs (and a sample-rate input), feeds the frames in
  order with the state starting at zeros and carried from frame to frame (ONNX ``Scan``);
- adapts the layout (``[batch, samples, 1]`` or ``[batch, 1, samples]``), picks one of
  several outputs (``--output``), averages extra axes of an output (``[batch, time,
  classes]``), and turns the scores into probabilities: a single sigmoid becomes two
  classes (``label``, ``not-label``), logits go through a softmax.

Defaults come from the graph: the window from a fixed samples axis (or 512 samples, a
32 ms frame at 16 kHz, for a streaming model whose frame axis is dynamic), the hop equal
to the window, mean pooling, the first output that is not a state. A mel-spectrogram
front end outside the graph is out of scope: such a model needs its front end exported
into the graph (the kit's own models do that with torchaudio).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .check import ContractError

STREAM_FRAME_S = 0.032
"""A streaming model's default frame when its graph does not fix one (512 samples at 16 kHz)."""
POOLS = ("mean", "max")
WAVE, SCORES, PROBS = "wave", "kit/scores", "probs"
"""The wrapper's input and output (the kit's contract) and its pooled raw scores; every
other name it adds starts with "kit/", the model's own names are kept as they are."""


@dataclass
class Plan:
    """What the wrapper does with this model, decided from the graph and the options."""

    audio: str
    layout: str  # "bs" [batch, samples], "bs1" [batch, samples, 1], "b1s" [batch, 1, samples]
    window: int | None  # None: the whole clip in one run (the model takes any length)
    hop: int | None
    output: str
    context: int = 0  # samples of the previous frame each window starts with (zeros first)
    states: list[tuple[str, str]] = field(default_factory=list)  # (state input, its output)
    rates: list[str] = field(default_factory=list)  # int inputs fed the sample rate
    notes: list[str] = field(default_factory=list)

    @property
    def streaming(self) -> bool:
        """Frames in order with a carried state (Scan), not as one batch."""
        return bool(self.states)


def _dims(value_info: Any) -> list[int | None]:
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]


def _compatible(a: list[int | None], b: list[int | None]) -> bool:
    """Same rank, and no axis where both sizes are known and differ."""
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b, strict=True)
    )


def plan(
    proto: Any,
    sample_rate: int,
    window: int | None = None,
    hop: int | None = None,
    output: str | None = None,
    context: int = 0,
) -> Plan:
    """Read the graph's interface and decide how to wrap it (one line per decision in notes)."""
    from onnx import TensorProto

    initializers = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in initializers]
    floats = [i for i in inputs if i.type.tensor_type.elem_type == TensorProto.FLOAT]
    ints = [
        i for i in inputs if i.type.tensor_type.elem_type in (TensorProto.INT64, TensorProto.INT32)
    ]
    others = [i for i in inputs if i not in floats and i not in ints]
    if not floats or others:
        raise ContractError(
            "the model's inputs are "
            + ", ".join(f"{i.name} {_dims(i)}" for i in inputs)
            + ": wrap needs one float32 audio input (other float inputs are taken as state, "
            "integer ones as the sample rate)"
        )
    audio = floats[0]
    dims = _dims(audio)
    if len(dims) == 2:
        layout, frame = "bs", dims[1]
    elif len(dims) == 3 and dims[2] == 1:
        layout, frame = "bs1", dims[1]
    elif len(dims) == 3 and dims[1] == 1:
        layout, frame = "b1s", dims[2]
    else:
        raise ContractError(
            f"input {audio.name!r} has shape {dims}: wrap takes raw audio as [batch, samples], "
            "[batch, samples, 1] or [batch, 1, samples]; a model that expects a spectrogram "
            "needs its front end exported into the graph first"
        )
    state_inputs = floats[1:]
    outs = list(proto.graph.output)
    notes = [f"audio input {audio.name} {dims} ({layout})"]
    states: list[tuple[str, str]] = []
    if state_inputs:
        # each state input pairs with the output of the same shape, in order (state -> stateN)
        free = [o for o in outs if o.name != output]
        for s in state_inputs:
            match = next((o for o in free if _compatible(_dims(o), _dims(s))), None)
            if match is None:
                raise ContractError(
                    f"state input {s.name!r} {_dims(s)} has no output of the same shape to carry "
                    "it from frame to frame; wrap handles models whose state outputs mirror "
                    "their state inputs"
                )
            free.remove(match)
            states.append((s.name, match.name))
        notes.append(
            "streaming: state "
            + ", ".join(f"{i} <- {o}" for i, o in states)
            + " carried across frames, starting at zeros"
        )
    state_outputs = {o for _, o in states}
    candidates = [o.name for o in outs if o.name not in state_outputs]
    if output is None:
        if not candidates:
            raise ContractError("the model has no output besides its state outputs")
        output = candidates[0]
        if len(candidates) > 1:
            notes.append(
                f"output {output} chosen of {', '.join(candidates)} (--output NAME picks another)"
            )
    elif output not in candidates:
        raise ContractError(
            f"--output {output!r} is not one of the model's outputs ({', '.join(candidates)})"
        )
    if window is None:
        window = frame or (round(STREAM_FRAME_S * sample_rate) if states else None)
        if frame:
            notes.append(f"window {frame} samples ({frame / sample_rate:g} s), fixed by the graph")
        elif window:
            notes.append(
                f"frames of {window} samples ({window / sample_rate:g} s), the streaming default "
                "(--window N for another)"
            )
    elif frame and window != frame:
        raise ContractError(
            f"--window {window}: the model's input {audio.name!r} takes exactly {frame} samples"
        )
    if window is not None and window < 1:
        raise ContractError(f"--window {window}: give a positive number of samples")
    if context:
        if window is None or not 0 < context < window:
            raise ContractError(
                f"--context {context}: give fewer samples than the window ({window or 'none'})"
            )
        if hop not in (None, window - context):
            raise ContractError("--context sets the hop (window - context): leave --hop out")
        hop = window - context
        notes.append(f"each window starts with the previous {context} samples (zeros first)")
    hop = hop or window
    if states and hop != window and not context:
        raise ContractError(
            "a streaming model reads every sample once: leave --hop out (or give --context N "
            "for a model whose frames start with the end of the previous one)"
        )
    if window is None and hop is not None:
        raise ContractError("--hop needs --window (the model takes the whole clip otherwise)")
    if window is not None and hop is not None and not 0 < hop <= window:
        raise ContractError(f"--hop {hop}: use 1 to the window ({window}) samples")
    rates = [i.name for i in ints]
    if rates:
        notes.append(f"{', '.join(rates)} fed {sample_rate} (the sample rate)")
    return Plan(audio.name, layout, window, hop, output, context, states, rates, notes)


class _Builder:
    """Nodes and constants of the wrapper graph, with unique names."""

    def __init__(self, opset: int, prefix: str = "w/") -> None:
        self.opset = opset
        self.prefix = prefix
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{self.prefix}{hint}_{self.count}"

    def const(self, value: Any, dtype: Any = np.int64) -> str:
        from onnx import numpy_helper

        name = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def unsqueeze(self, x: str, axes: list[int]) -> str:
        return self.op("Unsqueeze", [x, self.const(axes)])

    def reduce(self, op_type: str, x: str, axes: list[int]) -> str:
        if self.opset >= 18 or op_type == "ReduceSum":
            return self.op(op_type, [x, self.const(axes)], keepdims=0)
        return self.op(op_type, [x], axes=axes, keepdims=0)

    def scalar_dim(self, x: str, axis: int) -> str:
        return self.op("Gather", [self.op("Shape", [x]), self.const(axis)])


def _frames(
    b: _Builder, wave: str, window: int, hop: int, context: int = 0
) -> tuple[str, str, str]:
    """(frames [batch, n, window], batch size, n): the clip cut into windows every ``hop``
    samples, the last zero-padded (a clip shorter than one window is one padded window);
    with ``context``, the clip starts with that many zeros (each window then holds the end
    of the previous hop before its own samples)."""
    if context:
        wave = b.op("Pad", [wave, b.const([0, context, 0, 0])])
    batch, samples = b.scalar_dim(wave, 0), b.scalar_dim(wave, 1)
    n_const, h_const = b.const(window), b.const(hop)
    longest = b.op("Max", [samples, n_const])
    over = b.op("Sub", [b.op("Add", [b.op("Sub", [longest, n_const]), h_const]), b.const(1)])
    n = b.op("Add", [b.op("Div", [over, h_const]), b.const(1)])
    padded = b.op("Add", [b.op("Mul", [b.op("Sub", [n, b.const(1)]), h_const]), n_const])
    pad = b.op("Sub", [padded, samples])
    pads = b.op("Concat", [b.const([0, 0, 0]), b.unsqueeze(pad, [0])], axis=0)
    wave_padded = b.op("Pad", [wave, pads])
    starts = b.op("Mul", [b.op("Range", [b.const(0), n, b.const(1)]), h_const])
    offsets = b.op("Range", [b.const(0), n_const, b.const(1)])
    index = b.op("Add", [b.unsqueeze(starts, [1]), b.unsqueeze(offsets, [0])])
    return b.op("Gather", [wave_padded, index], axis=1), batch, n


def _layout(b: _Builder, x: str, layout: str) -> str:
    """Frames [rows, samples] in the model's own layout."""
    if layout == "bs":
        return x
    return b.unsqueeze(x, [2] if layout == "bs1" else [1])


def _names(graph: Any) -> set[str]:
    """Every tensor name a graph and its subgraphs define or read."""
    from onnx import AttributeProto

    names = {i.name for i in graph.input} | {o.name for o in graph.output}
    names |= {i.name for i in graph.initializer}
    for node in graph.node:
        names |= set(node.input) | set(node.output)
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                names |= _names(attr.g)
            elif attr.type == AttributeProto.GRAPHS:
                for g in attr.graphs:
                    names |= _names(g)
    return names - {""}


def _feed(b: _Builder, feeds: dict[str, str]) -> None:
    """Produce each of the model's input names from the wrapper's tensor (Identity), so every
    reference to it, inside the model's subgraphs (If, Loop) too, reads the wrapper's value."""
    from onnx import helper

    for name, source in feeds.items():
        b.nodes.append(helper.make_node("Identity", [source], [name], name=b.name("feed")))


def _scores_2d(b: _Builder, y: str, rank: int | None) -> str:
    """An output [rows, ..., classes] as [rows, classes] (extra axes averaged)."""
    if rank is not None and rank > 2:
        return b.reduce("ReduceMean", y, list(range(1, rank - 1)))
    if rank == 1:
        return b.unsqueeze(y, [1])
    return y


def _rate_constants(b: _Builder, proto: Any, plan_: Plan, sample_rate: int) -> dict[str, str]:
    from onnx import TensorProto

    out = {}
    for i in proto.graph.input:
        if i.name in plan_.rates:
            dtype = np.int32 if i.type.tensor_type.elem_type == TensorProto.INT32 else np.int64
            shape = _dims(i)
            out[i.name] = b.const(np.full([d or 1 for d in shape], sample_rate), dtype)
    return out


def build(proto: Any, plan_: Plan, sample_rate: int, pool: str = "mean") -> Any:
    """The wrapper: ``wave [batch, samples]`` -> pooled raw scores ``scores [batch, classes]``."""
    import onnx
    from onnx import TensorProto, helper

    taken = _names(proto.graph)
    clash = sorted({WAVE, PROBS} & taken) + sorted(x for x in taken if x.startswith("kit/"))
    if clash:
        raise ContractError(
            f"the model already uses the name(s) {', '.join(clash[:3])} that the wrapper adds; "
            "rename them in the model (onnx.compose.add_prefix) and wrap it again"
        )
    if pool not in POOLS:
        raise ContractError(f"--pool {pool!r}: choose {' or '.join(POOLS)}")
    opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=13)
    if opset < 13:
        from onnx import version_converter

        proto, opset = version_converter.convert_version(proto, 13), 13
    model = proto  # its own names; the wrapper's all start with "kit/"
    graph = model.graph
    rank = {o.name: len(_dims(o)) or None for o in graph.output}
    b = _Builder(opset, prefix="kit/w/")
    audio, output = plan_.audio, plan_.output
    pooler = "ReduceMean" if pool == "mean" else "ReduceMax"
    if plan_.window is None:  # the whole clip: only the layout and the scores to adapt
        feeds = {audio: _layout(b, WAVE, plan_.layout)}
        feeds |= _rate_constants(b, proto, plan_, sample_rate)
        _feed(b, feeds)
        b.nodes += list(graph.node)
        b.inits += list(graph.initializer)
        pooled = _scores_2d(b, output, rank.get(output))
    elif not plan_.streaming:
        frames, batch, n = _frames(b, WAVE, plan_.window, plan_.hop or plan_.window, plan_.context)
        flat = b.op("Reshape", [frames, b.const([-1, plan_.window])])
        feeds = {audio: _layout(b, flat, plan_.layout)}
        feeds |= _rate_constants(b, proto, plan_, sample_rate)
        _feed(b, feeds)
        b.nodes += list(graph.node)  # the model's nodes, reading the framed clip
        b.inits += list(graph.initializer)
        y = _scores_2d(b, output, rank.get(output))
        shape = b.op(
            "Concat", [b.unsqueeze(batch, [0]), b.unsqueeze(n, [0]), b.const([-1])], axis=0
        )
        pooled = b.reduce(pooler, b.op("Reshape", [y, shape]), [1])
    else:
        frames, batch, n = _frames(b, WAVE, plan_.window, plan_.hop or plan_.window, plan_.context)
        body = _Builder(opset, prefix="kit/s/")
        state_dims = {i.name: _dims(i) for i in proto.graph.input if i.name in dict(plan_.states)}
        feeds = {audio: _layout(body, "kit/s/frame", plan_.layout)}
        feeds |= _rate_constants(body, proto, plan_, sample_rate)
        feeds |= {s: f"kit/s/{s}/in" for s, _ in plan_.states}
        _feed(body, feeds)
        body.nodes += list(graph.node)
        body.inits += list(graph.initializer)
        score = _scores_2d(body, output, rank.get(output))
        outs = [(f"kit/s/{s}/out", o) for s, o in plan_.states] + [("kit/s/score", score)]
        for name, source in outs:
            body.nodes.append(helper.make_node("Identity", [source], [name]))
        f = TensorProto.FLOAT

        # Scan needs every body output's shape (rank at least): the state's as the model
        # declares it, a dynamic axis being the batch; the score [batch, classes]
        def declared(dims: list[int | None]) -> list[int | str]:
            return [d if d else "batch" for d in dims]

        state_shapes = [declared(state_dims[s]) for s, _ in plan_.states]
        score_shape: list[int | str] = ["batch", "classes"]
        body_graph = helper.make_graph(
            body.nodes,
            "frame",
            [
                helper.make_tensor_value_info(f"kit/s/{s}/in", f, sh)
                for (s, _), sh in zip(plan_.states, state_shapes, strict=True)
            ]
            + [helper.make_tensor_value_info("kit/s/frame", f, ["batch", plan_.window])],
            [
                helper.make_tensor_value_info(name, f, sh)
                for (name, _), sh in zip(outs, [*state_shapes, score_shape], strict=True)
            ],
            body.inits,
        )
        initial = []
        for s, _ in plan_.states:  # zeros, the batch size where the state's axis is dynamic
            parts = [b.const([d]) if d else b.unsqueeze(batch, [0]) for d in state_dims[s]]
            shape = b.op("Concat", parts, axis=0)
            zero = helper.make_tensor("zero", f, [1], [0.0])
            initial.append(b.op("ConstantOfShape", [shape], value=zero))
        sequence = b.op("Transpose", [frames], perm=[1, 0, 2])
        finals = [b.name("final") for _ in plan_.states]
        scores = b.name("scores")
        b.nodes.append(
            helper.make_node(
                "Scan",
                [*initial, sequence],
                [*finals, scores],
                name=b.name("scan"),
                body=body_graph,
                num_scan_inputs=1,
            )
        )
        pooled = b.reduce(pooler, scores, [0])
    b.nodes.append(helper.make_node("Identity", [pooled], [SCORES]))
    wrapped = helper.make_graph(
        b.nodes,
        "wrapped",
        [helper.make_tensor_value_info(WAVE, TensorProto.FLOAT, ["batch", "samples"])],
        [helper.make_tensor_value_info(SCORES, TensorProto.FLOAT, ["batch", None])],
        b.inits,
    )
    out = helper.make_model(wrapped, opset_imports=list(model.opset_import))
    out.ir_version = model.ir_version
    out.functions.extend(model.functions)
    try:
        onnx.checker.check_model(out)
    except onnx.checker.ValidationError as exc:
        raise ContractError(f"the wrapped graph is not valid ONNX ({str(exc)[:300]})") from None
    return out


def _trial_scores(model: Any, sample_rate: int) -> np.ndarray:
    """The wrapped model's raw pooled scores for two generated clips (1.3 s and 0.2 s)."""
    import onnxruntime

    from .data import LABELS, make_clip

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # the error reaches the user as one line, below
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    rng = np.random.default_rng(0)
    rows = []
    for seconds, label in ((1.3, LABELS[0]), (0.2, LABELS[1])):
        clip = make_clip(label, rng).samples.astype(np.float32)
        wave = np.resize(clip, int(seconds * sample_rate))[None, :]
        try:
            rows.append(session.run([SCORES], {WAVE: wave})[0])
        except Exception as exc:
            raise ContractError(f"the wrapped model fails on a {seconds:g} s clip: {exc}") from None
    return np.concatenate(rows)


def adapt_scores(model: Any, labels: list[str], sample_rate: int) -> tuple[Any, list[str], str]:
    """Append what turns the pooled scores into probabilities, and settle the labels:
    one score -> [p, 1 - p] (a sigmoid first if the score is not in [0, 1]); several ->
    a softmax unless they already are probabilities."""
    from onnx import helper

    scores = _trial_scores(model, sample_rate)
    classes = scores.shape[1]
    b = _Builder(13, prefix="kit/a/")
    x = SCORES
    if classes == 1:
        if len(labels) == 1:
            labels = [labels[0], f"not-{labels[0]}"]
        if len(labels) != 2:
            raise ContractError(
                f"the model gives one score (a yes/no model): give one label, or two "
                f"(yes first), not {len(labels)}"
            )
        in_range = bool(np.all((scores >= 0) & (scores <= 1)))
        p = x if in_range else b.op("Sigmoid", [x])
        out = b.op(
            "Concat", [p, b.op("Sub", [b.const(np.ones(1, np.float32), np.float32), p])], axis=1
        )
        how = f"one score {'(a probability)' if in_range else '(a logit: sigmoid)'} -> {labels[0]}, {labels[1]}"
    else:
        if len(labels) != classes:
            raise ContractError(
                f"the model gives {classes} scores per clip but --labels names {len(labels)}: "
                "give one label per score, in the model's order"
            )
        probs = bool(
            np.all((scores >= 0) & (scores <= 1)) and np.allclose(scores.sum(axis=1), 1, atol=1e-3)
        )
        out = x if probs else b.op("Softmax", [x], axis=1)
        how = f"{classes} scores {'(probabilities)' if probs else '(logits: softmax)'}"
    graph = model.graph
    graph.node.extend(b.nodes)
    graph.initializer.extend(b.inits)
    graph.node.append(helper.make_node("Identity", [out], [PROBS]))
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info(PROBS, 1, ["batch", len(labels)])  # 1: FLOAT
    )
    return model, labels, how


def wrap(
    path: Path,
    labels: list[str],
    out_dir: Path,
    sample_rate: int = 16_000,
    window: int | None = None,
    hop: int | None = None,
    output: str | None = None,
    pool: str = "mean",
    context: int = 0,
) -> tuple[dict[str, Any], list[str]]:
    """Wrap ``path`` into ``out_dir/model.onnx``, check it like any model; return the
    check's model.json and what the wrapper does, one line each."""
    import onnx

    from .check import check_model

    if not path.is_file():
        raise ContractError(f"{path} does not exist: pass the path of an .onnx file")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # onnx raises several types for a bad file
        raise ContractError(f"{path} is not a valid ONNX model ({exc})") from None
    if not labels or len(set(labels)) != len(labels):
        raise ContractError("--labels: give the model's labels, distinct, in its order")
    how = plan(proto, sample_rate, window, hop, output, context)
    model = build(proto, how, sample_rate, pool)
    model, labels, scores = adapt_scores(model, labels, sample_rate)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ContractError(f"the wrapped graph is not valid ONNX ({str(exc)[:300]})") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "model.onnx"
    onnx.save(model, str(target))
    meta = check_model(target, labels, sample_rate, force=True)
    framing = (
        "the whole clip in one run (the input takes any length; --window N frames it)"
        if how.window is None
        else f"frames of {how.window} samples every {how.hop}, "
        + ("in order (Scan)" if how.streaming else "as one batch")
        + f", scores pooled by {pool}"
    )
    lines = [*how.notes, framing, scores]
    return meta, lines
