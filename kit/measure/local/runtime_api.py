"""Local Lambda execution environments driven by awslambdaric through a Runtime API.

Each environment has its own Runtime API server on a free loopback port (the
same HTTP interface Lambda gives a runtime) and one OS process running the
real handler module under awslambdaric. Timings come from the API's side, as
Lambda measures them: init = process start until the first ``/next``;
restore = fork request until the first ``/next``; duration = event handed out
until the response is posted.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kit import ROOT

from .cpu_share import CpuGroup
from .processes import EnvironmentFailed, spawn, stop_process

FUNCTIONS_DIR = ROOT / "functions"
API = "/2018-06-01/runtime"
EMULATION_OVERHEAD = f"{API}/emulation/overhead"
"""Not Lambda's: a restored copy reports here the time it spent on emulation-only work."""


@dataclass
class Invocation:
    """One event handed to an environment and what came back."""

    event: dict
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    dispatched: float = 0.0
    finished: float = 0.0
    response: Any = None
    error: Any = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def duration_ms(self) -> float:
        """Handler time as Lambda reports it (Duration)."""
        return (self.finished - self.dispatched) * 1000


class RuntimeAPI:
    """The Lambda Runtime API for one execution environment."""

    def __init__(self, function_arn: str, timeout_s: float, workers: int = 1) -> None:
        self.pending: queue.Queue[Invocation | None] = queue.Queue()
        self.current: dict[str, Invocation] = {}
        self.workers = workers
        """Runtime processes polling this API (Managed Instances: one per concurrent request);
        init ends when each has asked for its first event."""
        self.polls = 0
        self.polls_lock = threading.Lock()
        self.first_next = threading.Event()
        self.first_next_at = 0.0
        self.init_error: Any = None
        self.failed = threading.Event()
        self.emulation_ms = 0.0
        """Time a restored copy spent on emulation-only work (rebuilding thread pools)."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes on a kept-alive
                # connection; without this, Nagle + delayed ACK add ~40 ms.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the runtime went away (environment stopped)
                    self.wfile.write(body)

            def _body(self) -> Any:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return raw.decode(errors="replace")

            def do_GET(self) -> None:
                if self.path == f"{API}/invocation/next":
                    with api.polls_lock:
                        api.polls += 1
                        ready = api.polls >= api.workers
                    if ready and not api.first_next.is_set():
                        api.first_next_at = time.perf_counter()
                        api.first_next.set()
                    item = api.pending.get()
                    if item is None:  # shutting down
                        self._reply(410)
                        return
                    item.dispatched = time.perf_counter()
                    api.current[item.request_id] = item
                    body = json.dumps(item.event).encode()
                    self._reply(
                        200,
                        body,
                        {
                            "Lambda-Runtime-Aws-Request-Id": item.request_id,
                            "Lambda-Runtime-Deadline-Ms": str(
                                int((time.time() + timeout_s) * 1000)
                            ),
                            "Lambda-Runtime-Invoked-Function-Arn": function_arn,
                            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{item.request_id[:24]}",
                            "Content-Type": "application/json",
                        },
                    )
                elif self.path == f"{API}/restore/next":
                    self._reply(200)
                else:
                    self._reply(404)

            def do_POST(self) -> None:
                parts = self.path.split("/")
                body = self._body()
                if self.path.endswith(("/response", "/error")) and "/invocation/" in self.path:
                    item = api.current.pop(parts[-2], None)
                    if item is not None:
                        item.finished = time.perf_counter()
                        if self.path.endswith("/response"):
                            item.response = body
                        else:
                            item.error = body or {"errorMessage": "unknown error"}
                        item.done.set()
                    self._reply(202)
                    return
                if self.path == EMULATION_OVERHEAD:
                    api.emulation_ms = float((body or {}).get("ms", 0.0))
                    self._reply(202)
                    return
                if self.path in (f"{API}/init/error", f"{API}/restore/error"):
                    api.init_error = body
                    api.failed.set()
                    api.first_next.set()
                    self._reply(202)
                    return
                self._reply(404)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a runtime killed mid-request is expected when environments retire

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Fail whatever is in flight, release a blocked /next and the port."""
        stranded = list(self.current.values())
        while True:
            try:
                item = self.pending.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                stranded.append(item)
        for item in stranded:
            if item.done.is_set():  # already answered, or already failed with its own reason
                continue
            item.error = {
                "errorType": "EnvironmentStopped",
                "errorMessage": "the environment was stopped",
            }
            item.finished = time.perf_counter()
            item.done.set()
        if not self.first_next.is_set():  # a start in progress fails now, not at its timeout
            self.init_error = "the environment was stopped during init"
            self.failed.set()
            self.first_next.set()
        self.pending.put(None)
        self.server.shutdown()
        self.server.server_close()


