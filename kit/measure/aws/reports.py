"""Lambda REPORT lines: parse the text and JSON formats, collect them from CloudWatch Logs."""

from __future__ import annotations

import json
import re
import time
from typing import Any

_TEXT_FIELDS = {
    "Duration": "duration_ms",
    "Billed Duration": "billed_ms",
    "Memory Size": "memory_mb",
    "Max Memory Used": "max_memory_mb",
    "Init Duration": "init_ms",
    "Restore Duration": "restore_ms",
    "Billed Restore Duration": "billed_restore_ms",
}
_JSON_FIELDS = {
    "durationMs": "duration_ms",
    "billedDurationMs": "billed_ms",
    "memorySizeMB": "memory_mb",
    "maxMemoryUsedMB": "max_memory_mb",
    "initDurationMs": "init_ms",
    "restoreDurationMs": "restore_ms",
    "billedRestoreDurationMs": "billed_restore_ms",
}


def parse_report(message: str) -> dict | None:
    """Parse a Lambda REPORT line, text (tab-separated) or JSON (``platform.report``)."""
    message = message.strip()
    if message.startswith("{"):
        try:
            doc = json.loads(message)
        except json.JSONDecodeError:
            return None
        if doc.get("type") != "platform.report":
            return None
        record = doc.get("record", {})
        out: dict[str, Any] = {"request_id": record.get("requestId")}
        for key, name in _JSON_FIELDS.items():
            if key in record.get("metrics", {}):
                out[name] = float(record["metrics"][key])
        return out if out["request_id"] else None
    if not message.startswith("REPORT RequestId:"):
        return None
    out = {}
    for part in re.split(r"\t+|\s{2,}", message[len("REPORT ") :]):
        label, _, value = part.partition(":")
        label, value = label.strip(), value.strip()
        if label == "RequestId":
            out["request_id"] = value
        elif label in _TEXT_FIELDS and value:
            out[_TEXT_FIELDS[label]] = float(value.split()[0])
    return out if out.get("request_id") else None


def fetch_reports(
    logs: Any,
    log_group: str,
    request_ids: set[str],
    start_ms: int,
    timeout_s: float,
    poll_s: float = 2.0,
) -> dict[str, dict]:
    """Collect REPORT lines for ``request_ids`` across all streams; wait for late ones."""
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout_s
    while True:
        kwargs = {"logGroupName": log_group, "startTime": start_ms}
        for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
            for event in page.get("events", []):
                report = parse_report(event["message"])
                if report and report["request_id"] in request_ids:
                    found[report["request_id"]] = report
        if request_ids <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(poll_s)
