"""The per-record pipeline every handler runs: S3 event -> read -> classify -> store.

Bad input (and objects no retry can read) becomes an error item; a malformed
record is logged and kept in the failure queue; AWS failures that persist after
botocore's retries fail the invocation (after every other record is done), so
Lambda's own retries and the on-failure destination keep the event.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from .audio import AudioError, over_limit
from .core import Classifier
from .endpoint import EndpointError
from .events import S3Object, parse_event
from .settings import AUDIO_CONTENT_TYPES, TABLE_HASH_KEY, TABLE_RANGE_KEY
from .storage import FailureQueue, PredictionStore, S3Reader

logger = logging.getLogger("audio_inference")


class RecordsFailed(RuntimeError):
    """Some records hit AWS failures that outlived retries; the invocation must fail."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Pipeline:
    """Handle S3 events for one variant, reusing clients and model across invocations."""

    def __init__(
        self,
        variant: str,
        reader: S3Reader,
        store: PredictionStore,
        classifier: Classifier,
        model_sha256: str | None = None,
        failures: FailureQueue | None = None,
    ) -> None:
        self.variant = variant
        self.reader = reader
        self.store = store
        self.classifier = classifier
        self.model_sha256 = model_sha256
        self.failures = failures
        self.cold = True
        self.environment_id = uuid.uuid4().hex

    def after_restore(self) -> None:
        """Per-copy state for a SnapStart restore: a new identity and a fresh cold flag."""
        self.cold = True
        self.environment_id = uuid.uuid4().hex

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Process every S3 record in ``event``; return a summary of what was stored."""
        request_id = getattr(context, "aws_request_id", None) or uuid.uuid4().hex
        cold, self.cold = self.cold, False
        results: list[dict[str, Any]] = []
        failures: list[str] = []
        parsed = parse_event(event)
        for what in parsed.ignored:
            logger.info("event ignored", extra={"reason": what, "variant": self.variant})
        for reason, record in parsed.malformed:
            results.append(self._skip_malformed(reason, record, request_id))
        for obj in parsed.objects:
            try:
                results.append(self.process(obj, request_id, cold))
            except ParamValidationError as exc:  # the event named something S3 cannot take
                reason = f"the S3 record is not a valid request ({str(exc)[:300]})"
                record = {"bucket": obj.bucket, "key": obj.key, "version_id": obj.version_id}
                results.append(self._skip_malformed(reason, record, request_id))
            except Exception as exc:
                # Neither kind may cost the siblings: they run, then the invocation fails so
                # Lambda retries the event and its on-failure destination keeps it.
                logger.error(
                    "record failed",
                    exc_info=True,
                    extra={"object": obj.uri, "variant": self.variant, "status": "failed"},
                )
                failures.append(f"{obj.uri}: {exc}")
        if failures:
            raise RecordsFailed(
                f"{len(failures)} record(s) failed after retries and will be retried: "
                + "; ".join(failures)
            )
        return {"request_id": request_id, "cold_start": cold, "results": results}

    def _skip_malformed(self, reason: str, record: Any, request_id: str) -> dict[str, Any]:
        """Keep a malformed record with its reason (permanent: no retry can fix it), log it."""
        kept = self._keep_malformed(reason, record, request_id)
        logger.error(
            "malformed record skipped",
            extra={"reason": reason, "variant": self.variant, "kept": kept},
        )
        return {"status": "malformed", "reason": reason, "kept": kept}

    def _keep_malformed(self, reason: str, record: Any, request_id: str) -> bool:
        if self.failures is None:
            return False
        try:
            return self.failures.send(reason, record, request_id)
        except (ClientError, BotoCoreError):
            logger.exception("could not keep a malformed record in the failure queue")
            return False

    def process(self, obj: S3Object, request_id: str, cold: bool) -> dict[str, Any]:
        """Read, classify and store one uploaded object; return what was logged."""
        item = self._item(obj.uri, request_id, cold)
        item.update(
            bucket=obj.bucket,
            key=obj.key,
            version_id=obj.version_id,
            sequencer=obj.sequencer,
            event_time=obj.event_time,
        )
        record, _ = self._classify_and_store(item, lambda: self.reader.read(obj), "download")
        return record

    def handle_http(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """A function URL request (payload format 2.0): POST raw audio, get the prediction.

        The result is stored like an upload's, under ``https://<host>/requests/<id>``;
        bad input answers 4xx with the same error text an error item carries.
        """
        request_id = getattr(context, "aws_request_id", None) or uuid.uuid4().hex
        cold, self.cold = self.cold, False
        # Lambda builds these events; anyone with lambda:InvokeFunction can send others, so
        # every field is read defensively and a malformed one answers 400
        event = event if isinstance(event, dict) else {}
        context_ = _mapping(event.get("requestContext"))
        http = _mapping(context_.get("http"))
        host = str(context_.get("domainName") or "localhost")
        host = host if _HOST.fullmatch(host) else "localhost"
        name = f"https://{host}/requests/{request_id}"
        if http.get("method", "POST") != "POST":
            return _http(405, {"error": f"{name}: POST raw audio (audio/wav) to this URL"})
        headers = _mapping(event.get("headers"))
        content_type = str(headers.get("content-type", "")).split(";")[0].strip().lower()
        if content_type and content_type not in AUDIO_CONTENT_TYPES:
            return _http(
                415,
                {
                    "error": f"{name}: content type {content_type[:80]} is not supported: send "
                    "audio/wav or application/octet-stream"
                },
            )
        body = event.get("body") or ""
        if not isinstance(body, str):
            return _http(400, {"error": f"{name}: the body must be a string (base64 for audio)"})
        try:
            data = (
                base64.b64decode(body, validate=True)
                if event.get("isBase64Encoded")
                else body.encode()
            )
        except ValueError:
            return _http(400, {"error": f"{name}: the body is not valid base64"})
        if len(data) > self.reader.max_bytes:
            return _http(
                413,
                {
                    "object": name,
                    "error": f"{name}: the body is {over_limit(len(data), self.reader.max_bytes)}"
                    " (MAX_OBJECT_BYTES)",
                },
            )
        item = self._item(name, request_id, cold)
        item.update(sequencer=f"t{_now()}", event_time=_iso(event))
        try:
            record, item = self._classify_and_store(item, lambda: data, "receive")
        except (ClientError, BotoCoreError, EndpointError) as exc:
            logger.error("request failed", exc_info=True, extra={"object": name})
            return _http(503, {"object": name, "error": f"{name}: {exc}; send it again"})
        answer = {k: item.get(k) for k in ("object", "status", "label", "scores", "error")}
        answer.update(model_sha256=item.get("model_sha256"), timings_ms=record["timings_ms"])
        return _http(200 if item["status"] == "ok" else 400, answer)

    def _item(self, name: str, request_id: str, cold: bool) -> dict[str, Any]:
        return {
            TABLE_HASH_KEY: name,
            TABLE_RANGE_KEY: self.variant,
            "request_id": request_id,
            "environment_id": self.environment_id,
            "cold_start": cold,
            "model_sha256": self.model_sha256,
        }

    def _classify_and_store(
        self, item: dict[str, Any], fetch: Callable[[], bytes], fetch_timing: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Fetch the bytes, classify, write the item; return (log record, item)."""
        name = item[TABLE_HASH_KEY]
        timings: dict[str, float] = {}
        started = time.perf_counter()
        try:
            data = fetch()
            timings[fetch_timing] = round((time.perf_counter() - started) * 1000, 3)
            result = self.classifier.classify(data, name)
        except AudioError as exc:
            timings.setdefault(fetch_timing, round((time.perf_counter() - started) * 1000, 3))
            item.update(status="error", error=str(exc))
        else:
            timings.update(result.timings_ms)
            item.update(
                status="ok",
                label=result.label,
                scores=result.scores,
                model_sha256=result.model_sha256,
                audio_seconds=result.audio_seconds,
            )
        timings["handler"] = round((time.perf_counter() - started) * 1000, 3)
        item["timings_ms"] = timings
        item["completed_at"] = _now()
        store_started = time.perf_counter()
        stored = self.store.put(item)
        timings["store"] = round((time.perf_counter() - store_started) * 1000, 3)
        record = {
            "object": name,
            "variant": self.variant,
            "status": item["status"] if stored else "duplicate",
            "label": item.get("label"),
            "error": item.get("error"),
            "cold_start": item["cold_start"],
            "timings_ms": timings,
        }
        logger.info("record processed", extra=record)
        return record, item


def _http(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")
_EPOCH_MS = (946_684_800_000, 4_102_444_800_000)  # 2000 to 2100


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _iso(event: dict[str, Any]) -> str:
    """The request's arrival time as ISO 8601 (function URLs give epoch milliseconds); the
    time now for a missing or implausible one."""
    epoch = _mapping(event.get("requestContext")).get("timeEpoch")
    if (
        not isinstance(epoch, (int, float))
        or isinstance(epoch, bool)
        or not _EPOCH_MS[0] <= epoch <= _EPOCH_MS[1]
    ):
        return _now()
    return (
        datetime.fromtimestamp(epoch / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
