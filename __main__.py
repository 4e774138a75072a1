"""The stack: shared storage plus the compute variants chosen in stack config.

Deploys a private upload bucket, the predictions table, the model and the
function archive, a failure queue, and for each variant in ``variants``:

- ``standard``  an InferenceLambda triggered by uploads under incoming/standard/
- ``snapstart`` a SnapStartLambda (alias ``live``) for incoming/snapstart/
- ``sagemaker`` a SageMakerEndpoint with its 128 MB proxy for incoming/sagemaker/
- ``container`` a ContainerLambda (image with the model baked in) for incoming/container/
- ``http``      an InferenceLambda behind a function URL (AWS_IAM): POST audio, get the answer
- ``managed``   a ManagedLambda on Lambda Managed Instances (a capacity provider of EC2
                instances in a VPC it creates, or yours) for incoming/managed/

Variants in ``provisionedConcurrency`` keep that many environments initialized
behind alias ``live``.
"""

import dataclasses

import pulumi
import pulumi_aws as aws

from components import (
    ContainerLambda,
    ContainerLambdaArgs,
    InferenceLambda,
    InferenceLambdaArgs,
    ManagedLambda,
    ManagedLambdaArgs,
    SageMakerEndpoint,
    SageMakerEndpointArgs,
    SnapStartLambda,
    Storage,
    StorageArgs,
    settings,
)
from components import outputs as out
from components._packaging import build_package
from components.config import from_pulumi

SAGEMAKER, SNAPSTART, STANDARD = settings.SAGEMAKER, settings.SNAPSTART, settings.STANDARD
CONTAINER, HTTP, MANAGED = settings.CONTAINER, settings.HTTP, settings.MANAGED

config = from_pulumi(pulumi.Config())
package = build_package(config.architecture)
identity = aws.get_caller_identity_output()
region = aws.get_region_output()

storage = Storage(
    "storage",
    StorageArgs(
        model_dir=config.model_dir,
        package=package,
        force_destroy=config.force_destroy_bucket,
        tags=config.tags,
    ),
)


def fields_of(base: InferenceLambdaArgs) -> dict:
    """A variant's shared inputs as keywords, to extend into a subclass's args."""
    return {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}


def function_args(variant: str, memory_size_mb: int) -> InferenceLambdaArgs:
    """Inputs every variant's function shares."""
    return InferenceLambdaArgs(
        variant=variant,
        code_bucket=storage.bucket_name,
        code_key=storage.code_key,
        code_sha256=package.source_code_hash,
        bucket_name=storage.bucket_name,
        bucket_arn=storage.bucket_arn,
        table_name=storage.table_name,
        table_arn=storage.table_arn,
        failure_queue_arn=storage.failure_queue_arn,
        failure_queue_url=storage.failure_queue_url,
        account_id=identity.account_id,
        model_s3_uri=None if variant in (SAGEMAKER, CONTAINER) else storage.model_s3_uri,
        model_object_arns=[] if variant in (SAGEMAKER, CONTAINER) else storage.model_object_arns,
        memory_size_mb=memory_size_mb,
        architecture=config.architecture,
        timeout_seconds=config.timeout_seconds,
        ephemeral_storage_mb=512 if variant == SAGEMAKER else config.ephemeral_storage_mb,
        max_object_bytes=settings.max_object_bytes(
            variant, config.max_object_mb * 1024 * 1024, bool(config.sagemaker_serverless_memory_mb)
        ),
        max_audio_seconds=config.max_audio_seconds,
        log_retention_days=config.log_retention_days,
        provisioned_concurrency=config.provisioned_concurrency.get(variant, 0),
        function_url=variant == HTTP,
        tags=config.tags,
    )


functions: dict[str, InferenceLambda] = {}
endpoint = None
if STANDARD in config.variants:
    functions[STANDARD] = InferenceLambda(
        "standard", function_args(STANDARD, config.lambda_memory_mb)
    )
if SNAPSTART in config.variants:
    functions[SNAPSTART] = SnapStartLambda(
        "snapstart", function_args(SNAPSTART, config.lambda_memory_mb)
    )
if CONTAINER in config.variants:
    base = function_args(CONTAINER, config.lambda_memory_mb)
    functions[CONTAINER] = ContainerLambda(
        "container",
        ContainerLambdaArgs(
            **fields_of(base),
            model_dir=config.model_dir,
            force_delete_repository=config.force_destroy_bucket,
        ),
    )
if HTTP in config.variants:
    functions[HTTP] = InferenceLambda("http", function_args(HTTP, config.lambda_memory_mb))
