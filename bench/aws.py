"""``python -m bench aws``: benchmark a deployed stack; ``python -m bench tune``: sweep Lambda memory.

Uploads labelled samples under each variant's prefix, waits for the prediction
items, reads the functions' REPORT lines from CloudWatch Logs and joins them
to the items through the request id the handler stores. The results file has
the same schema as ``bench local`` (target "aws"), so ``bench cost`` and
``bench report`` work on it unchanged.

Exit codes: 0 done, 1 finished with lost or failed items, 2 bad input or stack
outputs, 3 declined at the confirmation prompt, 130 interrupted.
"""

from __future__ import annotations

import json
import math
import random
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from audio_inference.settings import (
    LAMBDA_MEMORY_MB,
    SAGEMAKER,
    SNAPSTART,
    STANDARD,
    VARIANTS,
    table_key,
)

from . import results
from .processes import ROOT

REQUIRED_OUTPUTS = (
    "region",
    "bucket_name",
    "table_name",
    "variants",
    "upload_prefixes",
    "function_names",
    "log_group_names",
    "memory_mb",
)
PER_VARIANT_OUTPUTS = {SNAPSTART: ("snapstart_alias_name",), SAGEMAKER: ("endpoint_name",)}
NONCE_VARIABLE = "KIT_COLD_START_NONCE"
EXIT_OK, EXIT_CHECKS, EXIT_INPUT, EXIT_DECLINED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class BenchError(RuntimeError):
    """A user-facing failure with the exit code to use."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- stack outputs


def load_outputs(stack: str | None, outputs_file: str | None) -> dict:
    """Stack outputs from ``pulumi stack output --json`` or a file holding that JSON."""
    if outputs_file:
        try:
            return json.loads(Path(outputs_file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BenchError(f"--outputs {outputs_file}: cannot read it as JSON ({exc})") from None
    if not stack:
        raise BenchError(
            "name the stack with --stack NAME, or pass --outputs FILE "
            "(the JSON printed by `pulumi stack output --json`)"
        )
    try:
        done = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except FileNotFoundError:
        raise BenchError(
            "the pulumi CLI is not on PATH: install it, or pass --outputs FILE"
        ) from None
    if done.returncode != 0:
        raise BenchError(
            f"`pulumi stack output --stack {stack}` failed: {done.stderr.strip()[-500:]}"
        )
    return json.loads(done.stdout)


def check_outputs(outputs: dict, wanted: list[str] | None = None) -> list[str]:
    """Return the variants to run; refuse when an output the run needs is missing."""
    for key in REQUIRED_OUTPUTS:
        if key not in outputs or outputs[key] in (None, "", [], {}):
            raise BenchError(
                f"stack output {key!r} is missing: run `pulumi up` on this stack, or pass the "
                "complete `pulumi stack output --json` with --outputs"
            )
    deployed = [v for v in outputs["variants"] if v in VARIANTS]
    variants = wanted or deployed
    for v in variants:
        if v not in deployed:
            raise BenchError(
                f"variant {v!r} is not deployed in this stack (it has {', '.join(deployed)}); "
                f"add it with `pulumi config set` and `pulumi up`, or drop it from --variants"
            )
        for key in ("upload_prefixes", "function_names", "log_group_names", "memory_mb"):
            if v not in outputs[key]:
                raise BenchError(
                    f"stack output {key!r} has no entry for {v!r}: run `pulumi up` again"
                )
        for key in PER_VARIANT_OUTPUTS.get(v, ()):
            if not outputs.get(key):
                raise BenchError(
                    f"stack output {key!r} is missing, which the {v} variant needs: run `pulumi up`"
                )
    return variants


def variant_memory(outputs: dict, variant: str) -> int:
    """The deployed memory of ``variant``'s function, from the stack outputs (one source)."""
    return int(outputs["memory_mb"][variant])


class Clients:
    """boto3 clients for the stack's region (endpoints honour AWS_ENDPOINT_URL*)."""

    def __init__(self, region: str) -> None:
        session = boto3.Session(region_name=region)
        self.s3 = session.client("s3")
        self.dynamodb = session.client("dynamodb")
        self.logs = session.client("logs")
        self.lambda_ = session.client("lambda")


