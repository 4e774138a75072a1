"""Lambda's on-failure destination, locally: failed events kept in an SQS queue with their reason."""

from __future__ import annotations

import json
import time
from typing import Any

from audio_inference.events import s3_objects


def keep_failed(sqs: Any, queue_url: str, variant: str, event: dict, attempts: list[dict]) -> None:
    """Keep the event and why it failed, in the record format Lambda's destination uses."""
    error = attempts[-1]["error"] or {}
    record = {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": attempts[-1].get("request_id"),
            "functionArn": f"arn:aws:lambda:us-east-1:000000000000:function:local-{variant}",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": len(attempts),
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": error,
    }
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record, default=str))


def failed_events(sqs: Any, queue_url: str) -> dict[str, str]:
    """Object URI -> reason, for every event kept in the queue (the queue is drained)."""
    reasons: dict[str, str] = {}
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return reasons
        for message in messages:
            record = json.loads(message["Body"])
            payload = record["responsePayload"]
            reason = f"{payload.get('errorType', '')}: {payload.get('errorMessage', '')}"
            for obj in s3_objects(record["requestPayload"]):
                reasons[obj.uri] = reason
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
