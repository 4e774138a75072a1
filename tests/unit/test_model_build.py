"""The model build: export parity, the gate, metadata, folder training and its errors."""

import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
import soundfile
import torch

from model_build import ModelBuildError
from model_build.export import GateError, export_onnx, parity_waveforms, publish, sha256_of
from model_build.train import load_checkpoint, load_folder, train


def test_exported_model_runs_in_onnxruntime_and_agrees_with_torch(tiny_build):
    session = onnxruntime.InferenceSession(str(tiny_build["dir"] / "model.onnx"))
    model = tiny_build["model"]
    for wave in parity_waveforms()[:6] + [
        np.random.default_rng(0).uniform(-1, 1, (3, 12_345)).astype(np.float32)
    ]:
        batch = wave if wave.ndim == 2 else wave[None]
        got = session.run(None, {"waveform": batch})[0]
        with torch.no_grad():
            expected = model(torch.from_numpy(batch)).numpy()
        assert got.shape == (batch.shape[0], 4)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
        assert np.max(np.abs(got - expected)) <= 1e-4


def test_metadata_is_complete_and_sha_matches(tiny_build):
    meta = json.loads((tiny_build["dir"] / "model.json").read_text())
    for field in (
        "labels",
        "sample_rate",
        "input_name",
        "output_name",
        "opset",
        "sha256",
        "parity",
        "heldout_accuracy",
    ):
        assert field in meta, field
    assert meta["sha256"] == sha256_of(tiny_build["dir"] / "model.onnx")
    assert meta["labels"] == ["tone", "chirp", "noise", "pulses"]
    assert meta["sample_rate"] == 16_000 and meta["opset"] >= 18
    assert meta["parity"]["waveforms"] >= 16 and meta["parity"]["max_abs_diff"] <= 1e-4
    assert meta["parity"]["seconds_min"] == 0.5 and meta["parity"]["seconds_max"] == 10.0


def _candidate(tiny_build, tmp_path):
    path = tmp_path / "candidate.onnx"
    export_onnx(tiny_build["model"], path)
    return path


def test_gate_rejects_changed_weights_and_leaves_no_artifact(tiny_build, tmp_path):
    candidate = _candidate(tiny_build, tmp_path)
    proto = onnx.load(str(candidate))
    # Perturb the classifier head: the graph stays valid, the numbers do not.
    head = next(t for t in proto.graph.initializer if "head" in t.name and len(t.dims) == 2)
    values = onnx.numpy_helper.to_array(head)
    values = values + np.random.default_rng(0).normal(0, 1.0, values.shape)
    head.CopyFrom(onnx.numpy_helper.from_array(values.astype(np.float32), head.name))
    onnx.save(proto, str(candidate))
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"stale")
    with pytest.raises(GateError, match="parity check failed"):
        publish(tiny_build["model"], candidate, out, tiny_build["labels"], {})
    assert list(out.iterdir()) == []


def test_gate_rejects_a_broken_file(tiny_build, tmp_path):
    candidate = _candidate(tiny_build, tmp_path)
    candidate.write_bytes(candidate.read_bytes()[:500])
    with pytest.raises(GateError):
        publish(tiny_build["model"], candidate, tmp_path / "out", tiny_build["labels"], {})
    assert not (tmp_path / "out" / "model.onnx").exists()


def test_training_on_a_user_folder(tmp_path):
    rng = np.random.default_rng(0)
    for label, freq in (("low", 200.0), ("high", 3000.0)):
        (tmp_path / label).mkdir()
        for i in range(6):
            t = np.arange(8000 + 800 * i) / 16_000
            wave = 0.3 * np.sin(2 * np.pi * freq * (1 + 0.05 * rng.random()) * t)
            soundfile.write(tmp_path / label / f"{i}.wav", wave, 16_000)
    labels, examples = load_folder(tmp_path)
    assert labels == ["high", "low"] and len(examples) == 12
    model, metrics = train(labels, examples, epochs=2)
    assert metrics["heldout_examples"] == 2 and 0.0 <= metrics["heldout_accuracy"] <= 1.0


def test_empty_or_bad_data_folders_are_clear_errors(tmp_path):
    with pytest.raises(ModelBuildError, match="does not exist"):
        load_folder(tmp_path / "missing")
    (tmp_path / "only").mkdir()
    with pytest.raises(ModelBuildError, match="at least 2"):
        load_folder(tmp_path)
    (tmp_path / "other").mkdir()
    soundfile.write(tmp_path / "only" / "ok.wav", np.zeros(800) + 0.1, 16_000)
    (tmp_path / "other" / "broken.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(ModelBuildError, match="broken.wav"):
        load_folder(tmp_path)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ModelBuildError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ModelBuildError, match="not a model_build checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_cli_errors_are_one_line_not_a_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "model_build",
            "export",
            "--checkpoint",
            str(tmp_path / "no.pt"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_samples_carry_labels_and_formats(tmp_path):
    from model_build.samples import label_of, read_manifest, write_samples

    rows = write_samples(tmp_path, 16)
    manifest = read_manifest(tmp_path)
    assert len(manifest) == 16
    seen = set()
    for row in rows:
        info = soundfile.info(tmp_path / row["file"])
        assert label_of(row["file"]) == manifest[row["file"]] == row["label"]
        seen.add((info.subtype, info.channels))
        assert 8000 <= info.samplerate <= 48_000
    assert {("PCM_16", 1), ("PCM_16", 2), ("FLOAT", 1), ("FLOAT", 2)} <= seen


def test_the_family_grows_and_keeps_the_contract():
    import torch

    from model_build.net import AudioClassifier
    from model_build.sizes import SIZES

    params = []
    for size in SIZES:
        model = AudioClassifier(4, size).eval()
        params.append(sum(p.numel() for p in model.parameters()))
        with torch.no_grad():
            for n in (1600, 16000):  # the shortest input the export allows, and 1 s
                probs = model(torch.zeros(2, n))
                assert probs.shape == (2, 4) and torch.allclose(probs.sum(1), torch.ones(2))
    assert params == sorted(params) and params[-1] > 100 * params[0]
    with pytest.raises(ValueError, match="unknown model size 'huge'"):
        AudioClassifier(4, "huge")


def test_idle_session_threads_do_not_spin(model_dir):
    """Between requests an ONNX session must not burn the function's CPU share."""
    import time

    import numpy as np
    from audio_inference.model import OnnxModel

    model = OnnxModel.from_dir(model_dir, threads=2)
    wave = (0.1 * np.random.default_rng(0).standard_normal(model.sample_rate)).astype(np.float32)
    model.predict(wave)
    idle_cpu = []
    for _ in range(5):
        model.predict(wave)
        started = time.process_time()
        time.sleep(0.05)
        idle_cpu.append(time.process_time() - started)
    # onnxruntime's default (spinning pool threads) burns ~the whole 50 ms here
    assert sorted(idle_cpu)[2] < 0.01, idle_cpu
