"""`kit aws` and `kit tune` against moto, with the real handler pipeline behind the uploads."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from kit import ROOT, results
from kit.decide.report import SECTIONS, write_report
from kit.errors import KitError
from kit.measure.aws.cold import NONCE_VARIABLE
from kit.measure.aws.outputs import Clients, check_outputs
from kit.measure.aws.reports import parse_report
from kit.measure.aws.run import AwsRun
from kit.measure.aws.workload import Workload
from kit.measure.local.emulator import apply_env, create_stack, restore_env
from kit.measure.local.processes import ServingProcess
from kit.measure.sweep import aws_sweep, size_points
from tests.helpers.fake_lambda import FakeLambda

VARIANTS = ("standard", "snapstart", "sagemaker")


@pytest.fixture(scope="module")
def serving(model_dir):
    process = ServingProcess(model_dir)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    from model_build.samples import write_samples

    folder = tmp_path_factory.mktemp("aws-samples")
    write_samples(folder, 6)
    return folder


@pytest.fixture
def platform(moto_server, model_dir, serving):
    moto_server.reset()
    previous = apply_env({**moto_server.env(), "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": serving.url})
    stack = create_stack(moto_server, model_dir, VARIANTS)
    plat = FakeLambda(moto_server, stack, VARIANTS, late={2, 5})
    yield plat
    plat.stop()
    restore_env(previous)


def workload(samples, model_dir, **kw) -> Workload:
    base = {
        "requests": 6,
        "cold_strategy": "reconfigure",
        "cold_starts": 3,
        "samples_dir": samples,
        "model_dir": model_dir,
        "wait_timeout_s": 60,
        "logs_timeout_s": 20,
        "variants": list(VARIANTS),
    }
    return Workload(**{**base, **kw})


def test_report_parsing_handles_every_format():
    text = parse_report(
        "REPORT RequestId: abc\tDuration: 15.74 ms\tBilled Duration: 147 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 56 MB\tInit Duration: 130.49 ms\t"
    )
    assert text == {
        "request_id": "abc",
        "duration_ms": 15.74,
        "billed_ms": 147,
        "memory_mb": 128,
        "max_memory_mb": 56,
        "init_ms": 130.49,
    }
    snap = parse_report(
        "REPORT RequestId: d\tDuration: 20.00 ms\tBilled Duration: 20 ms\tMemory Size: 4096 MB\t"
        "Max Memory Used: 300 MB\tRestore Duration: 310.11 ms\tBilled Restore Duration: 180 ms"
    )
    assert (
        snap["restore_ms"] == 310.11 and snap["billed_restore_ms"] == 180 and "init_ms" not in snap
    )
    js = parse_report(
        json.dumps(
            {
                "type": "platform.report",
                "record": {
                    "requestId": "j",
                    "metrics": {
                        "durationMs": 3.5,
                        "billedDurationMs": 4,
                        "memorySizeMB": 128,
                        "maxMemoryUsedMB": 60,
                    },
                },
            }
        )
    )
    assert js == {
        "request_id": "j",
        "duration_ms": 3.5,
        "billed_ms": 4,
        "memory_mb": 128,
        "max_memory_mb": 60,
    }
    assert parse_report("START RequestId: x Version: $LATEST") is None
    assert parse_report('{"type": "platform.start"}') is None


def test_aws_run_joins_items_and_reports(platform, samples, model_dir, tmp_path):
    doc = AwsRun(platform.outputs, workload(samples, model_dir), Clients("us-east-1")).run()
    results.validate(doc.dump())
    assert doc.target == "aws" and doc.checks.lost == 0
    assert len(doc.invocations) == 18
    for r in doc.invocations:
        assert r.status == "ok" and r.report_found, r
        assert r.duration_ms == pytest.approx(platform.durations[r.request_id], abs=0.01)
        assert r.e2e_ms > 0 and r.billed_ms >= r.duration_ms
        assert r.cold == (r.index in {0, 2, 4}), r  # reconfigure forced exactly these
    snap = [r for r in doc.invocations if r.variant == "snapstart" and r.cold]
    assert all(r.restore_ms and r.billed_restore_ms and r.init_ms is None for r in snap)
    std = [r for r in doc.invocations if r.variant == "standard" and r.cold]
    assert all(r.init_ms and r.billed_init_ms for r in std)  # text REPORT: INIT billed apart
    proxy = [r for r in doc.invocations if r.variant == "sagemaker" and r.cold]
    assert all(r.init_ms and r.billed_init_ms == 0 for r in proxy)  # JSON REPORT: already billed
    assert doc.variants["sagemaker"].memory_mb == 128
    assert doc.variants["standard"].memory_mb == 4096
    # The reconfigure strategy published 3 versions and deleted them again: 1 is left.
    assert doc.variants["snapstart"].snapstart_versions == 1
    md, _ = write_report(
        doc, tmp_path, search={"levels": (1.0, 3.0), "extend": False, "ci_reps": 2}
    )
    assert all(f"## {s}" in md.read_text() for s in SECTIONS)
    assert "1 for snapstart" in md.read_text()


@pytest.mark.parametrize(
    "outputs",
    [
        {"provisioned_concurrency": {"standard": 1}, "sagemaker_instance_count": 2},
        {
            "sagemaker_instance_type": "serverless",
            "sagemaker_serverless_memory_mb": 4096,
            "sagemaker_serverless_max_concurrency": 3,
        },
    ],
    ids=["provisioned-and-two-instances", "serverless-4096"],
)
def test_every_priced_setting_reaches_cost_and_simulation(
    moto_server, model_dir, serving, samples, outputs
):
    """The deployed stack's settings, not the defaults, are what the decision prices."""
    from kit.decide.cost import CostModel, Pricing, variants_from_results
    from kit.decide.simulate.engine import Options, simulate
    from kit.decide.simulate.platform import PlatformParams
    from kit.decide.simulate.service import from_results
    from kit.decide.simulate.traffic import make

    variants = ("standard", "sagemaker")
    moto_server.reset()
    previous = apply_env({**moto_server.env(), "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": serving.url})
    stack = create_stack(moto_server, model_dir, variants)
    plat = FakeLambda(moto_server, stack, variants, extra_outputs=outputs)
    try:
        work = workload(
            samples, model_dir, requests=3, cold_strategy="none", variants=list(variants)
        )
        doc = AwsRun(plat.outputs, work, Clients("us-east-1")).run()
    finally:
        plat.stop()
        restore_env(previous)
    doc = results.validate(json.loads(json.dumps(doc.dump())))  # through the file format
    pricing = Pricing.load()
    costs = {v.name: v for v in variants_from_results(doc)}
    model = CostModel(list(costs.values()), pricing)
    hour = pricing.hours_per_month
    if "provisioned_concurrency" in outputs:
        assert doc.variants["standard"].provisioned_concurrency == 1
        reserved = 4 * hour * 3600 * pricing.price("provisioned_concurrency_x86_64_gb_s")
        assert model.fixed(costs["standard"]) == pytest.approx(reserved)
        assert model.fixed(costs["sagemaker"]) == pytest.approx(
            2 * pricing.instance_hour("ml.t2.medium") * hour
        )
    else:
        setup = doc.variants["sagemaker"]
        assert setup.kind == "sagemaker-serverless" and setup.serverless_memory_mb == 4096
        n = 1e6
        parts = model.breakdown(costs["sagemaker"], n)
        per_request = parts["serverless_compute"] / n
        assert per_request == pytest.approx(
            4 * costs["sagemaker"].serverless_ms / 1000 * pricing.price("sagemaker_serverless_gb_s")
        )
    platform_params = PlatformParams.load()
    services = {s.name: s for s in from_results(doc)}
    traffic = make("poisson", 60.0, 3600.0)
    tallies, _ = simulate(
        list(services.values()), traffic, platform_params, Options(max_exact=10**6)
    )
    if "provisioned_concurrency" in outputs:
        assert services["standard"].cost.provisioned_concurrency == 1
        assert tallies["standard"].provisioned > 0  # requests served by the provisioned one
        assert services["sagemaker"].cost.instance_count == 2
        assert tallies["sagemaker"].server_seconds == pytest.approx(
            2 * 2 * traffic.span_s, rel=0.02
        )  # 2 instances x 2 workers all hour
    else:
        assert services["sagemaker"].max_concurrency == 3


