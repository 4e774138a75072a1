"""Run the Pulumi program without the CLI or AWS: the SDK's mocks, answering as the providers do.

Used by ``kit preflight`` and by the infra tests. Each computed output has
the shape the real provider returns (an image ``ref`` of ``repo:tag@sha256:...``,
a function ``version`` that is a number only when publishing, qualified alias
ARNs), so code that misuses an output fails here the way it would on AWS.
"""

from __future__ import annotations

import hashlib
import json
import runpy
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pulumi

from components._packaging import ROOT

ACCOUNT = "123456789012"
REGION = "us-east-1"
ZONE_SUFFIXES = ("a", "b", "c", "d")
"""Availability Zones the mocks answer with (EC2 offerings of every type, here)."""

EC2_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": ("vpc", "vpc"),
    "aws:ec2/subnet:Subnet": ("subnet", "subnet"),
    "aws:ec2/securityGroup:SecurityGroup": ("sg", "security-group"),
    "aws:ec2/internetGateway:InternetGateway": ("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": ("nat", "natgateway"),
    "aws:ec2/eip:Eip": ("eipalloc", "elastic-ip"),
    "aws:ec2/routeTable:RouteTable": ("rtb", "route-table"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce", "vpc-endpoint"),
}
"""EC2 resources: the id prefix EC2 gives them and their ARN's resource type."""


class Mocks(pulumi.runtime.Mocks):
    """Fills the computed outputs the program reads (arn, name, version, ...), keyed on type."""

    def __init__(self, region: str = REGION) -> None:
        self.region = region
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, resource: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Record the resource; return its id and outputs as the provider would."""
        self.resources.append(resource)
        out = dict(resource.inputs)
        region = self.region
        name = out.get("name") or f"{resource.name}-abc1234"
        service = resource.typ.split(":")[1].split("/")[0]
        if resource.typ in EC2_ID_PREFIXES:  # EC2 names nothing: an id like subnet-0a1b...
            prefix, kind = EC2_ID_PREFIXES[resource.typ]
            digest = hashlib.sha256(resource.name.encode()).hexdigest()[:17]
            ec2_id = f"{prefix}-{digest}"
            out.update(id=ec2_id, arn=f"arn:aws:ec2:{region}:{ACCOUNT}:{kind}/{ec2_id}")
            if resource.typ == "aws:ec2/eip:Eip":
                out.update(allocationId=ec2_id, publicIp="198.51.100.7")
            return ec2_id, out
        out.setdefault("name", name)
        out.setdefault("arn", f"arn:aws:{service}:{region}:{ACCOUNT}:{resource.name}/{name}")
        if resource.typ == "aws:s3/bucket:Bucket":
            out.update(bucket=name, arn=f"arn:aws:s3:::{name}")
        elif resource.typ == "aws:dynamodb/table:Table":
            out["arn"] = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
        elif resource.typ == "aws:sqs/queue:Queue":
            out.update(
                arn=f"arn:aws:sqs:{region}:{ACCOUNT}:{name}",
                url=f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}",
            )
        elif resource.typ == "aws:cloudwatch/logGroup:LogGroup":
            out["arn"] = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}"
        elif resource.typ == "aws:iam/role:Role":
            out["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        elif resource.typ == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
            version = "3" if out.get("publish") else "$LATEST"
            out.update(arn=arn, version=version, qualifiedArn=f"{arn}:{version}")
        elif resource.typ == "aws:lambda/capacityProvider:CapacityProvider":
            out["arn"] = f"arn:aws:lambda:{region}:{ACCOUNT}:capacity-provider:{name}"
        elif resource.typ == "aws:lambda/alias:Alias":
            out["arn"] = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{out['functionName']}:{name}"
        elif resource.typ == "aws:ecr/repository:Repository":
            out.update(
                repositoryUrl=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{name}",
                registryId=ACCOUNT,
                arn=f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{name}",
            )
        elif resource.typ == "docker-build:index:Image":
            # What pulumi-docker-build reports: the digest, and ref = first tag + digest.
            digest = (
                "sha256:"
                + hashlib.sha256(json.dumps(out, sort_keys=True, default=str).encode()).hexdigest()
            )
            tags = out.get("tags") or []
            out.update(digest=digest, ref=f"{tags[0]}@{digest}" if tags else digest)
        elif resource.typ == "aws:sagemaker/endpoint:Endpoint":
            out["arn"] = f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint/{name.lower()}"
        return f"{resource.name}-id", out

    def call(self, invoke: pulumi.runtime.MockCallArgs) -> Any:
        """Answer the invokes the program makes."""
        if invoke.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/t",
                "userId": "t",
                "id": ACCOUNT,
            }
        if invoke.token == "aws:index/getRegion:getRegion":
            return {
                "region": self.region,
                "name": self.region,
                "id": self.region,
                "endpoint": "",
                "description": "",
            }
        if invoke.token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            # EC2 lists offerings in no particular order: the newest zone first here
            zones = [f"{self.region}{z}" for z in reversed(ZONE_SUFFIXES)]
            types = [v for f in invoke.args.get("filters", []) for v in f.get("values", [])]
            return {
                "id": self.region,
                "locations": zones,
                "locationTypes": [invoke.args.get("locationType")] * len(zones),
                "instanceTypes": (types[:1] or ["c7g.large"]) * len(zones),
                "filters": invoke.args.get("filters", []),
                "locationType": invoke.args.get("locationType"),
            }
        if invoke.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "userName": "AWS",
                "password": "secret",
                "authorizationToken": "x",
                "proxyEndpoint": "",
                "expiresAt": "",
                "id": ACCOUNT,
            }
        return {}

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        """Recorded resources of one type token."""
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> dict[str, Any]:
        """Inputs of the one resource of ``typ`` named ``name``."""
        found = [r for r in self.resources if r.typ == typ and r.name == name]
        assert len(found) == 1, (
            f"expected one {typ} named {name}, found {[r.name for r in self.of_type(typ)]}"
        )
        return dict(found[0].inputs)


@dataclass
class StackRun:
    """What one run of the program declared and exported."""

    mocks: Mocks
    outputs: dict[str, Any]
    urns: list[str] = field(default_factory=list)
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Resource name -> names of the resources it explicitly depends on."""

    def types(self) -> set[str]:
        """Type tokens of every declared resource."""
        return {r.typ for r in self.mocks.resources}


def run_program(
    config: dict[str, Any], project: str, stack: str = "test", region: str = REGION
) -> StackRun:
    """Run __main__.py under mocks with ``config`` (setting -> value, no namespace).

    Values are checked first as the Pulumi CLI checks a stack's typed settings before it
    starts the program (``cli_type_error``), so a value the CLI would refuse fails here too.
    """
    from components.config import StackConfigError, cli_type_error, project_schema

    schema = project_schema()
    for key, value in config.items():
        error = cli_type_error(stack, key, schema.get(key, {}), value)
        if error:
            raise StackConfigError(error)
    mocks = Mocks(region)
    pulumi.runtime.set_all_config(
        {f"{project}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
        | {"aws:region": region}
    )
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    monitor = pulumi.runtime.settings.SETTINGS.monitor
    register = monitor.RegisterResource
    dependencies: dict[str, list[str]] = {}

    def record(request: Any) -> Any:  # the mock monitor keeps no dependencies: note them here
        dependencies[request.name] = [urn.rsplit("::", 1)[-1] for urn in request.dependencies]
        return register(request)

    monitor.RegisterResource = record
    exports: dict[str, Any] = {}
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> Any:
        with mock.patch.object(pulumi, "export", exports.__setitem__):
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__pulumi__")
        return pulumi.Output.from_input(exports).apply(resolved.update)

    program()
    return StackRun(mocks, resolved, list(monitor.resources), dependencies)
