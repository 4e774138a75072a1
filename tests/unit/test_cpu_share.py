"""Lambda's CPU share: the quota arithmetic, detection, and a real quota where the machine allows it."""

import subprocess
import sys
import time

import pytest

from kit.measure.local.cpu_share import PERIOD_US, CpuShare, quota_us, vcpus_for


@pytest.mark.parametrize(
    ("memory", "cores", "vcpus"),
    [
        (1769, 8, 1.0),
        (128, 8, 128 / 1769),
        (4096, 8, 4096 / 1769),
        (4096, 2, 2.0),
        (10240, 16, 10240 / 1769),
        (10240, 64, 10240 / 1769),
    ],
)
def test_vcpus_follow_memory_capped_by_lambda_and_the_machine(memory, cores, vcpus):
    assert vcpus_for(memory, cores) == pytest.approx(min(vcpus, 6.0))


def test_quota_per_period():
    assert quota_us(1.0) == PERIOD_US and quota_us(0.5) == PERIOD_US // 2
    assert quota_us(2.31) == round(2.31 * PERIOD_US) and quota_us(0.001) == 1000  # kernel minimum


def test_detection_on_each_kind_of_hierarchy(tmp_path):
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    assert CpuShare.detect(v1).mechanism == "cgroup-v1"
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("memory pids")
    found = CpuShare.detect(v2)
    assert found.mechanism == "none" and "cpu controller" in found.reason
    (v2 / "cgroup.controllers").write_text("cpu memory pids")
    assert CpuShare.detect(v2).mechanism == "cgroup-v2"
    empty = CpuShare.detect(tmp_path / "nothing")
    assert not empty.active and "no cgroup" in empty.reason


SPIN = "import time\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end: pass\nimport os; print(sum(os.times()[:2]))"


@pytest.mark.skipif(not CpuShare.detect().active, reason="no writable cgroup cpu controller here")
def test_a_quarter_vcpu_gets_a_quarter_of_a_core():
    group = CpuShare.detect().group("test", 0.25)
    assert group is not None
    try:
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-c", SPIN],
            preexec_fn=group.join,
            capture_output=True,
            text=True,
            timeout=60,
        )
        wall = time.monotonic() - started
        cpu = float(out.stdout.strip())
    finally:
        group.remove()
    assert 0.15 <= cpu / wall <= 0.35, (cpu, wall)


def test_a_process_reads_its_own_cgroup_quota(tmp_path):
    """available_cpus() caps thread pools at the quota: v2 cpu.max, v1 CFS files, unlimited."""
    from audio_inference.model import cgroup_cpu_quota

    proc = tmp_path / "cgroup"
    (tmp_path / "fs" / "kit" / "env").mkdir(parents=True)
    proc.write_text("0::/kit/env\n")
    (tmp_path / "fs" / "kit" / "env" / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(proc, tmp_path / "fs") == 1.5
    (tmp_path / "fs" / "kit" / "env" / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(proc, tmp_path / "fs") is None
    v1 = tmp_path / "fs" / "cpu,cpuacct" / "kit"
    v1.mkdir(parents=True)
    proc.write_text("12:memory:/kit\n4:cpu,cpuacct:/kit\n")
    (v1 / "cpu.cfs_quota_us").write_text("25000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(proc, tmp_path / "fs") == 0.25
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(proc, tmp_path / "fs") is None
    assert cgroup_cpu_quota(tmp_path / "missing", tmp_path / "fs") is None


def test_a_managed_request_process_takes_its_share_of_the_environments_threads(
    monkeypatch, tmp_path
):
    """Managed Instances run one process per concurrent request: MODEL_THREADS (what the stack
    sets: vCPUs // max concurrency) caps each process's pool, whatever the memory buys on
    standard Lambda, so processes x threads never exceed the environment's vCPUs."""
    import os

    import onnx
    from audio_inference.model import OnnxModel, available_cpus

    from tests.helpers.onnx_graphs import graph_model, model_folder

    cores = len(os.sched_getaffinity(0))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240")
    monkeypatch.delenv("MODEL_THREADS", raising=False)
    standard = available_cpus()
    monkeypatch.setenv("MODEL_THREADS", "1")
    assert available_cpus() == 1 and standard == min(cores, 6, standard)
    folder = model_folder(onnx.load(graph_model(tmp_path / "g.onnx")), tmp_path / "m", "abc")
    session = OnnxModel.from_dir(folder).session
    assert session.get_session_options().intra_op_num_threads == 1
    monkeypatch.setenv("MODEL_THREADS", "not a number")  # ignored, never a crash
    assert available_cpus() == standard
