"""The managed variant (Lambda Managed Instances) under provider-faithful mocks: one test per
resource it declares, the delete order, its outputs and the settings that refuse."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from components.config import StackConfigError
from kit.measure.setup import from_outputs
from kit.results import Kind
from kit.stack.mocks import EC2_ID_PREFIXES
from kit.stack.preflight import check_resources, run
from tests.helpers.stack import FN, policies
from tests.infra.test_preflight import stack_file

NET = "managed-network"
EC2 = "aws:ec2/"


@pytest.fixture(scope="module")
def stack(model_dir):
    from components.config import project_name
    from kit.stack.mocks import run_program

    return run_program(
        {"variants": ["managed"], "modelPath": str(model_dir / "model.onnx")}, project_name()
    )


def ec2(stack, kind: str, name: str) -> dict:
    return stack.mocks.one(f"{EC2}{kind}", name)


def ec2_id(stack, name: str) -> str:
    """The id the mocks gave a resource (EC2's own prefixes: subnet-..., sg-...)."""
    [found] = [r for r in stack.mocks.resources if r.name == name]
    prefix = EC2_ID_PREFIXES[found.typ][0]
    return f"{prefix}-{hashlib.sha256(name.encode()).hexdigest()[:17]}"


def autoname(name: str) -> str:
    """The physical name the mocks give a resource without one, as Pulumi's auto-naming does."""
    return f"{name}-abc1234"


def test_vpc_has_dns_and_three_private_subnets_in_three_zones(stack):
    vpc = ec2(stack, "vpc:Vpc", f"{NET}-vpc")
    assert vpc["enableDnsSupport"] and vpc["enableDnsHostnames"]
    block = ipaddress.ip_network(vpc["cidrBlock"])
    private = [ec2(stack, "subnet:Subnet", f"{NET}-private-{i}") for i in range(3)]
    zones = {s["availabilityZone"] for s in private}
    assert zones == {"us-east-1a", "us-east-1b", "us-east-1c"}  # the first 3 offering the type
    nets = [ipaddress.ip_network(s["cidrBlock"]) for s in private]
    public = ipaddress.ip_network(ec2(stack, "subnet:Subnet", f"{NET}-public")["cidrBlock"])
    assert all(n.subnet_of(block) for n in [*nets, public])
    assert not any(a.overlaps(b) for i, a in enumerate([*nets, public]) for b in nets[i + 1 :])
    assert all(not s.get("mapPublicIpOnLaunch") for s in private)


def test_egress_goes_through_one_nat_gateway_in_the_public_subnet(stack):
    igw = ec2(stack, "internetGateway:InternetGateway", f"{NET}-igw")
    assert igw["vpcId"] == ec2_id(stack, f"{NET}-vpc")
    public_routes = ec2(stack, "routeTable:RouteTable", f"{NET}-public-routes")
    assert public_routes["routes"] == [
        {"cidrBlock": "0.0.0.0/0", "gatewayId": ec2_id(stack, f"{NET}-igw")}
    ]
    assert ec2(stack, "eip:Eip", f"{NET}-nat-ip")["domain"] == "vpc"
    nat = ec2(stack, "natGateway:NatGateway", f"{NET}-nat")
    assert nat["subnetId"] == ec2_id(stack, f"{NET}-public")
    assert nat["allocationId"] == ec2_id(stack, f"{NET}-nat-ip")
    route = ec2(stack, "route:Route", f"{NET}-egress")
    assert route["destinationCidrBlock"] == "0.0.0.0/0"
    assert route["natGatewayId"] == ec2_id(stack, f"{NET}-nat")
    private_table = ec2_id(stack, f"{NET}-private-routes")
    for i in range(3):
        assoc = ec2(
            stack, "routeTableAssociation:RouteTableAssociation", f"{NET}-private-assoc-{i}"
        )
        assert assoc == {
            "subnetId": ec2_id(stack, f"{NET}-private-{i}"),
            "routeTableId": private_table,
        }
    assert len(stack.mocks.of_type(f"{EC2}natGateway:NatGateway")) == 1  # priced: one gateway


def test_s3_and_dynamodb_bypass_the_nat_gateway_through_gateway_endpoints(stack):
    for service in ("s3", "dynamodb"):
        endpoint = ec2(stack, "vpcEndpoint:VpcEndpoint", f"{NET}-{service}-endpoint")
        assert endpoint["serviceName"] == f"com.amazonaws.us-east-1.{service}"
        assert endpoint["vpcEndpointType"] == "Gateway"
        assert endpoint["routeTableIds"] == [ec2_id(stack, f"{NET}-private-routes")]


def test_security_group_allows_https_out_and_nothing_in(stack):
    group = ec2(stack, "securityGroup:SecurityGroup", f"{NET}-instances")
    assert not group.get("ingress")
    [rule] = group["egress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    assert rule["cidrBlocks"] == ["0.0.0.0/0"]


def test_operator_role_is_trusted_by_lambda_with_the_aws_managed_policy(stack):
    role = stack.mocks.one("aws:iam/role:Role", "managed-operator")
    trust = json.loads(role["assumeRolePolicy"])
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    attachment = stack.mocks.one(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "managed-operator-policy"
    )
    # AWS managed policy reference: AWSLambdaManagedEC2ResourceOperator
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator"
    assert attachment["role"] == autoname("managed-operator")


def test_capacity_provider_runs_one_graviton_type_in_the_private_subnets(stack):
    provider = stack.mocks.one("aws:lambda/capacityProvider:CapacityProvider", "managed-capacity")
    # auto-named, so a replacement (new type or VPC) is created before the old one goes
    assert "name" not in provider
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,140}", autoname("managed-capacity"))
    assert sorted(provider["vpcConfig"]["subnetIds"]) == sorted(
        ec2_id(stack, f"{NET}-private-{i}") for i in range(3)
    )
    assert provider["vpcConfig"]["securityGroupIds"] == [ec2_id(stack, f"{NET}-instances")]
    assert provider["permissionsConfig"] == {
        "capacityProviderOperatorRoleArn": f"arn:aws:iam::123456789012:role/{autoname('managed-operator')}"
    }
    assert provider["instanceRequirements"] == [
        {"architectures": ["arm64"], "allowedInstanceTypes": ["c7g.large"]}
    ]
    assert provider["capacityProviderScalingConfigs"] == [
        {"maxVcpuCount": 12, "scalingMode": "Auto"}
    ]


def test_function_is_python313_on_the_capacity_provider_published_to_latest(stack):
    fn = stack.mocks.one(FN, "managed-fn")
    assert fn["runtime"] == "python3.13" and fn["architectures"] == ["arm64"]
    assert fn["memorySize"] == 2048 and fn["publish"] is True
    assert fn["publishTo"] == "LATEST_PUBLISHED"
    config = fn["capacityProviderConfig"]["lambdaManagedInstancesCapacityProviderConfig"]
    assert config == {
        "capacityProviderArn": "arn:aws:lambda:us-east-1:123456789012:capacity-provider:"
        + autoname("managed-capacity"),
        "executionEnvironmentMemoryGibPerVcpu": 2.0,
        "perExecutionEnvironmentMaxConcurrency": 2,
    }
    env = fn["environment"]["variables"]
    assert env["MODEL_THREADS"] == "1"  # 2 processes x 1 thread on the environment's 1 vCPU
    assert "py313" in fn["s3Key"] and fn["handler"] == "standard_handler.handler"


def test_the_managed_package_is_built_from_cp313_wheels_for_arm64(stack):
    code = stack.mocks.one("aws:s3/bucketObjectv2:BucketObjectv2", "managed-code")
    fn = stack.mocks.one(FN, "managed-fn")
    assert code["key"] == fn["s3Key"]
    path = Path(code["source"].path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    extensions = [n for n in names if n.endswith(".so") and "cpython-" in n]
    assert extensions and all("cpython-313-aarch64" in n for n in extensions)
    assert any(n.startswith("onnxruntime/") for n in names)
    assert not any(n.startswith(("torch/", "boto3/")) for n in names)


def test_scaling_config_sets_the_environments_of_latest_published(stack):
    scaling = stack.mocks.one(
        "aws:lambda/functionScalingConfig:FunctionScalingConfig", "managed-scaling"
    )
    assert scaling["qualifier"] == "$LATEST.PUBLISHED"
    assert scaling["functionName"] == autoname("managed-fn")
    assert scaling["functionScalingConfig"] == {
        "minExecutionEnvironments": 3,
        "maxExecutionEnvironments": 6,
    }


def test_s3_invokes_the_unqualified_arn_which_runs_latest_published(stack):
    permission = stack.mocks.one("aws:lambda/permission:Permission", "managed-s3-invoke")
    assert "qualifier" not in permission and permission["principal"] == "s3.amazonaws.com"
    notification = stack.mocks.one("aws:s3/bucketNotification:BucketNotification", "uploads")
    [target] = notification["lambdaFunctions"]
    assert target["lambdaFunctionArn"] == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{autoname('managed-fn')}"
    )
    assert target["filterPrefix"] == "incoming/managed/"
    retries = stack.mocks.one(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "managed-on-failure"
    )
    assert retries["qualifier"] == "$LATEST.PUBLISHED" and retries["maximumRetryAttempts"] == 2
    statements = {s["Sid"] for s in policies(stack)["managed-policy"]["Statement"]}
    assert {"ReadUploads", "PutPredictions", "SendFailures"} <= statements


def test_delete_order_stops_instances_before_their_network_and_role(stack):
    """Pulumi deletes in reverse dependency order: the function (its versions hold the
    instances) before the capacity provider, and the provider before the operator's policy,
    the NAT route and the subnets' route associations it needs to drain."""
    deps = stack.dependencies
    assert {"managed-operator-policy", f"{NET}-egress"} <= set(deps["managed-capacity"])
    assert {f"{NET}-private-assoc-{i}" for i in range(3)} <= set(deps["managed-capacity"])
    assert "managed-capacity" in deps["managed-fn"]
    assert "managed-fn" in deps["managed-scaling"]
    assert "managed-scaling" in deps["managed-s3-invoke"]


def test_outputs_describe_the_variant_for_the_benchmark_drivers(stack):
    managed = stack.outputs["managed"]
    assert managed["instance_type"] == "c7g.large" and managed["architecture"] == "arm64"
    assert managed["capacity_provider_arn"].startswith("arn:aws:lambda:us-east-1:")
    setups = from_outputs(stack.outputs, ["managed"])
    setup = setups["managed"]
    assert setup.kind == Kind.MANAGED and setup.memory_mb == 2048
    assert setup.managed is not None and setup.managed.vcpus == 1
    assert setup.managed.max_concurrency == 2 and setup.managed.nat_gateways == 1
    assert stack.outputs["upload_prefixes"] == {"managed": "incoming/managed/"}


def test_your_own_subnets_replace_the_stacks_network(run_stack):
    subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    run = run_stack(
        variants=["managed"],
        vpcSubnetIds=",".join(subnets),
        vpcSecurityGroupIds='["sg-0123456789abcdef0"]',
    )
    assert not [r for r in run.mocks.resources if r.typ.startswith(EC2)]
    provider = run.mocks.one("aws:lambda/capacityProvider:CapacityProvider", "managed-capacity")
    assert provider["vpcConfig"] == {
        "subnetIds": subnets,
        "securityGroupIds": ["sg-0123456789abcdef0"],
    }
    assert run.outputs["managed"]["nat_gateways"] == 0


def test_an_x86_type_makes_an_x86_function_and_package(run_stack):
    run = run_stack(variants=["managed"], managedInstanceType="c7i.large")
    fn = run.mocks.one(FN, "managed-fn")
    assert fn["architectures"] == ["x86_64"] and "x86_64-py313" in fn["s3Key"]
    provider = run.mocks.one("aws:lambda/capacityProvider:CapacityProvider", "managed-capacity")
    assert provider["instanceRequirements"][0]["architectures"] == ["x86_64"]


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"managedInstanceType": "t3.medium"}, "managedInstanceType"),
        ({"managedInstanceType": "c7g.medium"}, "managedInstanceType"),
        ({"managedMemoryMb": 1024}, "managedMemoryMb"),
        ({"managedMemoryMb": 3000}, "managedMemoryMb"),
        ({"managedMemoryGibPerVcpu": 3}, "managedMemoryGibPerVcpu"),
        ({"managedMemoryMb": 4096}, "managedMemoryMb"),  # 2 vCPUs: none fit a c7g.large
        ({"managedMaxVcpus": 4}, "managedMaxVcpus"),  # under the 3 x 2 vCPUs at start
        ({"managedMaxVcpus": 20000}, "managedMaxVcpus"),
        ({"managedMaxConcurrency": 0}, "managedMaxConcurrency"),
        ({"managedMinEnvironments": 7}, "managedMinEnvironments"),  # above the maximum 6
        ({"vpcSubnetIds": "subnet-0123456789abcdef0"}, "vpcSubnetIds"),  # without groups
        ({"vpcSubnetIds": "subnet-xyz", "vpcSecurityGroupIds": "sg-0123456789abcdef0"}, "vpcSubnetIds"),
    ],
)  # fmt: skip
def test_settings_aws_would_refuse_are_refused_in_one_line(run_stack, settings, setting):
    with pytest.raises(StackConfigError) as raised:
        run_stack(variants=["managed"], **settings)
    message = str(raised.value)
    assert setting in message and "\n" not in message