def test_reconfigure_is_undone(platform, samples, model_dir):
    lam = platform.lam
    names = platform.outputs["function_names"]
    before = lam.get_alias(FunctionName=names["snapstart"], Name="live")["FunctionVersion"]
    run = AwsRun(
        platform.outputs,
        workload(samples, model_dir, requests=2, cold_starts=2),
        Clients("us-east-1"),
    )
    run.run()
    calls = run.cold.calls
    assert any(c.startswith("publish_version kit-snapstart-fn") for c in calls)
    assert any(c.startswith("update_alias live") for c in calls)
    assert sum(c.startswith("update_function_configuration") for c in calls) == 6
    for name in names.values():
        env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        assert NONCE_VARIABLE not in env
    assert lam.get_alias(FunctionName=names["snapstart"], Name="live")["FunctionVersion"] == before
    versions = [
        v["Version"]
        for v in lam.list_versions_by_function(FunctionName=names["snapstart"])["Versions"]
    ]
    assert versions == ["$LATEST", before]


def test_reconfigure_is_refused_on_a_provisioned_variant_before_anything_changes(
    platform, samples, model_dir
):
    """Its trigger invokes alias live, whose initialized environments a change of $LATEST
    does not retire: the forced "cold starts" would be warm."""
    lam = platform.lam
    name = platform.outputs["function_names"]["standard"]
    before = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    outputs = {**platform.outputs, "provisioned_concurrency": {"standard": 2}}
    work = workload(samples, model_dir, requests=2, cold_starts=2, variants=["standard"])
    with pytest.raises(KitError, match=r"standard \(2\).*--cold-strategy burst"):
        AwsRun(outputs, work, Clients("us-east-1"))
    assert lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"] == before
    # burst, or none, is what such a variant can be measured with
    burst = workload(samples, model_dir, requests=2, cold_starts=2, variants=["standard"])
    burst = dataclasses.replace(burst, cold_strategy="burst")
    AwsRun(outputs, burst, Clients("us-east-1"))


