"""Parse S3 event notifications into the objects to process, record by record.

A malformed record (no key, a body that is not JSON, ``Records`` that is not a
list) never stops the others: it is returned apart with the reason, so the
pipeline can log it and keep it in the failure queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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


@dataclass
class ParsedEvent:
    """The objects an event names, and the records that could not be read."""

    objects: list[S3Object] = field(default_factory=list)
    malformed: list[tuple[str, Any]] = field(default_factory=list)


def _order_token(sequencer: str | None, event_time: str) -> str:
    """A string that orders uploads of one key, for the idempotent write.

    S3 sequencers are hex of varying length, so they are zero-padded to compare
    as strings. Emulators that omit the sequencer fall back to the event time.
    """
    if sequencer:
        return str(sequencer).rjust(32, "0")
    return f"t{event_time}"


def _s3_record(record: dict[str, Any]) -> S3Object:
    s3 = record["s3"]
    obj = s3["object"]
    key, bucket = obj["key"], s3["bucket"]["name"]
    if not isinstance(key, str) or not key or not isinstance(bucket, str) or not bucket:
        raise ValueError("bucket name and object key must be non-empty strings")
    size = obj.get("size")
    return S3Object(
        bucket=bucket,
        key=unquote_plus(key),
        size=size if isinstance(size, int) else None,
        version_id=obj.get("versionId") or None,
        sequencer=_order_token(obj.get("sequencer"), str(record.get("eventTime", ""))),
        event_time=str(record.get("eventTime", "")),
    )


def parse_event(event: Any, parsed: ParsedEvent | None = None) -> ParsedEvent:
    """Return the created objects in an S3 event, in order, and the malformed records.

    Keys are URL-decoded (S3 sends ``my+file%281%29.wav`` for ``my file(1).wav``).
    ``s3:TestEvent`` and non-create records yield nothing. S3 events wrapped in
    SQS messages (S3 -> SQS -> Lambda) are unwrapped too.
    """
    parsed = parsed if parsed is not None else ParsedEvent()
    if not isinstance(event, dict):
        parsed.malformed.append(("the event is not a JSON object", event))
        return parsed
    if event.get("Event") == "s3:TestEvent":
        return parsed
    records = event.get("Records", [])
    if not isinstance(records, list):
        parsed.malformed.append(("'Records' is not a list", event))
        return parsed
    for record in records:
        if not isinstance(record, dict):
            parsed.malformed.append(("the record is not a JSON object", record))
            continue
        source = record.get("eventSource")
        if source == "aws:sqs":
            try:
                body = json.loads(record.get("body") or "{}")
            except (TypeError, ValueError) as exc:
                parsed.malformed.append((f"the SQS body is not JSON ({exc})", record))
                continue
            parse_event(body, parsed)
            continue
        if source != "aws:s3" or not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        try:
            parsed.objects.append(_s3_record(record))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            parsed.malformed.append(
                (f"the S3 record has no usable bucket and key ({exc!r})", record)
            )
    return parsed


def s3_objects(event: Any) -> list[S3Object]:
    """The created objects in an event (malformed records are left out)."""
    return parse_event(event).objects
