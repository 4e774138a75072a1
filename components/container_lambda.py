"""ContainerLambda: the same handler in a container image with the model baked in.

Images allow up to 10 GB (a zip 250 MB unzipped), which larger models need, and
the model is read from the image's /opt/model, so a cold start downloads nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from audio_inference.settings import CONTAINER

from ._images import ecr_repository, model_context, push_image
from ._packaging import ROOT
from .inference_lambda import TYPE_PREFIX, InferenceLambda, InferenceLambdaArgs

DOCKERFILE = ROOT / "functions" / "Dockerfile"


@dataclass(frozen=True, kw_only=True)
class ContainerLambdaArgs(InferenceLambdaArgs):
    """InferenceLambda's inputs plus the model folder to bake into the image."""

    model_dir: Path
    """Folder with model.onnx and model.json; the image's build context ``model``."""
    force_delete_repository: bool = True
    """Let `pulumi destroy` delete the repository with its images."""


class ContainerLambda(InferenceLambda):
    """An InferenceLambda whose code and model come from an image in its own ECR repository."""

    TYPE = f"{TYPE_PREFIX}:ContainerLambda"

    image_uri: pulumi.Output[str]
    """The function's image, ``repository@sha256:...``."""

    def code_options(self, name: str, args: InferenceLambdaArgs) -> dict[str, Any]:
        """Build and push the image for the function's architecture; run it by digest."""
        assert isinstance(args, ContainerLambdaArgs)
        child = pulumi.ResourceOptions(parent=self)
        repository = ecr_repository(f"{name}-repo", args.force_delete_repository, args.tags, child)
        # Lambda pulls the image with its service principal, only for this account's functions.
        # The function waits for it (ready_before_publish): CreateFunction on an image whose
        # repository lacks the grant makes Lambda edit the policy itself, and state drifts.
        self.repository_policy = aws.ecr.RepositoryPolicy(
            f"{name}-repo-policy",
            repository=repository.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "LambdaPull",
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                            "Condition": {
                                "StringLike": {
                                    "aws:sourceArn": pulumi.Output.concat(
                                        "arn:aws:lambda:*:", args.account_id, ":function:*"
                                    )
                                }
                            },
                        }
                    ],
                }
            ),
            opts=child,
        )
        model, sha256 = model_context(args.model_dir)
        _, image_uri = push_image(
            f"{name}-image",
            repository,
            DOCKERFILE,
            args.architecture,
            named_contexts={"model": model},
            opts=child,
            build_args={"MODEL_SHA256": sha256},
        )
        self.image_uri = image_uri
        return {"package_type": "Image", "image_uri": image_uri}

    def ready_before_publish(
        self, name: str, policy: aws.iam.RolePolicy, document: pulumi.Output[str]
    ) -> list[pulumi.Resource]:
        """The role's policy and the repository's pull grant."""
        return [policy, self.repository_policy]

    @staticmethod
    def validate(args: InferenceLambdaArgs) -> None:
        """InferenceLambda's checks, for the container variant with a model folder."""
        InferenceLambda.validate(args)
        if args.variant != CONTAINER or not isinstance(args, ContainerLambdaArgs):
            raise ValueError("ContainerLambda runs the container variant with ContainerLambdaArgs")
        for needed in ("model.onnx", "model.json"):
            if not (args.model_dir / needed).is_file():
                raise ValueError(f"{args.model_dir / needed} is missing: run `make model` first")
        json.loads((args.model_dir / "model.json").read_text())
