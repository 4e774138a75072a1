"""The serving image without Docker: the files its Dockerfile copies must be enough to serve."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from kit import ROOT
from kit.measure.local.image_layout import instructions, materialize
from kit.measure.local.processes import free_port, stop_process

DOCKERFILE = ROOT / "sagemaker" / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE)


def test_dockerfile_contract():
    steps = _instructions()
    # the base image is a build argument (a tag by default; pin it by digest there)
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.12-slim")
    assert steps[1] == ("FROM", "--platform=linux/amd64 ${BASE_IMAGE}")
    entry = next(arg for op, arg in steps if op == "ENTRYPOINT")
    assert json.loads(entry) == ["python", "-m", "sagemaker.serve"]  # exec form
    assert json.loads(next(arg for op, arg in steps if op == "CMD")) == ["serve"]
    assert ("EXPOSE", "8080") in steps
    run = " ".join(arg for op, arg in steps if op == "RUN")
    assert "torch" not in run and "sagemaker/requirements.txt" in run


def test_copied_files_serve_the_model(tmp_path, model_dir):
    program = tmp_path / "opt" / "program"
    materialize(DOCKERFILE, tmp_path)  # WORKDIR is /opt/program; COPY destinations are relative
    opt_model = tmp_path / "opt" / "ml" / "model"
    opt_model.mkdir(parents=True)
    for name in ("model.onnx", "model.json"):
        shutil.copy(model_dir / name, opt_model / name)
    # The image's ENV PYTHONPATH, pointed at this copy of /opt/program.
    env_line = next(arg for op, arg in _instructions() if op == "ENV")
    image_path = next(w.split("=", 1)[1] for w in env_line.split() if w.startswith("PYTHONPATH="))
    env = {**os.environ, "PYTHONPATH": image_path.replace("/opt/program", str(program))}
    origin = subprocess.run(
        [sys.executable, "-c", "import audio_inference; print(audio_inference.__file__)"],
        cwd=program,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    assert origin.startswith(str(program)), origin  # the image's copy, not the dev install
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagemaker.serve",
            "serve",
            "--model-dir",
            str(opt_model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=program,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
                time.sleep(0.1)
        else:
            pytest.fail("the server from the image layout did not answer /ping")
    finally:
        stop_process(proc)
    assert not (program / "functions" / "standard_handler.py").exists()  # only the shared package
    assert (program / "functions" / "audio_inference" / "core.py").exists()
