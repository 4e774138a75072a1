"""SnapStartLambda: an InferenceLambda on published versions behind the alias ``live``."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumiverse_time as time
from audio_inference.settings import SAGEMAKER, SNAPSTART_EPHEMERAL_STORAGE_MB

from .inference_lambda import (
    LIVE,
    TYPE_PREFIX,
    Entry,
    InferenceLambda,
    InferenceLambdaArgs,
    live_alias,
)

SnapStartLambdaArgs = InferenceLambdaArgs
"""Same inputs as InferenceLambda; SnapStart's constraints are checked on top."""

ALIAS_NAME = LIVE
# IAM is eventually consistent; publishing runs init (which reads the model from
# S3) at once, so a policy written a moment earlier may not apply yet. AWS gives
# no bound; 20 s covers the delays reported in practice.
IAM_PROPAGATION = "20s"


class SnapStartLambda(InferenceLambda):
    """Publishes a version with SnapStart and points alias ``live`` at it.

    Invoking ``$LATEST`` silently skips SnapStart, so S3 invokes the alias ARN and
    the invoke permission and failure destination are qualified by the alias.
    Publishing waits until the role's policy has had time to propagate, on the
    first deploy and whenever the policy changes (a new model changes it).
    """

    TYPE = f"{TYPE_PREFIX}:SnapStartLambda"
    alias_name = ALIAS_NAME

    alias_arn: pulumi.Output[str]
    """ARN of alias ``live`` (what S3 invokes)."""

    def publish_options(self) -> dict[str, Any]:
        """Publish a version on every change, with SnapStart on published versions."""
        return {"publish": True, "snap_start": {"apply_on": "PublishedVersions"}}

    def ready_before_publish(
        self, name: str, policy: aws.iam.RolePolicy, document: pulumi.Output[str]
    ) -> list[pulumi.Resource]:
        """The policy, then a pause that runs again whenever the policy document changes."""
        wait = time.Sleep(
            f"{name}-iam-propagation",
            create_duration=IAM_PROPAGATION,
            triggers={"policy": document},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        return [policy, wait]

    def entry(self, name: str, function: aws.lambda_.Function) -> Entry:
        """Alias ``live`` on the version this deployment published."""
        entry = live_alias(self, name, function)
        self.alias_arn = entry.target_arn
        return entry

    @staticmethod
    def validate(args: InferenceLambdaArgs) -> None:
        """InferenceLambda's checks plus SnapStart's constraints."""
        InferenceLambda.validate(args)
        if args.ephemeral_storage_mb != SNAPSTART_EPHEMERAL_STORAGE_MB:
            raise ValueError(
                f"ephemeral_storage_mb={args.ephemeral_storage_mb}: SnapStart requires "
                f"{SNAPSTART_EPHEMERAL_STORAGE_MB} MB of /tmp"
            )
        if args.variant == SAGEMAKER:
            raise ValueError(
                "SnapStart is for the model-in-function variants, not the sagemaker proxy"
            )
        if args.provisioned_concurrency:
            raise ValueError("SnapStart cannot be combined with provisioned concurrency (AWS)")
