"""128 MB proxy Lambda: sends each upload to the SageMaker endpoint and stores its answer.

It never loads onnxruntime: decoding and inference happen in the endpoint.
"""

from typing import Any

from audio_inference.runtime import build_pipeline

PIPELINE = build_pipeline()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Forward every uploaded object in an S3 event to the endpoint and store one item each."""
    return PIPELINE.handle(event, context)
