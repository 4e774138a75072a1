"""What real AWS would reject or bill: each fix of the deploy path, checked against provider-shaped mocks."""

from __future__ import annotations

import re

import pytest

from tests.helpers.stack import FN, policies


def test_image_is_pushed_with_docker_media_types(run_stack):
    image = run_stack(variants=["sagemaker"]).mocks.one(
        "docker-build:index:Image", "sagemaker-image"
    )
    # push=True alone exports with BuildKit's defaults (OCI since 0.31), which CreateModel refuses.
    assert image["push"] is False
    assert image["exports"] == [{"registry": {"ociMediaTypes": False, "push": True}}]


def test_every_repository_expires_old_images(run_stack):
    """Each deploy pushes an image; the repositories keep the newest ten, not all of them."""
    import json

    run = run_stack(variants=["sagemaker", "container"])
    repos = run.mocks.of_type("aws:ecr/repository:Repository")
    policies = run.mocks.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(repos) == len(policies) == 2
    for policy in policies:
        [rule] = json.loads(policy.inputs["policy"])["rules"]
        assert rule["selection"]["countNumber"] == 10 and rule["action"]["type"] == "expire"


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
    statements = {s["Sid"]: s for s in policies(run)["sagemaker-policy"]["Statement"]}
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
