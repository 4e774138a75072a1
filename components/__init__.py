"""Pulumi components of the kit: one module per component, re-exported here.

Names shared with the functions (env vars, variants, table keys) come from the
installed ``audio_inference`` package, so the stack and the handlers cannot
drift apart. The components are imported on first use, so ``components.config``
and ``components.outputs`` (read by the kit's command line) do not load pulumi.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from audio_inference import settings

if TYPE_CHECKING:
    from .container_lambda import ContainerLambda, ContainerLambdaArgs
    from .inference_lambda import InferenceLambda, InferenceLambdaArgs
    from .managed_lambda import ManagedLambda, ManagedLambdaArgs
    from .network import ManagedNetwork
    from .sagemaker_endpoint import SageMakerEndpoint, SageMakerEndpointArgs
    from .snapstart_lambda import SnapStartLambda, SnapStartLambdaArgs
    from .storage import Storage, StorageArgs

_EXPORTS = {
    "ContainerLambda": "container_lambda",
    "ContainerLambdaArgs": "container_lambda",
    "InferenceLambda": "inference_lambda",
    "InferenceLambdaArgs": "inference_lambda",
    "ManagedLambda": "managed_lambda",
    "ManagedLambdaArgs": "managed_lambda",
    "ManagedNetwork": "network",
    "SageMakerEndpoint": "sagemaker_endpoint",
    "SageMakerEndpointArgs": "sagemaker_endpoint",
    "SnapStartLambda": "snapstart_lambda",
    "SnapStartLambdaArgs": "snapstart_lambda",
    "Storage": "storage",
    "StorageArgs": "storage",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "settings",
    "ContainerLambda",
    "ContainerLambdaArgs",
    "InferenceLambda",
    "InferenceLambdaArgs",
    "ManagedLambda",
    "ManagedLambdaArgs",
    "ManagedNetwork",
    "SageMakerEndpoint",
    "SageMakerEndpointArgs",
    "SnapStartLambda",
    "SnapStartLambdaArgs",
    "Storage",
    "StorageArgs",
]
