"""SageMakerEndpoint: serving image, model archive, endpoint and the 128 MB proxy function."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build
from audio_inference.settings import SAGEMAKER

from . import _iam
from ._packaging import ROOT, build_model_archive
from .inference_lambda import TYPE_PREFIX, InferenceLambda, InferenceLambdaArgs


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
    instance_type: str = "ml.t2.medium"
    """Real-time instance type (ignored in serverless mode)."""
    instance_count: int = 1
    serverless_memory_mb: int = 0
    """1024-6144 switches to SageMaker Serverless Inference; 0 uses instances."""
    serverless_max_concurrency: int = 5
    force_delete_repository: bool = True
    """Let `pulumi destroy` delete the repository with its images."""
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


class SageMakerEndpoint(pulumi.ComponentResource):
    """A real-time (or serverless) endpoint serving the shared code, plus its proxy Lambda."""

    endpoint_name: pulumi.Output[str]
    """Name to pass to sagemaker-runtime invoke_endpoint."""
    endpoint_arn: pulumi.Output[str]
    image_ref: pulumi.Output[str]
    """Pushed image, pinned by digest."""
    proxy: InferenceLambda
    """The 128 MB proxy function S3 invokes."""

    def __init__(
        self, name: str, args: SageMakerEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.proxy.predictor != SAGEMAKER:
            raise ValueError(f"proxy.predictor must be {SAGEMAKER!r}, got {args.proxy.predictor!r}")
        if args.serverless_memory_mb and not 1024 <= args.serverless_memory_mb <= 6144:
            raise ValueError(f"serverless_memory_mb={args.serverless_memory_mb} must be 1024-6144")
        super().__init__(f"{TYPE_PREFIX}:SageMakerEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        repository = aws.ecr.Repository(
            f"{name}-repo",
            force_delete=args.force_delete_repository,
            image_scanning_configuration={"scan_on_push": True},
            tags=args.tags,
            opts=child,
        )
        token = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id)
        image = docker_build.Image(
            f"{name}-image",
            context={"location": str(ROOT)},
            dockerfile={"location": str(ROOT / "sagemaker" / "Dockerfile")},
            platforms=[docker_build.Platform.LINUX_AMD64],
            push=True,
            tags=[pulumi.Output.concat(repository.repository_url, ":latest")],
            registries=[
                {
                    "address": repository.repository_url,
                    "username": token.user_name,
                    "password": token.password,
                }
            ],
            opts=child,
        )

        archive, digest = build_model_archive(args.model_dir)
        model_data = aws.s3.BucketObjectv2(
            f"{name}-model-data",
            bucket=args.artifact_bucket,
            key=f"sagemaker/model-{digest[:16]}.tar.gz",
            source=pulumi.FileAsset(str(archive)),
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
                + _iam.sagemaker_endpoint_logs(args.region, args.account_id)
            ),
            opts=child,
        )
        model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role.arn,
            primary_container={
                "image": image.ref,
                "model_data_url": pulumi.Output.concat(
                    "s3://", args.artifact_bucket, "/", model_data.key
                ),
            },
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        if args.serverless_memory_mb:
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
            f"{name}-config", production_variants=[variant], tags=args.tags, opts=child
        )
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint", endpoint_config_name=config.name, tags=args.tags, opts=child
        )

        self.proxy = InferenceLambda(
            f"{name}-proxy",
            dataclasses.replace(args.proxy, endpoint_name=endpoint.name, endpoint_arn=endpoint.arn),
            opts=child,
        )
        self.endpoint_name = endpoint.name
        self.endpoint_arn = endpoint.arn
        self.image_ref = image.ref
        self.register_outputs(
            {
                "endpoint_name": endpoint.name,
                "endpoint_arn": endpoint.arn,
                "image_ref": image.ref,
                "proxy_function_name": self.proxy.function_name,
            }
        )
