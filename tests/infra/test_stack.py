"""The stack under Pulumi's mocks: resources per variant subset, properties, IAM, validation, outputs."""

from __future__ import annotations

import itertools
import json

import pytest
from audio_inference.settings import (
    ENV_ENDPOINT_NAME,
    ENV_MODEL_S3_URI,
    ENV_PREDICTIONS_TABLE,
    ENV_VARIANT,
    HANDLERS,
    TABLE_HASH_KEY,
    TABLE_RANGE_KEY,
    VARIANTS,
)

from components.config import StackConfigError
from tests.helpers.stack import FN
from tests.helpers.stack import policies as role_policies

ORIGINAL = ("standard", "snapstart", "sagemaker")
SUBSETS = [list(c) for n in (1, 2, 3) for c in itertools.combinations(ORIGINAL, n)] + [
    ["container"],
    ["managed"],
    ["http"],
    list(VARIANTS),
]
FUNCTION_NAME = {
    "standard": "standard-fn",
    "snapstart": "snapstart-fn",
    "sagemaker": "sagemaker-proxy-fn",
    "container": "container-fn",
    "http": "http-fn",
    "managed": "managed-fn",
}
UPLOADS = ("standard", "snapstart", "sagemaker", "container", "managed")


@pytest.mark.parametrize("variants", SUBSETS, ids=["+".join(s) for s in SUBSETS])
def test_each_variant_subset_creates_exactly_its_resources(run_stack, variants):
    run = run_stack(variants=variants)
    functions = {r.name: r.inputs for r in run.mocks.of_type(FN)}
    assert set(functions) == {FUNCTION_NAME[v] for v in variants}
    for variant in variants:
        fn = functions[FUNCTION_NAME[variant]]
        if variant == "container":  # code and model in the image; its CMD names the handler
            assert fn["packageType"] == "Image" and "@sha256:" in fn["imageUri"]
            assert "runtime" not in fn and "s3Key" not in fn
        else:  # Managed Instances run Python 3.13 and newer only
            assert fn["runtime"] == ("python3.13" if variant == "managed" else "python3.12")
            assert fn["handler"] == HANDLERS[variant], variant
        env = fn["environment"]["variables"]
        assert env[ENV_VARIANT] == variant and ENV_PREDICTIONS_TABLE in env
        assert (ENV_ENDPOINT_NAME in env) == (variant == "sagemaker")
        assert (ENV_MODEL_S3_URI in env) == (variant not in ("sagemaker", "container"))
        assert fn["loggingConfig"]["logFormat"] == "JSON"
    has_endpoint = "sagemaker" in variants
    assert bool(run.mocks.of_type("aws:sagemaker/endpoint:Endpoint")) == has_endpoint
    images = len(run.mocks.of_type("docker-build:index:Image"))
    assert images == has_endpoint + ("container" in variants)
    assert bool(run.mocks.of_type("aws:lambda/alias:Alias")) == ("snapstart" in variants)
    uploads = [v for v in variants if v in UPLOADS]
    assert len(run.mocks.of_type("aws:lambda/permission:Permission")) == len(uploads)
    assert len(
        run.mocks.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    ) == len(variants)
    assert len(run.mocks.of_type("aws:lambda/functionUrl:FunctionUrl")) == ("http" in variants)
    notification = run.mocks.one("aws:s3/bucketNotification:BucketNotification", "uploads")
    prefixes = sorted(f["filterPrefix"] for f in notification["lambdaFunctions"])
    assert prefixes == sorted(f"incoming/{v}/" for v in uploads)
    assert all(f["filterSuffix"] == ".wav" for f in notification["lambdaFunctions"])
    assert run.outputs["variants"] == [v for v in VARIANTS if v in variants]
    assert set(run.outputs["function_names"]) == set(variants)
    assert set(run.outputs["upload_prefixes"]) == set(uploads)


def test_defaults_match_the_seed_setup(run_stack):
    run = run_stack()
    standard = run.mocks.one(FN, "standard-fn")
    assert standard["memorySize"] == 4096 and standard["architectures"] == ["x86_64"]
    assert standard["ephemeralStorage"]["size"] == 512 and standard["timeout"] == 90
    assert standard.get("publish") in (None, False) and not standard.get("snapStart")
    # code_sha256 is compared with what Lambda reports (out-of-band changes show as a diff);
    # source_code_hash is a provider-only value that never sees them.
    assert standard["codeSha256"].endswith("=") and len(standard["codeSha256"]) == 44  # base64
    assert "sourceCodeHash" not in standard
    assert run.mocks.one(FN, "sagemaker-proxy-fn")["memorySize"] == 128
    config = run.mocks.one(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "sagemaker-config"
    )
    variant = config["productionVariants"][0]
    assert variant["instanceType"] == "ml.t2.medium" and variant["initialInstanceCount"] == 1
    assert "serverlessConfig" not in variant
    image = run.mocks.one("docker-build:index:Image", "sagemaker-image")
    assert image["platforms"] == ["linux/amd64"]
    model = run.mocks.one("aws:sagemaker/model:Model", "sagemaker-model")
    assert model["primaryContainer"]["modelDataUrl"].endswith(".tar.gz")


