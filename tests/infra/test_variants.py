"""The container, http and provisioned-concurrency variants under Pulumi's mocks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from components.config import StackConfigError
from tests.helpers.stack import FN, policies


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
    # old images expire: the newest 10 stay (the running digest and rollbacks)
    lifecycle = run.mocks.one("aws:ecr/lifecyclePolicy:LifecyclePolicy", "container-repo-lifecycle")
    [rule] = json.loads(lifecycle["policy"])["rules"]
    assert rule["selection"] == {
        "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10
    } and rule["action"] == {"type": "expire"}  # fmt: skip
    assert image["pull"] is True  # the base image's tag is pulled anew at each build


def test_container_dockerfile_bakes_the_model_and_runs_the_same_handler():
    from components._packaging import ROOT

    text = (ROOT / "functions" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=public.ecr.aws/lambda/python:3.12\nFROM ${BASE_IMAGE}" in text
    assert "COPY --from=model model.onnx model.json /opt/model/" in text
    assert "ENV MODEL_DIR=/opt/model" in text and 'CMD ["standard_handler.handler"]' in text
    assert "torch" not in text


def test_http_variant_has_an_iam_function_url_and_no_upload_trigger(run_stack):
    run = run_stack(variants=["http"])
    url = run.mocks.one("aws:lambda/functionUrl:FunctionUrl", "http-url")
    assert url["authorizationType"] == "AWS_IAM" and "qualifier" not in url
    assert run.mocks.of_type("aws:lambda/permission:Permission") == []
    statements = {s["Sid"] for s in policies(run)["http-policy"]["Statement"]}
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


def test_sagemaker_autoscaling_tracks_invocations_per_instance(run_stack):
    from kit.stack.preflight import check_resources

    run = run_stack(
        variants=["sagemaker"],
        sagemakerInstanceType="ml.c5.large",
        sagemakerInstanceCount=1,
        sagemakerMaxInstanceCount=3,
        sagemakerTargetInvocationsPerInstance=1200,
    )
    target = run.mocks.one("aws:appautoscaling/target:Target", "sagemaker-scaling-target")
    endpoint = run.mocks.one("aws:sagemaker/endpoint:Endpoint", "sagemaker-endpoint")
    # Application Auto Scaling's resource id for a SageMaker variant, and its dimension
    assert target["resourceId"] == f"endpoint/{endpoint['name']}/variant/AllTraffic"
    assert target["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 3)
    policy = run.mocks.one("aws:appautoscaling/policy:Policy", "sagemaker-scaling-policy")
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 1200
    assert (
        tracking["predefinedMetricSpecification"]["predefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )
    assert check_resources(run.mocks.resources) == []  # botocore's model accepts both
    tracking["predefinedMetricSpecification"]["predefinedMetricType"] = "Invocations"
    problems = check_resources(run.mocks.resources)
    assert any("PredefinedMetricType" in f.field for f in problems)  # and refuses a bad one


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"sagemakerInstanceType": "ml.t2.medium"}, "does not autoscale T2"),
        ({"sagemakerServerlessMemoryMb": 2048}, "scale by themselves"),
        ({"sagemakerInstanceCount": 4}, "below sagemakerInstanceCount=4"),
        ({"sagemakerTargetInvocationsPerInstance": 0}, "is not set"),
    ],
)
def test_autoscaling_settings_that_cannot_work_are_refused(run_stack, settings, message):
    config = {
        "variants": ["sagemaker"],
        "sagemakerInstanceType": "ml.c5.large",
        "sagemakerMaxInstanceCount": 3,
        "sagemakerTargetInvocationsPerInstance": 600,
    } | settings
    with pytest.raises(StackConfigError, match=message):
        run_stack(**config)


def test_uploads_are_capped_at_what_each_entry_carries(run_stack):
    from audio_inference.settings import HTTP_MAX_BODY_BYTES, SERVERLESS_PAYLOAD_BYTES

    run = run_stack(variants=["http", "sagemaker"], sagemakerServerlessMemoryMb=2048)
    env = {
        name: run.mocks.one(FN, f"{name}-fn")["environment"]["variables"]["MAX_OBJECT_BYTES"]
        for name in ("http", "sagemaker-proxy")
    }
    assert env == {
        "http": str(HTTP_MAX_BODY_BYTES),
        "sagemaker-proxy": str(SERVERLESS_PAYLOAD_BYTES),
    }


def test_the_container_function_waits_for_its_repository_pull_grant(run_stack):
    run = run_stack(variants=["container"])
    assert "container-repo-policy" in run.dependencies["container-fn"]


def test_a_new_model_is_a_new_container_image_input(run_stack, tmp_path):
    """The image's inputs change with the model (pulumi-docker-build leaves files the main
    context's .dockerignore excludes out of a named context's hash)."""
    from tests.helpers.onnx_graphs import unstable_model

    first = run_stack(variants=["container"])
    other = unstable_model(tmp_path / "other")
    second = run_stack(variants=["container"], modelPath=str(other / "model.onnx"))
    images = [r.mocks.one("docker-build:index:Image", "container-image") for r in (first, second)]
    contexts = [i["context"]["named"]["model"]["location"] for i in images]
    hashes = [i["buildArgs"]["MODEL_SHA256"] for i in images]
    assert contexts[0] != contexts[1] and hashes[0] != hashes[1]
    folder = Path(contexts[1])
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.onnx"]  # 2 files
    assert (folder / "model.onnx").read_bytes() == (other / "model.onnx").read_bytes()