def peak_memory_mb(pid: int) -> float | None:
    """Peak resident memory of a process (VmHWM), like Lambda's Max Memory Used."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class ExecutionEnvironment:
    """One execution environment: a Runtime API and the process serving it."""

    kind = "on-demand"

    def __init__(
        self, name: str, handler: str, env: dict[str, str], timeout_s: float, log: Path
    ) -> None:
        self.name = name
        self.handler = handler
        self.api = RuntimeAPI(f"arn:aws:lambda:us-east-1:000000000000:function:{name}", timeout_s)
        self.timeout_s = timeout_s
        self.log = log
        self.invocations = 0
        self.last_used = time.monotonic()
        self.busy = False
        self.pid: int | None = None
        self.proc: subprocess.Popen | None = None
        self.startup_ms = 0.0  # init (on-demand) or restore (SnapStart) time
        self.dead = False
        self.provisioned = False  # kept initialized (provisioned concurrency): never retired
        self.cpu: CpuGroup | None = None  # the CPU share of its memory size, when set
        self.share = 0.0  # vCPUs once started (the group starts with the init boost)
        self._env = env

    def start(self) -> None:
        """Start the runtime process; init ends when it first asks for an event."""
        env = {**self._env, "AWS_LAMBDA_RUNTIME_API": self.api.address}
        started = time.perf_counter()
        out = open(self.log, "ab")  # noqa: SIM115  (kept open by the child)
        self.proc = spawn(
            [sys.executable, "-m", "awslambdaric", self.handler],
            # The Lambda code root: functions/, or a container image's task root.
            cwd=self._env.get("LAMBDA_TASK_ROOT", str(FUNCTIONS_DIR)),
            env=env,
            stdout=out,
            stderr=out,
            # Joins its CPU-quota cgroup before exec: init is throttled from the start.
            preexec_fn=self.cpu.join if self.cpu is not None else None,
        )
        self.pid = self.proc.pid
        self._wait_ready(started)

    def _wait_ready(self, started: float) -> None:
        if not self.api.first_next.wait(self.timeout_s):
            raise EnvironmentFailed(
                f"{self.name}: no /next within {self.timeout_s:.0f} s (init timeout)"
            )
        if self.api.failed.is_set():
            raise EnvironmentFailed(f"{self.name}: init failed: {self.api.init_error}")
        if self.cpu is not None and self.share:
            self.cpu.set_vcpus(self.share)  # init is over: the memory's share from now on
        self.startup_ms = (self.api.first_next_at - started) * 1000 - self.api.emulation_ms

    def invoke(self, event: dict) -> Invocation:
        """Hand one event to the runtime and wait for its response or error.

        As on Lambda, an environment whose process exits mid-invocation
        (``Runtime.ExitError``) or that outlives the timeout is discarded: it is
        stopped and marked dead, so the pool never hands it out again.
        """
        item = Invocation(event)
        self.api.pending.put(item)
        deadline = time.monotonic() + self.timeout_s
        while not item.done.wait(0.1):
            if not self.alive():
                self._fail(
                    item, "Runtime.ExitError", "the runtime process exited during the invocation"
                )
                break
            if time.monotonic() > deadline:
                self._fail(item, "Sandbox.Timedout", f"timed out after {self.timeout_s:g} s")
                break
        self.invocations += 1
        return item

    def _fail(self, item: Invocation, kind: str, message: str) -> None:
        if item.done.is_set():  # the answer arrived just before we looked
            return
        item.error = {"errorType": kind, "errorMessage": message}
        item.finished = time.perf_counter()
        item.done.set()
        self.dead = True
        self.stop()

    def alive(self) -> bool:
        """Whether the runtime process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the runtime process now (fault injection: a crash mid-invocation)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def peak_memory_mb(self) -> float | None:
        """Max memory used by this environment so far."""
        return peak_memory_mb(self.pid) if self.pid else None

    def stop(self) -> None:
        """Stop the runtime process and close the API."""
        if self.proc is not None:
            stop_process(self.proc)
        self.api.close()
        if self.cpu is not None:
            self.cpu.remove()


