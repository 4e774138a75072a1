"""Pulumi unit-test mocks: run __main__.py against a fake engine and record every resource."""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass
from unittest import mock

import pulumi
import pytest

from components._packaging import ROOT
from components.config import project_name

PROJECT = project_name()
ACCOUNT = "123456789012"
REGION = "us-east-1"


class Mocks(pulumi.runtime.Mocks):
    """Fills the computed outputs the program reads (arn, name, version, ...), keyed on type."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(args)
        out = dict(args.inputs)
        name = out.get("name") or f"{args.name}-abc1234"
        service = args.typ.split(":")[1].split("/")[0]
        out.setdefault("name", name)
        out.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{args.name}/{name}")
        if args.typ == "aws:s3/bucket:Bucket":
            out.update(bucket=name, arn=f"arn:aws:s3:::{name}")
        elif args.typ == "aws:dynamodb/table:Table":
            out["arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif args.typ == "aws:sqs/queue:Queue":
            out.update(
                arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
            )
        elif args.typ == "aws:cloudwatch/logGroup:LogGroup":
            out["arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
        elif args.typ == "aws:iam/role:Role":
            out["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        elif args.typ == "aws:lambda/function:Function":
            out.update(
                arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                version="3" if out.get("publish") else "$LATEST",
            )
        elif args.typ == "aws:lambda/alias:Alias":
            out["arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{out['functionName']}:{name}"
        elif args.typ == "aws:ecr/repository:Repository":
            out.update(
                repositoryUrl=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
                registryId=ACCOUNT,
                arn=f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}",
            )
        elif args.typ == "docker-build:index:Image":
            out["ref"] = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/repo@sha256:{'ab' * 32}"
        elif args.typ == "aws:sagemaker/endpoint:Endpoint":
            out["arn"] = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"
        return f"{args.name}-id", out

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/t",
                "userId": "t",
                "id": ACCOUNT,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "region": REGION,
                "name": REGION,
                "id": REGION,
                "endpoint": "",
                "description": "",
            }
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
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
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> dict:
        found = [r for r in self.resources if r.typ == typ and r.name == name]
        assert len(found) == 1, (
            f"expected one {typ} named {name}, found {[r.name for r in self.of_type(typ)]}"
        )
        return found[0].inputs


@dataclass
class StackRun:
    mocks: Mocks
    outputs: dict
    urns: list[str]

    def types(self) -> set[str]:
        return {r.typ for r in self.mocks.resources}


@pytest.fixture
def run_stack(model_dir):
    """Run __main__.py with the given config; return the recorded resources and outputs."""

    def run(**config) -> StackRun:
        config.setdefault("modelPath", str(model_dir / "model.onnx"))
        mocks = Mocks()
        pulumi.runtime.set_all_config(
            {
                f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v)
                for k, v in config.items()
            }
        )
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=False)
        exports: dict = {}
        resolved: dict = {}

        @pulumi.runtime.test
        def program():
            with mock.patch.object(pulumi, "export", exports.__setitem__):
                runpy.run_path(str(ROOT / "__main__.py"), run_name="__pulumi__")
            return pulumi.Output.from_input(exports).apply(resolved.update)

        program()
        monitor = pulumi.runtime.settings.SETTINGS.monitor
        return StackRun(mocks, resolved, list(monitor.resources))

    return run
