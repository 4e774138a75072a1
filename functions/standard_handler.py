"""Standard Lambda: the model is downloaded and loaded once per execution environment."""

from typing import Any

from audio_inference.runtime import build_pipeline

PIPELINE = build_pipeline()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Classify every uploaded object in an S3 event and store one item each."""
    return PIPELINE.handle(event, context)
