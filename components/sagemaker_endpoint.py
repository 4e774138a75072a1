"""SageMakerEndpoint: serving image, model archive, endpoint and the 128 MB proxy function."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
from audio_inference.settings import (
    DEFAULT_SAGEMAKER_INSTANCE_TYPE,
    DEFAULT_SERVERLESS_MAX_CONCURRENCY,
    SAGEMAKER,
    SERVERLESS_MEMORY_MB,
)

from . import _iam
from ._images import ecr_repository, push_image
from ._packaging import ROOT, build_model_archive
from .inference_lambda import TYPE_PREFIX, InferenceLambda, InferenceLambdaArgs

ENDPOINT_NAME_MAX = 63
DOCKERFILE = ROOT / "sagemaker" / "Dockerfile"


@dataclass(frozen=True, kw_only=True)
class SageMakerEndpointArgs:
    """Inputs of a SageMakerEndpoint."""

    model_dir: Path
    """Folder with model.onnx and model.json; packed into model.tar.gz."""
    artifact_bucket: pulumi.Input[str]
    """Bucket (name) that receives model.tar.gz."""
    artifact_bucket_arn: pulumi.Input[str]
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    proxy: InferenceLambdaArgs
    """The proxy function's inputs; endpoint name and ARN are filled in here."""
    instance_type: str = DEFAULT_SAGEMAKER_INSTANCE_TYPE
    """Real-time instance type (ignored in serverless mode)."""
    instance_count: int = 1
    serverless_memory_mb: int = 0
    """1024-6144 switches to SageMaker Serverless Inference; 0 uses instances."""
    serverless_max_concurrency: int = DEFAULT_SERVERLESS_MAX_CONCURRENCY
    max_instance_count: int = 0
    """Target-tracking autoscaling from instance_count up to this (0: a fixed count)."""
    target_invocations_per_instance: int = 0
    """The tracked SageMakerVariantInvocationsPerInstance value (per instance per minute)."""
    log_retention_days: int = 7
    """Retention of the endpoint's own log group, which the stack creates (and destroys)."""
    force_delete_repository: bool = True
    """Let `pulumi destroy` delete the repository with its images."""
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


SCALE_IN_COOLDOWN_S = 300  # SageMaker's documented default (endpoint-auto-scaling-add-policy)
SCALE_OUT_COOLDOWN_S = 300


def endpoint_name(project: str, stack: str, mode: str) -> str:
    """A valid, deterministic endpoint name (``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``).

    Known before the endpoint exists, so its log group can be created first; it
    contains the mode, so switching instance <-> serverless makes a new endpoint.
    """
    raw = re.sub(r"[^a-zA-Z0-9]+", "-", f"{project}-{stack}-{mode}").strip("-")
    if len(raw) <= ENDPOINT_NAME_MAX:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{raw[: ENDPOINT_NAME_MAX - 9].rstrip('-')}-{digest}"


