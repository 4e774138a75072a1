"""The Lambda service for one function: a pool of local execution environments."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from audio_inference.settings import (
    HANDLERS,
)

from .config import LocalConfig
from .cpu_share import CpuShare, init_vcpus, vcpus_for
from .runtime_api import EnvironmentFailed, ExecutionEnvironment, RestoredEnvironment, Snapshot


class FunctionEmulator:
    """The Lambda service for one function: a pool of execution environments.

    An idle environment is reused; a new one starts when none is idle, up to
    ``max_environments`` (beyond it the invocation is throttled and retried, as
    Lambda does for asynchronous events); environments idle for longer than
    ``idle_timeout_s`` are retired, so the next invocation after a long gap is
    a cold start. An environment that crashed or timed out is discarded.
    """

    def __init__(
        self,
        variant: str,
        env: dict[str, str],
        cfg: LocalConfig,
        log: Path,
        snapshot: Snapshot | None = None,
        cpu: CpuShare | None = None,
    ) -> None:
        self.variant = variant
        self.cpu = cpu
        self.vcpus = vcpus_for(cfg.memory_mb(variant))
        self.env = env
        self.cfg = cfg
        self.log = log
        self.snapshot = snapshot
        self.pool: list[ExecutionEnvironment] = []
        self.lock = threading.Lock()
        self.count = 0
        self.throttles = 0
        self.crashes_injected = 0
        self.random = random.Random(cfg.seed)

    def _acquire(self) -> tuple[ExecutionEnvironment, bool] | None:
        """An environment to run on (and whether it is new), or None when throttled."""
        with self.lock:
            now = time.monotonic()
            for env in [
                e
                for e in self.pool
                if e.dead
                or (
                    not e.busy and not e.provisioned and now - e.last_used > self.cfg.idle_timeout_s
                )
            ]:
                self.pool.remove(env)
                env.stop()
            for env in sorted(self.pool, key=lambda e: not e.provisioned):  # provisioned first
                if not env.busy:
                    env.busy = True
                    return env, False
            if len(self.pool) >= self.cfg.max_environments:
                self.throttles += 1
                return None
            self.count += 1
            name = f"{self.variant}-env{self.count}"
            handler = HANDLERS[self.variant]
            if self.snapshot is not None:
                env = RestoredEnvironment(
                    name, self.snapshot, handler, self.env, self.cfg.timeout_s, self.log
                )
            else:
                env = ExecutionEnvironment(name, handler, self.env, self.cfg.timeout_s, self.log)
            if self.cpu is not None:  # starts with the init boost, then the memory's share
                env.cpu = self.cpu.group(name, init_vcpus(self.cfg.memory_mb(self.variant)))
                env.share = self.vcpus
            env.busy = True
            self.pool.append(env)
        self._boot(env)
        return env, True

    def _boot(self, env: ExecutionEnvironment) -> None:
        """Start an environment already in the pool; one whose init fails leaves the pool."""
        try:
            env.start()
        except EnvironmentFailed:
            with self.lock:
                self.pool.remove(env)
            env.stop()
            raise

    def _run_once(self, event: dict) -> dict:
        acquired = None
        backoff = 0.05
        while acquired is None:  # throttled: async events wait and are retried
            acquired = self._acquire()
            if acquired is None:
                time.sleep(backoff)
                backoff = min(1.0, backoff * 2)
        env, cold = acquired
        try:
            if self.random.random() < self.cfg.crash_rate:
                self.crashes_injected += 1
                threading.Timer(0.0, env.kill).start()  # dies as the invocation starts
            item = env.invoke(event)
            return {
                "environment": env.name,
                "cold": cold,
                "kind": env.kind,
                "startup_ms": env.startup_ms if cold else None,
                "duration_ms": item.duration_ms,
                "dispatched": item.dispatched,
                "finished": item.finished,
                "response": item.response,
                "error": item.error,
                "request_id": item.request_id,
                "max_memory_mb": env.peak_memory_mb(),
            }
        finally:
            self._release(env)

    def _release(self, env: ExecutionEnvironment) -> None:
        """The invocation is over: the environment is free again."""
        env.busy = False
        env.last_used = time.monotonic()

    def prewarm(self, count: int) -> None:
        """Provisioned concurrency: ``count`` environments initialized before any traffic.

        They never retire, and an invocation they serve is not a cold start.
        """
        for _ in range(count):
            acquired = self._acquire()
            if acquired is None:
                return
            env, _ = acquired
            env.provisioned = True
            env.busy = False
            env.last_used = time.monotonic()

    def invoke(self, event: dict, retries: bool = True) -> list[dict]:
        """Invoke; asynchronously (retries) a failed invocation is retried after Lambda's delays."""
        attempts: list[dict] = []
        for delay in (0.0, *(self.cfg.retry_delays_s if retries else ())):
            time.sleep(delay)
            try:
                attempt = self._run_once(event)
            except EnvironmentFailed as exc:  # init failed: Lambda retries that too
                attempt = {"error": {"errorType": "Runtime.InitError", "errorMessage": str(exc)}}
            attempts.append(attempt)
            if attempt.get("error") is None:
                break
        return attempts

    def stop(self) -> None:
        """Stop every environment."""
        with self.lock:
            for env in self.pool:
                env.stop()
            self.pool.clear()