def test_preflight_checks_the_capacity_provider_against_botocore():
    resource = SimpleNamespace(
        typ="aws:lambda/capacityProvider:CapacityProvider",
        name="managed-capacity",
        inputs={
            "name": "kit-dev-managed",
            "vpcConfig": {"subnetIds": ["subnet-0a"], "securityGroupIds": ["sg-0a"]},
            "permissionsConfig": {
                "capacityProviderOperatorRoleArn": "arn:aws:iam::123456789012:role/op"
            },
            "instanceRequirements": [{"architectures": ["x86_64", "arm64"]}],
            "capacityProviderScalingConfigs": [{"maxVcpuCount": 1, "scalingMode": "Automatic"}],
        },
    )
    found = {(f.field, f.setting) for f in check_resources([resource])}
    assert ("CapacityProviderScalingConfig.MaxVCpuCount", "managedMaxVcpus") in found
    assert ("CapacityProviderScalingConfig.ScalingMode", "-") in found
    assert ("InstanceRequirements.Architectures", "architecture") in found  # exactly one


def test_preflight_checks_the_function_and_scaling_config():
    function = SimpleNamespace(
        typ=FN,
        name="managed-fn",
        inputs={
            "runtime": "python3.12",
            "memorySize": 3000,
            "publish": False,
            "capacityProviderConfig": {
                "lambdaManagedInstancesCapacityProviderConfig": {
                    "capacityProviderArn": "arn:aws:lambda:us-east-1:123456789012:capacity-provider:x",
                    "executionEnvironmentMemoryGibPerVcpu": 9.0,
                    "perExecutionEnvironmentMaxConcurrency": 2000,
                }
            },
        },
    )
    scaling = SimpleNamespace(
        typ="aws:lambda/functionScalingConfig:FunctionScalingConfig",
        name="managed-scaling",
        inputs={
            "functionName": "f",
            "qualifier": "$LATEST",
            "functionScalingConfig": {"minExecutionEnvironments": -1},
        },
    )
    fields = {f.field.split(".")[-1] for f in check_resources([function, scaling])}
    assert {
        "ExecutionEnvironmentMemoryGiBPerVCpu",
        "PerExecutionEnvironmentMaxConcurrency",
        "MemorySize",
        "Runtime",
        "Publish",
        "Qualifier",
        "MinExecutionEnvironments",
    } <= fields


