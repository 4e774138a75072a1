"""The per-record pipeline every handler runs: S3 event -> read -> classify -> store.

Bad input (and objects no retry can read) becomes an error item; a malformed
record is logged and kept in the failure queue; AWS failures that persist after
botocore's retries fail the invocation (after every other record is done), so
Lambda's own retries and the on-failure destination keep the event.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .audio import AudioError
from .core import Classifier
from .endpoint import EndpointError
from .events import S3Object, parse_event
from .settings import TABLE_HASH_KEY, TABLE_RANGE_KEY
from .storage import FailureQueue, PredictionStore, S3Reader

logger = logging.getLogger("audio_inference")


class RecordsFailed(RuntimeError):
    """Some records hit AWS failures that outlived retries; the invocation must fail."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Pipeline:
    """Handle S3 events for one predictor, reusing clients and model across invocations."""

    def __init__(
        self,
        predictor: str,
        reader: S3Reader,
        store: PredictionStore,
        classifier: Classifier,
        model_sha256: str | None = None,
        failures: FailureQueue | None = None,
    ) -> None:
        self.predictor = predictor
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
        for reason, record in parsed.malformed:
            kept = self._keep_malformed(reason, record, request_id)
            logger.error(
                "malformed record skipped",
                extra={"reason": reason, "predictor": self.predictor, "kept": kept},
            )
            results.append({"status": "malformed", "reason": reason, "kept": kept})
        for obj in parsed.objects:
            try:
                results.append(self.process(obj, request_id, cold))
            except (ClientError, BotoCoreError, EndpointError) as exc:
                logger.error(
                    "record failed",
                    exc_info=True,
                    extra={"object": obj.uri, "predictor": self.predictor, "status": "failed"},
                )
                failures.append(f"{obj.uri}: {exc}")
        if failures:
            raise RecordsFailed(
                f"{len(failures)} record(s) failed after retries and will be retried: "
                + "; ".join(failures)
            )
        return {"request_id": request_id, "cold_start": cold, "results": results}

    def _keep_malformed(self, reason: str, record: Any, request_id: str) -> bool:
        if self.failures is None:
            return False
        try:
            return self.failures.send(reason, record, request_id)
        except (ClientError, BotoCoreError):
            logger.exception("could not keep a malformed record in the failure queue")
            return False

    def process(self, obj: S3Object, request_id: str, cold: bool) -> dict[str, Any]:
        """Read, classify and store one object; return what was logged."""
        timings: dict[str, float] = {}
        item: dict[str, Any] = {
            TABLE_HASH_KEY: obj.uri,
            TABLE_RANGE_KEY: self.predictor,
            "bucket": obj.bucket,
            "key": obj.key,
            "version_id": obj.version_id,
            "sequencer": obj.sequencer,
            "event_time": obj.event_time,
            "request_id": request_id,
            "environment_id": self.environment_id,
            "cold_start": cold,
            "model_sha256": self.model_sha256,
        }
        started = time.perf_counter()
        try:
            data = self.reader.read(obj)
            timings["download"] = round((time.perf_counter() - started) * 1000, 3)
            result = self.classifier.classify(data, obj.uri)
        except AudioError as exc:
            timings.setdefault("download", round((time.perf_counter() - started) * 1000, 3))
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
        outcome = item["status"] if stored else "duplicate"
        record = {
            "object": obj.uri,
            "predictor": self.predictor,
            "status": outcome,
            "label": item.get("label"),
            "error": item.get("error"),
            "cold_start": cold,
            "timings_ms": timings,
        }
        logger.info("record processed", extra=record)
        return record
