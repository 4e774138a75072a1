"""SnapStartLambda: an InferenceLambda on published versions behind the alias ``live``."""

from __future__ import annotations

import pulumi

from .inference_lambda import TYPE_PREFIX, InferenceLambda, InferenceLambdaArgs

SnapStartLambdaArgs = InferenceLambdaArgs
"""Same inputs as InferenceLambda; SnapStart's constraints are checked on top."""


class SnapStartLambda(InferenceLambda):
    """Publishes a version with SnapStart and points alias ``live`` at it.

    Invoking ``$LATEST`` silently skips SnapStart, so S3 invokes the alias ARN and
    the invoke permission and failure destination are qualified by the alias.
    """

    TYPE = f"{TYPE_PREFIX}:SnapStartLambda"
    alias_name = "live"

    alias_arn: pulumi.Output[str]
    """ARN of alias ``live`` (what S3 invokes)."""

    @staticmethod
    def validate(args: InferenceLambdaArgs) -> None:
        """InferenceLambda's checks plus SnapStart's constraints."""
        InferenceLambda.validate(args)
        if args.ephemeral_storage_mb != 512:
            raise ValueError(
                f"ephemeral_storage_mb={args.ephemeral_storage_mb}: SnapStart requires 512 MB of /tmp"
            )
        if args.predictor == "sagemaker":
            raise ValueError(
                "SnapStart is for the model-in-function variants, not the sagemaker proxy"
            )
