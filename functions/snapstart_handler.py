"""Lambda with SnapStart: init and one priming inference happen before the snapshot.

Each restored copy gets a new identity, a fresh cold-start flag, new random
state and new AWS connections, since a snapshot is shared by many copies.
"""

import random
from typing import Any

from audio_inference.core import LocalClassifier
from audio_inference.runtime import build_pipeline, reconnect
from snapshot_restore_py import register_after_restore, register_before_snapshot

PIPELINE = build_pipeline()


@register_before_snapshot
def prime() -> None:
    """Run one inference so the snapshot holds a warmed-up session."""
    classifier = PIPELINE.classifier
    assert isinstance(classifier, LocalClassifier)  # SnapStart runs the model in-process
    classifier.model.prime()


@register_after_restore
def refresh() -> None:
    """Make per-copy state unique again after a restore."""
    random.seed()
    PIPELINE.after_restore()
    reconnect(PIPELINE)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Classify every uploaded object in an S3 event and store one item each."""
    return PIPELINE.handle(event, context)
