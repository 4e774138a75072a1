"""`model_build check`: your own ONNX model against the kit's contract, good and bad."""

from __future__ import annotations

import json
import shutil

import pytest
from onnx import TensorProto

from model_build.check import ContractError, check_model
from tests.helpers import run_cli
from tests.helpers.onnx_graphs import graph_model


def test_a_fitting_model_gets_its_model_json_and_loads(tmp_path):
    from audio_inference.core import LocalClassifier
    from audio_inference.model import OnnxModel

    from tests.helpers import tone, wav_bytes

    meta = check_model(graph_model(tmp_path / "model.onnx"), ["a", "b", "c"], 8000)
    assert (
        meta["input_name"] == "wave"
        and meta["output_name"] == "probs"
        and meta["sample_rate"] == 8000
    )
    written = json.loads((tmp_path / "model.json").read_text())
    assert written["sha256"] == meta["sha256"] and written["labels"] == ["a", "b", "c"]
    result = LocalClassifier(OnnxModel.from_dir(tmp_path)).classify(wav_bytes(tone(1.0)), "x.wav")
    assert result.label in {"a", "b", "c"} and result.audio_seconds == pytest.approx(1.0, abs=1e-3)


def test_the_kits_own_model_fits(tmp_path, model_dir, tiny_build):
    shutil.copy(model_dir / "model.onnx", tmp_path / "own.onnx")
    meta = check_model(tmp_path / "own.onnx", tiny_build["labels"], 16000, tmp_path / "out")
    assert (tmp_path / "out" / "model.onnx").is_file() and meta["sha256"] == tiny_build["metadata"][
        "sha256"
    ]


@pytest.mark.parametrize(
    ("kwargs", "labels", "message"),
    [
        ({"elem": TensorProto.INT16}, "a,b,c", "it must be FLOAT"),
        ({"in_shape": ("batch", "channels", "samples")}, "a,b,c", "it must be [batch, samples]"),
        ({"in_shape": (1, 16000)}, "a,b,c", "fixed batch and samples axis"),
        ({}, "a,b", "3 classes but --labels names 2"),
        ({"softmax": False}, "a,b,c", "not class probabilities"),
        ({}, "a,a,b", "give distinct labels"),
    ],
    ids=["int16", "rank3", "static", "labels", "logits", "duplicate-labels"],
)
def test_models_that_do_not_fit_say_what(tmp_path, kwargs, labels, message):
    path = graph_model(tmp_path / "model.onnx", **kwargs)
    with pytest.raises(ContractError) as err:
        check_model(path, labels.split(","), 16000)
    assert message in str(err.value)
    assert not (tmp_path / "model.json").exists()  # nothing written for a refused model


def test_cli(tmp_path):
    path = graph_model(tmp_path / "model.onnx")
    ok = run_cli("model_build", "check", str(path), "--labels", "a,b,c", timeout=120)
    assert ok.returncode == 0 and "fits" in ok.stderr
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    bad = run_cli(
        "model_build", "check", str(tmp_path / "bad.onnx"), "--labels", "a,b", timeout=120
    )
    assert bad.returncode == 2 and "not a valid ONNX model" in bad.stderr


def test_a_model_that_fails_on_awkward_lengths_is_refused_naming_them(tmp_path):
    from model_build.check import check_lengths
    from tests.helpers.onnx_graphs import framed_model

    lengths = check_lengths(16000)
    # Independent of the kit: the lengths that matter for a fixed-window graph.
    assert 16000 * 30 in lengths and min(lengths) < 8000  # the maximum and the shortest clip
    assert any(all(n % d for d in range(2, int(n**0.5) + 1)) for n in lengths)  # a prime
    path = framed_model(tmp_path / "model.onnx", frame=8000)  # runs on 0.5, 1 and 3 s clips
    with pytest.raises(ContractError) as err:
        check_model(path, ["a", "b"], 16000)
    message = str(err.value)
    assert "fails on a [1," in message and "must frame the clip itself" in message
    assert ", ".join(map(str, lengths)) in message
    assert not (tmp_path / "model.json").exists()


def _saved(model, path):
    import onnx

    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_graphs_without_a_float_output_are_refused_by_reason(tmp_path):
    from onnx import helper

    wave = helper.make_tensor_value_info("wave", TensorProto.FLOAT, ["batch", "samples"])
    opset = [helper.make_opsetid("", 18)]
    no_outputs = helper.make_model(
        helper.make_graph([helper.make_node("Identity", ["wave"], ["y"])], "g", [wave], []),
        opset_imports=opset,
    )
    text = helper.make_tensor_value_info("probs", TensorProto.STRING, ["batch", 2])
    strings = helper.make_model(
        helper.make_graph(
            [helper.make_node("Cast", ["wave"], ["probs"], to=TensorProto.STRING)],
            "g",
            [wave],
            [text],
        ),
        opset_imports=opset,
    )
    for model, message in (
        (no_outputs, "has no outputs"),
        (strings, "is STRING; it must be FLOAT"),
    ):
        folder = tmp_path / message.split()[1]
        folder.mkdir()
        with pytest.raises(ContractError, match=message):
            check_model(_saved(model, folder / "model.onnx"), ["a", "b"], 16000)


def test_external_data_is_refused_for_what_it_is(tmp_path):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(graph_model(tmp_path / "one.onnx")))
    for i, t in enumerate(model.graph.initializer):  # raw bytes: what external data holds
        model.graph.initializer[i].CopyFrom(
            numpy_helper.from_array(numpy_helper.to_array(t), t.name)
        )
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path), save_as_external_data=True, location="w.bin", size_threshold=0)
    with pytest.raises(
        ContractError, match="external data files; the kit loads the model from bytes"
    ):
        check_model(path, ["a", "b", "c"], 16000)


def test_names_are_printed_as_text_never_as_markup(tmp_path):
    import onnx

    model = onnx.load(str(graph_model(tmp_path / "model.onnx")))
    model.graph.output[0].name = "[/bold]"
    for node in model.graph.node:
        node.output[:] = ["[/bold]" if o == "probs" else o for o in node.output]
    _saved(model, tmp_path / "model.onnx")
    done = run_cli("model_build", "check", str(tmp_path / "model.onnx"), "--labels", "a,b,c")
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    assert "output [/bold] over 3 labels" in said and "[batch, samples]" in said


def test_a_kit_builds_provenance_is_not_overwritten_unless_asked(tmp_path, model_dir, tiny_build):
    shutil.copy(model_dir / "model.onnx", tmp_path / "model.onnx")
    shutil.copy(model_dir / "model.json", tmp_path / "model.json")
    with pytest.raises(ContractError, match="records a kit build's parity and accuracy figures"):
        check_model(tmp_path / "model.onnx", tiny_build["labels"], 16000)
    assert json.loads((tmp_path / "model.json").read_text())["parity"]  # still there
    check_model(tmp_path / "model.onnx", tiny_build["labels"], 16000, force=True)
    assert json.loads((tmp_path / "model.json").read_text())["heldout_accuracy"] is None
