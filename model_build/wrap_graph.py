"""The ONNX graph ``wrap`` composes around a model (see ``model_build.wrap`` for what and why).

Every name the wrapper adds starts with "kit/" except its input ``wave`` and output
``probs`` (the kit's contract); the model's own names are kept, so references from its
subgraphs (If, Loop) still resolve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .check import ContractError

if TYPE_CHECKING:
    from .wrap import Plan

POOLS = ("mean", "max")
WAVE, SCORES, PROBS = "wave", "kit/scores", "probs"
"""The wrapper's input and output (the kit's contract) and its pooled raw scores; every
other name it adds starts with "kit/", the model's own names are kept as they are."""


def _dims(value_info: Any) -> list[int | None]:
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]


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
