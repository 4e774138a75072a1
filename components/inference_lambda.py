"""InferenceLambda: one variant's function, role, log group, S3 permission and failure destination."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from audio_inference.endpoint import minimum_timeout_seconds
from audio_inference.settings import (
    ARCHITECTURES,
    CONTAINER,
    DEFAULT_ARCHITECTURE,
    DEFAULT_LAMBDA_MEMORY_MB,
    DEFAULT_MAX_OBJECT_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    ENV_ENDPOINT_NAME,
    ENV_FAILURE_QUEUE_URL,
    ENV_FUNCTION_TIMEOUT,
    ENV_MAX_AUDIO_SECONDS,
    ENV_MAX_OBJECT_BYTES,
    ENV_MODEL_S3_URI,
    ENV_PREDICTIONS_TABLE,
    ENV_VARIANT,
    HANDLERS,
    LAMBDA_MEMORY_MB,
    LAMBDA_TIMEOUT_SECONDS,
    SAGEMAKER,
    UPLOAD_VARIANTS,
    VARIANTS,
    upload_prefix,
)

from . import _iam

TYPE_PREFIX = "audio-inference-kit:index"
LIVE = "live"
"""The alias triggers invoke when a function publishes versions (SnapStart, provisioned)."""


@dataclass(frozen=True, kw_only=True)
class InferenceLambdaArgs:
    """Inputs of an InferenceLambda (and of a SnapStartLambda)."""

    variant: str
    """Variant name: picks the handler, the upload prefix and the VARIANT value."""
    code_bucket: pulumi.Input[str]
    """Bucket holding the function archive built by components._packaging."""
    code_key: pulumi.Input[str]
    """Key of the function archive."""
    code_sha256: str
    """Base64 SHA-256 of the archive (LambdaPackage.source_code_hash), compared with what
    Lambda reports as CodeSha256, so an out-of-band code change shows as a diff too."""
    bucket_name: pulumi.Input[str]
    """Upload bucket: the function may read its own prefix of it."""
    bucket_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    """Predictions table: the function may PutItem into it."""
    table_arn: pulumi.Input[str]
    failure_queue_arn: pulumi.Input[str]
    """SQS queue that keeps events whose invocation failed after Lambda's retries."""
    failure_queue_url: pulumi.Input[str]
    """The same queue's URL: the handler keeps malformed event records there."""
    account_id: pulumi.Input[str]
    """Account of the bucket, so only this account's bucket may invoke the function."""
    model_s3_uri: pulumi.Input[str] | None = None
    """s3:// URI of model.onnx (model-in-function variants)."""
    model_object_arns: list[pulumi.Input[str]] = field(default_factory=list)
    """ARNs of model.onnx and model.json, readable by the function."""
    endpoint_name: pulumi.Input[str] | None = None
    """SageMaker endpoint the proxy calls (sagemaker variant only)."""
    endpoint_arn: pulumi.Input[str] | None = None
    memory_size_mb: int = DEFAULT_LAMBDA_MEMORY_MB
    """Within settings.LAMBDA_MEMORY_MB (MANAGED_MEMORY_MB on Managed Instances); on standard
    Lambda 1769 MB buys one vCPU."""
    architecture: str = DEFAULT_ARCHITECTURE
    """x86_64 or arm64 (the archive must match)."""
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    ephemeral_storage_mb: int = 512
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    max_audio_seconds: int = 30
    log_retention_days: int = 7
    maximum_retry_attempts: int = 2
    """Lambda's async retries before the event goes to the failure queue."""
    provisioned_concurrency: int = 0
    """Environments kept initialized (billed while configured); > 0 publishes versions and
    puts them behind alias ``live``, which every trigger then invokes."""
    function_url: bool = False
    """Add a function URL with AWS_IAM auth (the http variant's entry)."""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """What S3 invokes: the function itself, or an alias of a published version."""

    target_arn: pulumi.Output[str]
    qualifier: str | None
    resource: pulumi.Resource
    runs: str | None = None
    """The version an invocation of ``target_arn`` runs, when it is not ``qualifier``
    (Managed Instances: the unqualified ARN runs ``$LATEST.PUBLISHED``)."""


