"""ManagedLambda: the handler on Lambda Managed Instances (EC2 capacity in your VPC).

Resources, in the order they must exist (and, reversed, the order ``pulumi destroy``
removes them, which Pulumi derives from these dependencies):

1. the network (``ManagedNetwork``, unless you pass your own subnets and security groups);
2. an operator role Lambda assumes to run instances (AWS-managed policy
   ``AWSLambdaManagedEC2ResourceOperator``);
3. the capacity provider (instance type, one architecture, MaxVCpuCount, automatic scaling),
   created after the role's policy and the NAT route, so its instances can register, and
   deleted before them, so nothing it still runs loses its permissions or egress;
4. the function on python3.13 (its own cp313 package), published to ``$LATEST.PUBLISHED``,
   which is what S3's unqualified invocations run; publishing launches three instances and
   three execution environments before the version is ACTIVE;
5. its scaling config (minimum and maximum execution environments) on ``$LATEST.PUBLISHED``.

Deleting the function first is what stops the instances: a capacity provider keeps its
instances while a function version uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from audio_inference.settings import (
    ENV_MODEL_THREADS,
    HANDLERS,
    MANAGED,
    MANAGED_MEMORY_MB,
    MANAGED_RUNTIME,
)

from . import _iam
from ._packaging import LambdaPackage
from .inference_lambda import TYPE_PREFIX, Entry, InferenceLambda, InferenceLambdaArgs
from .managed_settings import ManagedSettings
from .network import ManagedNetwork

OPERATOR_POLICY_ARN = "arn:aws:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator"
"""AWS managed policy reference: AWSLambdaManagedEC2ResourceOperator (v1, 2025-11-30)."""
LATEST_PUBLISHED = "$LATEST.PUBLISHED"
SCALING_MODE = "Auto"
"""Lambda scales instances on CPU use between the three it starts with and MaxVCpuCount."""


@dataclass(frozen=True, kw_only=True)
class ManagedLambdaArgs(InferenceLambdaArgs):
    """InferenceLambda's inputs plus the capacity provider's settings and the cp313 package."""

    managed: ManagedSettings
    package: LambdaPackage
    """The function package built for Python 3.13 (Managed Instances run 3.13 and newer)."""
    region: pulumi.Input[str]


class ManagedLambda(InferenceLambda):
    """The shared handler on a capacity provider, several requests per environment."""

    TYPE = f"{TYPE_PREFIX}:ManagedLambda"
    PUBLISH_TIMEOUT = "30m"
    """Publishing launches three instances and three environments before the version is
    ACTIVE; the provider's default 10 minutes is too tight for that."""

    capacity_provider_arn: pulumi.Output[str]
    """The capacity provider the function's versions run on."""
    setup: dict[str, pulumi.Input[Any]]
    """What the benchmark drivers need to describe the variant (the ``managed`` output)."""

    def __init__(
        self, name: str, args: ManagedLambdaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self.managed = args.managed
        super().__init__(name, args, opts)

    def prepare(self, name: str) -> None:
        """Network, operator role and capacity provider: everything the function runs on."""
        m, args = self.managed, self.args
        assert isinstance(args, ManagedLambdaArgs)
        child = pulumi.ResourceOptions(parent=self)
        waits: list[pulumi.Resource] = []
        if m.creates_network:
            network = ManagedNetwork(
                f"{name}-network", args.region, args.tags, m.instance_type, opts=child
            )
            subnets: list[pulumi.Input[str]] = list(network.subnet_ids)
            groups: list[pulumi.Input[str]] = [network.security_group_id]
            waits += network.ready
        else:
            subnets, groups = list(m.subnet_ids), list(m.security_group_ids)
        operator = aws.iam.Role(
            f"{name}-operator",
            assume_role_policy=_iam.assume_role_policy("lambda.amazonaws.com"),
            tags=args.tags,
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-operator-policy",
            role=operator.name,
            policy_arn=OPERATOR_POLICY_ARN,
            opts=child,
        )
        # The generated TypedDicts mark every field of these blocks required, but the
        # provider's schema has them optional (allowed and excluded types are exclusive;
        # scaling policies only for Manual mode): pass plain dicts, as its own examples do.
        requirements: Any = [
            {"architectures": [m.architecture], "allowed_instance_types": [m.instance_type]}
        ]
        scaling: Any = [{"max_vcpu_count": m.max_vcpus, "scaling_mode": SCALING_MODE}]
        # Auto-named (``<name>-capacity-<hex>``): a new instance type or VPC replaces the
        # provider, and Pulumi creates the new one before deleting the old, which a fixed
        # name would collide with; the function then moves to the new provider's ARN.
        provider = aws.lambda_.CapacityProvider(
            f"{name}-capacity",
            vpc_config={"subnet_ids": subnets, "security_group_ids": groups},
            permissions_config={"capacity_provider_operator_role_arn": operator.arn},
            instance_requirements=requirements,
            capacity_provider_scaling_configs=scaling,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment, *waits]),
        )
        self.capacity_provider_arn = provider.arn
        self.setup = {
            "instance_type": m.instance_type,
            "architecture": m.architecture,
            **m.recorded(),
            "capacity_provider_arn": provider.arn,
        }

    def code_options(self, name: str, args: InferenceLambdaArgs) -> dict[str, Any]:
        """The cp313 package, uploaded beside the shared one, on python3.13."""
        assert isinstance(args, ManagedLambdaArgs)
        package = args.package
        code = aws.s3.BucketObjectv2(
            f"{name}-code",
            bucket=args.code_bucket,
            key=f"code/function-{package.architecture}-py313-{package.sha256[:16]}.zip",
            source=pulumi.FileAsset(str(package.path)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return {
            "runtime": MANAGED_RUNTIME,
            "handler": HANDLERS[MANAGED],
            "s3_bucket": args.code_bucket,
            "s3_key": code.key,
            "code_sha256": package.source_code_hash,
        }

    def extra_variables(self) -> dict[str, str]:
        """onnxruntime threads per request process, so processes x threads <= vCPUs."""
        return {ENV_MODEL_THREADS: str(self.managed.threads)}

    def publish_options(self) -> dict[str, Any]:
        """Publish to $LATEST.PUBLISHED on the capacity provider."""
        m = self.managed
        return {
            "publish": True,
            "publish_to": "LATEST_PUBLISHED",
            "capacity_provider_config": {
                "lambda_managed_instances_capacity_provider_config": {
                    "capacity_provider_arn": self.capacity_provider_arn,
                    "execution_environment_memory_gib_per_vcpu": float(m.memory_gib_per_vcpu),
                    "per_execution_environment_max_concurrency": m.max_concurrency,
                }
            },
        }

    def entry(self, name: str, function: aws.lambda_.Function) -> Entry:
        """The unqualified ARN (it runs $LATEST.PUBLISHED), after the scaling config."""
        scaling = aws.lambda_.FunctionScalingConfig(
            f"{name}-scaling",
            function_name=function.name,
            qualifier=LATEST_PUBLISHED,
            function_scaling_config={
                "min_execution_environments": self.managed.min_environments,
                "max_execution_environments": self.managed.max_environments,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        return Entry(function.arn, None, scaling, runs=LATEST_PUBLISHED)

    @staticmethod
    def validate(args: InferenceLambdaArgs) -> None:
        """Managed Instances' own limits (InferenceLambda's memory range is standard Lambda's)."""
        if args.variant != MANAGED or not isinstance(args, ManagedLambdaArgs):
            raise ValueError("ManagedLambda runs the managed variant with ManagedLambdaArgs")
        low, high = MANAGED_MEMORY_MB
        if not low <= args.memory_size_mb <= high:
            raise ValueError(f"memory_size_mb={args.memory_size_mb} must be {low}-{high}")
        if args.architecture != args.managed.architecture:
            raise ValueError(
                f"architecture={args.architecture!r} must be the capacity provider's "
                f"({args.managed.architecture}, from {args.managed.instance_type})"
            )
        if args.package.python_version != MANAGED_RUNTIME.removeprefix("python"):
            raise ValueError("the managed function needs the package built for Python 3.13")
        if args.provisioned_concurrency:
            raise ValueError("Managed Instances have no provisioned concurrency (no cold starts)")
        if args.model_s3_uri is None or not args.model_object_arns:
            raise ValueError("managed needs model_s3_uri and model_object_arns")
