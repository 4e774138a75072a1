"""Pulumi components of the kit: one module per component, re-exported here.

Names shared with the functions (env vars, variants, table keys) come from the
installed ``audio_inference`` package, so the stack and the handlers cannot
drift apart.
"""

from audio_inference import settings

from .container_lambda import ContainerLambda, ContainerLambdaArgs
from .inference_lambda import InferenceLambda, InferenceLambdaArgs
from .sagemaker_endpoint import SageMakerEndpoint, SageMakerEndpointArgs
from .snapstart_lambda import SnapStartLambda, SnapStartLambdaArgs
from .storage import Storage, StorageArgs

__all__ = [
    "settings",
    "ContainerLambda",
    "ContainerLambdaArgs",
    "InferenceLambda",
    "InferenceLambdaArgs",
    "SageMakerEndpoint",
    "SageMakerEndpointArgs",
    "SnapStartLambda",
    "SnapStartLambdaArgs",
    "Storage",
    "StorageArgs",
]