# --------------------------------------------------------------------------- REPORT lines

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


# --------------------------------------------------------------------------- cold starts


class ColdStarts:
    """Ways to make the next invocation a cold start on AWS, and undo them afterwards.

    ``reconfigure`` changes an environment variable (Lambda retires warm
    environments on any configuration change); for SnapStart it also publishes
    a version and moves the alias once the version is active. ``restore()`` puts
    the original configuration and alias back and deletes the versions it made.
    """

    def __init__(self, lambda_client: Any, outputs: dict, strategy: str) -> None:
        self.client = lambda_client
        self.outputs = outputs
        self.strategy = strategy
        self.original_env: dict[str, dict] = {}
        self.original_alias: str | None = None
        self.published: list[str] = []
        self.calls: list[str] = []

    def _wait_updated(self, name: str) -> None:
        for _ in range(120):
            config = self.client.get_function_configuration(FunctionName=name)
            if config.get("LastUpdateStatus", "Successful") != "InProgress":
                if config.get("LastUpdateStatus") == "Failed":
                    raise BenchError(
                        f"updating {name} failed: {config.get('LastUpdateStatusReason')}"
                    )
                return
            time.sleep(1)
        raise BenchError(f"{name} did not finish updating within 2 minutes")

    def _wait_active(self, name: str, version: str) -> None:
        for _ in range(600):  # SnapStart optimisation of a new version takes minutes
            state = self.client.get_function_configuration(
                FunctionName=name, Qualifier=version
            ).get("State", "Active")
            if state == "Active":
                return
            if state == "Failed":
                raise BenchError(f"version {version} of {name} failed to become active")
            time.sleep(2)
        raise BenchError(f"version {version} of {name} was not active within 20 minutes")

    def force(self, variant: str) -> None:
        """Retire warm environments of ``variant`` (reconfigure strategy only)."""
        if self.strategy != "reconfigure":
            return
        name = self.outputs["function_names"][variant]
        config = self.client.get_function_configuration(FunctionName=name)
        env = dict(config.get("Environment", {}).get("Variables", {}))
        self.original_env.setdefault(name, {k: v for k, v in env.items() if k != NONCE_VARIABLE})
        env[NONCE_VARIABLE] = uuid.uuid4().hex
        self.client.update_function_configuration(FunctionName=name, Environment={"Variables": env})
        self.calls.append(f"update_function_configuration {name}")
        self._wait_updated(name)
        if variant == SNAPSTART:
            alias = self.outputs["snapstart_alias_name"]
            if self.original_alias is None:
                self.original_alias = self.client.get_alias(FunctionName=name, Name=alias)[
                    "FunctionVersion"
                ]
            version = self.client.publish_version(FunctionName=name)["Version"]
            self.published.append(version)
            self.calls.append(f"publish_version {name} -> {version}")
            self._wait_active(name, version)
            self.client.update_alias(FunctionName=name, Name=alias, FunctionVersion=version)
            self.calls.append(f"update_alias {alias} -> {version}")

    def restore(self) -> None:
        """Undo every change: environment, alias, published versions."""
        for name, env in self.original_env.items():
            self.client.update_function_configuration(
                FunctionName=name, Environment={"Variables": env}
            )
            self.calls.append(f"restore environment {name}")
            self._wait_updated(name)
        if self.original_alias is not None:
            name = self.outputs["function_names"][SNAPSTART]
            self.client.update_alias(
                FunctionName=name,
                Name=self.outputs["snapstart_alias_name"],
                FunctionVersion=self.original_alias,
            )
            self.calls.append(f"restore alias -> {self.original_alias}")
            for version in self.published:
                self.client.delete_function(FunctionName=name, Qualifier=version)
                self.calls.append(f"delete version {version}")
        self.original_env.clear()
        self.original_alias = None
        self.published.clear()


# --------------------------------------------------------------------------- workload


@dataclass
class Workload:
    """What to send."""

    requests: int = 30
    rpm: float = 0.0
    concurrency: int = 1
    cold_strategy: str = "none"
    cold_starts: int = 3
    burst: int = 4
    seed: int = 7
    samples_dir: Path = ROOT / "build" / "samples"
    wait_timeout_s: float = 180.0
    logs_timeout_s: float = 120.0
    variants: list[str] = field(default_factory=list)

    def cold_points(self) -> set[int]:
        """Schedule positions where a cold start is forced."""
        if self.cold_strategy == "none":
            return set()
        k = max(1, self.cold_starts)
        return {round(i * self.requests / k) for i in range(k)}