def test_preflight_of_the_default_managed_stack_prices_instances_and_nat(tmp_path, model_dir):
    report = run(stack_file(tmp_path, model_dir, variants=["managed"]))
    assert report["findings"] == [] and not report["refused"]
    assert report["resources"]["aws:lambda/capacityProvider:CapacityProvider"] == 1
    # 3 x c7g.large x 1.15 x 730 h + one NAT gateway and its address, at the kit's prices
    instances = 3 * 0.0725 * 1.15 * 730
    assert report["fixed_monthly"]["managed"] == pytest.approx(instances + (0.045 + 0.005) * 730)
    assert instances == pytest.approx(182.59, abs=0.01)


def test_subnets_go_only_to_zones_offering_the_instance_type(run_stack, monkeypatch):
    """The zones come from EC2's instance type offerings, not the region's zone list: a type
    offered in fewer than three zones is refused with the fix, before anything is created."""
    from kit.stack.mocks import Mocks

    answer = Mocks.call

    def two_zones(self, invoke):
        found = answer(self, invoke)
        if invoke.token.endswith("getInstanceTypeOfferings"):
            found["locations"] = ["us-east-1d", "us-east-1b"]
        return found

    monkeypatch.setattr(Mocks, "call", two_zones)
    with pytest.raises(Exception, match=r"offered in 2 Availability Zone\(s\).*vpcSubnetIds"):
        run_stack(variants=["managed"])
