"""Child processes the local runs start: the SageMaker serving app, free ports, clean stops.

Every child is started through :func:`spawn`, which records it, so
:func:`stop_children` can always stop every one of them: after Ctrl-C in
the middle of a start-up (before the caller kept a handle), and at exit as a
backstop. :class:`Interrupts` makes the first Ctrl-C (or SIGTERM) stop the
run and every later one wait for the cleanup instead of interrupting it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kit import ROOT


class EnvironmentFailed(RuntimeError):
    """An environment's init or restore failed, or the run stopped before it could start."""


_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()


class Interrupts:
    """SIGINT/SIGTERM for one run: the first stops it, later ones never cut the cleanup short.

    While a child is being started (:meth:`deferred`) the first signal is held
    until the child is recorded, so no process can be started and forgotten.
    """

    def __init__(self) -> None:
        self.received = 0
        self.stopping = False  # once set, signals are counted and ignored
        self._deferring = 0
        self._pending = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Take over SIGINT and SIGTERM (main thread only; elsewhere a no-op)."""
        self.received, self.stopping, self._pending = 0, False, False
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        """Give SIGINT and SIGTERM back to whoever had them; the next run starts afresh."""
        if self.received:  # interrupted: the process is on its way out, later signals wait
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        self.stopping = self._pending = False

    def _handle(self, signum: int, frame: Any) -> None:
        self.received += 1
        if self.stopping:
            return  # cleanup is under way: let it finish
        if self._deferring:
            self._pending = True
            return
        self.stopping = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold a signal until the block ends (start a child and record it, atomically).

        Only the main thread is ever interrupted, so only its blocks need holding.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            if not self._deferring and self._pending and not self.stopping:
                self._pending = False
                self.stopping = True
                raise KeyboardInterrupt


# The run in progress installs its own; a module-level one serves spawns outside a run.
interrupts = Interrupts()


def spawn(command: list[str], **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen`` in a new process group, recorded for :func:`stop_children`."""
    with interrupts.deferred(), _children_lock:
        if interrupts.stopping:  # a dispatcher thread must not start what cleanup would miss
            raise EnvironmentFailed("the run is stopping: no new process is started")
        proc = subprocess.Popen(command, start_new_session=True, **kwargs)
        _children.add(proc)
    return proc


def stop_children() -> None:
    """Stop every child :func:`spawn` started that is still recorded (and its group)."""
    with _children_lock:
        procs = list(_children)
    for proc in procs:
        stop_process(proc)


atexit.register(stop_children)  # a backstop: an interpreter that exits leaves no child behind


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate a child (and its process group), kill it if it lingers.

    A child that already exited may have left members of its group behind (a
    SnapStart snapshot's forked copies): the group is killed all the same.
    """
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of its group
    with _children_lock:
        _children.discard(proc)


class ServingProcess:
    """``python -m sagemaker.serve`` as a plain process on a free loopback port."""

    def __init__(
        self,
        model_dir: Path,
        workers: int = 1,
        log: Path | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        started = time.perf_counter()
        self.proc = spawn(
            [
                sys.executable,
                "-m",
                "sagemaker.serve",
                "--model-dir",
                str(model_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=out,
            preexec_fn=preexec_fn,  # e.g. join a CPU-quota group before anything runs
        )
        self.startup_ms = self._wait_ready(started)

    def _wait_ready(self, started: float, timeout: float = 60.0) -> float:
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the serving app exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as response:
                    if response.status == 200:
                        return (time.perf_counter() - started) * 1000
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the serving app did not answer /ping within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the server and its workers."""
        stop_process(self.proc)
