"""Parse S3 event notifications into the objects to process, record by record.

A malformed record (no key, a body that is not JSON, ``Records`` that is not a
list) never stops the others: it is returned apart with the reason, so the
pipeline can log it and keep it in the failure queue.
"""

from __future__ import annotations

import json
import re
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
    ignored: list[str] = field(default_factory=list)  # well-formed events with nothing to do


def _order_token(sequencer: str | None, event_time: str) -> str:
    """A string that orders uploads of one key, for the idempotent write.

    S3 sequencers are hex of varying length, so they are zero-padded to compare
    as strings. Emulators that omit the sequencer fall back to the event time.
    """
    if sequencer:
        return str(sequencer).rjust(32, "0")
    return f"t{event_time}"


BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")  # S3's bucket naming rules
MAX_KEY_BYTES = 1024  # S3's object key limit (UTF-8)
MAX_ENVELOPES = 3  # S3 -> SNS -> SQS -> Lambda is the deepest wrapping AWS produces


def _s3_record(record: dict[str, Any]) -> S3Object:
    """The object an ``aws:s3`` record names, or ValueError saying which field is wrong.

    Every field the S3 API calls take is type-checked here, so a forged record is
    malformed at once (not a botocore ParamValidationError retried as transient).
    """
    s3 = record["s3"]
    obj = s3["object"]
    key, bucket = obj["key"], s3["bucket"]["name"]
    if not isinstance(key, str) or not key or not isinstance(bucket, str) or not bucket:
        raise ValueError("bucket name and object key must be non-empty strings")
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        raise ValueError(f"{bucket[:80]!r} is not a valid S3 bucket name")
    key = unquote_plus(key)
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise ValueError(f"the object key is over S3's {MAX_KEY_BYTES}-byte limit")
    version_id = obj.get("versionId")
    if version_id is not None and not isinstance(version_id, str):
        raise ValueError(f"versionId must be a string, not {type(version_id).__name__}")
    sequencer = obj.get("sequencer")
    if sequencer is not None and not isinstance(sequencer, str):
        raise ValueError(f"sequencer must be a string, not {type(sequencer).__name__}")
    size = obj.get("size")
    return S3Object(
        bucket=bucket,
        key=key,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        version_id=version_id or None,
        sequencer=_order_token(sequencer, str(record.get("eventTime", ""))),
        event_time=str(record.get("eventTime", "")),
    )


def _envelope_body(text: Any, what: str) -> Any:
    """Decode the JSON an SQS body or SNS message carries; ValueError says why not."""
    if not isinstance(text, str):
        raise ValueError(f"the {what} is not a string")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"the {what} is JSON nested too deeply to read") from None
    except ValueError as exc:
        raise ValueError(f"the {what} is not JSON ({exc})") from None


def parse_event(event: Any, parsed: ParsedEvent | None = None, depth: int = 0) -> ParsedEvent:
    """Return the created objects in an S3 event, in order, and the malformed records.

    Keys are URL-decoded (S3 sends ``my+file%281%29.wav`` for ``my file(1).wav``).
    ``s3:TestEvent`` and S3 records other than ObjectCreated yield nothing (noted in
    ``ignored``). S3 events wrapped in SQS messages or SNS notifications are unwrapped.
    Anything else (a record without ``eventSource``, an EventBridge event, a body that
    cannot be decoded) is malformed: returned with its reason, never dropped.
    """
    parsed = parsed if parsed is not None else ParsedEvent()
    if depth > MAX_ENVELOPES:
        parsed.malformed.append(("the event is wrapped in too many envelopes", event))
        return parsed
    if not isinstance(event, dict):
        parsed.malformed.append(("the event is not a JSON object", event))
        return parsed
    if event.get("Event") == "s3:TestEvent":
        parsed.ignored.append("s3:TestEvent")
        return parsed
    if event.get("Type") == "Notification" and "Message" in event:  # an SNS body in SQS
        try:
            inner = _envelope_body(event["Message"], "SNS message")
        except ValueError as exc:
            parsed.malformed.append((str(exc), event))
            return parsed
        return parse_event(inner, parsed, depth + 1)
    if "Records" not in event:
        shape = (
            "an EventBridge event; this function takes S3 event notifications "
            "(the stack wires them), not EventBridge rules"
            if "detail-type" in event
            else "not an S3 event: it has no 'Records'"
        )
        parsed.malformed.append((f"the event is {shape}", event))
        return parsed
    records = event["Records"]
    if not isinstance(records, list):
        parsed.malformed.append(("'Records' is not a list", event))
        return parsed
    for record in records:
        try:
            _parse_record(record, parsed, depth)
        except Exception as exc:
            parsed.malformed.append(
                (f"the record could not be read ({type(exc).__name__}: {str(exc)[:200]})", record)
            )
    return parsed


def _parse_record(record: Any, parsed: ParsedEvent, depth: int) -> None:
    if not isinstance(record, dict):
        parsed.malformed.append(("the record is not a JSON object", record))
        return
    source = record.get("eventSource") or record.get("EventSource")
    if source == "aws:sqs":
        try:
            body = _envelope_body(record.get("body"), "SQS body")
        except ValueError as exc:
            parsed.malformed.append((str(exc), record))
            return
        parse_event(body, parsed, depth + 1)
    elif source == "aws:sns":
        try:
            body = _envelope_body((record.get("Sns") or {}).get("Message"), "SNS message")
        except (ValueError, AttributeError) as exc:
            parsed.malformed.append((str(exc), record))
            return
        parse_event(body, parsed, depth + 1)
    elif source == "aws:s3":
        name = str(record.get("eventName", ""))
        if not name.startswith("ObjectCreated"):
            parsed.ignored.append(name or "an S3 record without eventName")
            return
        try:
            parsed.objects.append(_s3_record(record))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            parsed.malformed.append(
                (f"the S3 record has no usable bucket and key ({exc!r})", record)
            )
    else:
        what = f"eventSource {str(source)[:40]!r}" if source else "no eventSource"
        parsed.malformed.append(
            (f"the record has {what}; expected aws:s3, or aws:sqs / aws:sns wrapping one", record)
        )


def s3_objects(event: Any) -> list[S3Object]:
    """The created objects in an event (malformed records are left out)."""
    return parse_event(event).objects