def _iso_ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


class AwsRun:
    """One benchmark of the deployed variants."""

    def __init__(self, outputs: dict, workload: Workload, clients: Clients | None = None) -> None:
        self.outputs = outputs
        self.work = workload
        self.clients = clients or Clients(outputs["region"])
        self.cold = ColdStarts(self.clients.lambda_, outputs, workload.cold_strategy)
        self.run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]
        self._items: dict[str, dict] = {}

    def _upload(self, variant: str, index: int, sample: str, label: str) -> dict:
        key = f"{self.outputs['upload_prefixes'][variant]}{self.run_id}/{index:03d}-{sample}"
        self.clients.s3.upload_file(
            str(self.work.samples_dir / sample), self.outputs["bucket_name"], key
        )
        return {
            "variant": variant,
            "index": index,
            "sample": sample,
            "true_label": label,
            "key": key,
            "object": f"s3://{self.outputs['bucket_name']}/{key}",
        }

    def send(self, variant: str, progress: Any = None, task: Any = None) -> list[dict]:
        """Upload the schedule for one variant; return what was uploaded."""
        from model_build.samples import read_manifest

        manifest = read_manifest(self.work.samples_dir)
        rng = random.Random(self.work.seed)
        order = [rng.choice(sorted(manifest)) for _ in range(self.work.requests)]
        cold = self.work.cold_points()
        uploads: list[dict] = []
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(self.work.concurrency, self.work.burst)) as pool:
            i = 0
            while i < len(order):
                if i in cold and self.work.cold_strategy == "reconfigure":
                    self.cold.force(variant)
                if self.work.rpm > 0:
                    time.sleep(max(0.0, started + i * 60 / self.work.rpm - time.monotonic()))
                width = (
                    self.work.burst
                    if (i in cold and self.work.cold_strategy == "burst")
                    else self.work.concurrency
                )
                batch = list(range(i, min(i + width, len(order))))
                futures = [
                    pool.submit(self._upload, variant, j, order[j], manifest[order[j]])
                    for j in batch
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
                key = table_key(self.outputs["bucket_name"], u["key"], u["variant"])
                raw = self.clients.dynamodb.get_item(
                    TableName=self.outputs["table_name"],
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
    ) -> list[dict]:
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
                {
                    **{k: u[k] for k in ("variant", "index", "sample", "true_label", "object")},
                    "label": (item or {}).get("label"),
                    "status": "lost" if item is None else item["status"],
                    "error": (item or {}).get("error"),
                    "cold": cold,
                    "init_ms": init,
                    "restore_ms": restore,
                    "duration_ms": duration,
                    "billed_ms": billed,
                    "billed_init_ms": billed_init,
                    "billed_restore_ms": int(report.get("billed_restore_ms", 0)),
                    "latency_ms": None if duration is None else duration + (init or restore or 0),
                    "e2e_ms": (_iso_ms(item["completed_at"]) - _iso_ms(item["event_time"]))
                    if item and item.get("event_time")
                    else None,
                    "max_memory_mb": report.get("max_memory_mb"),
                    "memory_mb": int(
                        report.get("memory_mb") or variant_memory(self.outputs, u["variant"])
                    ),
                    "environment": (item or {}).get("environment_id"),
                    "request_id": (item or {}).get("request_id"),
                    "report_found": bool(report),
                    "duplicated": 0,
                }
            )
        return out

    def active_versions(self) -> int:
        """Published SnapStart versions now (each is cached and billed while it exists)."""
        name = self.outputs["function_names"][SNAPSTART]
        pages = self.clients.lambda_.get_paginator("list_versions_by_function").paginate(
            FunctionName=name
        )
        return sum(v["Version"] != "$LATEST" for page in pages for v in page["Versions"])

    def run(self, progress: Any = None) -> dict:
        """Send, wait, read logs, join; always undo cold-start changes."""
        variants = self.work.variants
        start_ms = int(time.time() * 1000) - 60_000
        records: list[dict] = []
        try:
            for variant in variants:
                task = progress.add_task(variant, total=self.work.requests) if progress else None
                uploads = self.send(variant, progress, task)
                items = self.wait_items(uploads)
                ids = {i["request_id"] for i in items.values() if i.get("request_id")}
                reports = fetch_reports(
                    self.clients.logs,
                    self.outputs["log_group_names"][variant],
                    ids,
                    start_ms,
                    self.work.logs_timeout_s,
                )
                records += self.records(uploads, items, reports)
        finally:
            self.cold.restore()
        memory = {v: variant_memory(self.outputs, v) for v in variants}
        for r in records:  # the REPORT line knows the real memory size
            memory[r["variant"]] = r["memory_mb"]
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.work).items()}
        config.update(
            architecture=self.outputs.get("architecture", "x86_64"),
            sagemaker_instance_type=self.outputs.get("sagemaker_instance_type", "ml.t2.medium"),
            stack_region=self.outputs["region"],
            bucket=self.outputs["bucket_name"],
            model_sha256=self.outputs.get("model_sha256"),
            cold_start_calls=self.cold.calls,
            memory_mb=memory,
            snapstart_versions=self.active_versions() if SNAPSTART in variants else None,
        )
        endpoint = (
            {
                "name": self.outputs["endpoint_name"],
                "instance_type": self.outputs.get("sagemaker_instance_type", "ml.t2.medium"),
            }
            if SAGEMAKER in variants
            else {}
        )
        return results.build("aws", config, records, memory, endpoint, {"driver": "bench aws"})


