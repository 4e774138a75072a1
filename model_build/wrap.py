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

from .check import ContractError
from .wrap_graph import _dims, adapt_scores, build

STREAM_FRAME_S = 0.032
"""A streaming model's default frame when its graph does not fix one (512 samples at 16 kHz)."""


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
