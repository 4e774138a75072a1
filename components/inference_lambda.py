"""InferenceLambda: one variant's function, role, log group, S3 permission and failure destination."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from audio_inference.settings import (
    ENV_ENDPOINT_NAME,
    ENV_MAX_AUDIO_SECONDS,
    ENV_MAX_OBJECT_BYTES,
    ENV_MODEL_S3_URI,
    ENV_PREDICTIONS_TABLE,
    ENV_PREDICTOR,
    HANDLERS,
    SAGEMAKER,
    VARIANTS,
    upload_prefix,
)

from . import _iam

TYPE_PREFIX = "audio-inference-kit:index"


@dataclass(frozen=True, kw_only=True)
class InferenceLambdaArgs:
    """Inputs of an InferenceLambda (and of a SnapStartLambda)."""

    predictor: str
    """Variant name: picks the handler, the upload prefix and the PREDICTOR value."""
    code_bucket: pulumi.Input[str]
    """Bucket holding the function archive built by components._packaging."""
    code_key: pulumi.Input[str]
    """Key of the function archive."""
    code_sha256: str
    """Base64 SHA-256 of the archive (LambdaPackage.source_code_hash); a change redeploys."""
    bucket_name: pulumi.Input[str]
    """Upload bucket: the function may read its own prefix of it."""
    bucket_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    """Predictions table: the function may PutItem into it."""
    table_arn: pulumi.Input[str]
    failure_queue_arn: pulumi.Input[str]
    """SQS queue that keeps events whose invocation failed after Lambda's retries."""
    account_id: pulumi.Input[str]
    """Account of the bucket, so only this account's bucket may invoke the function."""
    model_s3_uri: pulumi.Input[str] | None = None
    """s3:// URI of model.onnx (model-in-function variants)."""
    model_object_arns: list[pulumi.Input[str]] = field(default_factory=list)
    """ARNs of model.onnx and model.json, readable by the function."""
    endpoint_name: pulumi.Input[str] | None = None
    """SageMaker endpoint the proxy calls (sagemaker variant only)."""
    endpoint_arn: pulumi.Input[str] | None = None
    memory_size_mb: int = 4096
    """128-10240; 1769 MB buys one vCPU."""
    architecture: str = "x86_64"
    """x86_64 or arm64 (the archive must match)."""
    timeout_seconds: int = 90
    ephemeral_storage_mb: int = 512
    max_object_bytes: int = 6 * 1024 * 1024
    max_audio_seconds: int = 30
    log_retention_days: int = 7
    maximum_retry_attempts: int = 2
    """Lambda's async retries before the event goes to the failure queue."""
    tags: dict[str, str] = field(default_factory=dict)


