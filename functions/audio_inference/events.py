"""Parse S3 event notifications into the objects to process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class S3Object:
    """One uploaded object named by an S3 event record."""

    bucket: str
    key: str
    size: int | None
    version_id: str | None
    sequencer: str
    event_time: str

    @property
    def uri(self) -> str:
        """``s3://bucket/key``: the table's hash key."""
        return f"s3://{self.bucket}/{self.key}"


def _order_token(sequencer: str | None, event_time: str) -> str:
    """A string that orders uploads of one key, for the idempotent write.

    S3 sequencers are hex of varying length, so they are zero-padded to compare
    as strings. Emulators that omit the sequencer fall back to the event time.
    """
    if sequencer:
        return str(sequencer).rjust(32, "0")
    return f"t{event_time}"


def s3_objects(event: dict[str, Any]) -> list[S3Object]:
    """Return the created objects in an S3 event, in order.

    Keys are URL-decoded (S3 sends ``my+file%281%29.wav`` for ``my file(1).wav``).
    ``s3:TestEvent`` and non-create records yield nothing. S3 events wrapped in
    SQS messages (S3 -> SQS -> Lambda) are unwrapped too.
    """
    if event.get("Event") == "s3:TestEvent":
        return []
    objects: list[S3Object] = []
    for record in event.get("Records", []):
        if record.get("eventSource") == "aws:sqs":
            objects.extend(s3_objects(json.loads(record.get("body") or "{}")))
            continue
        if record.get("eventSource") != "aws:s3":
            continue
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        objects.append(
            S3Object(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                size=obj.get("size"),
                version_id=obj.get("versionId") or None,
                sequencer=_order_token(obj.get("sequencer"), record.get("eventTime", "")),
                event_time=record.get("eventTime", ""),
            )
        )
    return objects
