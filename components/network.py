"""ManagedNetwork: the VPC a Lambda Managed Instances capacity provider launches instances into.

Three private subnets (one per Availability Zone that offers the instance type: Lambda
launches three instances by default for AZ resiliency), one NAT gateway in a public subnet for egress (AWS's troubleshooting
guidance names private subnets without a NAT route as the usual cause of a capacity provider
stuck in CREATING), free gateway endpoints for S3 and DynamoDB so audio downloads and result
writes do not pass (and pay for) the NAT gateway, and a security group allowing HTTPS out.

One NAT gateway, not one per zone: it is the variant's largest fixed cost after the instances
(priced in kit/decide/cost as nat_gateway_hour + public_ipv4_hour + nat_gateway_gb). If its
zone fails, instances elsewhere lose egress until it is back.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .inference_lambda import TYPE_PREFIX

CIDR = "10.60.0.0/16"
PRIVATE_CIDRS = ("10.60.0.0/19", "10.60.32.0/19", "10.60.64.0/19")
PUBLIC_CIDR = "10.60.128.0/24"
ZONES = len(PRIVATE_CIDRS)


def _three_zones(instance_type: str, offered: list[str]) -> list[str]:
    """The first three zones (by name) that offer ``instance_type``, or a clear refusal."""
    zones = sorted(offered)[:ZONES]
    if len(zones) < ZONES:
        raise ValueError(
            f"managedInstanceType={instance_type} is offered in {len(zones)} Availability "
            f"Zone(s) of this region ({', '.join(zones) or 'none'}); the managed variant spreads "
            f"its instances over {ZONES}: choose a type offered more widely, or pass your own "
            "vpcSubnetIds"
        )
    return zones


class ManagedNetwork(pulumi.ComponentResource):
    """A VPC with private subnets in three zones, egress through one NAT gateway."""

    TYPE = f"{TYPE_PREFIX}:ManagedNetwork"

    subnet_ids: list[pulumi.Output[str]]
    """The private subnets, one per zone."""
    security_group_id: pulumi.Output[str]
    """Egress on 443 only, nothing in."""
    egress: pulumi.Resource
    """The private subnets' default route through the NAT gateway: the capacity provider
    must be created after it and deleted before it."""

    def __init__(
        self,
        name: str,
        region: pulumi.Input[str],
        tags: dict[str, str],
        instance_type: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Only zones that offer the capacity provider's instance type: a subnet elsewhere
        # would hold no instance.
        offered = aws.ec2.get_instance_type_offerings_output(
            filters=[{"name": "instance-type", "values": [instance_type]}],
            location_type="availability-zone",
        )
        zones = offered.locations.apply(lambda found: _three_zones(instance_type, found))
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=CIDR,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        private = [
            aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones[i],
                tags={**tags, "Name": f"{name}-private-{i}"},
                opts=child,
            )
            for i, cidr in enumerate(PRIVATE_CIDRS)
        ]
        public = aws.ec2.Subnet(
            f"{name}-public",
            vpc_id=vpc.id,
            cidr_block=PUBLIC_CIDR,
            availability_zone=zones[0],
            tags={**tags, "Name": f"{name}-public"},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-routes",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            tags=tags,
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-public-assoc", subnet_id=public.id, route_table_id=public_routes.id, opts=child
        )
        address = aws.ec2.Eip(f"{name}-nat-ip", domain="vpc", tags=tags, opts=child)
        nat = aws.ec2.NatGateway(
            f"{name}-nat",
            allocation_id=address.id,
            subnet_id=public.id,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )
        private_routes = aws.ec2.RouteTable(
            f"{name}-private-routes", vpc_id=vpc.id, tags=tags, opts=child
        )
        self.egress = aws.ec2.Route(
            f"{name}-egress",
            route_table_id=private_routes.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=child,
        )
        associations = [
            aws.ec2.RouteTableAssociation(
                f"{name}-private-assoc-{i}",
                subnet_id=subnet.id,
                route_table_id=private_routes.id,
                opts=child,
            )
            for i, subnet in enumerate(private)
        ]
        for service in ("s3", "dynamodb"):
            aws.ec2.VpcEndpoint(
                f"{name}-{service}-endpoint",
                vpc_id=vpc.id,
                service_name=pulumi.Output.concat("com.amazonaws.", region, f".{service}"),
                vpc_endpoint_type="Gateway",
                route_table_ids=[private_routes.id],
                tags=tags,
                opts=child,
            )
        group = aws.ec2.SecurityGroup(
            f"{name}-instances",
            vpc_id=vpc.id,
            description="Lambda Managed Instances: HTTPS out, nothing in",
            egress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": ["0.0.0.0/0"],
                    "description": "AWS APIs (Lambda, S3, DynamoDB, SQS, CloudWatch Logs)",
                }
            ],
            tags=tags,
            opts=child,
        )
        self.ready = [self.egress, *associations]
        """What instances need before they start: the NAT route on every private subnet."""
        self.subnet_ids = [s.id for s in private]
        self.security_group_id = group.id
        self.register_outputs(
            {"subnet_ids": self.subnet_ids, "security_group_id": self.security_group_id}
        )
