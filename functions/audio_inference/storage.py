"""Adapters for S3 (read an upload within limits) and DynamoDB (store one result).

Both take their boto3 client in the constructor, so tests pass moto-backed
clients and nothing is patched.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .audio import AudioError, probe
from .events import S3Object
from .settings import TABLE_HASH_KEY

HEAD_BYTES = 64 * 1024  # enough for any WAV header; small files arrive in one request


class S3Reader:
    """Read an uploaded object, refusing oversize or overlong audio before the full download."""

    def __init__(self, s3_client: Any, max_bytes: int, max_seconds: float) -> None:
        self.s3 = s3_client
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds

    def _get(self, obj: S3Object, byte_range: str) -> tuple[bytes, int]:
        args = {"Bucket": obj.bucket, "Key": obj.key, "Range": byte_range}
        if obj.version_id:
            args["VersionId"] = obj.version_id
        try:
            response = self.s3.get_object(**args)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "NoSuchVersion", "404"):
                raise AudioError(
                    f"{obj.uri}: the object was deleted before it could be processed; upload it again"
                ) from None
            if code == "InvalidRange":  # S3's answer to any range on a 0-byte object
                return b"", 0
            raise
        content_range = response.get("ContentRange", "")
        total = (
            int(content_range.rsplit("/", 1)[1])
            if "/" in content_range
            else response["ContentLength"]
        )
        return response["Body"].read(), total

    def read(self, obj: S3Object) -> bytes:
        """Return the object's bytes, or raise AudioError naming the limit it breaks."""
        head, total = self._get(obj, f"bytes=0-{HEAD_BYTES - 1}")
        if total > self.max_bytes:
            raise AudioError(
                f"{obj.uri}: the object is {total / 1e6:.1f} MB, over the {self.max_bytes / 1e6:.1f} MB "
                "limit (MAX_OBJECT_BYTES); upload a shorter clip or raise the limit"
            )
        info = probe(head, obj.uri)
        seconds = info.estimated_seconds(total)
        if seconds > self.max_seconds:
            raise AudioError(
                f"{obj.uri}: the audio is about {seconds:.0f} s long, over the {self.max_seconds:.0f} s "
                "limit (MAX_AUDIO_SECONDS); upload a shorter clip or raise the limit"
            )
        if total <= len(head):
            return head
        rest, _ = self._get(obj, f"bytes={len(head)}-")
        return head + rest


def _dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(round(value, 6)))
    if isinstance(value, dict):
        return {k: _dynamo_value(v) for k, v in value.items() if v is not None}
    return value


class PredictionStore:
    """Write one result item per (object, predictor), idempotently."""

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
