"""Synchronous inference over HTTP: a Lambda function URL (AWS_IAM) in front of the same pipeline.

POST raw audio (at most 6 MB); the response is JSON with the label, scores,
model hash and timings, and the same item is written to DynamoDB under
``https://<url host>/requests/<request id>``. Bad input answers 4xx with the
error text an error item would carry.
"""

from typing import Any

from audio_inference.runtime import build_pipeline

PIPELINE = build_pipeline()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Classify the posted audio and answer with the prediction."""
    return PIPELINE.handle_http(event, context)
