"""The managed variant under ``kit local``: one environment of several awslambdaric worker
processes in one CPU-quota group, every invocation's concurrency recorded, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from kit import results
from kit.decide.simulate.service import from_results
from kit.measure.local.config import LocalConfig
from kit.measure.local.managed import ManagedEnvironment, concurrency_of
from kit.measure.local.run import Run, run
from tests.helpers import local_config


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    from model_build.samples import write_samples

    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder, 6)
    return folder


@pytest.fixture(scope="module")
def managed_run(model_dir, samples, tmp_path_factory):
    cfg = local_config(
        model_dir, samples, tmp_path_factory.mktemp("results"), variants=("managed",),
        requests=8, warm=16,
    )  # fmt: skip
    return cfg, run(cfg, Console(quiet=True), quiet=True)


def _cgroup(pid: int) -> str:
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    return next((line.split(":")[-1] for line in lines if ":cpu" in line), lines[-1])


def test_an_environment_is_one_process_per_slot_sharing_one_cpu_group(model_dir, samples, tmp_path):
    cfg = local_config(model_dir, samples, tmp_path, variants=("managed",))
    local = Run(cfg, Console(quiet=True))
    try:
        local.start()
        [env] = local.emulators["managed"].pool
        assert isinstance(env, ManagedEnvironment) and env.slots == 2
        workers = psutil.Process(env.pid).children()
        assert len(workers) == 2  # awslambdaric forked one worker per concurrent request
        groups = {_cgroup(p.pid) for p in [psutil.Process(env.pid), *workers]}
        assert len(groups) == 1  # one quota for the environment, not one per process
        if local.cpu.active:
            assert env.cpu is not None and env.cpu.vcpus == pytest.approx(1.0)
        assert env.api.polls >= 2  # both workers initialised and asked for an event
    finally:
        local.close()
    assert not psutil.pid_exists(env.pid) or psutil.Process(env.pid).status() == "zombie"


def test_every_upload_ends_as_one_item_with_its_concurrency(managed_run):
    cfg, doc = managed_run
    again = results.validate(json.loads(json.dumps(doc.dump())))
    assert again == doc and doc.checks.lost == 0 and doc.checks.duplicated == 0
    rows = [r for r in doc.invocations if r.variant == "managed"]
    assert len(rows) == 24 and all(r.status == "ok" and not r.cold for r in rows)
    levels = {r.concurrency for r in rows}
    assert levels <= {1, 2} and 1 in levels and 2 in levels  # both slots measured
    setup = doc.variants["managed"]
    assert setup.kind == "managed-instances" and setup.managed.max_concurrency == 2
    check = doc.consistency["managed"]
    assert check.handler_samples == sum(r.concurrency == 1 for r in rows)  # alone in its env


def test_the_simulator_draws_from_the_levels_the_run_measured(managed_run):
    _, doc = managed_run
    service = {s.name: s for s in from_results(doc)}["managed"]
    rows = [r for r in doc.invocations if r.variant == "managed"]
    for k, samples in enumerate(service.by_concurrency, 1):
        measured = sorted(r.duration_ms for r in rows if r.concurrency == k)
        assert sorted(samples.tolist()) == pytest.approx(measured)
    assert service.managed.slots == 2 and service.managed.vcpus == 1


def test_the_schedule_measures_each_level_and_then_every_slot_busy():
    setups = {
        "managed": results.VariantSetup(
            kind="managed-instances",
            memory_mb=2048,
            instance_type="c7g.large",
            instance_count=3,
            managed=results.ManagedSetup(
                memory_gib_per_vcpu=2, vcpus=3, max_concurrency=3, min_environments=3,
                max_environments=6, max_vcpus=24,
            ),
        ),
        "standard": results.VariantSetup(kind="lambda", memory_mb=4096),
    }  # fmt: skip
    cfg = LocalConfig(setups=setups, concurrency=5, requests=9)
    assert cfg.in_flight("managed", 9) == [1, 1, 1, 2, 2, 2, 6, 6, 6]
    assert cfg.in_flight("standard", 9) == [5] * 9
    assert cfg.gap_indices("managed") == set() and cfg.gap_indices("standard")


def test_concurrency_is_the_mean_overlap_in_the_same_environment():
    attempts = [
        {"environment": "e1", "dispatched": 0.0, "finished": 10.0},
        {"environment": "e1", "dispatched": 5.0, "finished": 15.0},  # half of A's span
        {"environment": "e1", "dispatched": 1.0, "finished": 9.0},  # inside A entirely
        {"environment": "e2", "dispatched": 0.0, "finished": 10.0},  # another environment
        {"environment": "e1", "dispatched": None, "finished": 3.0},  # never dispatched
    ]
    levels = concurrency_of(attempts)
    # A: 1 + (5 + 8) / 10 = 2.3 -> 2; B: 1 + (5 + 4) / 10 = 1.9 -> 2; C: 1 + 2 = 3; D: 1
    assert levels == {0: 2, 1: 2, 2: 3, 3: 1}
