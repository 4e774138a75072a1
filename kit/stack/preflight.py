"""Preflight: what AWS would refuse, found before ``pulumi up``.

Runs the Pulumi program under the SDK's mocks with your stack settings (no CLI,
no account), then checks every resource's inputs against the API models AWS's
own SDKs validate with (botocore's service models in this environment: enums
such as runtimes and instance types, numeric ranges, string lengths and
patterns, required fields), plus the documented rules those models do not
carry (standard Lambda's memory and timeout, serverless memory steps, log
retention values), and lints every IAM document with parliament. It prints the
resources, the stack's fixed monthly cost and each finding with the setting
that causes it. ``pulumi preview`` checks little of this.

Exit codes: 0 nothing found, 1 AWS would refuse something, 2 unreadable settings.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from audio_inference.settings import MANAGED, SAGEMAKER, SNAPSTART, instances_for

from .rules import kit_rules

# Pulumi resource type -> (service, operation whose input the resource's inputs become).
OPERATIONS = {
    "aws:lambda/function:Function": ("lambda", "CreateFunction"),
    "aws:lambda/alias:Alias": ("lambda", "CreateAlias"),
    "aws:lambda/permission:Permission": ("lambda", "AddPermission"),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (
        "lambda",
        "PutFunctionEventInvokeConfig",
    ),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "CreateLogGroup"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": (
        "sagemaker",
        "CreateEndpointConfig",
    ),
    "aws:sagemaker/endpoint:Endpoint": ("sagemaker", "CreateEndpoint"),
    "aws:sagemaker/model:Model": ("sagemaker", "CreateModel"),
    "aws:dynamodb/table:Table": ("dynamodb", "CreateTable"),
    "aws:ecr/repository:Repository": ("ecr", "CreateRepository"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("ecr", "PutLifecyclePolicy"),
    "aws:iam/role:Role": ("iam", "CreateRole"),
    "aws:appautoscaling/target:Target": ("application-autoscaling", "RegisterScalableTarget"),
    "aws:appautoscaling/policy:Policy": ("application-autoscaling", "PutScalingPolicy"),
    "aws:lambda/capacityProvider:CapacityProvider": ("lambda", "CreateCapacityProvider"),
    "aws:lambda/functionScalingConfig:FunctionScalingConfig": (
        "lambda",
        "PutFunctionScalingConfig",
    ),
}
# Where the provider's argument name differs from the API member's (after case folding).
RENAMES = {
    "aws:lambda/function:Function": {"name": "FunctionName"},
    "aws:lambda/permission:Permission": {"function": "FunctionName"},
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": {
        "functionName": "FunctionName"
    },
    "aws:cloudwatch/logGroup:LogGroup": {"name": "logGroupName"},
    "aws:sagemaker/endpoint:Endpoint": {"name": "EndpointName"},
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": {"name": "EndpointConfigName"},
    "aws:sagemaker/model:Model": {"name": "ModelName"},
    "aws:dynamodb/table:Table": {"name": "TableName"},
    "aws:ecr/repository:Repository": {"name": "repositoryName"},
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": {
        "repository": "repositoryName",
        "policy": "lifecyclePolicyText",
    },
    "aws:iam/role:Role": {"name": "RoleName", "assumeRolePolicy": "AssumeRolePolicyDocument"},
    "aws:appautoscaling/policy:Policy": {"name": "PolicyName"},
    "aws:lambda/capacityProvider:CapacityProvider": {
        "name": "CapacityProviderName",
        "capacityProviderScalingConfigs": "CapacityProviderScalingConfig",
    },
}
# The stack setting behind an API member, to say what to change.
SETTINGS = {
    "MemorySize": "lambdaMemoryMb (proxyMemoryMb for the proxy, managedMemoryMb for managed)",
    "Timeout": "timeoutSeconds",
    "Size": "ephemeralStorageMb",
    "Architectures": "architecture",
    "InstanceType": "sagemakerInstanceType",
    "InitialInstanceCount": "sagemakerInstanceCount",
    "MemorySizeInMB": "sagemakerServerlessMemoryMb",
    "MaxConcurrency": "sagemakerServerlessMaxConcurrency",
    "MaxCapacity": "sagemakerMaxInstanceCount",
    "MinCapacity": "sagemakerInstanceCount",
    "TargetValue": "sagemakerTargetInvocationsPerInstance",
    "retentionInDays": "logRetentionDays",
    "MaximumRetryAttempts": "(fixed by the kit)",
    "MaxVCpuCount": "managedMaxVcpus",
    "AllowedInstanceTypes": "managedInstanceType",
    "PerExecutionEnvironmentMaxConcurrency": "managedMaxConcurrency",
    "ExecutionEnvironmentMemoryGiBPerVCpu": "managedMemoryGibPerVcpu",
    "MinExecutionEnvironments": "managedMinEnvironments",
    "MaxExecutionEnvironments": "managedMaxEnvironments",
    "SubnetIds": "vpcSubnetIds",
    "SecurityGroupIds": "vpcSecurityGroupIds",
}


@dataclass
class Finding:
    """One thing AWS would refuse."""

    resource: str
    field: str
    problem: str
    setting: str
    source: str


def _fold(name: str) -> str:
    return name.replace("_", "").lower()


def _member(shape: Any, key: str, renames: dict[str, str]) -> tuple[str, Any] | None:
    wanted = _fold(renames.get(key, key))
    for name, member in shape.members.items():
        if _fold(name) == wanted:
            return name, member
    return None


def check_value(
    shape: Any, value: Any, path: str, renames: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """Check ``value`` against a botocore shape; return (path, problem) pairs."""
    problems: list[tuple[str, str]] = []
    kind = shape.type_name
    if value is None:
        return problems
    if kind == "structure" and isinstance(value, list):
        # the provider writes a one-block configuration (MaxItems 1) as a list of one
        if len(value) > 1:
            return [(path, f"has {len(value)} blocks; the API takes one")]
        return check_value(shape, value[0], path, renames) if value else problems
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            found = _member(shape, key, renames or {})
            if found is not None:
                problems += check_value(found[1], item, f"{path}.{found[0]}" if path else found[0])
        if path:  # nested structures are mapped whole, so their required members must be there
            given = {_fold(str((renames or {}).get(k, k))) for k in value}
            for required in shape.required_members:
                if _fold(required) not in given:
                    problems.append((f"{path}.{required}", "is required but not set"))
        return problems
    if kind == "list" and isinstance(value, list):
        meta = shape.metadata
        if "min" in meta and len(value) < meta["min"]:
            problems.append((path, f"has {len(value)} entries, fewer than {meta['min']}"))
        if "max" in meta and len(value) > meta["max"]:
            problems.append((path, f"has {len(value)} entries, more than {meta['max']}"))
        for i, item in enumerate(value):
            problems += check_value(shape.member, item, f"{path}[{i}]")
        return problems
    if (
        kind in ("integer", "long", "double", "float")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        meta = shape.metadata
        if "min" in meta and value < meta["min"] or "max" in meta and value > meta["max"]:
            problems.append(
                (path, f"{value} is outside {meta.get('min', '-inf')}-{meta.get('max', 'inf')}")
            )
        return problems
    if kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(
                (path, f"{value!r} is not one of the {len(shape.enum)} values the API accepts")
            )
        meta = shape.metadata
        if "min" in meta and len(value) < meta["min"]:
            problems.append((path, f"{value!r} is shorter than {meta['min']} characters"))
        if "max" in meta and len(value) > meta["max"]:
            problems.append((path, f"is {len(value)} characters, over {meta['max']}"))
        pattern = meta.get("pattern")
        if pattern:
            try:
                if re.fullmatch(pattern, value, re.DOTALL) is None:
                    problems.append((path, f"{value!r} does not match the API's pattern {pattern}"))
            except re.error:
                pass  # a Java-only regex construct: AWS checks it, we cannot
    return problems


def check_resources(resources: list[Any]) -> list[Finding]:
    """Every finding for the recorded resources (MockResourceArgs)."""
    from components.aws_models import service_model

    findings: list[Finding] = []
    for r in resources:
        inputs = dict(r.inputs)
        if r.typ in OPERATIONS:
            service, operation = OPERATIONS[r.typ]
            shape = service_model(service).operation_model(operation).input_shape
            for path, problem in check_value(shape, inputs, "", RENAMES.get(r.typ)):
                field = path.split(".")[-1].split("[")[0]
                findings.append(
                    Finding(
                        r.name,
                        path,
                        problem,
                        SETTINGS.get(field, "-"),
                        f"botocore {service} {operation}",
                    )
                )
        for field, problem, source in kit_rules(r.typ, inputs):
            findings.append(Finding(r.name, field, problem, SETTINGS.get(field, "-"), source))
    return findings


def lint_iam(resources: list[Any]) -> list[Finding]:
    """parliament's findings on every role (identity) policy.

    Trust policies are resource-based (no Resource element), which parliament
    does not model, so they are left to IAM's own check at CreateRole.
    """
    import parliament

    findings = []
    for r in resources:
        documents = []
        if r.typ == "aws:iam/rolePolicy:RolePolicy":
            documents.append(("policy", r.inputs["policy"]))
        for field, doc in documents:
            text = doc if isinstance(doc, str) else json.dumps(doc)
            for f in parliament.analyze_policy_string(text).findings:
                findings.append(
                    Finding(
                        r.name,
                        field,
                        f"{f.issue}: {f.detail}",
                        "(the kit's IAM helpers)",
                        "parliament",
                    )
                )
    return findings


def fixed_monthly(config: Any) -> dict[str, float]:
    """What the stack costs with no traffic, per variant."""
    from kit.decide.cost import CostModel, VariantCost
    from kit.decide.cost.pricing import Pricing
    from kit.results import Kind

    specs = []
    for v in config.variants:
        if v == SAGEMAKER:
            serverless = bool(config.sagemaker_serverless_memory_mb)
            specs.append(
                VariantCost(
                    name=v,
                    kind=Kind.SERVERLESS if serverless else Kind.SAGEMAKER,
                    memory_mb=config.proxy_memory_mb,
                    instance_type=config.sagemaker_instance_type,
                    instance_count=config.sagemaker_instance_count,
                    serverless_memory_mb=config.sagemaker_serverless_memory_mb or 0,
                    architecture=config.architecture,
                    provisioned_concurrency=config.provisioned_concurrency.get(v, 0),
                )
            )
        elif v == MANAGED:  # the instances its minimum environments need, and the NAT gateway
            m = config.managed
            if m.instance_type not in Pricing.load().ec2_types():
                continue  # a type the catalogue does not price: no figure rather than a guess
            instances = instances_for(m.min_environments, m.environments_per_instance)
            specs.append(
                VariantCost(
                    name=v,
                    kind=Kind.MANAGED,
                    memory_mb=m.memory_mb,
                    architecture=m.architecture,
                    instance_type=m.instance_type,
                    instance_count=instances,
                    nat_gateways=1 if m.creates_network else 0,
                )
            )
        else:
            kind = Kind.SNAPSTART if v == SNAPSTART else Kind.LAMBDA
            specs.append(
                VariantCost(
                    name=v,
                    kind=kind,
                    memory_mb=config.lambda_memory_mb,
                    architecture=config.architecture,
                    provisioned_concurrency=config.provisioned_concurrency.get(v, 0),
                )
            )
    model = CostModel(specs)
    return {s.name: model.fixed(s) for s in specs}


def unreserved_minimum(quota: int) -> int:
    """The unreserved concurrency Lambda keeps for the account: 100 (what reserved and
    provisioned concurrency may never eat into, per the Lambda developer guide's concurrency
    pages), or the whole quota on an account whose quota is that small (new accounts with a
    quota of 10 are refused "...decreases account's UnreservedConcurrentExecution below its
    minimum value of [10]")."""
    return min(100, quota)


def provisioned_check(config: Any, lambda_client: Any = None) -> tuple[list[str], list[Finding]]:
    """Warnings about provisioned concurrency, and a finding when the account's quota (read
    with ``lambda get-account-settings`` when credentials allow) cannot hold it."""
    total = sum(config.provisioned_concurrency.values())
    if not total:
        return [], []
    rule = (
        f"provisioned concurrency of {total} environment(s): Lambda refuses "
        "PutProvisionedConcurrencyConfig when it would leave the account less unreserved "
        "concurrency than its minimum (100, or all of a new account's quota of 10)"
    )
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = lambda_client or boto3.client(
            "lambda",
            region_name=config.region or "us-east-1",
            # one quick try: preflight runs offline too
            config=Config(connect_timeout=3, read_timeout=5, retries={"total_max_attempts": 1}),
        )
        limits = client.get_account_settings()["AccountLimit"]
    except (BotoCoreError, ClientError) as exc:  # no credentials, no network: the rule only
        return [f"{rule}; the account's quota was not read ({type(exc).__name__})"], []
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    minimum = unreserved_minimum(int(limits["ConcurrentExecutions"]))
    if unreserved - total < minimum:
        return [], [
            Finding(
                "(account)",
                "UnreservedConcurrentExecutions",
                f"{total} provisioned environment(s) would leave {unreserved - total} unreserved, "
                f"below the account's minimum of {minimum} (quota {limits['ConcurrentExecutions']}); "
                "lower provisionedConcurrency or ask for a higher concurrency quota",
                "provisionedConcurrency",
                "lambda get-account-settings",
            )
        ]
    return [f"{rule}; the account has {unreserved} unreserved, so {total} fit"], []


def run(stack_file: Path | None, stack: str = "dev") -> dict[str, Any]:
    """Run the program with the settings and collect everything AWS would refuse."""
    from components.config import StackConfigError, project_name, read_settings, stack_file_values

    from .mocks import run_program

    values = stack_file_values(stack_file)
    region = values.pop("region", None) or "us-east-1"
    try:
        config = read_settings(stack_file)
    except StackConfigError as exc:
        setting = re.match(r"\w+", str(exc))
        finding = Finding(
            "(stack settings)",
            "-",
            str(exc),
            setting.group(0) if setting else "-",
            "stack settings check",
        )
        return {
            "refused": True,
            "findings": [asdict(finding)],
            "resources": {},
            "fixed_monthly": {},
            "region": region,
            "warnings": [],
        }
    result = run_program(values, project_name(), stack=stack, region=region)
    resources = result.mocks.resources
    warnings, account = provisioned_check(config)
    findings = check_resources(resources) + lint_iam(resources) + account
    counts: dict[str, int] = {}
    for r in resources:
        counts[r.typ] = counts.get(r.typ, 0) + 1
    return {
        "refused": bool(findings),
        "findings": [asdict(f) for f in findings],
        "resources": counts,
        "fixed_monthly": fixed_monthly(config),
        "region": region,
        "warnings": warnings,
    }
