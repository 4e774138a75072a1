"""Session fixtures: a real tiny ONNX model from model_build and a real moto server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.local.emulator import LocalStack, MotoServer, apply_env, create_stack, restore_env


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> dict:
    """Train a small model on generated data and export it through the real gate (~15 s)."""
    from model_build.data import LABELS, generate
    from model_build.export import export_checkpoint_to
    from model_build.train import from_clips, save_checkpoint, train

    out = tmp_path_factory.mktemp("model")
    labels = list(LABELS)
    model, metrics = train(labels, from_clips(generate(12, seed=3), LABELS), epochs=3, seed=3)
    save_checkpoint(out / "checkpoint.pt", model, labels, metrics)
    meta = export_checkpoint_to(model, labels, metrics, out)
    return {
        "dir": out,
        "model": model,
        "labels": labels,
        "metadata": meta,
        "checkpoint": out / "checkpoint.pt",
    }


@pytest.fixture(scope="session")
def model_dir(tiny_build) -> Path:
    return tiny_build["dir"]


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server, model_dir):
    """A fresh emulated stack; boto3 in this process points at it for the test."""
    moto_server.reset()
    previous = apply_env(moto_server.env())
    stack: LocalStack = create_stack(moto_server, model_dir)
    yield moto_server, stack
    restore_env(previous)