def test_snapstart_publishes_and_s3_invokes_the_alias(run_stack):
    run = run_stack(variants=["snapstart"])
    fn = run.mocks.one(FN, "snapstart-fn")
    assert fn["publish"] is True and fn["snapStart"] == {"applyOn": "PublishedVersions"}
    alias = run.mocks.one("aws:lambda/alias:Alias", "snapstart-alias")
    assert alias["name"] == "live" and alias["functionVersion"] == "3"
    permission = run.mocks.one("aws:lambda/permission:Permission", "snapstart-s3-invoke")
    assert permission["qualifier"] == "live" and permission["principal"] == "s3.amazonaws.com"
    assert permission["sourceAccount"] == "123456789012"
    invoke_config = run.mocks.one(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "snapstart-on-failure"
    )
    assert invoke_config["qualifier"] == "live"
    assert invoke_config["destinationConfig"]["onFailure"]["destination"].startswith("arn:aws:sqs:")
    target = run.mocks.one("aws:s3/bucketNotification:BucketNotification", "uploads")[
        "lambdaFunctions"
    ][0]
    assert target["lambdaFunctionArn"].endswith(":live")
    assert run.outputs["snapstart_alias_arn"].endswith(":live")


def test_serverless_mode_and_arm64(run_stack):
    run = run_stack(
        sagemakerServerlessMemoryMb=2048,
        sagemakerServerlessMaxConcurrency=3,
        architecture="arm64",
        lambdaMemoryMb=1769,
    )
    variant = run.mocks.one(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "sagemaker-serverless-config"
    )["productionVariants"][0]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 2048, "maxConcurrency": 3}
    assert "instanceType" not in variant
    for fn in run.mocks.of_type(FN):
        assert fn.inputs["architectures"] == ["arm64"], fn.name
    assert run.mocks.one(FN, "standard-fn")["memorySize"] == 1769
    code = [
        r.inputs["key"]
        for r in run.mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if r.inputs["key"].startswith("code/")
    ]
    assert code and all("arm64" in k for k in code)


def test_shared_storage_is_private_encrypted_and_on_demand(run_stack):
    run = run_stack(variants=["standard"])
    block = run.mocks.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = run.mocks.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )[0].inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    policy = json.loads(run.mocks.of_type("aws:s3/bucketPolicy:BucketPolicy")[0].inputs["policy"])
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    table = run.mocks.of_type("aws:dynamodb/table:Table")[0].inputs
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert (table["hashKey"], table["rangeKey"]) == (TABLE_HASH_KEY, TABLE_RANGE_KEY)
    assert run.mocks.of_type("aws:s3/bucket:Bucket")[0].inputs["forceDestroy"] is True
    logs = run.mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert logs and all(g.inputs["retentionInDays"] == 7 for g in logs)


def test_iam_policies_are_scoped_to_concrete_arns(run_stack):
    run = run_stack()
    policies = role_policies(run)
    assert set(policies) == {
        "standard-policy",
        "snapstart-policy",
        "sagemaker-policy",
        "sagemaker-proxy-policy",
    }
    for name, doc in policies.items():
        for statement in doc["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert all("*" not in a for a in actions), (name, statement)
            resources = (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
            # AWS accepts only * for these two; PutMetricData is limited by namespace instead.
            if actions == ["cloudwatch:PutMetricData"]:
                assert "cloudwatch:namespace" in statement["Condition"]["StringLike"]
            elif actions != ["ecr:GetAuthorizationToken"]:
                assert all(r != "*" for r in resources), (name, statement)
    standard = {s["Sid"]: s for s in policies["standard-policy"]["Statement"]}
    assert standard["ReadUploads"]["Resource"].endswith("/incoming/standard/*")
    assert standard["ListUploadPrefix"]["Condition"] == {
        "StringLike": {"s3:prefix": ["incoming/standard/*"]}
    }
    assert standard["PutPredictions"]["Action"] == "dynamodb:PutItem"
    assert "InvokeEndpoint" not in standard
    proxy = {s["Sid"]: s for s in policies["sagemaker-proxy-policy"]["Statement"]}
    assert proxy["InvokeEndpoint"]["Resource"].startswith("arn:aws:sagemaker:")
    assert "ReadModel" not in proxy
    endpoint = {s["Sid"]: s for s in policies["sagemaker-policy"]["Statement"]}
    assert endpoint["PullImage"]["Resource"].startswith("arn:aws:ecr:")
    attachments = run.mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachments == []  # no AWS-managed (full-access) policies


def test_iam_policies_pass_parliament(run_stack):
    import parliament

    policies = role_policies(run_stack(variants=list(VARIANTS), provisionedConcurrency={"http": 1}))
    assert {"container-policy", "http-policy"} <= set(policies)
    for name, doc in policies.items():
        findings = parliament.analyze_policy_string(json.dumps(doc)).findings
        assert [f"{f.issue}: {f.detail}" for f in findings] == [], name


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"variants": ["standard", "gpu"]}, "'gpu' is not a variant"),
        ({"lambdaMemoryMb": 20000}, "lambdaMemoryMb=20000 must be an integer from 128 to 10240"),
        ({"lambdaMemoryMb": 64}, "lambdaMemoryMb=64"),
        ({"ephemeralStorageMb": 1024}, "ephemeralStorageMb=1024 cannot be used with SnapStart"),
        (
            {"sagemakerInstanceType": "ml.t3.medium"},
            "ml.t3.medium is not offered for real-time endpoints",
        ),
        (
            {"modelPath": "/nonexistent/model.onnx"},
            "modelPath: /nonexistent/model.onnx does not exist",
        ),
        ({"architecture": "sparc"}, "architecture='sparc' must be x86_64 or arm64"),
        ({"sagemakerServerlessMemoryMb": 512}, "sagemakerServerlessMemoryMb=512"),
        ({"sagemakerServerlessMemoryMb": 1500}, "must be a multiple of 1024"),
        ({"timeoutSeconds": 30}, "timeoutSeconds=30 is too short for the sagemaker proxy"),
        (
            {"logRetentionDays": 10},
            "logRetentionDays=10 is not a retention CloudWatch Logs accepts",
        ),
        ({"sagemakerInstanceType": "ml.x9.huge"}, "is not a real-time hosting instance"),
    ],
    ids=[
        "variant",
        "memory-high",
        "memory-low",
        "snapstart-storage",
        "t3",
        "model",
        "arch",
        "serverless",
        "serverless-step",
        "proxy-timeout",
        "retention",
        "instance",
    ],
)
def test_invalid_config_names_the_setting_and_the_fix(run_stack, config, message):
    with pytest.raises(StackConfigError) as err:
        run_stack(**config)
    assert message in str(err.value)
    assert "pulumi config set" in str(err.value) or "make model" in str(err.value)


