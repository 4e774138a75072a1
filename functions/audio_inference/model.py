"""The ONNX model session: one per execution environment, sized to its CPUs."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .settings import ENV_MODEL_THREADS, LAMBDA_MB_PER_VCPU

CGROUP_ROOT = Path("/sys/fs/cgroup")
NO_SPINNING = "session.intra_op.allow_spinning"
"""onnxruntime session option: "0" makes idle pool threads block instead of spin-waiting."""


ENV_LAMBDA_MEMORY = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"


def available_cpus() -> int:
    """CPUs this process may use: its CPU affinity, capped by a cgroup CPU quota and, in a
    Lambda function, by the CPU share its memory buys (1,769 MB = 1 vCPU), or by MODEL_THREADS
    where one environment runs several request processes (Managed Instances).

    A quota (a container's ``--cpus``, the local emulation of Lambda's CPU share) does not
    change the affinity, so sizing thread pools from the affinity alone would start threads
    that only contend for the same quota. Lambda's share is read from the memory setting,
    not the quota of the moment, so a pool sized during the init phase (which may run with
    more CPU) matches the share every invocation gets.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota:
        cpus = min(cpus, math.ceil(quota))
    threads = os.environ.get(ENV_MODEL_THREADS, "")
    if threads.isdigit() and int(threads) > 0:
        # Managed Instances: several request processes share one environment's vCPUs, and
        # its memory buys vCPUs at the capacity provider's ratio, not 1,769 MB each.
        return min(cpus, int(threads))
    memory = os.environ.get(ENV_LAMBDA_MEMORY, "")
    if memory.isdigit() and int(memory) > 0:
        cpus = min(cpus, math.ceil(int(memory) / LAMBDA_MB_PER_VCPU))
    return max(1, cpus)


def cgroup_cpu_quota(
    proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = CGROUP_ROOT
) -> float | None:
    """vCPUs allowed by this process's cgroup (v2 ``cpu.max`` or v1 CFS quota), None if unlimited."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controllers == "":  # cgroup v2: "0::/path"
            try:
                quota, period = (root / rel / "cpu.max").read_text().split()
            except (OSError, ValueError):
                continue
            return None if quota == "max" else int(quota) / int(period)
        if "cpu" in controllers.split(","):
            for mount in ("cpu", "cpu,cpuacct"):
                folder = root / mount / rel
                try:
                    quota_us = int((folder / "cpu.cfs_quota_us").read_text())
                    period_us = int((folder / "cpu.cfs_period_us").read_text())
                except (OSError, ValueError):
                    continue
                return None if quota_us <= 0 else quota_us / period_us
    return None


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one waveform."""

    label: str
    scores: dict[str, float]


class OnnxModel:
    """An onnxruntime session plus the metadata written by ``model_build export``."""

    def __init__(self, onnx_bytes: bytes, metadata: dict, threads: int | None = None) -> None:
        self.metadata = metadata
        self.labels: list[str] = list(metadata["labels"])
        if not isinstance(metadata.get("sample_rate"), int) or metadata["sample_rate"] <= 0:
            raise ValueError(
                "model.json has no positive integer sample_rate: write it with "
                "`python -m model_build export` (or `model_build check` for your own model)"
            )
        self.sample_rate: int = metadata["sample_rate"]
        """The rate the model expects its waveform at, from model.json (the only source)."""
        self.sha256 = hashlib.sha256(onnx_bytes).hexdigest()
        expected = metadata.get("sha256")
        if expected and expected != self.sha256:
            raise ValueError(
                f"model.onnx has sha256 {self.sha256[:12]}... but model.json expects "
                f"{expected[:12]}...: upload both files from the same `model_build export`"
            )
        self._bytes = onnx_bytes
        self.threads = threads or available_cpus()
        self.session = self._session()
        self.input_name = metadata.get("input_name", self.session.get_inputs()[0].name)
        self.output_name = metadata.get("output_name", self.session.get_outputs()[0].name)

    def _session(self) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads block instead of spin-waiting. A spinning thread burns the CPU
        # share the rest of the request (S3, decode, DynamoDB) needs, and stopping the spin
        # when Run() returns (session.force_spinning_stop) makes the next Run() wait for the
        # threads to wake. Measured here (2 threads, the tiny model, 40 clips, 30 ms idle
        # before each run): onnxruntime's default 2.55 ms per run but 31 ms of CPU;
        # force_spinning_stop 4.33 ms and 5.7 ms; no spinning 2.67 ms and 4.1 ms.
        options.add_session_config_entry(NO_SPINNING, "0")
        return onnxruntime.InferenceSession(
            self._bytes, options, providers=["CPUExecutionProvider"]
        )

    def release_session(self) -> None:
        """Drop the session and join its pool threads (the model bytes stay).

        A forked process keeps only the thread that forked, so a session made before a fork
        runs single-threaded in the child, and rebuilding it there can deadlock on a lock a
        vanished pool thread held. The local SnapStart emulation forks restored copies from
        an initialized process: it releases the session before forking and each copy calls
        ``rebuild_session``, so every copy does the same work as an environment that ran its
        own init. (A Firecracker restore resumes every thread; this step exists only locally.)
        """
        self.session = None

    def rebuild_session(self) -> None:
        """A new session with a new thread pool (same model, same thread count)."""
        self.session = self._session()

    @classmethod
    def from_dir(cls, model_dir: str | Path, threads: int | None = None) -> OnnxModel:
        """Load ``model.onnx`` and ``model.json`` from a folder (SageMaker's /opt/ml/model)."""
        folder = Path(model_dir)
        return cls(
            (folder / "model.onnx").read_bytes(),
            json.loads((folder / "model.json").read_text()),
            threads,
        )

    def predict(self, waveform: np.ndarray) -> Prediction:
        """Classify one mono float32 waveform at ``sample_rate``."""
        probs = self.session.run([self.output_name], {self.input_name: waveform[None, :]})[0][0]
        scores = {label: float(p) for label, p in zip(self.labels, probs, strict=True)}
        return Prediction(label=self.labels[int(np.argmax(probs))], scores=scores)

    def prime(self) -> None:
        """Run one inference so lazy allocations happen now (before a SnapStart snapshot)."""
        rng = np.random.default_rng(0)
        self.predict((0.1 * rng.standard_normal(self.sample_rate)).astype(np.float32))