def test_burst_sends_uploads_together(platform, samples, model_dir):
    run = AwsRun(
        platform.outputs,
        workload(
            samples,
            model_dir,
            cold_strategy="burst",
            requests=4,
            cold_starts=1,
            burst=3,
            variants=["standard"],
        ),
        Clients("us-east-1"),
    )
    doc = run.run()
    assert doc.checks.lost == 0 and run.cold.calls == []


def test_missing_outputs_are_named():
    with pytest.raises(KitError, match="'table_name' is missing"):
        check_outputs({"region": "us-east-1", "bucket_name": "b", "variants": ["standard"]})
    good = {
        "region": "r",
        "bucket_name": "b",
        "table_name": "t",
        "variants": ["standard", "snapstart"],
        "architecture": "x86_64",
        "timeout_seconds": 90,
        "provisioned_concurrency": {},  # empty is an answer, not a missing output
        "upload_prefixes": {"standard": "p", "snapstart": "q"},
        "function_names": {"standard": "f", "snapstart": "g"},
        "log_group_names": {"standard": "l", "snapstart": "m"},
    }
    with pytest.raises(KitError, match="'memory_mb' is missing"):  # older stacks lack it
        check_outputs(good)
    good["memory_mb"] = {"standard": 1769, "snapstart": 1769}
    with pytest.raises(KitError, match="'snapstart_alias_name' is missing"):
        check_outputs(good)
    with pytest.raises(KitError, match="'sagemaker' is not deployed"):
        check_outputs(good, ["sagemaker"])


def test_tune_sweeps_and_restores(platform, samples, model_dir):
    from kit.decide.memory import picks, priced

    lam, names = platform.lam, platform.outputs["function_names"]
    runs = aws_sweep(
        platform.outputs,
        workload(
            samples, model_dir, requests=3, cold_strategy="none", variants=["standard", "snapstart"]
        ),
        [1024, 2048],
        Clients("us-east-1"),
    )
    points = size_points(runs)
    sizes = {(p.variant, p.memory_mb) for p in points}
    assert sizes == {(v, m) for v in ("standard", "snapstart") for m in (1024, 2048)}
    rows = priced(points, "x86_64")
    assert all(r["cost_per_million"] > 0 and r["median_ms"] > 0 for r in rows)
    assert set(picks(rows)["standard"]) == {"cheapest", "fastest", "balanced"}
    assert runs[2048].variants["standard"].memory_mb == 2048  # from the REPORT lines
    for v in ("standard", "snapstart"):
        assert lam.get_function_configuration(FunctionName=names[v])["MemorySize"] == 4096


