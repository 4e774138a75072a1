"""Build and push an image the AWS services accept: Docker media types, pinned by digest."""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build
from audio_inference.settings import DEFAULT_ARCHITECTURE

from ._packaging import ROOT

PLATFORMS = {
    "x86_64": docker_build.Platform.LINUX_AMD64,
    "arm64": docker_build.Platform.LINUX_ARM64,
}


def relative_to_cwd(path: Path) -> str:
    """``path`` relative to where Pulumi runs the program (the project folder).

    Absolute paths would make the same code in another checkout a different
    build input: a new image (and for SageMaker a 10-minute endpoint update) for nothing.
    """
    return os.path.relpath(path)


def push_image(
    name: str,
    repository: aws.ecr.Repository,
    dockerfile: Path,
    architecture: str = DEFAULT_ARCHITECTURE,
    named_contexts: dict[str, Path] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> tuple[docker_build.Image, pulumi.Output[str]]:
    """Build ``dockerfile`` from the project root and push it; return (image, ``repo@sha256:...``).

    SageMaker's CreateModel and Lambda reject OCI manifests, BuildKit's default
    since 0.31, so the registry export uses Docker media types. Services are
    given ``repository@digest`` (the provider's ``ref`` is ``repo:tag@digest``,
    a form they do not document).
    """
    token = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id)
    context = docker_build.BuildContextArgs(
        location=relative_to_cwd(ROOT),
        named={
            k: docker_build.ContextArgs(location=relative_to_cwd(v))
            for k, v in (named_contexts or {}).items()
        }
        or None,
    )
    image = docker_build.Image(
        name,
        context=context,
        dockerfile={"location": relative_to_cwd(dockerfile)},
        platforms=[PLATFORMS[architecture]],
        push=False,
        exports=[{"registry": {"oci_media_types": False, "push": True}}],
        tags=[pulumi.Output.concat(repository.repository_url, ":latest")],
        registries=[
            {
                "address": repository.repository_url,
                "username": token.user_name,
                "password": token.password,
            }
        ],
        opts=opts,
    )
    return image, pulumi.Output.concat(repository.repository_url, "@", image.digest)