class SageMakerEndpoint(pulumi.ComponentResource):
    """A real-time (or serverless) endpoint serving the shared code, plus its proxy Lambda."""

    endpoint_name: pulumi.Output[str]
    """Name to pass to sagemaker-runtime invoke_endpoint."""
    endpoint_arn: pulumi.Output[str]
    image_uri: pulumi.Output[str]
    """Pushed image as ``repository@sha256:...`` (the form SageMaker documents)."""
    log_group_name: pulumi.Output[str]
    """The endpoint's own log group, /aws/sagemaker/Endpoints/<name>."""
    proxy: InferenceLambda
    """The 128 MB proxy function S3 invokes."""

    def __init__(
        self, name: str, args: SageMakerEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.proxy.variant != SAGEMAKER:
            raise ValueError(f"proxy.variant must be {SAGEMAKER!r}, got {args.proxy.variant!r}")
        low, high = SERVERLESS_MEMORY_MB
        if args.serverless_memory_mb and not low <= args.serverless_memory_mb <= high:
            raise ValueError(
                f"serverless_memory_mb={args.serverless_memory_mb} must be {low}-{high}"
            )
        super().__init__(f"{TYPE_PREFIX}:SageMakerEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        serverless = bool(args.serverless_memory_mb)

        repository = ecr_repository(f"{name}-repo", args.force_delete_repository, args.tags, child)
        _, image_uri = push_image(f"{name}-image", repository, DOCKERFILE, opts=child)

        archive, digest = build_model_archive(args.model_dir)
        model_data = aws.s3.BucketObjectv2(
            f"{name}-model-data",
            bucket=args.artifact_bucket,
            key=f"sagemaker/model-{digest[:16]}.tar.gz",
            source=pulumi.FileAsset(str(archive)),
            opts=child,
        )

        mode = "serverless" if serverless else "realtime"
        # Resources named per mode: a switch creates the new endpoint, then deletes the old.
        prefix = f"{name}-serverless" if serverless else name
        physical = endpoint_name(pulumi.get_project(), pulumi.get_stack(), mode)
        log_group = aws.cloudwatch.LogGroup(
            f"{prefix}-endpoint-logs",
            name=f"/aws/sagemaker/Endpoints/{physical}",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=child,
        )

        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=_iam.assume_role_policy("sagemaker.amazonaws.com"),
            tags=args.tags,
            opts=child,
        )
        model_arn = pulumi.Output.concat(args.artifact_bucket_arn, "/", model_data.key)
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=_iam.policy_document(
                _iam.s3_read_objects([model_arn], sid="ReadModelArchive")
                + _iam.ecr_pull(repository.arn)
                + _iam.sagemaker_endpoint_logs(log_group.arn)
                + _iam.sagemaker_metrics()
            ),
            opts=child,
        )
        model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role.arn,
            primary_container={
                "image": image_uri,
                "model_data_url": pulumi.Output.concat(
                    "s3://", args.artifact_bucket, "/", model_data.key
                ),
            },
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        if serverless:
            variant = aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                variant_name="AllTraffic",
                model_name=model.name,
                serverless_config=aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                    memory_size_in_mb=args.serverless_memory_mb,
                    max_concurrency=args.serverless_max_concurrency,
                ),
            )
        else:
            variant = aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                variant_name="AllTraffic",
                model_name=model.name,
                instance_type=args.instance_type,
                initial_instance_count=args.instance_count,
                initial_variant_weight=1.0,
            )
        config = aws.sagemaker.EndpointConfiguration(
            f"{prefix}-config", production_variants=[variant], tags=args.tags, opts=child
        )
        endpoint = aws.sagemaker.Endpoint(
            f"{prefix}-endpoint",
            name=physical,
            endpoint_config_name=config.name,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )

        if args.max_instance_count and not serverless:
            self._autoscale(prefix, endpoint, args, child)

        self.proxy = InferenceLambda(
            f"{name}-proxy",
            dataclasses.replace(args.proxy, endpoint_name=endpoint.name, endpoint_arn=endpoint.arn),
            opts=child,
        )
        self.endpoint_name = endpoint.name
        self.endpoint_arn = endpoint.arn
        self.image_uri = image_uri
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "endpoint_name": endpoint.name,
                "endpoint_arn": endpoint.arn,
                "image_uri": image_uri,
                "log_group_name": log_group.name,
                "proxy_function_name": self.proxy.function_name,
            }
        )

    def _autoscale(
        self,
        prefix: str,
        endpoint: aws.sagemaker.Endpoint,
        args: SageMakerEndpointArgs,
        child: pulumi.ResourceOptions,
    ) -> None:
        """Target tracking on SageMakerVariantInvocationsPerInstance (Application Auto
        Scaling registers the variant; its service-linked role is created by AWS)."""
        target = aws.appautoscaling.Target(
            f"{prefix}-scaling-target",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=endpoint.name.apply(lambda n: f"endpoint/{n}/variant/AllTraffic"),
            min_capacity=args.instance_count,
            max_capacity=args.max_instance_count,
            opts=child,
        )
        metric = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
            predefined_metric_type="SageMakerVariantInvocationsPerInstance"
        )
        aws.appautoscaling.Policy(
            f"{prefix}-scaling-policy",
            name=f"{prefix}-invocations-per-instance",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=float(args.target_invocations_per_instance),
                predefined_metric_specification=metric,
                scale_in_cooldown=SCALE_IN_COOLDOWN_S,
                scale_out_cooldown=SCALE_OUT_COOLDOWN_S,
            ),
            opts=child,
        )
