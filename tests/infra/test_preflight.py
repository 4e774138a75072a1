"""`kit preflight`: the program under mocks, inputs checked against botocore's models and parliament."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from kit import ROOT
from kit.stack.preflight import check_resources, run
from tests.helpers import run_cli


def stack_file(tmp_path, model_dir, **settings) -> str:
    lines = [
        "config:",
        "  aws:region: eu-west-1",
        f"  audio-inference-kit:modelPath: {model_dir / 'model.onnx'}",
    ]
    lines += [f"  audio-inference-kit:{k}: {json.dumps(v)}" for k, v in settings.items()]
    path = tmp_path / "Pulumi.check.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_default_stack_has_no_findings_and_a_fixed_cost(tmp_path, model_dir):
    report = run(stack_file(tmp_path, model_dir))
    assert report["findings"] == [] and not report["refused"]
    assert report["resources"]["aws:lambda/function:Function"] == 3
    assert report["fixed_monthly"]["sagemaker"] == pytest.approx(0.056 * 730)
    assert report["fixed_monthly"]["standard"] == 0 and report["region"] == "eu-west-1"


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"sagemakerInstanceType": "ml.t3.medium"}, "sagemakerInstanceType"),
        ({"lambdaMemoryMb": 20000}, "lambdaMemoryMb"),
        ({"sagemakerServerlessMemoryMb": 1500}, "sagemakerServerlessMemoryMb"),
        ({"logRetentionDays": 10}, "logRetentionDays"),
    ],
)
def test_settings_aws_would_refuse_are_refused_by_name(tmp_path, model_dir, settings, setting):
    report = run(stack_file(tmp_path, model_dir, **settings))
    assert report["refused"]
    (finding,) = report["findings"]
    assert finding["setting"] == setting and "pulumi config set" in finding["problem"]


def _resource(typ, resource_name, **inputs):
    return SimpleNamespace(typ=typ, name=resource_name, inputs=inputs)


def test_inputs_are_checked_against_the_api_models_themselves():
    """The botocore layer on its own, for inputs the settings check never sees."""
    findings = check_resources(
        [
            _resource(
                "aws:lambda/function:Function",
                "fn",
                runtime="python2.6",
                memorySize=20000,
                timeout=90,
                handler="h.handler",
                architectures=["sparc"],
            ),
            _resource(
                "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                "cfg",
                productionVariants=[
                    {"variantName": "a", "modelName": "m", "instanceType": "ml.t3.medium"},
                    {
                        "variantName": "b",
                        "modelName": "m",
                        "serverlessConfig": {"memorySizeInMb": 7168, "maxConcurrency": 5},
                    },
                    {
                        "variantName": "c",
                        "serverlessConfig": {"memorySizeInMb": 3000, "maxConcurrency": 0},
                    },
                    {"variantName": "d", "serverlessConfig": {"memorySizeInMb": 2048}},
                ],
            ),
            _resource(
                "aws:sagemaker/endpoint:Endpoint", "ep", name="bad_name!", endpointConfigName="c"
            ),
            _resource("aws:cloudwatch/logGroup:LogGroup", "lg", name="/aws/x", retentionInDays=10),
        ]
    )
    got = {(f.resource, f.field.split(".")[-1].split("[")[0]) for f in findings}
    assert {
        ("fn", "Runtime"),
        ("fn", "MemorySize"),
        ("fn", "Architectures"),
        ("cfg", "InstanceType"),
        ("cfg", "MemorySizeInMB"),
        ("cfg", "MaxConcurrency"),
        ("ep", "EndpointName"),
        ("lg", "retentionInDays"),
    } <= got
    assert any(
        f.field.endswith("[3].ServerlessConfig.MaxConcurrency") and "required" in f.problem
        for f in findings
    )
    assert any("multiple of 1024" in f.problem for f in findings)  # 3000 MB: a documented rule
    memory = [f for f in findings if f.resource == "fn" and f.field == "MemorySize"]
    assert memory[0].setting.startswith("lambdaMemoryMb") and "10240" in memory[0].problem


def test_cli_exit_codes(tmp_path, model_dir):
    def cli(path):
        return run_cli("kit", "preflight", "--stack-config", str(path), timeout=300)

    ok = cli(stack_file(tmp_path, model_dir))
    assert ok.returncode == 0 and "No findings" in ok.stdout and "$40.88" in ok.stdout
    bad = cli(stack_file(tmp_path, model_dir, sagemakerInstanceType="ml.t3.medium"))
    assert bad.returncode == 1 and "ml.t3.medium" in bad.stdout and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [
        # the documented comma form: a string, which a key typed `array` would refuse
        ("variants", "standard,snapstart", True),
        ("variants", ["standard", "http"], True),
        ("lambdaMemoryMb", "2048", True),  # what `pulumi config set lambdaMemoryMb 2048` writes
        ("lambdaMemoryMb", 2048, True),
        ("lambdaMemoryMb", "2048MB", False),
        ("lambdaMemoryMb", True, False),
        ("forceDestroyBucket", "false", True),
        ("forceDestroyBucket", "no", False),
        ("architecture", 64, False),
    ],
)
def test_stack_values_follow_the_pulumi_cli_typed_config_rule(tmp_path, key, value, accepted):
    """sdk/go/common/workspace/project.go ValidateConfigValue: string -> str; integer -> int or
    an Atoi string; boolean -> bool or "true"/"false"; array -> a YAML list; untyped: unchecked."""
    import yaml

    from components.config import StackConfigError, read_settings

    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump({"config": {f"audio-inference-kit:{key}": value}}))
    if accepted:
        read_settings(stack, check_model=False)
    else:
        with pytest.raises(StackConfigError, match=f"Stack 'dev' with configuration key '{key}'"):
            read_settings(stack, check_model=False)


def test_no_project_setting_is_typed_array_while_the_docs_use_the_comma_form():
    """The README and Pulumi.yaml tell users `pulumi config set variants a,b`: that string is
    refused for a key typed array, so variants must stay untyped."""
    from components.config import project_schema

    assert "type" not in project_schema()["variants"]
    assert "pulumi config set variants standard," in (ROOT / "README.md").read_text()


def test_graviton_endpoint_types_are_refused_for_the_amd64_serving_image(tmp_path, model_dir):
    import botocore.session

    offered = botocore.session.get_session().get_service_model("sagemaker")
    assert "ml.c7g.large" in offered.shape_for("ProductionVariantInstanceType").enum
    report = run(stack_file(tmp_path, model_dir, sagemakerInstanceType="ml.c7g.large"))
    (finding,) = report["findings"]
    assert "Graviton (arm64)" in finding["problem"] and "linux/amd64" in finding["problem"]


def test_provisioned_concurrency_is_in_the_fixed_cost(tmp_path, model_dir, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    report = run(
        stack_file(
            tmp_path, model_dir, variants=["standard"], provisionedConcurrency={"standard": 2}
        )
    )
    # 2 environments x 4 GB x $0.0000041667 per GB-s x 730 h
    assert report["fixed_monthly"]["standard"] == pytest.approx(2 * 4 * 0.0000041667 * 730 * 3600)
    assert any("provisioned concurrency of 2" in w for w in report["warnings"])


@pytest.mark.parametrize(
    ("quota", "unreserved", "wanted", "refused"),
    [(1000, 1000, 2, False), (1000, 1000, 901, True), (1000, 300, 250, True), (10, 10, 1, True)],
)
def test_provisioned_concurrency_that_the_account_cannot_hold_is_refused(
    quota, unreserved, wanted, refused
):
    """GetAccountSettings answered by botocore's Stubber (the response is checked against the
    Lambda API model); the rule: at least min(100, quota) must stay unreserved."""
    import boto3
    from botocore.stub import Stubber

    from kit.stack.preflight import provisioned_check

    client = boto3.client(
        "lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    limits = {
        "TotalCodeSize": 80530636800,
        "CodeSizeUnzipped": 262144000,
        "CodeSizeZipped": 52428800,
        "ConcurrentExecutions": quota,
        "UnreservedConcurrentExecutions": unreserved,
    }
    config = SimpleNamespace(provisioned_concurrency={"standard": wanted}, region="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("get_account_settings", {"AccountLimit": limits, "AccountUsage": {}})
        warnings, findings = provisioned_check(config, client)
    if refused:
        (finding,) = findings
        assert finding.setting == "provisionedConcurrency"
        assert f"below the account's minimum of {min(100, quota)}" in finding.problem
    else:
        assert findings == [] and f"has {unreserved} unreserved" in warnings[0]
