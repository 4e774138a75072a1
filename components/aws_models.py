"""What AWS's own API models accept, read from botocore's service models in this environment.

botocore ships the same models the AWS CLI and SDKs validate against, so the
lists here follow AWS without being copied into this project.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any


@cache
def service_model(service: str) -> Any:
    """botocore's model of ``service`` (cached)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@cache
def hosting_instance_types() -> frozenset[str]:
    """Instance types SageMaker real-time endpoints accept (ProductionVariantInstanceType)."""
    return frozenset(service_model("sagemaker").shape_for("ProductionVariantInstanceType").enum)


@cache
def log_retention_days() -> tuple[int, ...]:
    """Retention values CloudWatch Logs accepts, from PutRetentionPolicy's documentation."""
    member = (
        service_model("logs")
        .operation_model("PutRetentionPolicy")
        .input_shape.members["retentionInDays"]
    )
    text = re.sub(r"<[^>]+>", "", member.documentation)
    listed = text.split("Possible values are:", 1)[1].split(".", 1)[0]
    return tuple(int(n) for n in re.findall(r"\d+", listed))


@cache
def ec2_instance_types() -> frozenset[str]:
    """EC2 instance types the EC2 API knows (its InstanceType enum)."""
    return frozenset(service_model("ec2").shape_for("InstanceType").enum)
