"""Adapters for S3 (read an upload within its size limit), DynamoDB (store one result) and SQS.

Both take their boto3 client in the constructor, so tests pass moto-backed
clients and nothing is patched.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .audio import AudioError, over_limit
from .events import S3Object
from .settings import TABLE_HASH_KEY

HEAD_BYTES = 64 * 1024  # small files arrive in this one request; its answer gives the size
# Errors no retry can fix: the object is named by the event but cannot be read.
PERMANENT_READ_ERRORS = {
    "AccessDenied": "the function may not read this object (AccessDenied); check that the "
    "upload is under the variant's prefix and the object is not encrypted with a foreign key",
    "AllAccessDisabled": "all access to the bucket is disabled",
    "NoSuchBucket": "the bucket no longer exists; recreate it with `pulumi up`",
    "InvalidObjectState": "the object is archived (Glacier); restore it or upload it again",
    "KMS.DisabledException": "the object's KMS key is disabled; re-enable it or upload again",
}


class S3Reader:
    """Read an uploaded object, refusing an oversize one after one small ranged GET."""

    def __init__(self, s3_client: Any, max_bytes: int) -> None:
        self.s3 = s3_client
        self.max_bytes = max_bytes

    def _get(
        self, obj: S3Object, byte_range: str, etag: str | None = None
    ) -> tuple[bytes, int, str | None]:
        args = {"Bucket": obj.bucket, "Key": obj.key, "Range": byte_range}
        if obj.version_id:
            args["VersionId"] = obj.version_id
        if etag:
            args["IfMatch"] = etag  # the rest must come from the same version as the head
        try:
            response = self.s3.get_object(**args)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "412"):
                raise AudioError(
                    f"{obj.uri}: the object was replaced while it was being read; the new "
                    "upload's own event gives its result (or upload it again)"
                ) from None
            if code in ("NoSuchKey", "NoSuchVersion", "404"):
                raise AudioError(
                    f"{obj.uri}: the object was deleted before it could be processed; upload it again"
                ) from None
            if code == "InvalidRange":  # S3's answer to any range on a 0-byte object
                return b"", 0, None
            if code in PERMANENT_READ_ERRORS:
                raise AudioError(f"{obj.uri}: {PERMANENT_READ_ERRORS[code]}") from None
            raise
        content_range = response.get("ContentRange", "")
        total = (
            int(content_range.rsplit("/", 1)[1])
            if "/" in content_range
            else response["ContentLength"]
        )
        return response["Body"].read(), total, response.get("ETag")

    def read(self, obj: S3Object) -> bytes:
        """Return the object's bytes, or raise AudioError naming the limit it breaks.

        The duration limit is enforced on the decoded audio (see ``audio.decode``),
        not estimated from the size here: compressed WAVs make size a poor guide.
        """
        head, total, etag = self._get(obj, f"bytes=0-{HEAD_BYTES - 1}")
        if total > self.max_bytes:
            raise AudioError(
                f"{obj.uri}: the object is {over_limit(total, self.max_bytes)} "
                "(MAX_OBJECT_BYTES); upload a shorter clip or raise the limit"
            )
        if total <= len(head):
            return head
        rest, _, _ = self._get(obj, f"bytes={len(head)}-", etag)
        return head + rest


def _dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(round(value, 6)))
    if isinstance(value, dict):
        return {k: _dynamo_value(v) for k, v in value.items() if v is not None}
    return value


class PredictionStore:
    """Write one result item per (object, variant), idempotently."""

    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        from boto3.dynamodb.types import TypeSerializer

        self.client = dynamodb_client
        self.table_name = table_name
        self._serialize = TypeSerializer().serialize

    def put(self, item: dict[str, Any]) -> bool:
        """Store ``item``; return False if a result for this or a newer upload already exists.

        The condition compares S3 sequencers, so a redelivered event (same
        sequencer) neither adds a second item nor overwrites the finished one,
        while a re-upload of the key (newer sequencer) replaces the old result.
        """
        clean = {k: self._serialize(_dynamo_value(v)) for k, v in item.items() if v is not None}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=clean,
                ConditionExpression="attribute_not_exists(#hash) OR #seq < :seq",
                ExpressionAttributeNames={"#hash": TABLE_HASH_KEY, "#seq": "sequencer"},
                ExpressionAttributeValues={":seq": clean["sequencer"]},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


class FailureQueue:
    """Send what cannot become an item (a malformed event record) to the failure queue."""

    def __init__(self, sqs_client: Any, queue_url: str | None) -> None:
        self.sqs = sqs_client
        self.queue_url = queue_url

    def send(self, reason: str, record: Any, request_id: str) -> bool:
        """Keep ``record`` with ``reason``; return False when no queue is configured.

        The message is always valid JSON under SQS's 256 KiB limit: a record too large
        to keep whole is kept as a summary (its size and its first characters as text).
        """
        if not self.queue_url:
            return False
        self.sqs.send_message(
            QueueUrl=self.queue_url, MessageBody=failure_message(reason, record, request_id)
        )
        return True


MAX_KEPT_JSON = 250_000  # under SQS's 262,144-byte message limit, with room for the envelope
KEPT_HEAD_CHARS = 8_000


def failure_message(reason: str, record: Any, request_id: str) -> str:
    """The failure queue's message for one malformed record: JSON, at most MAX_KEPT_JSON."""
    import json

    try:
        kept = json.dumps(record, default=str)  # ASCII only: characters are bytes
    except (ValueError, RecursionError) as exc:
        kept, record = "", {"unserialisable": f"{type(exc).__name__}: {str(exc)[:200]}"}
    message = json.dumps(
        {"reason": reason, "request_id": request_id, "record": record}, default=str
    )
    if len(message) <= MAX_KEPT_JSON:
        return message
    summary = {"truncated": True, "json_chars": len(kept), "head": kept[:KEPT_HEAD_CHARS]}
    return json.dumps({"reason": reason[:2000], "request_id": request_id, "record": summary})