class Snapshot:
    """One published SnapStart version: an initialized zygote process that forks copies."""

    def __init__(
        self,
        handler: str,
        env: dict[str, str],
        log: Path,
        timeout_s: float = 60,
        cpu: CpuGroup | None = None,
    ) -> None:
        read_fd, write_fd = os.pipe()
        out = open(log, "ab")  # noqa: SIM115
        started = time.perf_counter()
        self.cpu = cpu  # init runs with the same boost as any environment's
        self.proc = spawn(
            [sys.executable, "-m", "kit.measure.local.snapstart_zygote", handler],
            cwd=FUNCTIONS_DIR,
            env={
                **env,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
                "ZYGOTE_REPLY_FD": str(write_fd),
                "PYTHONPATH": os.pathsep.join([str(FUNCTIONS_DIR), str(ROOT)]),
            },
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=out,
            pass_fds=(write_fd,),
            text=True,
            preexec_fn=cpu.join if cpu is not None else None,
        )
        os.close(write_fd)
        self.replies = os.fdopen(read_fd)
        self.lock = threading.Lock()
        line = self._read(timeout_s)
        self.init_ms = json.loads(line)["init_ms"]
        self.wall_ms = (time.perf_counter() - started) * 1000

    def _read(self, timeout_s: float) -> str:
        import select

        ready, _, _ = select.select([self.replies], [], [], timeout_s)
        line = self.replies.readline() if ready else ""
        if not line:
            raise EnvironmentFailed(
                "the SnapStart snapshot process failed during init (see the run log)"
            )
        return line

    def fork(self, address: str) -> int:
        """Ask for a restored copy serving the Runtime API at ``address``; return its pid."""
        with self.lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(f"fork {address}\n")
            self.proc.stdin.flush()
            return int(json.loads(self._read(30))["pid"])

    def stop(self) -> None:
        """Stop the zygote and every copy (they share its process group)."""
        stop_process(self.proc)
        self.replies.close()
        if self.cpu is not None:
            self.cpu.remove()


class RestoredEnvironment(ExecutionEnvironment):
    """A SnapStart execution environment: a copy forked from the snapshot."""

    kind = "snapstart"

    def __init__(
        self,
        name: str,
        snapshot: Snapshot,
        handler: str,
        env: dict[str, str],
        timeout_s: float,
        log: Path,
    ) -> None:
        super().__init__(name, handler, env, timeout_s, log)
        self.snapshot = snapshot

    def start(self) -> None:
        """Restore: fork the snapshot; restore ends when the copy first asks for an event."""
        started = time.perf_counter()
        self.pid = self.snapshot.fork(self.api.address)
        if self.cpu is not None:
            self.cpu.add(self.pid)
        self._wait_ready(started)

    def alive(self) -> bool:
        """Whether the forked copy is still running (the snapshot process reaps it on exit)."""
        if not self.pid:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        try:  # a copy that exited but is not reaped yet is a zombie: dead too
            return Path(f"/proc/{self.pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    def kill(self) -> None:
        """Kill the copy now (fault injection)."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)

    def stop(self) -> None:
        """Kill this copy only."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)  # the snapshot process reaps it
        self.api.close()
        if self.cpu is not None:
            self.cpu.remove()


def billed_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the next millisecond."""
    return int(math.ceil(duration_ms)) if duration_ms > 0 else 0
