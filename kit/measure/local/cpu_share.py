"""Lambda's CPU share, emulated locally: each environment gets memory / 1,769 MB vCPUs.

On Lambda the CPU a function gets grows with its memory (1,769 MB buys one
vCPU, up to 6). Locally every environment would otherwise get all the cores,
so a 128 MB proxy and a 4 GB function would look equally fast. Each local
environment joins its own Linux cgroup with a CPU quota (``cpu.cfs_quota_us``
under cgroup v1, ``cpu.max`` under cgroup v2, in a delegated subtree when not
root). Where no quota can be set, ``CpuShare.reason`` says why and environments
run unthrottled; the run's banner and results say so.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from audio_inference.settings import LAMBDA_MB_PER_VCPU

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 20_000
"""The quota's accounting period. Lambda's is not documented; pwrdrvr/lambda-throttling
measured throttling pauses in 20 ms intervals (unverified). Short bursts under a quota run at
full speed until the period's budget is spent, so the period matters for short requests."""
LAMBDA_MAX_VCPUS = 6
INIT_BOOST_VCPUS = 2.0
"""CPU of the init (and restore) phase, whatever the memory: Lambda runs init faster than the
handler ("two unthrottled vCPUs" up to about 3 GB; L. van Donkersgoed, "Lambda Cold Starts and
Bootstrap Code", 2022, measured; not documented by AWS, so unverified). A 128 MB function's
init of ~300 ms with the SDK (Init Duration measured by kkloudtarus.net, 2026) would take ~4 s at
its 7 % share."""


def vcpus_for(memory_mb: int, cores: int | None = None) -> float:
    """The vCPUs Lambda gives ``memory_mb`` (1,769 MB = 1, at most 6), capped at this machine's cores."""
    cores = cores or os.cpu_count() or 1
    return min(memory_mb / LAMBDA_MB_PER_VCPU, LAMBDA_MAX_VCPUS, float(cores))


def init_vcpus(memory_mb: int, cores: int | None = None) -> float:
    """The CPU an environment gets while it starts: the init boost, or its share if larger."""
    return max(
        vcpus_for(memory_mb, cores), min(INIT_BOOST_VCPUS, float(cores or os.cpu_count() or 1))
    )


def quota_us(vcpus: float, period_us: int = PERIOD_US) -> int:
    """CFS quota for ``vcpus`` per period (at least 1 ms, the kernel's minimum)."""
    return max(1000, round(vcpus * period_us))


@dataclass
class CpuShare:
    """Where and how quotas are set on this machine (or why they are not)."""

    mechanism: str  # "cgroup-v1", "cgroup-v2" or "none"
    base: Path | None = None
    reason: str = ""

    @classmethod
    def detect(cls, root: Path = CGROUP_ROOT) -> CpuShare:
        """Find a cgroup hierarchy with the cpu controller that this process may write to."""
        v2 = root / "cgroup.controllers"
        if v2.is_file():
            own = _own_v2_group(root)
            candidates = [root, own] if own is not None else [root]
            for base in candidates:
                if "cpu" in (base / "cgroup.controllers").read_text().split() and _writable(base):
                    return cls("cgroup-v2", base)
            return cls(
                "none", reason="cgroup v2 without a writable subtree with the cpu controller"
            )
        v1 = root / "cpu"
        if (v1 / "cpu.cfs_quota_us").is_file():
            if _writable(v1):
                return cls("cgroup-v1", v1)
            return cls("none", reason="cgroup v1 cpu controller is not writable (run as root)")
        return cls("none", reason="no cgroup cpu controller on this machine")

    @property
    def active(self) -> bool:
        """Whether quotas can be set."""
        return self.mechanism != "none"

    def group(self, name: str, vcpus: float) -> CpuGroup | None:
        """A new cgroup limited to ``vcpus``; None when quotas cannot be set."""
        if not self.active or self.base is None:
            return None
        path = self.base / f"audio-kit-{name}-{uuid.uuid4().hex[:6]}"
        try:
            path.mkdir()
            if self.mechanism == "cgroup-v1":
                (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(quota_us(vcpus)))
            else:
                (path / "cpu.max").write_text(f"{quota_us(vcpus)} {PERIOD_US}")
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return CpuGroup(path, self.mechanism, vcpus)


@dataclass
class CpuGroup:
    """One environment's cgroup."""

    path: Path
    mechanism: str
    vcpus: float

    @property
    def procs_file(self) -> Path:
        """Where a pid is written to move it into the group."""
        return self.path / ("tasks" if self.mechanism == "cgroup-v1" else "cgroup.procs")

    def set_vcpus(self, vcpus: float) -> None:
        """Change the quota (the init boost ends when the environment first asks for work)."""
        with contextlib.suppress(OSError):
            if self.mechanism == "cgroup-v1":
                (self.path / "cpu.cfs_quota_us").write_text(str(quota_us(vcpus)))
            else:
                (self.path / "cpu.max").write_text(f"{quota_us(vcpus)} {PERIOD_US}")
            self.vcpus = vcpus

    def join(self) -> None:
        """Move the calling process in (a Popen ``preexec_fn``: throttled from its first instruction)."""
        self.procs_file.write_text(str(os.getpid()))

    def add(self, pid: int) -> None:
        """Move another process in (a forked SnapStart copy)."""
        with contextlib.suppress(OSError):
            self.procs_file.write_text(str(pid))

    def remove(self) -> None:
        """Delete the group once its processes are gone (the kernel refuses it before)."""
        for _ in range(40):  # a killed process leaves the group a moment later
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _own_v2_group(root: Path) -> Path | None:
    """This process's own cgroup v2 (a delegated user scope when not root)."""
    try:
        line = next(
            line
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if line.startswith("0::")
        )
    except (OSError, StopIteration):
        return None
    return root / line[3:].lstrip("/")
