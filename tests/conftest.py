"""Session fixtures (a real tiny ONNX model from model_build, a real moto server) and markers.

Markers come from where a test lives (unit, infra, integration) and from what it
uses: a test that needs the trained model or spawns processes is ``slow``.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from kit.measure.local.emulator import LocalStack, MotoServer, apply_env, create_stack, restore_env

# Fixtures that train a model or start processes: a test using any of them is slow; so is a
# test whose own code starts a process.
SLOW_FIXTURES = {"tiny_build", "model_dir", "serving", "local_run", "browser"}
SPAWNS = ("run_cli(", "subprocess.", "Popen(", "ServingProcess(")
FOLDER_MARKS = ("unit", "infra", "integration")


def _spawns(item: pytest.Item) -> bool:
    try:
        source = inspect.getsource(item.function)  # type: ignore[attr-defined]
    except (AttributeError, OSError, TypeError):
        return False
    return any(call in source for call in SPAWNS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, and as slow when it trains or spawns processes."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for mark in FOLDER_MARKS:
            if mark in parts:
                item.add_marker(getattr(pytest.mark, mark))
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or _spawns(item):
            item.add_marker(pytest.mark.slow)


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
