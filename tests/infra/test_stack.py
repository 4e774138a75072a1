"""The stack under Pulumi's mocks: resources per variant subset, properties, IAM, validation, outputs."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from audio_inference.settings import (
    ENV_ENDPOINT_NAME,
    ENV_MODEL_S3_URI,
    ENV_PREDICTIONS_TABLE,
    ENV_PREDICTOR,
    HANDLERS,
    TABLE_HASH_KEY,
    TABLE_RANGE_KEY,
    VARIANTS,
)

from components.config import StackConfigError

pytestmark = pytest.mark.infra

FN = "aws:lambda/function:Function"
ORIGINAL = ("standard", "snapstart", "sagemaker")
SUBSETS = [list(c) for n in (1, 2, 3) for c in itertools.combinations(ORIGINAL, n)] + [
    ["container"],
    ["http"],
    list(VARIANTS),
]
FUNCTION_NAME = {
    "standard": "standard-fn",
    "snapstart": "snapstart-fn",
    "sagemaker": "sagemaker-proxy-fn",
    "container": "container-fn",
    "http": "http-fn",
}
UPLOADS = ("standard", "snapstart", "sagemaker", "container")


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
        else:
            assert fn["runtime"] == "python3.12", variant
            assert fn["handler"] == HANDLERS[variant], variant
        env = fn["environment"]["variables"]
        assert env[ENV_PREDICTOR] == variant and ENV_PREDICTIONS_TABLE in env
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


def _policies(run) -> dict[str, dict]:
    return {
        r.name: json.loads(r.inputs["policy"])
        for r in run.mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    }


def test_iam_policies_are_scoped_to_concrete_arns(run_stack):
    run = run_stack()
    policies = _policies(run)
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

    policies = _policies(run_stack(variants=list(VARIANTS), provisionedConcurrency={"http": 1}))
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


def test_outputs_hold_what_the_benchmark_needs(run_stack):
    outputs = run_stack().outputs
    for key in (
        "region",
        "bucket_name",
        "table_name",
        "upload_prefixes",
        "function_names",
        "log_group_names",
        "snapstart_alias_arn",
        "endpoint_name",
        "model_sha256",
        "failure_queue_url",
        "lambda_memory_mb",
        "architecture",
    ):
        assert key in outputs, key
    assert outputs["upload_prefixes"] == {v: f"incoming/{v}/" for v in ORIGINAL}
    assert outputs["region"] == "us-east-1" and outputs["lambda_memory_mb"] == 4096


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
        predictor="snapstart",
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


def test_image_is_pushed_with_docker_media_types(run_stack):
    image = run_stack(variants=["sagemaker"]).mocks.one(
        "docker-build:index:Image", "sagemaker-image"
    )
    # push=True alone exports with BuildKit's defaults (OCI since 0.31), which CreateModel refuses.
    assert image["push"] is False
    assert image["exports"] == [{"registry": {"ociMediaTypes": False, "push": True}}]


def test_model_image_is_repository_at_digest_without_tag(run_stack):
    run = run_stack(variants=["sagemaker"])
    image = run.mocks.one("aws:sagemaker/model:Model", "sagemaker-model")["primaryContainer"][
        "image"
    ]
    # SageMaker accepts repo[:tag] or repo[@digest]; the provider's ref is repo:tag@digest.
    assert re.fullmatch(
        r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[^:@]+@sha256:[0-9a-f]{64}", image
    )
    assert image.startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-repo-")


def test_build_paths_are_relative_to_the_project(run_stack, monkeypatch):
    from components._packaging import ROOT

    monkeypatch.chdir(ROOT)
    image = run_stack(variants=["sagemaker"]).mocks.one(
        "docker-build:index:Image", "sagemaker-image"
    )
    assert image["context"]["location"] == "."
    assert image["dockerfile"]["location"] == "sagemaker/Dockerfile"


def test_switching_to_serverless_makes_a_new_endpoint(run_stack):
    endpoints = {}
    for mode, config in (("instance", {}), ("serverless", {"sagemakerServerlessMemoryMb": 2048})):
        run = run_stack(variants=["sagemaker"], **config)
        (endpoint,) = run.mocks.of_type("aws:sagemaker/endpoint:Endpoint")
        endpoints[mode] = (endpoint.name, endpoint.inputs["name"])
        groups = {g.inputs["name"] for g in run.mocks.of_type("aws:cloudwatch/logGroup:LogGroup")}
        assert f"/aws/sagemaker/Endpoints/{endpoint.inputs['name']}" in groups
        assert f"{endpoint.name}-logs" in run.dependencies[endpoint.name]
    # Different logical and physical names: Pulumi creates the new endpoint and deletes the old,
    # instead of an in-place update SageMaker refuses for real-time -> serverless.
    assert endpoints["instance"][0] != endpoints["serverless"][0]
    assert endpoints["instance"][1] != endpoints["serverless"][1]
    assert endpoints["serverless"][1].endswith("-serverless")
    same = run_stack(variants=["sagemaker"], sagemakerInstanceType="ml.m5.large")
    assert same.mocks.of_type("aws:sagemaker/endpoint:Endpoint")[0].name == endpoints["instance"][0]


def test_endpoint_name_is_valid_for_any_stack_name():
    from components.sagemaker_endpoint import endpoint_name

    pattern = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    for project, stack in (
        ("audio-inference-kit", "dev"),
        ("kit", "team_a.prod"),
        ("p" * 40, "s" * 40),
    ):
        name = endpoint_name(project, stack, "serverless")
        assert re.fullmatch(pattern, name), name
    assert endpoint_name("p" * 40, "s" * 40, "a") != endpoint_name("p" * 40, "s" * 40, "b")


def test_endpoint_log_group_and_metrics_permission(run_stack):
    run = run_stack(variants=["sagemaker"], logRetentionDays=14)
    group = run.mocks.one("aws:cloudwatch/logGroup:LogGroup", "sagemaker-endpoint-logs")
    assert group["name"].startswith("/aws/sagemaker/Endpoints/") and group["retentionInDays"] == 14
    statements = {s["Sid"]: s for s in _policies(run)["sagemaker-policy"]["Statement"]}
    assert statements["EndpointLogs"]["Resource"] == (
        f"arn:aws:logs:us-east-1:123456789012:log-group:{group['name']}:*"
    )
    assert "logs:CreateLogGroup" not in statements["EndpointLogs"]["Action"]
    metrics = statements["EndpointMetrics"]
    assert metrics["Action"] == "cloudwatch:PutMetricData"
    assert set(metrics["Condition"]["StringLike"]) == {"cloudwatch:namespace"}
    assert run.outputs["endpoint_log_group_name"] == group["name"]


def test_snapstart_publishes_only_after_iam_propagation(run_stack):
    run = run_stack(variants=["snapstart"])
    sleep = run.mocks.one("time:index/sleep:Sleep", "snapstart-iam-propagation")
    assert sleep["createDuration"].endswith("s") and int(sleep["createDuration"][:-1]) >= 10
    policy = run.mocks.one("aws:iam/rolePolicy:RolePolicy", "snapstart-policy")
    # The pause runs again whenever the policy changes (a new model changes its resources).
    assert sleep["triggers"]["policy"] == policy["policy"]
    assert "snapstart-policy" in run.dependencies["snapstart-iam-propagation"]
    assert {"snapstart-policy", "snapstart-iam-propagation"} <= set(
        run.dependencies["snapstart-fn"]
    )
    assert "snapstart-iam-propagation" not in str(run.dependencies.get("standard-fn", []))


def test_proxy_gets_its_timeout_and_the_failure_queue(run_stack):
    run = run_stack(variants=["sagemaker"], timeoutSeconds=120)
    env = run.mocks.one(FN, "sagemaker-proxy-fn")["environment"]["variables"]
    assert env["FUNCTION_TIMEOUT_SECONDS"] == "120"
    assert env["FAILURE_QUEUE_URL"].startswith("https://sqs.")


def test_storage_sets_no_bucket_key_for_sse_s3(run_stack):
    sse = (
        run_stack(variants=["standard"])
        .mocks.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )[0]
        .inputs
    )
    assert "bucketKeyEnabled" not in sse["rules"][0]


@pytest.mark.parametrize("value", ["standard,sagemaker", '["standard", "sagemaker"]'])
def test_variants_from_one_string_sets_exactly_those(run_stack, value):
    run = run_stack(variants=value)
    assert run.outputs["variants"] == ["standard", "sagemaker"]


def test_memory_of_every_variant_is_an_output(run_stack):
    outputs = run_stack(lambdaMemoryMb=1769, proxyMemoryMb=256).outputs
    assert outputs["memory_mb"] == {"standard": 1769, "snapstart": 1769, "sagemaker": 256}
    assert outputs["timeout_seconds"] == 90


def test_container_lambda_runs_its_own_image_by_digest(run_stack):
    run = run_stack(variants=["container"], architecture="arm64")
    image = run.mocks.one("docker-build:index:Image", "container-image")
    assert image["platforms"] == ["linux/arm64"]  # the function's architecture
    assert image["exports"] == [{"registry": {"ociMediaTypes": False, "push": True}}]
    assert image["push"] is False and image["dockerfile"]["location"].endswith(
        "functions/Dockerfile"
    )
    assert set(image["context"]["named"]) == {"model"}  # the model folder, baked in
    fn = run.mocks.one(FN, "container-fn")
    assert re.fullmatch(
        r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[^:@]+@sha256:[0-9a-f]{64}", fn["imageUri"]
    )
    assert fn["architectures"] == ["arm64"] and "MODEL_DIR" not in fn["environment"]["variables"]
    policy = json.loads(
        run.mocks.one("aws:ecr/repositoryPolicy:RepositoryPolicy", "container-repo-policy")[
            "policy"
        ]
    )
    assert policy["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert run.outputs["upload_prefixes"] == {"container": "incoming/container/"}


def test_container_dockerfile_bakes_the_model_and_runs_the_same_handler():
    from components._packaging import ROOT

    text = (ROOT / "functions" / "Dockerfile").read_text()
    assert "FROM public.ecr.aws/lambda/python:3.12" in text
    assert "COPY --from=model model.onnx model.json /opt/model/" in text
    assert "ENV MODEL_DIR=/opt/model" in text and 'CMD ["standard_handler.handler"]' in text
    assert "torch" not in text


def test_http_variant_has_an_iam_function_url_and_no_upload_trigger(run_stack):
    run = run_stack(variants=["http"])
    url = run.mocks.one("aws:lambda/functionUrl:FunctionUrl", "http-url")
    assert url["authorizationType"] == "AWS_IAM" and "qualifier" not in url
    assert run.mocks.of_type("aws:lambda/permission:Permission") == []
    statements = {s["Sid"] for s in _policies(run)["http-policy"]["Statement"]}
    assert "ReadUploads" not in statements and "PutPredictions" in statements
    assert "http" in run.outputs["function_urls"]


def test_provisioned_concurrency_sits_on_alias_live(run_stack):
    run = run_stack(
        variants=["standard", "http"], provisionedConcurrency={"http": 2, "standard": 1}
    )
    for name, count in (("http", 2), ("standard", 1)):
        fn = run.mocks.one(FN, f"{name}-fn")
        assert fn["publish"] is True and not fn.get("snapStart")
        alias = run.mocks.one("aws:lambda/alias:Alias", f"{name}-alias")
        assert alias["name"] == "live" and alias["functionVersion"] == "3"
        config = run.mocks.one(
            "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
            f"{name}-provisioned",
        )
        assert config["qualifier"] == "live" and config["provisionedConcurrentExecutions"] == count
    url = run.mocks.one("aws:lambda/functionUrl:FunctionUrl", "http-url")
    assert url["qualifier"] == "live"  # the URL reaches the provisioned environments
    permission = run.mocks.one("aws:lambda/permission:Permission", "standard-s3-invoke")
    assert permission["qualifier"] == "live"
    assert run.outputs["provisioned_concurrency"] == {"http": 2, "standard": 1}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"snapstart": 1}, "SnapStart cannot be combined with provisioned concurrency"),
        ({"container": 1}, "is not a deployed variant"),
        ({"http": -1}, "provisionedConcurrency.http=-1 must be an integer"),
    ],
)
def test_provisioned_concurrency_is_checked(run_stack, setting, message):
    with pytest.raises(StackConfigError, match=message):
        run_stack(variants=["standard", "snapstart", "http"], provisionedConcurrency=setting)
