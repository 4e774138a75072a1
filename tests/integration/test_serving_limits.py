"""The serving app under hostile clients and load, over real sockets on loopback (bounded loops)."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from kit.measure.local.processes import ServingProcess
from tests.helpers import tone, wav_bytes


@pytest.fixture(scope="module")
def server(model_dir, monkeypatch_module):
    monkeypatch_module.setenv("REQUEST_READ_TIMEOUT_SECONDS", "1")
    process = ServingProcess(model_dir, workers=1)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _closed_within(sock: socket.socket, seconds: float) -> tuple[float, bytes]:
    """Read until the server closes; return (elapsed, what it sent)."""
    sock.settimeout(seconds)
    started, got = time.monotonic(), b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for over {seconds} s")
    return time.monotonic() - started, got


def test_announced_body_never_sent_gets_408(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            b"Content-Length: 5000\r\n\r\nRIFF"
        )
        elapsed, got = _closed_within(sock, 10)
    assert got.startswith(b"HTTP/1.1 408") and elapsed < 5


def test_headers_sent_byte_by_byte_are_cut_off(server):
    request = b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        started = time.monotonic()
        try:
            for i in range(len(request)):  # bounded: one byte every 50 ms, at most ~12 s
                sock.send(request[i : i + 1])
                time.sleep(0.05)
        except OSError:
            pass  # the server closed on us: what we want
        elapsed, got = _closed_within(sock, 10)
    assert time.monotonic() - started < 5  # the deadline runs from the first byte
    assert got.startswith(b"HTTP/1.1 408") or got == b""


def test_chunked_body_over_the_limit_is_refused_without_buffering_it(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    chunk = b"\0" * (1 << 20)
    sent = 0

    def body():
        nonlocal sent
        for _ in range(50):  # 50 MB offered; the server stops listening after 6 MB
            sent += len(chunk)
            yield chunk

    try:
        conn.request(
            "POST",
            "/invocations",
            body=body(),
            headers={"Content-Type": "audio/wav"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        assert response.status == 413 and b"6 MB" in response.read()
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed mid-upload after the 413: also a refusal
    assert sent < 50 * len(chunk)


def test_ping_answers_within_2_s_while_inference_runs(server):
    long_clip = wav_bytes(tone(30.0, 48_000, channels=2), 48_000)
    stop = threading.Event()
    done = []

    def load():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for _ in range(6):  # bounded
            if stop.is_set():
                break
            conn.request(
                "POST", "/invocations", body=long_clip, headers={"Content-Type": "audio/wav"}
            )
            response = conn.getresponse()
            response.read()
            done.append(response.status)
        conn.close()

    threads = [threading.Thread(target=load) for _ in range(12)]  # ~1 s of queued inference
    for t in threads:
        t.start()
    pings = []
    try:
        time.sleep(0.5)
        for _ in range(15):  # bounded: ~15 pings over a few seconds of load
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            started = time.monotonic()
            conn.request("GET", "/ping")
            assert conn.getresponse().status == 200
            pings.append(time.monotonic() - started)
            conn.close()
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert done and set(done) == {200}
    assert max(pings) < 2.0, pings  # SageMaker's health-check limit
    # Inference off the event loop: ping does not wait behind the queued requests.
    assert sorted(pings)[len(pings) // 2] < 0.25, pings


def test_non_finite_scores_are_a_400_with_json(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    data = wav_bytes(tone() * 1e30, subtype="FLOAT")
    conn.request("POST", "/invocations", body=data, headers={"Content-Type": "audio/wav"})
    response = conn.getresponse()
    assert response.status == 400 and b"[-1, 1]" in response.read()


def test_silent_connections_neither_lock_out_ping_nor_stay_open(model_dir, monkeypatch):
    from sagemaker.serve import MAX_CONNECTIONS_PER_WORKER

    monkeypatch.setenv("IDLE_BEFORE_REQUEST_SECONDS", "1")
    process = ServingProcess(model_dir, workers=1)
    silent = []
    try:
        for _ in range(MAX_CONNECTIONS_PER_WORKER + 6):  # every slot, and more, held silently
            silent.append(socket.create_connection(("127.0.0.1", process.port)))
        conn = http.client.HTTPConnection("127.0.0.1", process.port, timeout=5)
        conn.request("GET", "/ping")
        assert conn.getresponse().status == 200  # the health check still answers
        conn.close()
        elapsed, got = _closed_within(silent[0], 10)  # and silence is cut off
        assert got == b"" and elapsed < 5
        conn = http.client.HTTPConnection("127.0.0.1", process.port, timeout=30)
        conn.request(
            "POST", "/invocations", body=wav_bytes(tone(1.0)), headers={"Content-Type": "audio/wav"}
        )
        assert conn.getresponse().status == 200  # slots are free again for real requests
        conn.close()
    finally:
        for sock in silent:
            sock.close()
        process.stop()
