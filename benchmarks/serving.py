"""Serving throughput figures of ``python -m benchmarks runtime``: the serving app over HTTP vs raw session.run.

Figure 5 uses all cores with the Python client beside the server; figure 6 puts the server
and raw ``session.run`` on the same 1-vCPU cgroup quota with the load generator outside it.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from rich.progress import Progress

from kit.measure.local.processes import ServingProcess


def _wav(path: Path, seconds: float, rate: int, channels: int) -> bytes:
    """A 440 Hz tone as a PCM-16 WAV file; returns its bytes."""
    import numpy as np
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(
        path, mono if channels == 1 else np.stack([mono] * channels, 1), rate, subtype="PCM_16"
    )
    return path.read_bytes()


def _raw_runs(model_dir: Path, waveform: Any, threads: int, seconds: float) -> float:
    """session.run calls per second in this process."""
    from audio_inference.model import OnnxModel

    model = OnnxModel.from_dir(model_dir, threads=threads)
    model.prime()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.predict(waveform)
        count += 1
    return count / (time.perf_counter() - start)


def _parallel_raw_runs(model_dir: Path, waveform: Any, processes: int, seconds: float) -> float:
    """Total session.run calls per second of ``processes`` single-threaded processes."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        rates = pool.starmap(_raw_runs, [(model_dir, waveform, 1, seconds)] * processes)
    return sum(rates)


def serving(model_dir: Path, work: Path, seconds: float, progress: Progress) -> dict:
    """Figure 5: HTTP throughput of the serving app vs raw session.run on the same cores."""
    from audio_inference.audio import load_waveform
    from audio_inference.model import available_cpus

    data = _wav(work / "serve.wav", 1.0, 16_000, 1)
    task = progress.add_task("serving throughput", total=2)
    waveform = load_waveform(
        data, "x", json.loads((model_dir / "model.json").read_text())["sample_rate"]
    )
    cpus = available_cpus()
    # Raw throughput is the better of the two ways to use the cores without HTTP:
    # one session with an intra-op thread per CPU, or one single-threaded session
    # per CPU in separate processes (what the server does).
    threaded = _raw_runs(model_dir, waveform, cpus, seconds)
    per_process = _parallel_raw_runs(model_dir, waveform, cpus, seconds)
    raw = max(threaded, per_process)
    progress.advance(task)
    server = ServingProcess(model_dir, workers=available_cpus())
    done = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        # One kept-alive connection per client, as SageMaker's front end keeps them;
        # a new TCP connection per request would mostly measure connection setup.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.connect()
        # http.client writes headers and body separately: without this, Nagle's
        # algorithm and delayed ACKs stall each request by ~40 ms.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while time.perf_counter() < deadline:
            conn.request("POST", "/invocations", body=data, headers={"Content-Type": "audio/wav"})
            response = conn.getresponse()
            response.read()
            with lock:
                done[0] += 1
        conn.close()

    try:
        threads = [threading.Thread(target=client) for _ in range(2 * available_cpus())]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        http_rate = done[0] / (time.perf_counter() - started)
    finally:
        server.stop()
    progress.advance(task)
    return {
        "raw_runs_per_s": raw,
        "http_requests_per_s": http_rate,
        "serving_ratio": http_rate / raw,
        "serving_startup_ms": server.startup_ms,
    }


def _http_load(
    url: str, data: bytes, seconds: float, clients: int, work: Path
) -> tuple[float, str]:
    """Requests per second against ``url`` from a compiled generator if one is installed."""
    import re
    import shutil

    body = work / "load.wav"
    body.write_bytes(data)
    if shutil.which("hey"):
        out = subprocess.run(
            ["hey", "-z", f"{seconds}s", "-c", str(clients), "-m", "POST", "-T", "audio/wav",
             "-D", str(body), url],
            capture_output=True, text=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "hey"  # type: ignore[union-attr]
    if shutil.which("wrk"):
        script = work / "post.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "audio/wav"\n'
            f'local f = io.open("{body}", "rb")\nwrk.body = f:read("*all")\nf:close()\n'
        )
        out = subprocess.run(
            ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "-s", str(script), url],
            capture_output=True, text=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "wrk"  # type: ignore[union-attr]
    done = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    port = int(url.split(":")[2].split("/")[0])

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while time.perf_counter() < deadline:
            conn.request("POST", "/invocations", body=data, headers={"Content-Type": "audio/wav"})
            conn.getresponse().read()
            with lock:
                done[0] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return done[0] / (
        time.perf_counter() - started
    ), "python client (neither wrk nor hey installed)"


def _raw_in_group(model_dir: Path, waveform: Any, seconds: float, group: Any) -> float:
    """session.run calls per second of one single-threaded process inside ``group``."""
    import multiprocessing

    def target(queue: Any) -> None:
        group.join()
        queue.put(_raw_runs(model_dir, waveform, 1, seconds))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(queue,))
    proc.start()
    rate = float(queue.get(timeout=seconds + 120))
    proc.join()
    return rate


def serving_budget(model_dir: Path, work: Path, seconds: float, progress: Progress) -> dict:
    """Figure 6: server and raw session.run on the same 1-vCPU quota, load from outside it."""
    from audio_inference.audio import load_waveform

    from kit.measure.local.cpu_share import CpuShare

    share = CpuShare.detect()
    if not share.active:
        return {"serving_budget": {"skipped": share.reason}}
    data = _wav(work / "serve-budget.wav", 1.0, 16_000, 1)
    rate = json.loads((model_dir / "model.json").read_text())["sample_rate"]
    waveform = load_waveform(data, "x", rate)
    task = progress.add_task("serving on a 1-vCPU budget", total=2)
    raw_group = share.group("bench-raw", 1.0)
    serve_group = share.group("bench-serve", 1.0)
    assert raw_group is not None and serve_group is not None
    try:
        raw = _raw_in_group(model_dir, waveform, seconds, raw_group)
        progress.advance(task)
        server = ServingProcess(model_dir, workers=1, preexec_fn=serve_group.join)
        try:
            http_rate, generator = _http_load(f"{server.url}/invocations", data, seconds, 2, work)
        finally:
            server.stop()
        progress.advance(task)
    finally:
        raw_group.remove()
        serve_group.remove()
    return {
        "serving_budget": {
            "cpu_budget_vcpus": 1.0,
            "mechanism": share.mechanism,
            "raw_runs_per_s": raw,
            "http_requests_per_s": http_rate,
            "ratio": http_rate / raw,
            "overhead_ms_per_request": 1000 / http_rate - 1000 / raw,
            "load_generator": generator,
        }
    }