def test_tune_restores_memory_after_a_failure(platform, samples, model_dir):
    lam, names = platform.lam, platform.outputs["function_names"]
    seen = []

    def failing_runner(outputs, work):
        seen.append(lam.get_function_configuration(FunctionName=names["standard"])["MemorySize"])
        raise KeyboardInterrupt  # Ctrl-C in the middle of the sweep

    with pytest.raises(KeyboardInterrupt):
        aws_sweep(
            platform.outputs,
            workload(samples, model_dir, variants=["standard", "snapstart"]),
            [512, 1024],
            Clients("us-east-1"),
            runner=failing_runner,
        )
    assert seen == [512]
    for v in ("standard", "snapstart"):
        assert lam.get_function_configuration(FunctionName=names[v])["MemorySize"] == 4096
    alias = lam.get_alias(FunctionName=names["snapstart"], Name="live")["FunctionVersion"]
    assert alias == "1"


def test_confirmation_guard_and_exit_codes(platform, samples, model_dir, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(platform.outputs))
    env = {**__import__("os").environ}
    base = [
        sys.executable,
        "-m",
        "kit",
        "aws",
        "--outputs",
        str(outputs),
        "--samples",
        str(samples),
        "--model-dir",
        str(model_dir),
        "--out",
        str(tmp_path),
    ]
    refused = subprocess.run(
        base,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert refused.returncode == 3 and "without confirmation" in refused.stderr
    assert "Estimated cost" in refused.stdout and "incoming/standard/" in refused.stdout
    assert platform.count == 0  # nothing was uploaded
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({k: v for k, v in platform.outputs.items() if k != "log_group_names"})
    )
    missing = subprocess.run(
        [*base[:5], str(broken), "--yes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert missing.returncode == 2 and "'log_group_names' is missing" in missing.stderr
    assert "Traceback" not in missing.stderr + refused.stderr


def test_http_entry_signs_requests_and_times_request_to_response(moto_server, model_dir, samples):
    moto_server.reset()
    previous = apply_env(moto_server.env())
    stack = create_stack(moto_server, model_dir, ("standard", "http"))
    plat = FakeLambda(moto_server, stack, ("standard", "http"))
    try:
        work = workload(samples, model_dir, requests=3, cold_strategy="none", variants=["http"])
        doc = AwsRun(plat.outputs, work, Clients("us-east-1")).run()
    finally:
        plat.stop()
        restore_env(previous)
    assert doc.checks.lost == 0 and len(doc.invocations) == 3
    for r in doc.invocations:
        assert r.status == "ok" and r.report_found, r
        assert r.object.startswith("https://127.0.0.1:") and "/requests/" in r.object
        assert r.e2e_ms >= r.duration_ms > 0  # the caller waited for the whole invocation
    # SigV4 for service "lambda" in the stack's region, as AWS_IAM function URLs require
    assert plat.signatures and all(
        a.startswith("AWS4-HMAC-SHA256 Credential=") and "/us-east-1/lambda/aws4_request" in a
        for a in plat.signatures
    )


def test_http_entry_refuses_samples_over_the_function_url_body_limit(tmp_path, model_dir):
    from audio_inference.settings import HTTP_MAX_BODY_BYTES

    from tests.helpers import tone, wav_bytes

    big = wav_bytes(tone(160.0, 16_000))  # 5.1 MB of PCM: under 6 MB, over the URL's limit
    assert len(big) > HTTP_MAX_BODY_BYTES
    (tmp_path / "big.wav").write_bytes(big)
    (tmp_path / "manifest.csv").write_text("file,label\nbig.wav,a\n")
    run = AwsRun.__new__(AwsRun)  # the check runs before anything is sent or any client made
    run.work = workload(tmp_path, model_dir, variants=["http"])
    with pytest.raises(KitError, match=r"big.wav is over a function URL's 4,669,440-byte body"):
        run.send("http")
