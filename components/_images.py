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


MODEL_CONTEXTS = ROOT / "build" / "image-model"


def model_context(model_dir: Path) -> tuple[Path, str]:
    """A build context holding only model.onnx and model.json, in a folder named by the
    model's hash; returns (folder, sha256).

    pulumi-docker-build hashes a named context with the *main* context's .dockerignore
    (provider/internal/context.go), whose ``*`` leaves the model out of the hash, so a new
    model alone would never rebuild the image. A folder per hash makes the model an input
    (the path changes with it), and BuildKit is sent two files, not the whole build/ folder.
    """
    import hashlib
    import shutil

    data = (model_dir / "model.onnx").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    folder = MODEL_CONTEXTS / digest[:16]
    if not (folder / "model.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.onnx").write_bytes(data)
        shutil.copyfile(model_dir / "model.json", folder / "model.json")
    return folder, digest


KEEP_IMAGES = 10
"""Images an ECR repository keeps: the newest, which the stack's function, alias and
SageMaker model run by digest, and the rollbacks before it. Every ``pulumi up`` that
changes the code or the model pushes one (the ``latest`` tag moves, the older ones stay
untagged); without a lifecycle policy they pile up at ECR's storage price."""
LIFECYCLE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": f"keep the {KEEP_IMAGES} newest images (the running one and rollbacks)",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": KEEP_IMAGES,
            },
            "action": {"type": "expire"},
        }
    ]
}


def ecr_repository(
    name: str,
    force_delete: bool,
    tags: dict[str, str] | None,
    opts: pulumi.ResourceOptions,
) -> aws.ecr.Repository:
    """A scanned ECR repository with the lifecycle policy above."""
    import json

    repository = aws.ecr.Repository(
        name,
        force_delete=force_delete,
        image_scanning_configuration={"scan_on_push": True},
        tags=tags,
        opts=opts,
    )
    aws.ecr.LifecyclePolicy(
        f"{name}-lifecycle",
        repository=repository.name,
        policy=json.dumps(LIFECYCLE_POLICY),
        opts=opts,
    )
    return repository


def push_image(
    name: str,
    repository: aws.ecr.Repository,
    dockerfile: Path,
    architecture: str = DEFAULT_ARCHITECTURE,
    named_contexts: dict[str, Path] | None = None,
    opts: pulumi.ResourceOptions | None = None,
    build_args: dict[str, str] | None = None,
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
        build_args=build_args,
        pull=True,  # base images are tags: take the newest at each build (or pin BASE_IMAGE)
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
