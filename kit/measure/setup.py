"""What each variant runs on, as the results contract records it: from stack settings or outputs.

Both drivers describe their variants with ``VariantSetup`` from the same facts
the stack uses: ``kit local`` from the stack settings (Pulumi.yaml's defaults
or a ``Pulumi.<stack>.yaml``), ``kit aws`` from the deployed stack's outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audio_inference.settings import HTTP, MANAGED, MANAGED_INSTANCES_AT_START, SAGEMAKER, SNAPSTART

from components import outputs as out
from components.config import StackConfig
from kit.errors import KitError
from kit.results import Kind, ManagedSetup, ModelIdentity, VariantSetup


def kind_of(variant: str, serverless: bool = False) -> Kind:
    """The compute family a variant is priced and simulated as."""
    if variant == SNAPSTART:
        return Kind.SNAPSTART
    if variant == SAGEMAKER:
        return Kind.SERVERLESS if serverless else Kind.SAGEMAKER
    if variant == MANAGED:
        return Kind.MANAGED
    return Kind.LAMBDA


def managed_setup(values: dict[str, Any]) -> ManagedSetup:
    """The managed variant's setup from the stack's ``managed`` output (or the same fields)."""
    return ManagedSetup.model_validate({k: v for k, v in values.items() if k in FIELDS})


FIELDS = set(ManagedSetup.model_fields)


def from_settings(stack: StackConfig, variants: tuple[str, ...]) -> dict[str, VariantSetup]:
    """The setups a ``pulumi up`` with these settings would deploy (the local run emulates them)."""
    serverless = bool(stack.sagemaker_serverless_memory_mb)
    setups = {}
    m = stack.managed
    for v in variants:
        kind = kind_of(v, serverless)
        if kind == Kind.MANAGED:
            setups[v] = VariantSetup(
                kind=kind,
                memory_mb=m.memory_mb,
                architecture=m.architecture,
                instance_type=m.instance_type,
                instance_count=MANAGED_INSTANCES_AT_START,
                timeout_s=stack.timeout_seconds,
                managed=managed_setup(m.recorded()),
            )
            continue
        setups[v] = VariantSetup(
            kind=kind,
            entry="http" if v == HTTP else "s3",
            memory_mb=stack.memory_mb(v),
            architecture=stack.architecture,
            provisioned_concurrency=stack.provisioned_concurrency.get(v, 0),
            snapstart_versions=1 if kind == Kind.SNAPSTART else None,
            instance_type=stack.sagemaker_instance_type if kind == Kind.SAGEMAKER else None,
            instance_count=stack.sagemaker_instance_count if kind == Kind.SAGEMAKER else None,
            serverless_memory_mb=stack.sagemaker_serverless_memory_mb
            if kind == Kind.SERVERLESS
            else None,
            serverless_max_concurrency=stack.sagemaker_serverless_max_concurrency
            if kind == Kind.SERVERLESS
            else None,
            timeout_s=stack.timeout_seconds,
        )
    return setups


def from_outputs(
    outputs: dict[str, Any], variants: list[str], snapstart_versions: int | None = None
) -> dict[str, VariantSetup]:
    """The setups of a deployed stack, from ``pulumi stack output --json``."""
    instance = outputs.get(out.SAGEMAKER_INSTANCE_TYPE)
    serverless = instance == out.SERVERLESS
    provisioned = outputs.get(out.PROVISIONED_CONCURRENCY) or {}
    setups = {}
    for v in variants:
        kind = kind_of(v, serverless)
        try:
            if kind == Kind.MANAGED:
                managed = outputs[out.MANAGED_SETUP]
                setups[v] = VariantSetup(
                    kind=kind,
                    memory_mb=int(outputs[out.MEMORY_MB][v]),
                    architecture=managed["architecture"],
                    instance_type=managed["instance_type"],
                    instance_count=MANAGED_INSTANCES_AT_START,
                    timeout_s=int(outputs[out.TIMEOUT_SECONDS]),
                    managed=managed_setup(managed),
                )
                continue
            setups[v] = VariantSetup(
                kind=kind,
                entry="http" if v == HTTP else "s3",
                memory_mb=int(outputs[out.MEMORY_MB][v]),
                architecture=outputs[out.ARCHITECTURE],
                provisioned_concurrency=int(provisioned.get(v, 0)),
                snapstart_versions=(snapstart_versions or 1) if kind == Kind.SNAPSTART else None,
                instance_type=instance if kind == Kind.SAGEMAKER else None,
                instance_count=int(outputs[out.SAGEMAKER_INSTANCE_COUNT])
                if kind == Kind.SAGEMAKER
                else None,
                serverless_memory_mb=int(outputs[out.SAGEMAKER_SERVERLESS_MEMORY_MB])
                if kind == Kind.SERVERLESS
                else None,
                serverless_max_concurrency=int(outputs[out.SAGEMAKER_SERVERLESS_MAX_CONCURRENCY])
                if kind == Kind.SERVERLESS
                else None,
                timeout_s=int(outputs[out.TIMEOUT_SECONDS]),
            )
        except (KeyError, TypeError, ValueError) as exc:  # pydantic's errors are ValueErrors
            raise KitError(
                f"stack outputs: cannot describe variant {v!r} ({type(exc).__name__}: {exc}); "
                "run `pulumi up` again so every output is exported"
            ) from None
    return setups


def model_identity(model_dir: Path) -> ModelIdentity:
    """The model's identity from the ``model.json`` beside it."""
    try:
        meta = json.loads((Path(model_dir) / "model.json").read_text())
        return ModelIdentity(
            sha256=meta["sha256"],
            size_bytes=int(
                meta.get("size_bytes") or (Path(model_dir) / "model.onnx").stat().st_size
            ),
            sample_rate=meta["sample_rate"],
            labels=[str(label) for label in meta.get("labels", [])],
            source=str(meta.get("source") or "model_build"),
            size=meta.get("size"),
            parameters=(meta.get("training") or {}).get("parameters"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KitError(
            f"{model_dir}/model.json: cannot read the model's identity ({exc}); write it with "
            "`python -m model_build export` or `python -m model_build check`"
        ) from None
