"""Pulumi unit-test mocks: run __main__.py against a fake engine and record every resource."""

from __future__ import annotations

import pytest

from components.config import project_name
from kit.stack.mocks import ACCOUNT, REGION, Mocks, StackRun, run_program

PROJECT = project_name()
__all__ = ["ACCOUNT", "REGION", "Mocks", "StackRun", "PROJECT"]


@pytest.fixture
def run_stack(model_dir):
    """Run __main__.py with the given config; return the recorded resources and outputs."""

    def run(**config) -> StackRun:
        config.setdefault("modelPath", str(model_dir / "model.onnx"))
        return run_program(config, PROJECT)

    return run
