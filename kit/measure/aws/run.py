"""One benchmark of the deployed variants: upload, wait for items, join REPORT lines."""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from audio_inference.settings import (
    HTTP,
    HTTP_MAX_BODY_BYTES,
    MANAGED,
    SAGEMAKER,
    SNAPSTART,
    TABLE_HASH_KEY,
    TABLE_RANGE_KEY,
    table_key,
)

from components import outputs as out
from kit import results
from kit.errors import KitError
from kit.measure.schedule import wait_for_slot
from kit.measure.setup import from_outputs, model_identity

from .cold import ColdStarts
from .outputs import Clients, variant_memory
from .reports import fetch_reports
from .workload import Workload


def _iso_ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def signed_post(url: str, data: bytes, region: str) -> tuple[int, dict]:
    """POST ``data`` to a function URL with AWS_IAM auth: SigV4 for service ``lambda``."""
    import urllib.error
    import urllib.request

    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise KitError("no AWS credentials to sign the function URL request with")
    request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "audio/wav"})
    SigV4Auth(credentials.get_frozen_credentials(), "lambda", region).add_auth(request)
    prepared = urllib.request.Request(url, data=data, headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(prepared, timeout=120) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        try:
            return err.code, json.loads(err.read() or b"{}")
        except ValueError:
            return err.code, {}


def refuse_reconfigure_with_provisioned(outputs: dict, workload: Workload) -> None:
    """``reconfigure`` edits ``$LATEST``; a provisioned variant's trigger invokes alias
    ``live``, whose initialized environments a configuration change does not retire: its
    "cold starts" would be warm. Refuse before anything is sent or changed."""
    if workload.cold_strategy != "reconfigure" or not workload.cold_points():
        return
    provisioned = outputs.get(out.PROVISIONED_CONCURRENCY) or {}
    held = {v: n for v, n in provisioned.items() if n and v in workload.variants}
    if held:
        listed = ", ".join(f"{v} ({n})" for v, n in held.items())
        raise KitError(
            f"--cold-strategy reconfigure cannot force cold starts on a variant with provisioned "
            f"concurrency: {listed} keep their environments initialized behind alias live. Use "
            "--cold-strategy burst (uploads beyond the provisioned environments spill over to "
            "on-demand ones, the cold starts your users would see) or --cold-strategy none, or "
            "measure those variants in a stack without provisionedConcurrency"
        )


class AwsRun:
    """One benchmark of the deployed variants."""

    def __init__(self, outputs: dict, workload: Workload, clients: Clients | None = None) -> None:
        self.outputs = outputs
        self.work = workload
        self.clients = clients or Clients(outputs[out.REGION])
        self.cold = ColdStarts(self.clients.lambda_, outputs, workload.cold_strategy)
        self.run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]
        self._items: dict[str, dict] = {}
        self.model = model_identity(workload.model_dir)
        refuse_reconfigure_with_provisioned(outputs, workload)
        deployed = outputs.get(out.MODEL_SHA256)
        if deployed and deployed != self.model.sha256:
            raise KitError(
                f"the stack serves model {deployed[:12]}... but {workload.model_dir}/model.json "
                f"describes {self.model.sha256[:12]}...: pass the deployed model's folder with "
                "--model-dir, or `pulumi up` with this one"
            )

    def _upload(self, variant: str, index: int, sample: str, label: str) -> dict:
        key = f"{self.outputs[out.UPLOAD_PREFIXES][variant]}{self.run_id}/{index:03d}-{sample}"
        self.clients.s3.upload_file(
            str(self.work.samples_dir / sample), self.outputs[out.BUCKET_NAME], key
        )
        return {
            "variant": variant,
            "index": index,
            "sample": sample,
            "true_label": label,
            "key": key,
            "object": f"s3://{self.outputs[out.BUCKET_NAME]}/{key}",
        }

    def _post(self, variant: str, index: int, sample: str, label: str) -> dict:
        """POST the sample to the variant's function URL, signed with SigV4; time the answer."""
        url = self.outputs[out.FUNCTION_URLS][variant]
        data = (self.work.samples_dir / sample).read_bytes()
        started = time.perf_counter()
        status, body = signed_post(url, data, self.outputs[out.REGION])
        e2e = (time.perf_counter() - started) * 1000
        name = body.get("object") or f"{url}#request-{index}"
        return {
            "variant": variant,
            "index": index,
            "sample": sample,
            "true_label": label,
            "key": None,
            "object": name,
            "http_status": status,
            "e2e_ms": e2e,
        }

    def send(self, variant: str, progress: Any = None, task: Any = None) -> list[dict]:
        """Upload the schedule for one variant; return what was uploaded."""
        from model_build.samples import read_manifest

        manifest = read_manifest(self.work.samples_dir)
        if variant == HTTP:
            too_big = [
                n
                for n in sorted(manifest)
                if (self.work.samples_dir / n).stat().st_size > HTTP_MAX_BODY_BYTES
            ]
            if too_big:
                raise KitError(
                    f"{too_big[0]} is over a function URL's {HTTP_MAX_BODY_BYTES:,}-byte body "
                    "limit (Lambda base64-encodes the body into its 6 MB event): use shorter "
                    "samples for --entry http"
                )
        rng = random.Random(self.work.seed)
        order = [rng.choice(sorted(manifest)) for _ in range(self.work.requests)]
        cold = self.work.cold_points()
        uploads: list[dict] = []
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(self.work.concurrency, self.work.burst)) as pool:
            i = 0
            while i < len(order):
                # Managed Instances have no cold starts to force: their environments are
                # started before the version is active, and a configuration change would
                # republish $LATEST.PUBLISHED (minutes) rather than start one cold
                if i in cold and self.work.cold_strategy == "reconfigure" and variant != MANAGED:
                    self.cold.force(variant)
                wait_for_slot(started, i, self.work.rpm)
                width = (
                    self.work.burst
                    if (i in cold and self.work.cold_strategy == "burst")
                    else self.work.concurrency
                )
                batch = list(range(i, min(i + width, len(order))))
                request = self._post if variant == HTTP else self._upload
                futures = [
                    pool.submit(request, variant, j, order[j], manifest[order[j]]) for j in batch
                ]
                sent = [f.result() for f in futures]
                uploads += sent
                if self.work.rpm == 0:  # closed loop: at most --concurrency requests in flight
                    self.wait_items(sent, poll_s=0.2)
                if progress is not None:
                    progress.advance(task, len(batch))
                i += len(batch)
        return uploads

    def wait_items(self, uploads: list[dict], poll_s: float = 1.0) -> dict[str, dict]:
        """Poll the table until every upload has its item or the wait times out."""
        from boto3.dynamodb.types import TypeDeserializer

        des = TypeDeserializer()
        items = {
            u["object"]: self._items[u["object"]] for u in uploads if u["object"] in self._items
        }
        deadline = time.monotonic() + self.work.wait_timeout_s
        while time.monotonic() < deadline:
            for u in uploads:
                if u["object"] in items:
                    continue
                key = (
                    table_key(self.outputs[out.BUCKET_NAME], u["key"], u["variant"])
                    if u["key"]
                    else {TABLE_HASH_KEY: u["object"], TABLE_RANGE_KEY: u["variant"]}
                )
                raw = self.clients.dynamodb.get_item(
                    TableName=self.outputs[out.TABLE_NAME],
                    ConsistentRead=True,
                    Key={k: {"S": v} for k, v in key.items()},
                ).get("Item")
                if raw:
                    items[u["object"]] = self._items[u["object"]] = {
                        k: des.deserialize(v) for k, v in raw.items()
                    }
            if len(items) == len(uploads):
                break
            time.sleep(poll_s)
        return items

    def records(
        self, uploads: list[dict], items: dict[str, dict], reports: dict[str, dict]
    ) -> list[results.Invocation]:
        """Join uploads, items and REPORT lines into the shared record format."""
        out = []
        for u in uploads:
            item = items.get(u["object"])
            report = reports.get((item or {}).get("request_id", ""), {})
            init, restore = report.get("init_ms"), report.get("restore_ms")
            duration = report.get("duration_ms")
            billed = report.get("billed_ms")
            # Since August 2025 an on-demand cold start's Billed Duration includes INIT;
            # count INIT separately only when the REPORT did not already bill it.
            billed_init = 0
            if (
                init
                and billed is not None
                and duration is not None
                and billed < duration + init - 1
            ):
                billed_init = int(math.ceil(init))
            cold = bool(init or restore) if report else bool((item or {}).get("cold_start"))
            out.append(
                results.Invocation(
                    variant=u["variant"],
                    object=u["object"],
                    index=u["index"],
                    sample=u["sample"],
                    true_label=u["true_label"],
                    label=(item or {}).get("label"),
                    status="lost" if item is None else item["status"],
                    error=(item or {}).get("error"),
                    cold=cold,
                    init_ms=init,
                    restore_ms=restore,
                    duration_ms=duration,
                    billed_ms=billed,
                    billed_init_ms=billed_init,
                    billed_restore_ms=int(report.get("billed_restore_ms", 0)),
                    e2e_ms=u.get("e2e_ms")  # http: request until response, as the caller saw it
                    or (
                        (_iso_ms(item["completed_at"]) - _iso_ms(item["event_time"]))
                        if item and item.get("event_time")
                        else None
                    ),
                    max_memory_mb=report.get("max_memory_mb"),
                    memory_mb=int(
                        report.get("memory_mb") or variant_memory(self.outputs, u["variant"])
                    ),
                    environment=(item or {}).get("environment_id"),
                    request_id=(item or {}).get("request_id"),
                    timings_ms=(item or {}).get("timings_ms"),
                    report_found=bool(report),
                )
            )
        return out

    def active_versions(self) -> int:
        """Published SnapStart versions now (each is cached and billed while it exists)."""
        name = self.outputs[out.FUNCTION_NAMES][SNAPSTART]
        pages = self.clients.lambda_.get_paginator("list_versions_by_function").paginate(
            FunctionName=name
        )
        return sum(v["Version"] != "$LATEST" for page in pages for v in page["Versions"])

    def run(self, progress: Any = None) -> results.Results:
        """Send, wait, read logs, join; always undo cold-start changes."""
        variants = self.work.variants
        start_ms = int(time.time() * 1000) - 60_000
        records: list[results.Invocation] = []
        try:
            for variant in variants:
                task = progress.add_task(variant, total=self.work.requests) if progress else None
                uploads = self.send(variant, progress, task)
                items = self.wait_items(uploads)
                ids = {i["request_id"] for i in items.values() if i.get("request_id")}
                reports = fetch_reports(
                    self.clients.logs,
                    self.outputs[out.LOG_GROUP_NAMES][variant],
                    ids,
                    start_ms,
                    self.work.logs_timeout_s,
                )
                records += self.records(uploads, items, reports)
        finally:
            self.cold.restore()
        memory = {r.variant: r.memory_mb for r in records if r.memory_mb}
        outputs = {  # the REPORT line knows the memory each invocation really had
            **self.outputs,
            out.MEMORY_MB: {**self.outputs[out.MEMORY_MB], **memory},
        }
        versions = self.active_versions() if SNAPSTART in variants else None
        run = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.work).items()}
        run.update(bucket=self.outputs[out.BUCKET_NAME], cold_start_calls=self.cold.calls)
        endpoint = (
            results.Endpoint(name=self.outputs[out.ENDPOINT_NAME])
            if SAGEMAKER in variants
            else None
        )
        return results.build(
            target="aws",
            model=self.model,
            variants=from_outputs(outputs, variants, versions),
            records=records,
            cpu=results.CpuEmulation(mechanism="aws", note="real Lambda: CPU share by memory"),
            run=run,
            region=self.outputs[out.REGION],
            endpoint=endpoint,
            machine={"driver": "kit aws"},
        )