class InferenceLambda(pulumi.ComponentResource):
    """A standard Lambda running one variant's handler from the shared function package."""

    TYPE = f"{TYPE_PREFIX}:InferenceLambda"
    alias_name: str | None = None  # SnapStartLambda sets "live"

    function_name: pulumi.Output[str]
    """Name of the Lambda function."""
    function_arn: pulumi.Output[str]
    """Unqualified ARN of the function."""
    target_arn: pulumi.Output[str]
    """ARN S3 must invoke: the function, or the alias for SnapStart."""
    role_arn: pulumi.Output[str]
    """Execution role ARN."""
    log_group_name: pulumi.Output[str]
    """Log group holding the function's JSON logs and REPORT lines."""
    upload_prefix: str
    """Uploads under this prefix trigger the function."""

    def __init__(
        self, name: str, args: InferenceLambdaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self.validate(args)
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.upload_prefix = upload_prefix(args.predictor)

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=_iam.assume_role_policy("lambda.amazonaws.com"),
            tags=args.tags,
            opts=child,
        )
        statements = (
            _iam.logs_write(log_group.arn)
            + _iam.s3_read(args.bucket_arn, self.upload_prefix)
            + _iam.dynamodb_put(args.table_arn)
            + _iam.sqs_send(args.failure_queue_arn)
        )
        if args.model_object_arns:
            statements += _iam.s3_read_objects(args.model_object_arns)
        if args.endpoint_arn is not None:
            statements += _iam.sagemaker_invoke(args.endpoint_arn)
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=_iam.policy_document(statements), opts=child
        )

        variables: dict[str, pulumi.Input[str]] = {
            ENV_PREDICTIONS_TABLE: args.table_name,
            ENV_PREDICTOR: args.predictor,
            ENV_MAX_OBJECT_BYTES: str(args.max_object_bytes),
            ENV_MAX_AUDIO_SECONDS: str(args.max_audio_seconds),
        }
        if args.model_s3_uri is not None:
            variables[ENV_MODEL_S3_URI] = args.model_s3_uri
        if args.endpoint_name is not None:
            variables[ENV_ENDPOINT_NAME] = args.endpoint_name

        function = aws.lambda_.Function(
            f"{name}-fn",
            runtime="python3.12",
            architectures=[args.architecture],
            handler=HANDLERS[args.predictor],
            role=role.arn,
            s3_bucket=args.code_bucket,
            s3_key=args.code_key,
            source_code_hash=args.code_sha256,
            memory_size=args.memory_size_mb,
            timeout=args.timeout_seconds,
            ephemeral_storage={"size": args.ephemeral_storage_mb},
            environment={"variables": variables},
            logging_config={
                "log_format": "JSON",
                "log_group": log_group.name,
                "application_log_level": "INFO",
                "system_log_level": "INFO",
            },
            publish=self.alias_name is not None,
            snap_start={"apply_on": "PublishedVersions"} if self.alias_name else None,
            tags=args.tags,
            # The role's policy must exist before the first (init) run reads S3.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

        qualifier: str | None = None
        self.target_arn = function.arn
        depends: list[pulumi.Resource] = [function]
        if self.alias_name:
            alias = aws.lambda_.Alias(
                f"{name}-alias",
                name=self.alias_name,
                function_name=function.name,
                function_version=function.version,
                opts=child,
            )
            qualifier = self.alias_name
            self.target_arn = alias.arn
            self.alias_arn = alias.arn
            depends = [alias]

        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-on-failure",
            function_name=function.name,
            qualifier=qualifier,
            maximum_retry_attempts=args.maximum_retry_attempts,
            destination_config={"on_failure": {"destination": args.failure_queue_arn}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        self.invoke_permission = aws.lambda_.Permission(
            f"{name}-s3-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="s3.amazonaws.com",
            source_arn=args.bucket_arn,
            source_account=args.account_id,
            qualifier=qualifier,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        """Permission S3 needs; the bucket notification must depend on it."""

        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.function = function
        outputs = {
            "function_name": function.name,
            "function_arn": function.arn,
            "target_arn": self.target_arn,
            "role_arn": role.arn,
            "log_group_name": log_group.name,
            "upload_prefix": self.upload_prefix,
        }
        self.register_outputs(outputs)

    @staticmethod
    def validate(args: InferenceLambdaArgs) -> None:
        """Refuse impossible settings before any resource is declared."""
        if args.predictor not in VARIANTS:
            raise ValueError(f"predictor={args.predictor!r} is not one of {', '.join(VARIANTS)}")
        if not 128 <= args.memory_size_mb <= 10240:
            raise ValueError(
                f"memory_size_mb={args.memory_size_mb} must be 128-10240 (Lambda's range)"
            )
        if args.architecture not in ("x86_64", "arm64"):
            raise ValueError(f"architecture={args.architecture!r} must be x86_64 or arm64")
        if not 1 <= args.timeout_seconds <= 900:
            raise ValueError(f"timeout_seconds={args.timeout_seconds} must be 1-900")
        if args.predictor == SAGEMAKER:
            if args.endpoint_name is None or args.endpoint_arn is None:
                raise ValueError("the sagemaker proxy needs endpoint_name and endpoint_arn")
        elif args.model_s3_uri is None or not args.model_object_arns:
            raise ValueError(f"{args.predictor} needs model_s3_uri and model_object_arns")