def live_alias(parent: pulumi.Resource, name: str, function: aws.lambda_.Function) -> Entry:
    """Alias ``live`` on the version this deployment published."""
    alias = aws.lambda_.Alias(
        f"{name}-alias",
        name=LIVE,
        function_name=function.name,
        function_version=function.version,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return Entry(alias.arn, LIVE, alias)


class InferenceLambda(pulumi.ComponentResource):
    """A standard Lambda running one variant's handler from the shared function package.

    Subclasses change how the function is published and invoked by overriding
    ``publish_options`` and ``entry`` (see SnapStartLambda).
    """

    TYPE = f"{TYPE_PREFIX}:InferenceLambda"
    PUBLISH_TIMEOUT: str | None = None
    """How long creating or updating the function may take, when longer than the provider's
    10 minutes (Managed Instances start instances before a version is active)."""

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
    upload_prefix: str | None
    """Uploads under this prefix trigger the function (None: an HTTP-only variant)."""
    function_url: pulumi.Output[str] | None
    """The function URL (AWS_IAM auth), for the http variant."""
    memory_size_mb: int
    """Configured memory (exported per variant, so benchmarks price what is deployed)."""

    def __init__(
        self, name: str, args: InferenceLambdaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self.validate(args)
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.args = args
        self.prepare(name)
        uploads = args.variant in UPLOAD_VARIANTS
        self.upload_prefix = upload_prefix(args.variant) if uploads else None
        self.memory_size_mb = args.memory_size_mb

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
            + (_iam.s3_read(args.bucket_arn, self.upload_prefix) if self.upload_prefix else [])
            + _iam.dynamodb_put(args.table_arn)
            + _iam.sqs_send(args.failure_queue_arn)
        )
        if args.model_object_arns:
            statements += _iam.s3_read_objects(args.model_object_arns)
        if args.endpoint_arn is not None:
            statements += _iam.sagemaker_invoke(args.endpoint_arn)
        document = _iam.policy_document(statements)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=document, opts=child)

        variables: dict[str, pulumi.Input[str]] = {
            ENV_PREDICTIONS_TABLE: args.table_name,
            ENV_VARIANT: args.variant,
            ENV_MAX_OBJECT_BYTES: str(args.max_object_bytes),
            ENV_MAX_AUDIO_SECONDS: str(args.max_audio_seconds),
            ENV_FUNCTION_TIMEOUT: str(args.timeout_seconds),
            ENV_FAILURE_QUEUE_URL: args.failure_queue_url,
        }
        if args.model_s3_uri is not None:
            variables[ENV_MODEL_S3_URI] = args.model_s3_uri
        if args.endpoint_name is not None:
            variables[ENV_ENDPOINT_NAME] = args.endpoint_name
        variables.update(self.extra_variables())

        function = aws.lambda_.Function(
            f"{name}-fn",
            architectures=[args.architecture],
            role=role.arn,
            **self.code_options(name, args),
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
            tags=args.tags,
            **self.publish_options(),
            # The role's policy must exist before the first (init) run reads S3.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=self.ready_before_publish(name, policy, document),
                custom_timeouts=pulumi.CustomTimeouts(
                    create=self.PUBLISH_TIMEOUT, update=self.PUBLISH_TIMEOUT
                )
                if self.PUBLISH_TIMEOUT
                else None,
            ),
        )
        entry = self.entry(name, function)

        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-on-failure",
            function_name=function.name,
            qualifier=entry.runs or entry.qualifier,
            maximum_retry_attempts=args.maximum_retry_attempts,
            destination_config={"on_failure": {"destination": args.failure_queue_arn}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[entry.resource]),
        )
        self.invoke_permission: aws.lambda_.Permission | None = None
        """Permission S3 needs; the bucket notification must depend on it."""
        if self.upload_prefix:
            self.invoke_permission = aws.lambda_.Permission(
                f"{name}-s3-invoke",
                action="lambda:InvokeFunction",
                function=function.name,
                principal="s3.amazonaws.com",
                source_arn=args.bucket_arn,
                source_account=args.account_id,
                qualifier=entry.qualifier,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry.resource]),
            )
        self.function_url = None
        if args.function_url:
            url = aws.lambda_.FunctionUrl(
                f"{name}-url",
                function_name=function.name,
                qualifier=entry.qualifier,
                authorization_type="AWS_IAM",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry.resource]),
            )
            self.function_url = url.function_url

        self.target_arn = entry.target_arn
        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.function = function
        self.register_outputs(
            {
                "function_name": function.name,
                "function_arn": function.arn,
                "target_arn": self.target_arn,
                "role_arn": role.arn,
                "log_group_name": log_group.name,
                "upload_prefix": self.upload_prefix,
            }
        )

    def prepare(self, name: str) -> None:
        """Resources the function needs before it exists (a subclass's; none here)."""

    def code_options(self, name: str, args: InferenceLambdaArgs) -> dict[str, Any]:
        """Where the code comes from: the shared zip in S3, on the python3.12 runtime."""
        return {
            "runtime": "python3.12",
            "handler": HANDLERS[args.variant],
            "s3_bucket": args.code_bucket,
            "s3_key": args.code_key,
            "code_sha256": args.code_sha256,
        }

    def extra_variables(self) -> dict[str, str]:
        """Environment variables a subclass adds (none here)."""
        return {}

    def publish_options(self) -> dict[str, Any]:
        """Publish versions only for provisioned concurrency (it needs a version or alias)."""
        return {"publish": True} if self.args.provisioned_concurrency else {}

    def ready_before_publish(
        self, name: str, policy: aws.iam.RolePolicy, document: pulumi.Output[str]
    ) -> list[pulumi.Resource]:
        """What the function waits for; a standard function's init runs at the first upload."""
        return [policy]

    def entry(self, name: str, function: aws.lambda_.Function) -> Entry:
        """What triggers invoke: ``$LATEST``, or alias ``live`` with provisioned concurrency."""
        if not self.args.provisioned_concurrency:
            return Entry(function.arn, None, function)
        entry = live_alias(self, name, function)
        config = aws.lambda_.ProvisionedConcurrencyConfig(
            f"{name}-provisioned",
            function_name=function.name,
            qualifier=LIVE,
            provisioned_concurrent_executions=self.args.provisioned_concurrency,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[entry.resource]),
        )
        return Entry(entry.target_arn, LIVE, config)

    @staticmethod
    def validate(args: InferenceLambdaArgs) -> None:
        """Refuse impossible settings before any resource is declared."""
        if args.variant not in VARIANTS:
            raise ValueError(f"variant={args.variant!r} is not one of {', '.join(VARIANTS)}")
        low, high = LAMBDA_MEMORY_MB
        if not low <= args.memory_size_mb <= high:
            raise ValueError(
                f"memory_size_mb={args.memory_size_mb} must be {low}-{high} (Lambda's range)"
            )
        if args.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture={args.architecture!r} must be {' or '.join(ARCHITECTURES)}"
            )
        low, high = LAMBDA_TIMEOUT_SECONDS
        if not low <= args.timeout_seconds <= high:
            raise ValueError(f"timeout_seconds={args.timeout_seconds} must be {low}-{high}")
        if args.variant == SAGEMAKER:
            if args.endpoint_name is None or args.endpoint_arn is None:
                raise ValueError("the sagemaker proxy needs endpoint_name and endpoint_arn")
            if args.timeout_seconds < minimum_timeout_seconds():
                raise ValueError(
                    f"timeout_seconds={args.timeout_seconds} is too short for the sagemaker proxy: "
                    f"one endpoint call may take {minimum_timeout_seconds()} s "
                    "(60 s for the container, room for a serverless cold start)"
                )
        elif args.variant != CONTAINER and (
            args.model_s3_uri is None or not args.model_object_arns
        ):
            raise ValueError(f"{args.variant} needs model_s3_uri and model_object_arns")
        if args.provisioned_concurrency < 0:
            raise ValueError(f"provisioned_concurrency={args.provisioned_concurrency} must be >= 0")
