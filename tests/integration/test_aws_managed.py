"""`kit aws` on a stack with the managed variant (Lambda Managed Instances), against moto."""

from __future__ import annotations

import json

import pytest

from kit import results
from kit.measure.aws.outputs import Clients
from kit.measure.aws.run import AwsRun
from kit.measure.local.emulator import apply_env, create_stack, restore_env
from tests.helpers.fake_lambda import FakeLambda
from tests.integration.test_aws import workload


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    from model_build.samples import write_samples

    folder = tmp_path_factory.mktemp("aws-samples")
    write_samples(folder, 6)
    return folder


def test_managed_variant_is_measured_without_forced_cold_starts_and_simulated(
    moto_server, model_dir, samples
):
    """kit aws on a stack with the managed variant: its setup comes from the stack's
    ``managed`` output, reconfigure forces cold starts on the Lambda variant only, and its
    durations (no concurrency recorded on AWS) feed the simulator's managed environments."""
    from kit.decide.simulate.engine import Options, simulate
    from kit.decide.simulate.platform import PlatformParams
    from kit.decide.simulate.service import from_results
    from kit.decide.simulate.traffic import make

    variants = ("standard", "managed")
    moto_server.reset()
    previous = apply_env(moto_server.env())
    stack = create_stack(moto_server, model_dir, variants)
    plat = FakeLambda(moto_server, stack, variants)
    try:
        work = workload(samples, model_dir, requests=4, cold_starts=2, variants=list(variants))
        run = AwsRun(plat.outputs, work, Clients("us-east-1"))
        doc = run.run()
    finally:
        plat.stop()
        restore_env(previous)
    doc = results.validate(json.loads(json.dumps(doc.dump())))
    managed = [r for r in doc.invocations if r.variant == "managed"]
    assert len(managed) == 4 and all(r.status == "ok" and r.report_found for r in managed)
    assert not any(r.cold for r in managed)
    assert not any("kit-managed-fn" in c for c in run.cold.calls)  # nothing reconfigured
    assert any("kit-standard-fn" in c for c in run.cold.calls)
    setup = doc.variants["managed"]
    assert setup.kind == "managed-instances" and setup.instance_type == "c7g.large"
    assert setup.managed is not None and setup.managed.max_concurrency == 2
    service = {s.name: s for s in from_results(doc)}["managed"]
    assert service.managed is not None and len(service.by_concurrency) == 2
    assert "stand for every level" in service.assumed
    tallies, _ = simulate(
        [service], make("poisson", 60.0, 3600.0), PlatformParams.load(), Options(max_exact=10**6)
    )
    assert tallies["managed"].server_seconds == pytest.approx(3 * 3600, rel=0.01)
