"""Storage: the resources every variant shares (uploads, predictions, model, code, failures)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
from audio_inference.settings import TABLE_HASH_KEY, TABLE_RANGE_KEY

from . import _iam
from ._packaging import LambdaPackage
from .inference_lambda import TYPE_PREFIX


@dataclass(frozen=True, kw_only=True)
class StorageArgs:
    """Inputs of Storage."""

    model_dir: Path
    """Folder with model.onnx and model.json, uploaded once under model/<sha>/."""
    package: LambdaPackage
    """Function archive built for the stack's architecture."""
    force_destroy: bool = True
    """Let `pulumi destroy` delete a bucket that still holds uploads."""
    tags: dict[str, str] = field(default_factory=dict)


class Storage(pulumi.ComponentResource):
    """Private upload bucket, predictions table, model and code objects, failure queue."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    failure_queue_arn: pulumi.Output[str]
    failure_queue_url: pulumi.Output[str]
    model_s3_uri: pulumi.Output[str]
    """s3:// URI of model.onnx (model.json sits beside it)."""
    model_object_arns: list[pulumi.Input[str]]
    code_key: pulumi.Output[str]
    model_sha256: str

    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        bucket = aws.s3.Bucket(
            f"{name}-bucket", force_destroy=args.force_destroy, tags=args.tags, opts=child
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            # SSE-S3; an S3 Bucket Key only matters for KMS keys, so none is set.
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=_iam.policy_document(_iam.bucket_tls_only(bucket.arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )
        # Encrypted at rest with an AWS-owned key by default (free); a KMS key would
        # add a charge per request for no benefit in a proof of concept.
        table = aws.dynamodb.Table(
            f"{name}-predictions",
            billing_mode="PAY_PER_REQUEST",
            hash_key=TABLE_HASH_KEY,
            range_key=TABLE_RANGE_KEY,
            attributes=[
                {"name": TABLE_HASH_KEY, "type": "S"},
                {"name": TABLE_RANGE_KEY, "type": "S"},
            ],
            tags=args.tags,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{name}-failures",
            message_retention_seconds=14 * 24 * 3600,
            sqs_managed_sse_enabled=True,
            tags=args.tags,
            opts=child,
        )

        meta = json.loads((args.model_dir / "model.json").read_text())
        self.model_sha256 = meta["sha256"]
        prefix = f"model/{self.model_sha256[:16]}"
        objects = [
            aws.s3.BucketObjectv2(
                f"{name}-{filename.replace('.', '-')}",
                bucket=bucket.id,
                key=f"{prefix}/{filename}",
                source=pulumi.FileAsset(str(args.model_dir / filename)),
                opts=child,
            )
            for filename in ("model.onnx", "model.json")
        ]
        code = aws.s3.BucketObjectv2(
            f"{name}-function-code",
            bucket=bucket.id,
            key=f"code/function-{args.package.architecture}-{args.package.sha256[:16]}.zip",
            source=pulumi.FileAsset(str(args.package.path)),
            opts=child,
        )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.table_name = table.name
        self.table_arn = table.arn
        self.failure_queue_arn = queue.arn
        self.failure_queue_url = queue.url
        self.model_s3_uri = pulumi.Output.concat("s3://", bucket.bucket, "/", objects[0].key)
        self.model_object_arns = [pulumi.Output.concat(bucket.arn, "/", o.key) for o in objects]
        self.code_key = code.key
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "table_name": self.table_name,
                "failure_queue_url": self.failure_queue_url,
                "model_s3_uri": self.model_s3_uri,
                "code_key": self.code_key,
            }
        )
