"""Lambda Managed Instances, locally: an execution environment that runs several requests at once.

On Managed Instances the Python runtime runs one process per concurrent request
(PerExecutionEnvironmentMaxConcurrency of them), each initialized on its own, all sharing
the environment's vCPUs. awslambdaric does exactly that when ``AWS_LAMBDA_MAX_CONCURRENCY``
is set: it forks that many workers, each polling the Runtime API. Here one such process tree
joins one CPU-quota cgroup of the environment's vCPUs, so requests that overlap slow each
other down as they would on the instance, and every invocation records how many requests
its environment ran meanwhile (``concurrency``): the simulator draws durations per
concurrency level from these measurements.

Environments are started before any traffic (Lambda starts the minimum before the version
is active) and never retire; there are no cold starts. Beyond every slot, an asynchronous
event waits and is retried, as Lambda keeps it.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from audio_inference.settings import ENV_MODEL_THREADS, HANDLERS

from kit.results import Invocation, ManagedSetup

from .config import LocalConfig
from .cpu_share import CpuShare
from .functions import FunctionEmulator
from .runtime_api import ExecutionEnvironment

MAX_CONCURRENCY_ENV = "AWS_LAMBDA_MAX_CONCURRENCY"
"""What makes awslambdaric run one worker process per concurrent request (its LMI mode)."""
LOCAL_ENVIRONMENTS = 1
"""Environments run locally: one is measured; the simulator scales it out."""


class ManagedEnvironment(ExecutionEnvironment):
    """One execution environment: ``slots`` runtime processes sharing one Runtime API."""

    kind = "managed"

    def __init__(
        self,
        name: str,
        handler: str,
        env: dict[str, str],
        timeout_s: float,
        log: Path,
        slots: int,
    ) -> None:
        super().__init__(name, handler, {**env, MAX_CONCURRENCY_ENV: str(slots)}, timeout_s, log)
        self.api.workers = slots
        self.slots = slots
        self.in_flight = 0


class ManagedFunction(FunctionEmulator):
    """The Lambda service for a managed function: environments with several slots each."""

    def __init__(
        self,
        variant: str,
        env: dict[str, str],
        cfg: LocalConfig,
        log: Path,
        cpu: CpuShare | None,
    ) -> None:
        setup = cfg.setups[variant].managed
        assert setup is not None, f"{variant}: a managed variant needs its ManagedSetup"
        self.setup: ManagedSetup = setup
        super().__init__(
            variant, {**env, ENV_MODEL_THREADS: str(setup.threads)}, cfg, log, None, cpu
        )
        cores = float(len(_affinity()))
        self.vcpus = min(float(setup.vcpus), cores)

    def _start(self) -> ManagedEnvironment:
        self.count += 1
        name = f"{self.variant}-env{self.count}"
        env = ManagedEnvironment(
            name,
            HANDLERS[self.variant],
            self.env,
            self.cfg.timeout_s,
            self.log,
            self.setup.max_concurrency,
        )
        if self.cpu is not None:  # the environment's vCPUs, from its first instruction
            env.cpu = self.cpu.group(name, self.vcpus)
        self.pool.append(env)
        return env

    def _acquire(self) -> tuple[ExecutionEnvironment, bool] | None:
        """A slot in the least busy environment (never a cold start), or None when every
        slot is taken; a dead environment is replaced first."""
        started: ManagedEnvironment | None = None
        with self.lock:
            for dead in [e for e in self.pool if e.dead or not e.alive()]:
                if dead.proc is None:  # still starting: not dead yet
                    continue
                self.pool.remove(dead)
                dead.stop()
            if len(self.pool) < LOCAL_ENVIRONMENTS:
                started = self._start()
        if started is not None:
            self._boot(started)
        with self.lock:
            ready = [
                e
                for e in self.pool
                if isinstance(e, ManagedEnvironment) and e.api.first_next.is_set()
            ]
            free = [e for e in ready if e.in_flight < e.slots]
            if not free:
                self.throttles += 1
                return None
            env = min(free, key=lambda e: e.in_flight)
            env.in_flight += 1
            env.busy = env.in_flight >= env.slots
            return env, False

    def _release(self, env: ExecutionEnvironment) -> None:
        with self.lock:
            if isinstance(env, ManagedEnvironment):
                env.in_flight -= 1
                env.busy = env.in_flight >= env.slots
            env.last_used = time.monotonic()

    def prewarm(self, count: int = LOCAL_ENVIRONMENTS) -> None:
        """Start the environments before any traffic, as publishing a version does."""
        for _ in range(count):
            with self.lock:
                env = self._start()
            self._boot(env)

    def startup_ms(self) -> list[float]:
        """How long each environment took to start all of its processes."""
        return [round(e.startup_ms, 1) for e in self.pool]


def concurrency_of(attempts: list[dict[str, Any]]) -> dict[int, int]:
    """For each attempt (by position), the mean number of requests its environment ran while
    it ran, itself included, rounded: the overlap of every other span with its own, over its
    duration, plus one."""
    spans: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for i, a in enumerate(attempts):
        start, end, where = a.get("dispatched"), a.get("finished"), a.get("environment")
        if start is not None and end is not None and where and end > start:
            spans[where].append((i, float(start), float(end)))
    out = {}
    for items in spans.values():
        for i, start, end in items:
            overlap = sum(max(0.0, min(end, e) - max(start, s)) for j, s, e in items if j != i)
            out[i] = max(1, math.floor(1.5 + overlap / (end - start)))  # half rounds up
    return out


def _affinity() -> set[int]:
    return os.sched_getaffinity(0)


def with_concurrency(
    records: list[Invocation], finals: dict[str, dict[str, Any]]
) -> list[Invocation]:
    """``records`` with each managed invocation's ``concurrency`` filled in from the attempt
    that wrote its item (``finals``: object -> that attempt)."""
    objects = list(finals)
    levels = concurrency_of([finals[o] for o in objects])
    found = {objects[i]: k for i, k in levels.items()}
    return [
        r.model_copy(update={"concurrency": found[r.object]}) if r.object in found else r
        for r in records
    ]
