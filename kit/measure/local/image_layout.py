"""An image's file layout without Docker: apply a Dockerfile's COPY lines to a folder.

Used to run the container variant locally from exactly the files its image
holds (and to test the serving image the same way). ``.dockerignore`` is
applied to the main build context, as Docker does; named contexts
(``COPY --from=model``) come from the folders given.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from kit import ROOT


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    text = "\n".join(
        line for line in dockerfile.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    joined = text.replace("\\\n", " ")
    pairs = [line.strip().split(None, 1) for line in joined.splitlines() if line.strip()]
    return [(p[0], p[1] if len(p) > 1 else "") for p in pairs]


def included(path: str) -> bool:
    """Whether .dockerignore lets ``path`` into the build context (last rule wins)."""
    keep = True
    for rule in (ROOT / ".dockerignore").read_text().split():
        negate = rule.startswith("!")
        pattern = rule.lstrip("!")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(
            path, pattern.rstrip("*").rstrip("/") + "/*"
        ):
            keep = negate
    return keep


class LayoutError(RuntimeError):
    """A COPY line names a file the build context would not contain."""


def image_env(dockerfile: Path) -> dict[str, str]:
    """The ``ENV`` settings of a Dockerfile (``KEY=value`` form)."""
    env: dict[str, str] = {}
    for op, arg in instructions(dockerfile):
        if op == "ENV":
            for word in arg.split():
                key, _, value = word.partition("=")
                env[key] = value
    return env


def materialize(
    dockerfile: Path,
    root: Path,
    variables: dict[str, str] | None = None,
    named: dict[str, Path] | None = None,
) -> Path:
    """Copy what the Dockerfile's COPY lines copy into ``root`` (the image's /); return it.

    ``variables`` substitutes ``${NAME}`` in destinations (e.g. LAMBDA_TASK_ROOT).
    """
    workdir = "/"
    for op, arg in instructions(dockerfile):
        if op == "WORKDIR":
            workdir = arg
        if op != "COPY":
            continue
        words = arg.split()
        source_root, check = ROOT, True
        if words[0].startswith("--from="):
            source_root, check = Path((named or {})[words[0].split("=", 1)[1]]), False
            words = words[1:]
        *sources, dest = words
        for key, value in (variables or {}).items():
            dest = dest.replace("${" + key + "}", value)
        absolute = dest if dest.startswith("/") else f"{workdir.rstrip('/')}/{dest}"
        target_root = root / absolute.lstrip("/")
        for source in sources:
            origin = source_root / source
            files = [p for p in origin.rglob("*") if p.is_file()] if origin.is_dir() else [origin]
            for path in files:
                if "__pycache__" in path.parts:
                    continue
                relative = str(path.relative_to(source_root))
                if check and not included(relative):
                    raise LayoutError(
                        f"{relative} is copied by {dockerfile.name} but .dockerignore drops it"
                    )
                if origin.is_dir():  # a directory's contents land under dest
                    target = target_root / path.relative_to(origin)
                elif dest.endswith("/"):
                    target = target_root / path.name
                else:
                    target = target_root
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)
    return root


CONTAINER_DOCKERFILE = ROOT / "functions" / "Dockerfile"
TASK_ROOT = "/var/task"  # LAMBDA_TASK_ROOT in the AWS Lambda base image


def container_environment(root: Path, model_dir: Path) -> dict[str, str]:
    """Lay out the container variant's image under ``root``; return the environment it sets.

    Code from ``${LAMBDA_TASK_ROOT}``, the model from the image's ``MODEL_DIR``:
    exactly the files the image holds, so a local cold start downloads no model.
    """
    materialize(CONTAINER_DOCKERFILE, root, {"LAMBDA_TASK_ROOT": TASK_ROOT}, {"model": model_dir})
    env = {k: str(root / v.lstrip("/")) for k, v in image_env(CONTAINER_DOCKERFILE).items()}
    return {**env, "LAMBDA_TASK_ROOT": str(root / TASK_ROOT.lstrip("/"))}
