"""A SnapStart "published version" for local runs: init once, then fork restored copies.

Run as ``python -m kit.measure.local.snapstart_zygote HANDLER`` with the function's
environment. It imports the handler module (the init phase) and runs the
before-snapshot hooks through awslambdaric's own hook runner: that state is the
"snapshot". For each line ``fork HOST:PORT`` on stdin it forks a copy, which
points AWS_LAMBDA_RUNTIME_API at its own Runtime API and starts awslambdaric's
real bootstrap in snap-start mode: it asks ``/restore/next``, runs the
after-restore hooks and serves invocations. The copy's pid is written back on
the file descriptor named by ZYGOTE_REPLY_FD.

awslambdaric's native client reads the Runtime API address once, when it is
first imported, so this process must not import it before forking.

A fork keeps only the forking thread, so an onnxruntime session made during init would run
single-threaded in every copy, while a Firecracker restore resumes all threads. This process
therefore drops its sessions after init (joining their pool threads, so no lock is copied
held), each copy rebuilds them first and reports that emulation-only time to its Runtime API,
which leaves it out of the restore time.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import sys
import time
import urllib.request

REBUILD_TIMEOUT_S = 60


def onnx_models() -> list:
    """Every OnnxModel the handler module made during init."""
    from audio_inference.model import OnnxModel

    return [obj for obj in gc.get_objects() if isinstance(obj, OnnxModel)]


def release_thread_pools() -> None:
    """Before forking: drop every session so no pool thread (or a lock it holds) is copied."""
    for model in onnx_models():
        model.release_session()
    gc.collect()


def rebuild_thread_pools() -> float:
    """In a copy: give every model a new session and thread pool; return the time it took."""
    started = time.perf_counter()
    for model in onnx_models():
        model.rebuild_session()
    return (time.perf_counter() - started) * 1000


def report_overhead(address: str, ms: float) -> None:
    """Tell the copy's Runtime API how long the emulation-only step took."""
    from kit.measure.local.runtime_api import EMULATION_OVERHEAD

    request = urllib.request.Request(
        f"http://{address}{EMULATION_OVERHEAD}",
        data=json.dumps({"ms": ms}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def main() -> None:
    """Init, snapshot, then fork on demand until stdin closes."""
    handler = sys.argv[1]
    reply = os.fdopen(int(os.environ.pop("ZYGOTE_REPLY_FD")), "w", buffering=1)
    started = time.perf_counter()
    importlib.import_module(handler.rsplit(".", 1)[0])
    from awslambdaric import lambda_runtime_hooks_runner

    lambda_runtime_hooks_runner.run_before_snapshot()  # pops the hooks: copies never rerun them
    release_thread_pools()
    # Copies are this process's children: reap them automatically when they exit.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    reply.write(
        json.dumps({"ready": True, "init_ms": (time.perf_counter() - started) * 1000}) + "\n"
    )
    for line in sys.stdin:
        command, _, address = line.strip().partition(" ")
        if command != "fork":
            continue
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            reply.close()
            sys.stdin.close()
            os.environ["AWS_LAMBDA_RUNTIME_API"] = address
            signal.alarm(REBUILD_TIMEOUT_S)  # a hung rebuild ends the copy, not the run
            report_overhead(address, rebuild_thread_pools())
            signal.alarm(0)
            from awslambdaric.__main__ import main as awslambdaric_main

            awslambdaric_main(["awslambdaric", handler])
            os._exit(0)
        reply.write(json.dumps({"pid": pid}) + "\n")


if __name__ == "__main__":
    main()