if MANAGED in config.variants:
    managed = config.managed
    base = function_args(MANAGED, managed.memory_mb)
    functions[MANAGED] = ManagedLambda(
        "managed",
        ManagedLambdaArgs(
            **fields_of(base) | {"architecture": managed.architecture},
            managed=managed,
            # Managed Instances run Python 3.13+: the same code, its own cp313 wheels.
            package=build_package(managed.architecture, python_version="3.13"),
            region=region.region,
        ),
    )
if SAGEMAKER in config.variants:
    endpoint = SageMakerEndpoint(
        "sagemaker",
        SageMakerEndpointArgs(
            model_dir=config.model_dir,
            artifact_bucket=storage.bucket_name,
            artifact_bucket_arn=storage.bucket_arn,
            region=region.region,
            account_id=identity.account_id,
            proxy=function_args(SAGEMAKER, config.proxy_memory_mb),
            instance_type=config.sagemaker_instance_type,
            instance_count=config.sagemaker_instance_count,
            serverless_memory_mb=config.sagemaker_serverless_memory_mb,
            serverless_max_concurrency=config.sagemaker_serverless_max_concurrency,
            max_instance_count=config.sagemaker_max_instance_count,
            target_invocations_per_instance=config.sagemaker_target_invocations_per_instance,
            log_retention_days=config.log_retention_days,
            force_delete_repository=config.force_destroy_bucket,
            tags=config.tags,
        ),
    )
    functions[SAGEMAKER] = endpoint.proxy

# One notification per variant prefix; S3 validates each target when the
# configuration is written, so it must wait for every invoke permission.
aws.s3.BucketNotification(
    "uploads",
    bucket=storage.bucket_name,
    lambda_functions=[
        {
            "lambda_function_arn": fn.target_arn,
            "events": ["s3:ObjectCreated:*"],
            "filter_prefix": fn.upload_prefix,
            "filter_suffix": settings.UPLOAD_SUFFIX,
        }
        for fn in functions.values()
        if fn.upload_prefix
    ],
    opts=pulumi.ResourceOptions(
        depends_on=[fn.invoke_permission for fn in functions.values() if fn.invoke_permission]
    ),
)

pulumi.export(out.REGION, region.region)
pulumi.export(out.BUCKET_NAME, storage.bucket_name)
pulumi.export(out.TABLE_NAME, storage.table_name)
pulumi.export(out.FAILURE_QUEUE_URL, storage.failure_queue_url)
pulumi.export(out.MODEL_S3_URI, storage.model_s3_uri)
pulumi.export(out.MODEL_SHA256, storage.model_sha256)
pulumi.export(out.VARIANTS, [v for v in settings.VARIANTS if v in functions])
pulumi.export(out.ARCHITECTURE, config.architecture)
pulumi.export(out.MEMORY_MB, {v: fn.memory_size_mb for v, fn in functions.items()})
pulumi.export(out.TIMEOUT_SECONDS, config.timeout_seconds)
pulumi.export(
    out.UPLOAD_PREFIXES, {v: fn.upload_prefix for v, fn in functions.items() if fn.upload_prefix}
)
pulumi.export(out.PROVISIONED_CONCURRENCY, config.provisioned_concurrency)
pulumi.export(out.TARGET_ARNS, {v: fn.target_arn for v, fn in functions.items()})
pulumi.export(out.FUNCTION_NAMES, {v: fn.function_name for v, fn in functions.items()})
pulumi.export(out.LOG_GROUP_NAMES, {v: fn.log_group_name for v, fn in functions.items()})
if HTTP in functions:
    pulumi.export(out.FUNCTION_URLS, {HTTP: functions[HTTP].function_url})
if SNAPSTART in functions:
    pulumi.export(out.SNAPSTART_ALIAS_ARN, functions[SNAPSTART].target_arn)
    pulumi.export(out.SNAPSTART_ALIAS_NAME, SnapStartLambda.alias_name)
if MANAGED in functions:
    managed_fn = functions[MANAGED]
    assert isinstance(managed_fn, ManagedLambda)
    pulumi.export(out.MANAGED_SETUP, managed_fn.setup)
if endpoint is not None:
    serverless = bool(config.sagemaker_serverless_memory_mb)
    pulumi.export(out.ENDPOINT_NAME, endpoint.endpoint_name)
    pulumi.export(
        out.SAGEMAKER_INSTANCE_TYPE,
        out.SERVERLESS if serverless else config.sagemaker_instance_type,
    )
    pulumi.export(out.SAGEMAKER_INSTANCE_COUNT, config.sagemaker_instance_count)
    pulumi.export(out.SAGEMAKER_SERVERLESS_MEMORY_MB, config.sagemaker_serverless_memory_mb)
    pulumi.export(
        out.SAGEMAKER_SERVERLESS_MAX_CONCURRENCY, config.sagemaker_serverless_max_concurrency
    )
    pulumi.export(out.ENDPOINT_LOG_GROUP_NAME, endpoint.log_group_name)
