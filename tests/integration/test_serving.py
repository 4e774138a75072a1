"""The SageMaker serving app as a real process over real HTTP, and the proxy handler using it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from audio_inference.settings import SAGEMAKER

from kit.measure.local.emulator import apply_env, handler_env, restore_env
from kit.measure.local.processes import ServingProcess
from tests.helpers import Context, get_item, load_handler, run_cli, tone, upload, wav_bytes


@pytest.fixture(scope="module")
def server(model_dir):
    process = ServingProcess(model_dir, workers=2)
    yield process
    process.stop()
    assert process.proc.poll() is not None


def post(url: str, body: bytes, content_type: str = "audio/wav") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_ping(server):
    with urllib.request.urlopen(f"{server.url}/ping") as response:
        assert response.status == 200


def test_invocations_classify_wav(server, tiny_build):
    status, body = post(
        f"{server.url}/invocations", wav_bytes(tone(1.0, 44_100, channels=2), 44_100)
    )
    assert status == 200
    assert body["label"] in tiny_build["labels"]
    assert body["model_sha256"] == tiny_build["metadata"]["sha256"]
    assert sum(body["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    status, _ = post(f"{server.url}/invocations", wav_bytes(tone()), "application/octet-stream")
    assert status == 200


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"not audio" * 100, "audio/wav", 400, "not a readable WAV"),
        (wav_bytes(np.zeros(16000, dtype=np.float32)), "audio/wav", 400, "silent"),
        (b"\0" * (6 * 1024 * 1024 + 1), "audio/wav", 413, "6 MB"),
        (b"{}", "application/json", 415, "not supported"),
    ],
    ids=["undecodable", "silence", "too-large", "wrong-type"],
)
def test_client_errors(server, body, content_type, status, message):
    got, answer = post(f"{server.url}/invocations", body, content_type)
    assert got == status and message in answer["error"]


def test_serve_refuses_a_missing_model_dir(tmp_path):

    result = run_cli("sagemaker.serve", "--model-dir", str(tmp_path), timeout=60)
    assert result.returncode == 2 and "model.onnx is missing" in result.stderr


def test_proxy_handler_reaches_the_server_through_boto3(aws, server, tiny_build):
    moto, stack = aws
    env = handler_env(moto, stack, SAGEMAKER, endpoint_name="audio-endpoint")
    env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = server.url
    previous = apply_env(env)
    try:
        module = load_handler("sagemaker_proxy_handler")
        good = upload(moto, stack, SAGEMAKER, "good.wav", wav_bytes(tone(0.8, 8000), 8000))
        bad = upload(moto, stack, SAGEMAKER, "bad é (1).wav", b"RIFF....WAVEjunk" * 20)
        module.handler({"Records": good["Records"] + bad["Records"]}, Context("proxy-1"))
    finally:
        restore_env(previous)
    ok = get_item(moto, stack, "incoming/sagemaker/good.wav", SAGEMAKER)
    assert ok["status"] == "ok" and ok["model_sha256"] == tiny_build["metadata"]["sha256"]
    assert ok["variant"] == SAGEMAKER and "endpoint_inference" in ok["timings_ms"]
    err = get_item(moto, stack, "incoming/sagemaker/bad é (1).wav", SAGEMAKER)
    assert err["status"] == "error" and "not a readable WAV" in err["error"]
    # The endpoint names the object, as the in-Lambda variants do (not "request body").
    assert err["error"].startswith(f"s3://{stack.bucket}/incoming/sagemaker/bad é (1).wav: ")


def test_proxy_never_imports_onnxruntime(aws, server):
    import subprocess
    import sys

    from kit import ROOT

    moto, stack = aws
    env = handler_env(moto, stack, SAGEMAKER) | {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url}
    code = "import sagemaker_proxy_handler, sys; print('onnxruntime' in sys.modules)"
    import os

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "False", result.stderr


def test_worker_connections_have_nagle_off():
    """uvicorn workers get a listening socket whose proto reads 0; asyncio then skips TCP_NODELAY."""
    import asyncio
    import socket

    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from sagemaker.serve import NoDelayHttpProtocol

    async def accepted_nodelay(protocol_class) -> int:
        config = Config(app=lambda scope, receive, send: None, http=protocol_class)
        config.load()
        state, made = ServerState(), []
        listener = socket.socket(
            socket.AF_INET, socket.SOCK_STREAM, 0
        )  # proto 0, like a worker's copy
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def factory():
            made.append(protocol_class(config=config, server_state=state, app_state={}))
            return made[-1]

        server = await asyncio.get_running_loop().create_server(factory, sock=listener)
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):
            if made and getattr(made[0], "transport", None):
                break
            await asyncio.sleep(0.01)
        flag = (
            made[0]
            .transport.get_extra_info("socket")
            .getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        writer.close()
        server.close()
        return flag

    assert asyncio.run(accepted_nodelay(HttpToolsProtocol)) == 0  # the problem
    assert asyncio.run(accepted_nodelay(NoDelayHttpProtocol)) != 0  # the fix


def test_inline_gate_keeps_long_or_unknown_work_off_the_event_loop():
    """Small, fast requests skip the thread hand-off; big bodies and slow models never do."""
    from sagemaker.serve import MAX_CONNECTIONS_PER_WORKER, InlineGate

    gate = InlineGate(max_bytes=1000, max_ms=20.0)
    assert not gate.allows(10)  # nothing timed yet
    gate.observe(10, 5.0)
    assert gate.allows(10) and not gate.allows(1001)
    for _ in range(20):
        gate.observe(10, 60.0)  # the model turned slow
    assert not gate.allows(10)
    gate.observe(5000, 1.0)  # big bodies do not vouch for small ones
    assert not gate.allows(10)
    # the worst wait for /ping: every connection queued with an inline request
    assert MAX_CONNECTIONS_PER_WORKER * InlineGate().max_ms < 2000
