"""A SnapStart "published version" for local runs: init once, then fork restored copies.

Run as ``python -m bench.local.snapstart_zygote HANDLER`` with the function's
environment. It imports the handler module (the init phase) and runs the
before-snapshot hooks through awslambdaric's own hook runner: that state is the
"snapshot". For each line ``fork HOST:PORT`` on stdin it forks a copy, which
points AWS_LAMBDA_RUNTIME_API at its own Runtime API and starts awslambdaric's
real bootstrap in snap-start mode: it asks ``/restore/next``, runs the
after-restore hooks and serves invocations. The copy's pid is written back on
the file descriptor named by ZYGOTE_REPLY_FD.

awslambdaric's native client reads the Runtime API address once, when it is
first imported, so this process must not import it before forking.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time


def main() -> None:
    """Init, snapshot, then fork on demand until stdin closes."""
    handler = sys.argv[1]
    reply = os.fdopen(int(os.environ.pop("ZYGOTE_REPLY_FD")), "w", buffering=1)
    started = time.perf_counter()
    importlib.import_module(handler.rsplit(".", 1)[0])
    from awslambdaric import lambda_runtime_hooks_runner

    lambda_runtime_hooks_runner.run_before_snapshot()  # pops the hooks: copies never rerun them
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
            from awslambdaric.__main__ import main as awslambdaric_main

            awslambdaric_main(["awslambdaric", handler])
            os._exit(0)
        reply.write(json.dumps({"pid": pid}) + "\n")


if __name__ == "__main__":
    main()