# --------------------------------------------------------------------------- plan and confirmation


def estimate_cost(outputs: dict, work: Workload, runs: int = 1) -> float:
    """Rough cost of the traffic itself (endpoint hours are already being paid)."""
    from .cost import CostModel, VariantCost

    total = 0.0
    for v in work.variants:
        mem = variant_memory(outputs, v)
        spec = VariantCost(
            name=v,
            kind="lambda",
            memory_mb=mem,
            billed_ms=500,
            cold_fraction=0.2,
            billed_init_ms=2000,
            architecture=outputs.get("architecture", "x86_64"),
        )
        total += CostModel([spec]).monthly(spec, work.requests * runs)
    return total


def confirm(
    console: Any, outputs: dict, work: Workload, yes: bool, extra: str = "", runs: int = 1
) -> None:
    """Show what will happen and ask; refuse without a terminal unless --yes."""
    from rich.table import Table

    table = Table(title=f"About to benchmark stack resources in {outputs['region']}")
    for col in ("variant", "function", "uploads to", "uploads", "cold starts"):
        table.add_column(col)
    for v in work.variants:
        table.add_row(
            v,
            outputs["function_names"][v],
            f"s3://{outputs['bucket_name']}/{outputs['upload_prefixes'][v]}",
            str(work.requests * runs),
            work.cold_strategy,
        )
    console.print(table)
    console.print(
        f"Estimated cost of this traffic: about ${estimate_cost(outputs, work, runs):.4f} "
        f"(Lambda, S3, DynamoDB; endpoint hours are billed anyway). {extra}"
    )
    if yes:
        return
    if not sys.stdin.isatty():
        raise BenchError(
            "refusing to send traffic without confirmation: run in a terminal or pass --yes",
            EXIT_DECLINED,
        )
    answer = input("Proceed? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise BenchError("declined: nothing was uploaded", EXIT_DECLINED)


# --------------------------------------------------------------------------- memory sweep


@dataclass
class SweepPoint:
    """One memory size's figures for one variant."""

    variant: str
    memory_mb: int
    median_ms: float | None
    p90_ms: float | None
    cold_ms: float | None
    cost_per_million: float | None
    errors: int


def sweep(
    outputs: dict,
    work: Workload,
    memories: list[int],
    clients: Clients | None = None,
    progress: Any = None,
    runner: Any = None,
) -> dict:
    """Set each memory size on the Lambda variants, run the workload, restore the original sizes."""
    from .cost import CostModel, VariantCost

    clients = clients or Clients(outputs["region"])
    lambdas = [v for v in work.variants if v in (STANDARD, SNAPSTART)]
    if not lambdas:
        raise BenchError(
            "tune needs the standard or snapstart variant deployed (the proxy's size is fixed)"
        )
    names = {v: outputs["function_names"][v] for v in lambdas}
    original = {
        v: clients.lambda_.get_function_configuration(FunctionName=n)["MemorySize"]
        for v, n in names.items()
    }
    cold = ColdStarts(clients.lambda_, outputs, "reconfigure")
    runner = runner or (lambda o, w: AwsRun(o, w, clients).run(progress))
    points: list[SweepPoint] = []
    runs: dict[int, dict] = {}
    try:
        for memory in memories:
            for v, name in names.items():
                clients.lambda_.update_function_configuration(FunctionName=name, MemorySize=memory)
                cold._wait_updated(name)
                if v == SNAPSTART:  # a new size needs a new published version behind the alias
                    cold.force(v)
            sized = {**outputs["memory_mb"], **dict.fromkeys(lambdas, memory)}
            doc = runner({**outputs, "memory_mb": sized}, replace(work, variants=lambdas))
            runs[memory] = doc
            for v in lambdas:
                s = doc["summary"].get(v)
                if not s:
                    continue
                spec = VariantCost(
                    name=v,
                    kind="snapstart" if v == SNAPSTART else "lambda",
                    memory_mb=memory,
                    billed_ms=s["billed_ms_mean"] or 0,
                    cold_fraction=s["cold_fraction"],
                    billed_init_ms=s["billed_init_ms_mean"],
                    billed_restore_ms=s["billed_restore_ms_mean"],
                    architecture=outputs.get("architecture", "x86_64"),
                )
                cost = CostModel([spec]).per_million(spec) if s["billed_ms_mean"] else None
                points.append(
                    SweepPoint(
                        v,
                        memory,
                        s["duration_median_ms"],
                        results.percentile(
                            [
                                r["duration_ms"]
                                for r in doc["invocations"]
                                if r["variant"] == v and r["duration_ms"]
                            ],
                            90,
                        ),
                        s["cold_mean_ms"],
                        cost,
                        s["errors"] + s["lost"],
                    )
                )
    finally:
        for v, name in names.items():
            clients.lambda_.update_function_configuration(FunctionName=name, MemorySize=original[v])
            cold._wait_updated(name)
        cold.restore()
    return {
        "original_memory_mb": original,
        "points": [asdict(p) for p in points],
        "picks": picks(points),
        "runs": runs,
        "restore_calls": cold.calls,
    }


def picks(points: list[SweepPoint]) -> dict[str, dict]:
    """Cheapest, fastest and balanced (lowest cost x median product) size per variant."""
    out: dict[str, dict] = {}
    for v in dict.fromkeys(p.variant for p in points):
        rows = [p for p in points if p.variant == v and p.cost_per_million and p.median_ms]
        if not rows:
            continue
        out[v] = {
            "cheapest": min(rows, key=lambda p: p.cost_per_million).memory_mb,
            "fastest": min(rows, key=lambda p: p.median_ms).memory_mb,
            "balanced": min(rows, key=lambda p: p.cost_per_million * p.median_ms).memory_mb,
        }
    return out


def plot_sweep(sweep_doc: dict, out: Path) -> Path:
    """Cost per 1M and median duration against memory, one line pair per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    ax2 = ax.twinx()
    for v in dict.fromkeys(p["variant"] for p in sweep_doc["points"]):
        rows = sorted(
            (p for p in sweep_doc["points"] if p["variant"] == v), key=lambda p: p["memory_mb"]
        )
        xs = [p["memory_mb"] for p in rows]
        ax.plot(xs, [p["cost_per_million"] for p in rows], "o-", label=f"{v} cost per 1M")
        ax2.plot(xs, [p["median_ms"] for p in rows], "s--", label=f"{v} median duration")
    ax.set_xlabel("memory, MB")
    ax.set_ylabel("USD per 1M requests")
    ax2.set_ylabel("median duration, ms")
    ax.set_title("Memory sweep: cost and speed")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


# --------------------------------------------------------------------------- CLI


def _workload(args: Any, variants: list[str]) -> Workload:
    if args.requests < 1 or args.concurrency < 1 or args.rpm < 0:
        raise BenchError("--requests and --concurrency must be >= 1 and --rpm >= 0")
    samples = Path(args.samples)
    if not (samples / "manifest.csv").exists():
        raise BenchError(
            f"{samples}/manifest.csv is missing: run `make samples` "
            "(python -m model_build samples) first"
        )
    return Workload(
        requests=args.requests,
        rpm=args.rpm,
        concurrency=args.concurrency,
        cold_strategy=args.cold_strategy,
        cold_starts=args.cold_starts,
        seed=args.seed,
        samples_dir=samples,
        wait_timeout_s=args.wait_timeout,
        logs_timeout_s=args.logs_timeout,
        variants=variants,
    )


def _console() -> Any:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 150)


def main(args: Any) -> int:
    """``python -m bench aws``."""
    import signal

    from rich.progress import Progress

    console = _console()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        outputs = load_outputs(args.stack, args.outputs)
        variants = check_outputs(outputs, args.variants.split(",") if args.variants else None)
        work = _workload(args, variants)
        confirm(console, outputs, work, args.yes)
        with Progress(console=console) as progress:
            doc = AwsRun(outputs, work).run(progress)
    except BenchError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return exc.code
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; cold-start changes were undone[/yellow]")
        return EXIT_INTERRUPTED
    out_dir = Path(args.out)
    path = out_dir / "aws.json"
    results.write(doc, path)
    results.plot_latency(doc, out_dir)
    console.print(results.latency_table(doc))
    missing = sum(1 for r in doc["invocations"] if r["status"] != "lost" and not r["report_found"])
    console.print(
        f"lost items: {doc['checks']['lost']}; REPORT lines not found: {missing}; wrote {path}"
    )
    console.print(f"next: python -m bench report {path}")
    return EXIT_OK if doc["checks"]["lost"] == 0 else EXIT_CHECKS


def tune_main(args: Any) -> int:
    """``python -m bench tune``."""
    import signal

    from rich.progress import Progress
    from rich.table import Table

    console = _console()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        memories = [int(m) for m in args.memory.split(",")]
        low, high = LAMBDA_MEMORY_MB
        bad = [m for m in memories if not low <= m <= high]
        if bad:
            raise BenchError(f"--memory {bad[0]} is outside Lambda's {low}-{high} MB")
        outputs = load_outputs(args.stack, args.outputs)
        variants = [
            v
            for v in check_outputs(outputs, args.variants.split(",") if args.variants else None)
            if v in (STANDARD, SNAPSTART)
        ]
        work = _workload(args, variants)
        confirm(
            console,
            outputs,
            work,
            args.yes,
            f"{len(memories)} memory sizes; the original size is "
            "restored afterwards, also after a failure or Ctrl-C.",
            runs=len(memories),
        )
        with Progress(console=console) as progress:
            doc = sweep(outputs, work, memories, progress=progress)
    except BenchError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return exc.code
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; the original memory sizes were restored[/yellow]")
        return EXIT_INTERRUPTED
    table = Table(title="Memory sweep")
    for col in (
        "variant",
        "memory MB",
        "median ms",
        "p90 ms",
        "cold start ms",
        "cost per 1M",
        "errors",
    ):
        table.add_column(col)
    for p in doc["points"]:
        table.add_row(
            p["variant"],
            str(p["memory_mb"]),
            *(
                f"{x:,.1f}" if x is not None else "-"
                for x in (p["median_ms"], p["p90_ms"], p["cold_ms"])
            ),
            "-" if p["cost_per_million"] is None else f"${p['cost_per_million']:,.2f}",
            str(p["errors"]),
        )
    console.print(table)
    for v, pick in doc["picks"].items():
        console.print(
            f"{v}: cheapest {pick['cheapest']} MB, fastest {pick['fastest']} MB, "
            f"balanced {pick['balanced']} MB"
        )
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tune.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    for memory, run in doc["runs"].items():
        results.write(run, out_dir / f"aws-{memory}mb.json")
    console.print(
        f"wrote {out_dir / 'tune.json'}, {plot_sweep(doc, out_dir / 'tune.png')} and one results file "
        "per size (each works with `bench report`)"
    )
    return EXIT_OK
