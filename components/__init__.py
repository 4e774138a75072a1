"""Pulumi components of the kit: one module per component, re-exported here."""

import sys
from pathlib import Path

# Names shared with the functions (env vars, variants, table keys) come from the
# Lambda code root, so the stack and the handlers cannot drift apart.
_FUNCTIONS = str(Path(__file__).resolve().parent.parent / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.insert(0, _FUNCTIONS)

from audio_inference import settings  # noqa: E402  (shared names, re-exported)

from .inference_lambda import InferenceLambda, InferenceLambdaArgs  # noqa: E402
from .sagemaker_endpoint import SageMakerEndpoint, SageMakerEndpointArgs  # noqa: E402
from .snapstart_lambda import SnapStartLambda, SnapStartLambdaArgs  # noqa: E402
from .storage import Storage, StorageArgs  # noqa: E402

__all__ = [
    "settings",
    "InferenceLambda",
    "InferenceLambdaArgs",
    "SageMakerEndpoint",
    "SageMakerEndpointArgs",
    "SnapStartLambda",
    "SnapStartLambdaArgs",
    "Storage",
    "StorageArgs",
]
