"""`model_build wrap`: stand-ins with the interfaces of real third-party models (Silero VAD's
streaming state, basic-pitch's fixed window and three outputs, a one-sigmoid detector) wrap
with one command each, pass `check`, and give what the original model gives when it is run
the way its authors run it (frame by frame with onnxruntime, state carried in Python)."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

from model_build.check import ContractError
from model_build.wrap import wrap
from tests.helpers import run_cli
from tests.helpers.onnx_graphs import fixed_window, graph_model, single_sigmoid, stateful_vad

RATE = 16_000


def _clip(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    envelope = (np.sin(2 * np.pi * 1.5 * t) > 0).astype(np.float32)  # bursts and silences
    return (0.3 * envelope * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(n)).astype(
        np.float32
    )


def _run(folder, wave: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    return session.run(None, {"wave": wave})[0]


def _session(path):
    return onnxruntime.InferenceSession(str(path))


def test_a_streaming_vad_is_fed_frames_in_order_with_its_state_carried(tmp_path):
    source = stateful_vad(tmp_path / "silero_like.onnx")
    meta, lines = wrap(source, ["speech"], tmp_path / "vad")
    assert meta["labels"] == ["speech", "not-speech"]  # one label and its complement
    assert any("state <- stateN" in line for line in lines)
    wave = _clip(1.7)[:27_211]  # a prime number of samples: the last frame is padded
    # what Silero's own examples do: 512-sample frames, zero state, carried, probabilities
    model = _session(source)
    state = np.zeros((2, 1, 16), np.float32)
    padded = np.pad(wave, (0, -len(wave) % 512))
    probs = []
    for frame in padded.reshape(-1, 512):
        p, state = model.run(None, {"input": frame[None], "state": state, "sr": np.array(RATE)})
        probs.append(p[0, 0])
    expected = np.mean(probs)
    got = _run(tmp_path / "vad", wave[None])
    np.testing.assert_allclose(got, [[expected, 1 - expected]], rtol=1e-5)
    # the order matters: the same frames reversed give another answer (the state is real)
    reversed_frames = padded.reshape(-1, 512)[::-1].reshape(1, -1)
    assert not np.allclose(_run(tmp_path / "vad", reversed_frames), got)


def test_a_fixed_window_model_with_three_outputs_is_framed_pooled_and_softmaxed(tmp_path):
    source = fixed_window(tmp_path / "pitch_like.onnx", window=4000)
    meta, lines = wrap(source, ["a", "b", "c"], tmp_path / "fixed")
    assert any("note chosen of note, onset, contour" in line for line in lines)
    wave = _clip(1.3)  # 20,800 samples: five windows of 4,000 and a padded sixth
    model = _session(source)
    windows = np.pad(wave, (0, -len(wave) % 4000)).reshape(-1, 4000, 1)
    note = model.run(["note"], {"input_2": windows})[0]  # [windows, time, classes] logits
    logits = note.mean(axis=1).mean(axis=0)
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(_run(tmp_path / "fixed", wave[None]), [expected], rtol=1e-5)
    # a batch of two clips of one length: each row its own answer
    two = np.stack([wave, _clip(1.3, seed=1) * 0.1])
    assert _run(tmp_path / "fixed", two).shape == (2, 3)
    # overlapping windows and another output, by flag
    wrap(source, ["a", "b", "c"], tmp_path / "hop", hop=2000, output="onset", pool="max")
    starts = range(0, max(len(wave) - 4000, 0) + 2000, 2000)
    padded = np.pad(wave, (0, starts[-1] + 4000 - len(wave)))
    frames = np.stack([padded[s : s + 4000] for s in starts])[..., None]
    onset = model.run(["onset"], {"input_2": frames})[0].mean(axis=1).max(axis=0)
    expected = np.exp(onset) / np.exp(onset).sum()  # sigmoids that do not sum to 1
    np.testing.assert_allclose(_run(tmp_path / "hop", wave[None]), [expected], rtol=1e-5)


def test_a_single_sigmoid_becomes_two_classes(tmp_path):
    source = single_sigmoid(tmp_path / "wake.onnx")
    meta, _ = wrap(source, ["wake"], tmp_path / "wake")
    wave = _clip(0.8)
    p = _session(source).run(None, {"audio": wave[None]})[0][0, 0]
    np.testing.assert_allclose(_run(tmp_path / "wake", wave[None]), [[p, 1 - p]], rtol=1e-6)
    assert meta["labels"] == ["wake", "not-wake"] and meta["checked"]["batch_checked"] == 2


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (lambda p: graph_model(p, in_shape=("batch", 80, "frames")), {}, "front end exported"),
        (fixed_window, {"output": "pitch"}, "not one of the model's outputs"),
        (fixed_window, {"window": 1000}, "takes exactly 4000 samples"),
        (stateful_vad, {"hop": 256}, "reads every sample once"),
        (fixed_window, {"labels": ["a", "b"]}, "gives 3 scores per clip but --labels names 2"),
    ],
    ids=["spectrogram", "unknown-output", "window", "streaming-hop", "labels"],
)
def test_what_cannot_be_wrapped_says_what_to_change(tmp_path, make, kwargs, message):
    source = make(tmp_path / "m.onnx")
    labels = kwargs.pop("labels", ["a", "b", "c"])
    with pytest.raises(ContractError, match=message):
        wrap(source, labels, tmp_path / "out", **kwargs)


def test_one_command_each_and_check_suggests_wrap(tmp_path):
    source = stateful_vad(tmp_path / "vad.onnx")
    refused = run_cli("model_build", "check", str(source), "--labels", "speech", timeout=120)
    assert refused.returncode == 2 and "model_build wrap" in refused.stderr
    ok = run_cli(
        "model_build", "wrap", str(source), "--labels", "speech", "--out", str(tmp_path / "w"),
        timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "streaming" in ok.stderr and (tmp_path / "w" / "model.json").is_file()


def test_context_prepends_the_end_of_the_previous_frame_as_silero_v5_expects(tmp_path):
    """Silero VAD v5's own wrapper feeds 512 new samples after the previous frame's last 64."""
    source = stateful_vad(tmp_path / "v5_like.onnx", frame=576)
    wrap(source, ["speech"], tmp_path / "ctx", window=576, context=64)
    wave = _clip(1.1)
    model = _session(source)
    state, context, probs = np.zeros((2, 1, 16), np.float32), np.zeros((1, 64), np.float32), []
    for chunk in np.pad(wave, (0, -len(wave) % 512)).reshape(-1, 512):
        frame = np.concatenate([context, chunk[None]], axis=1)
        p, state = model.run(None, {"input": frame, "state": state, "sr": np.array(RATE)})
        context, probs = frame[:, -64:], [*probs, p[0, 0]]
    got = _run(tmp_path / "ctx", wave[None])
    np.testing.assert_allclose(got, [[np.mean(probs), 1 - np.mean(probs)]], rtol=1e-5)