def test_bigger_storage_is_fine_without_snapstart(run_stack):
    run = run_stack(variants=["standard"], ephemeralStorageMb=2048)
    assert run.mocks.one(FN, "standard-fn")["ephemeralStorage"]["size"] == 2048


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"variants": list(VARIANTS), "provisionedConcurrency": {"http": 1}},
        {"variants": ["sagemaker"], "sagemakerServerlessMemoryMb": 4096},
    ],
    ids=["default", "every-variant", "serverless"],
)
def test_the_benchmark_driver_accepts_the_programs_real_outputs(run_stack, config):
    """`kit aws` checks the outputs the program really exports (names defined once)."""
    from kit.measure.aws.outputs import check_outputs
    from kit.measure.setup import from_outputs

    outputs = run_stack(**config).outputs
    variants = check_outputs(outputs)
    setups = from_outputs(outputs, variants)
    assert set(setups) == set(outputs["variants"])
    if "provisionedConcurrency" in config:
        assert setups["http"].provisioned_concurrency == 1 and setups["http"].entry == "http"
    if "sagemakerServerlessMemoryMb" in config:
        assert setups["sagemaker"].serverless_memory_mb == 4096
        assert setups["sagemaker"].serverless_max_concurrency == 5
    if not config:
        assert outputs["upload_prefixes"] == {v: f"incoming/{v}/" for v in ORIGINAL}
        assert setups["sagemaker"].instance_type == "ml.t2.medium"
        assert setups["standard"].memory_mb == 4096 and setups["sagemaker"].memory_mb == 128


def test_components_parent_their_children(run_stack):
    run = run_stack()
    # A URN's type part is the chain of parent types: "<parent type>$<type>".
    stack = "pulumi:pulumi:Stack$"
    top_level = [u.split("::")[-1] for u in run.urns if u.split("::")[2].startswith(stack)]
    children = [u for u in run.urns if not u.split("::")[2].startswith(stack)]
    assert sorted(top_level) == ["sagemaker", "snapstart", "standard", "storage", "uploads"]
    for urn in children:
        chain, name = urn.split("::")[2], urn.split("::")[3]
        owner = chain.split("$")[0]
        assert owner.startswith("audio-inference-kit:index:"), urn
        component = owner.rsplit(":", 1)[1]
        assert name.split("-")[0] in {"storage", "standard", "snapstart", "sagemaker"}, (
            component,
            urn,
        )


def test_snapstart_component_validates_its_constraints():
    from components import SnapStartLambda, SnapStartLambdaArgs

    args = SnapStartLambdaArgs(
        variant="snapstart",
        code_bucket="b",
        code_key="k",
        code_sha256="x",
        bucket_name="b",
        bucket_arn="arn:aws:s3:::b",
        table_name="t",
        table_arn="arn",
        failure_queue_arn="arn",
        failure_queue_url="https://q",
        account_id="1",
        model_s3_uri="s3://b/m",
        model_object_arns=["arn"],
        ephemeral_storage_mb=1024,
    )
    with pytest.raises(ValueError, match="SnapStart requires 512 MB"):
        SnapStartLambda("x", args)
