"""Least-privilege IAM policy documents, one small helper per intent.

Each helper returns a list of statements built from concrete ARNs (plain
strings or Outputs); ``policy_document`` joins them into JSON. No ``*``
action anywhere, and ``*`` resources only where AWS allows nothing else.
"""

from __future__ import annotations

from typing import Any

import pulumi

Statement = dict[str, Any]


def policy_document(statements: list[Statement]) -> pulumi.Output[str]:
    """Serialise statements (which may hold Outputs) into a policy JSON string."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service assume the role."""
    import json

    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}
            ],
        }
    )


def logs_write(log_group_arn: pulumi.Input[str]) -> list[Statement]:
    """Write log events into one existing log group."""
    return [
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": pulumi.Output.concat(log_group_arn, ":*"),
        }
    ]


def s3_read(bucket_arn: pulumi.Input[str], prefix: str) -> list[Statement]:
    """Read objects under ``prefix``; list that prefix so a deleted key reads as 404, not 403."""
    return [
        {
            "Sid": "ReadUploads",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": pulumi.Output.concat(bucket_arn, "/", prefix, "*"),
        },
        {
            "Sid": "ListUploadPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
    ]


def s3_read_objects(
    object_arns: list[pulumi.Input[str]], sid: str = "ReadModel"
) -> list[Statement]:
    """Read exactly these objects (the model and its metadata)."""
    return [{"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": object_arns}]


def dynamodb_put(table_arn: pulumi.Input[str]) -> list[Statement]:
    """Write (conditionally) items into one table."""
    return [
        {
            "Sid": "PutPredictions",
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": table_arn,
        }
    ]


def sqs_send(queue_arn: pulumi.Input[str]) -> list[Statement]:
    """Send failed invocation records to one queue (the on-failure destination)."""
    return [
        {
            "Sid": "SendFailures",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        }
    ]


def sagemaker_invoke(endpoint_arn: pulumi.Input[str]) -> list[Statement]:
    """Invoke one SageMaker endpoint."""
    return [
        {
            "Sid": "InvokeEndpoint",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": endpoint_arn,
        }
    ]


def ecr_pull(repository_arn: pulumi.Input[str]) -> list[Statement]:
    """Pull images from one repository (the token call only accepts ``*``)."""
    return [
        {
            "Sid": "PullImage",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            "Resource": repository_arn,
        },
        {
            "Sid": "EcrToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
    ]


def sagemaker_endpoint_logs(log_group_arn: pulumi.Input[str]) -> list[Statement]:
    """Let an endpoint write its container logs into its own, pre-created log group."""
    return [
        {
            "Sid": "EndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": pulumi.Output.concat(log_group_arn, ":*"),
        }
    ]


# The namespaces SageMaker hosting publishes instance and data metrics under.
SAGEMAKER_METRIC_NAMESPACES = ["/aws/sagemaker/Endpoints*", "/aws/sagemaker/Endpoint/*"]


def sagemaker_metrics() -> list[Statement]:
    """Publish endpoint metrics, only in SageMaker's namespaces (PutMetricData takes no ARN)."""
    return [
        {
            "Sid": "EndpointMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringLike": {"cloudwatch:namespace": SAGEMAKER_METRIC_NAMESPACES}},
        }
    ]


def bucket_tls_only(bucket_arn: pulumi.Input[str]) -> list[Statement]:
    """Bucket policy statement refusing every request not made over TLS."""
    return [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
