"""``python -m kit local``: the whole pipeline on an embedded AWS emulator.

audio file -> S3 (moto) -> S3 event (moto, via SQS) -> Lambda execution
environments (awslambdaric processes running the real handlers; SnapStart
copies forked from an initialized snapshot; the proxy calling the SageMaker
serving app as a local process) -> DynamoDB (moto)."""

from __future__ import annotations

import functools
import os
import platform
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from audio_inference.events import s3_objects
from audio_inference.settings import (
    CONTAINER,
    ENV_FAILURE_QUEUE_URL,
    ENV_FUNCTION_TIMEOUT,
    HANDLERS,
    HTTP,
    MANAGED,
    SAGEMAKER,
    SNAPSTART,
    upload_prefix,
)
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kit import ROOT, results
from kit.measure.schedule import wait_for_slot
from kit.measure.setup import model_identity
from model_build.samples import read_manifest

from .config import LocalConfig
from .cpu_share import CpuShare, init_vcpus
from .emulator import REGION, MotoServer, create_stack, handler_env, receive_events
from .failures import failed_events, keep_failed
from .fault_proxy import Fault, FaultProxy
from .function_url import FunctionUrl
from .functions import FunctionEmulator
from .image_layout import container_environment
from .managed import ManagedFunction, with_concurrency
from .processes import ServingProcess, interrupts, stop_children
from .reference import check_variants
from .runtime_api import Snapshot, billed_ms


class Run:
    """One local run; ``close()`` stops everything it started."""

    def __init__(self, cfg: LocalConfig, console: Console) -> None:
        self.cfg = cfg
        self.console = console
        self.run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]
        self.log = cfg.out_dir / "logs" / f"local-{self.run_id}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.server: MotoServer | None = None
        self.serving: ServingProcess | None = None
        self.snapshot: Snapshot | None = None
        self.emulators: dict[str, FunctionEmulator] = {}
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.executor = ThreadPoolExecutor(max_workers=max(4, min(cfg.concurrency * 2, 256)))
        self.records: list[dict] = []
        self.pending: dict[str, dict] = {}
        self.done: dict[str, threading.Event] = {}
        self.endpoint: results.Endpoint | None = None
        self.snapshot_init_ms: float | None = None
        self.fault_proxy: FaultProxy | None = None
        self.url: FunctionUrl | None = None
        self.cpu = CpuShare.detect()
        self.failure_queue = ""

    def start(self) -> None:
        """Emulator, stack, serving app, snapshot and one function emulator per variant."""
        self.server = MotoServer()
        # Names unique per run: moto's state is per process, and runs must not collide.
        self.stack = create_stack(
            self.server,
            self.cfg.model_dir,
            self.cfg.variants,
            bucket=f"audio-uploads-{self.run_id}",
            table=f"predictions-{self.run_id}",
        )
        self.failure_queue = self.server.client("sqs").create_queue(
            QueueName=f"failures-{self.run_id}"
        )["QueueUrl"]
        faults = [
            Fault("s3", "throttle", self.cfg.s3_fault_rate),
            Fault("dynamodb", "throttle", self.cfg.dynamodb_fault_rate),
        ]
        if any(f.rate for f in faults):  # handlers reach the emulator through the fault proxy
            self.fault_proxy = FaultProxy(
                self.server.url, [f for f in faults if f.rate], self.cfg.seed
            )
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_"))}
        for variant in self.cfg.variants:
            env = {
                **base,
                **handler_env(self.server, self.stack, variant),
                **({"AWS_ENDPOINT_URL": self.fault_proxy.url} if self.fault_proxy else {}),
                ENV_FAILURE_QUEUE_URL: self.failure_queue,
                ENV_FUNCTION_TIMEOUT: str(int(self.cfg.timeout_s)),
                "AWS_LAMBDA_LOG_FORMAT": "JSON",
                "AWS_LAMBDA_FUNCTION_NAME": f"local-{variant}",
                "AWS_LAMBDA_FUNCTION_VERSION": "1" if variant == SNAPSTART else "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.cfg.memory_mb(variant)),
                "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
            }
            if variant == CONTAINER:  # code and model from the image's file layout, no S3
                env.update(self._container_layout())
                env.pop("MODEL_S3_URI", None)
            snapshot = None
            if variant == SAGEMAKER:
                self.serving = ServingProcess(
                    self.cfg.model_dir, workers=self.cfg.serving_workers, log=self.log
                )
                self.endpoint = results.Endpoint(
                    name="local serving app",
                    startup_ms=self.serving.startup_ms,
                    note="local serving process; its startup stands in for the endpoint's",
                )
                env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = self.serving.url
            if variant == SNAPSTART:
                group = None
                if self.cfg.cpu_share and self.cpu.active:  # init with the boost any env gets
                    boost = init_vcpus(self.cfg.memory_mb(variant))
                    group = self.cpu.group(f"{variant}-snapshot", boost)
                self.snapshot = snapshot = Snapshot(HANDLERS[variant], env, self.log, cpu=group)
                self.snapshot_init_ms = snapshot.init_ms
            cpu = self.cpu if self.cfg.cpu_share else None
            if variant == MANAGED:  # several requests per environment, started before traffic
                env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST.PUBLISHED"
                managed = ManagedFunction(variant, env, self.cfg, self.log, cpu)
                self.emulators[variant] = managed
                managed.prewarm()
            else:
                self.emulators[variant] = FunctionEmulator(
                    variant, env, self.cfg, self.log, snapshot, cpu
                )
                self.emulators[variant].prewarm(self.cfg.provisioned(variant))
            if variant == HTTP:
                self.url = FunctionUrl(self.emulators[variant])
                continue  # requests arrive over HTTP, not from an S3 queue
            thread = threading.Thread(target=self._dispatch, args=(variant,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _container_layout(self) -> dict[str, str]:
        root = self.cfg.out_dir / "images" / f"container-{self.run_id}"
        return container_environment(root, self.cfg.model_dir)

    def _dispatch(self, variant: str) -> None:
        """Deliver S3 events from the variant's queue to its function (async invoke)."""
        sqs = self.server.client("sqs")  # type: ignore[union-attr]
        while not self.stop_event.is_set():
            try:
                events = receive_events(sqs, self.stack.queues[variant], wait_seconds=1)
            except Exception:  # emulator shutting down
                if self.stop_event.is_set():
                    return
                raise
            for event in events:
                if event.get("Event") == "s3:TestEvent":
                    continue  # S3 sends it to queues when notifications are configured
                self.executor.submit(self._invoke, variant, event)

    def _invoke(self, variant: str, event: dict) -> None:
        objects = [o.uri for o in s3_objects(event)]
        try:
            attempts = self.emulators[variant].invoke(event)
        except Exception as exc:  # the emulator itself failed: keep the event all the same
            attempts = [{"error": {"errorType": type(exc).__name__, "errorMessage": str(exc)}}]
        if attempts[-1].get("error"):
            self._keep_failed(variant, event, attempts)
        for uri in objects:
            pending = self.pending.get(uri)
            if pending is None:
                continue
            pending.setdefault("attempts", []).extend(attempts)
            self.done[uri].set()

    def _keep_failed(self, variant: str, event: dict, attempts: list[dict]) -> None:
        keep_failed(self.server.client("sqs"), self.failure_queue, variant, event, attempts)  # type: ignore[union-attr]

    def failed_events(self) -> dict[str, str]:
        """Object URI -> reason, for every event kept in the failure queue."""
        return failed_events(self.server.client("sqs"), self.failure_queue)  # type: ignore[union-attr]

    def drive(self, progress: Progress) -> None:
        """Upload the schedule for each variant in turn and wait for every result."""
        s3 = self.server.client("s3")  # type: ignore[union-attr]
        manifest = read_manifest(self.cfg.samples_dir)
        files = sorted(manifest)
        rng = random.Random(self.cfg.seed)
        total = self.cfg.requests + self.cfg.warm  # the warm phase follows, without idle gaps
        order = [rng.choice(files) for _ in range(total)]
        for variant in self.cfg.variants:
            task = progress.add_task(variant, total=total)
            gaps, limits = self.cfg.gap_indices(variant), self.cfg.in_flight(variant, total)
            started = time.monotonic()
            uris: list[str] = []
            for i, sample in enumerate(order):
                if self.stop_event.is_set():
                    return
                if i == 0 or limits[i] != limits[i - 1]:  # a new level starts from idle
                    for uri in uris:
                        self.done[uri].wait(self.cfg.timeout_s * 3 + 30)
                    slots = threading.Semaphore(limits[i])
                if i in gaps:
                    progress.update(task, description=f"{variant} (idle gap: next is cold)")
                    time.sleep(self.cfg.idle_timeout_s + 0.5)
                    progress.update(task, description=variant)
                wait_for_slot(started, i, self.cfg.rpm)
                slots.acquire()
                if variant == HTTP:  # a synchronous request to the function URL
                    placeholder = f"request {i}"
                    self.done[placeholder] = threading.Event()
                    info = {"variant": variant, "index": i, "sample": sample}
                    threading.Thread(
                        target=self._post,
                        args=(placeholder, {**info, "true_label": manifest[sample]}),
                        daemon=True,
                    ).start()
                    uris.append(placeholder)
                    threading.Thread(
                        target=self._release, args=(placeholder, slots, progress, task), daemon=True
                    ).start()
                    continue
                key = f"{upload_prefix(variant)}{self.run_id}/{i:03d}-{sample}"
                uri = f"s3://{self.stack.bucket}/{key}"
                self.pending[uri] = {
                    "variant": variant,
                    "index": i,
                    "sample": sample,
                    "true_label": manifest[sample],
                    "uploaded": time.perf_counter(),
                }
                self.done[uri] = threading.Event()
                s3.upload_file(str(self.cfg.samples_dir / sample), self.stack.bucket, key)
                uris.append(uri)
                threading.Thread(
                    target=self._release, args=(uri, slots, progress, task), daemon=True
                ).start()
            for uri in uris:
                self.done[uri].wait(self.cfg.timeout_s * 3 + 30)

    def _post(self, placeholder: str, info: dict) -> None:
        """POST one sample to the local function URL; the response names the stored item."""
        assert self.url is not None
        data = (self.cfg.samples_dir / info["sample"]).read_bytes()
        status, body, sent, answered = self.url.post(data, self.cfg.timeout_s + 30)
        name = body.get("object") or f"{self.url.url}{placeholder}"
        attempt = dict(self.url.attempts.get(name, {"error": {"errorMessage": body.get("error")}}))
        attempt["finished"] = answered  # e2e over HTTP: request until response
        answer = f"HTTP {status}" if status else "no HTTP answer"
        reason = body.get("error") or body.get("Message") or body.get("message")
        self.pending[name] = {
            **info,
            "uploaded": sent,
            "attempts": [attempt],
            # a synchronous caller knows what it got: without an item, that is the outcome
            "answered": f"{answer}: {str(reason)[:300]}" if reason else answer,
        }
        self.done[placeholder].set()

    def _release(self, uri: str, slots: threading.Semaphore, progress: Progress, task: Any) -> None:
        self.done[uri].wait(self.cfg.timeout_s * 3 + 30)
        slots.release()
        progress.advance(task)

    def collect(self) -> results.Results:
        """Join uploads, invocations and table items into the results document."""
        from boto3.dynamodb.types import TypeDeserializer

        des = TypeDeserializer()
        ddb = self.server.client("dynamodb")  # type: ignore[union-attr]
        items: dict[tuple[str, str], dict] = {}
        copies: dict[tuple[str, str], int] = {}  # items per (object, variant) in the table
        for page in ddb.get_paginator("scan").paginate(
            TableName=self.stack.table, ConsistentRead=True
        ):
            for raw in page["Items"]:
                row = {k: des.deserialize(v) for k, v in raw.items()}
                key = (row["object"], row["variant"])
                copies[key] = copies.get(key, 0) + 1
                items[key] = row
        failed = self.failed_events()
        records = []
        finals: dict[str, dict] = {}  # managed: the attempt that wrote each item
        for uri, p in self.pending.items():
            variant = p["variant"]
            item = items.get((uri, variant))
            attempts = p.get("attempts", [])
            first = attempts[0] if attempts else {}
            # the attempt that wrote the item, else the last one
            final = next(
                (a for a in attempts if (item or {}).get("request_id") == a.get("request_id")),
                attempts[-1] if attempts else {},
            )
            if variant == MANAGED and item is not None:
                finals[uri] = final
            cold = bool(first.get("cold"))
            startup = first.get("startup_ms") if cold else None
            is_snap = first.get("kind") == "snapstart"
            duration = final.get("duration_ms")
            responses = [
                r
                for a in attempts
                if isinstance(a.get("response"), dict)
                for r in a["response"].get("results", [])
            ]
            if item is not None:
                status = item["status"]
            elif uri in failed:
                status = "failed"  # kept in the failure queue, with its reason
            elif "answered" in p:  # a synchronous request answered without an item (5xx)
                status = "failed"
                failed[uri] = p["answered"]
            else:
                status = "lost"
            records.append(
                results.Invocation(
                    variant=variant,
                    object=uri,
                    index=p["index"],
                    sample=p["sample"],
                    true_label=p["true_label"],
                    label=(item or {}).get("label"),
                    status=status,
                    error=(item or {}).get("error") or failed.get(uri),
                    cold=cold,
                    init_ms=None if is_snap else startup,
                    restore_ms=startup if is_snap else None,
                    duration_ms=duration,
                    billed_ms=billed_ms(duration) if duration else None,
                    billed_init_ms=billed_ms(startup) if startup and not is_snap else 0,
                    billed_restore_ms=billed_ms(startup) if startup and is_snap else 0,
                    e2e_ms=(final["finished"] - p["uploaded"]) * 1000
                    if final.get("finished") and item
                    else None,
                    max_memory_mb=first.get("max_memory_mb"),
                    memory_mb=self.cfg.memory_mb(variant),
                    environment=first.get("environment"),
                    request_id=(item or {}).get("request_id"),
                    attempts=len(attempts),
                    duplicated=max(0, copies.get((uri, variant), 0) - 1),
                    redelivered=sum(r.get("status") == "duplicate" for r in responses),
                    timings_ms=(item or {}).get("timings_ms"),
                )
            )
        records = with_concurrency(records, finals)
        records.sort(key=lambda r: (self.cfg.variants.index(r.variant), r.index))
        run = self.cfg.run_settings()
        run["snapshot_init_ms"] = self.snapshot_init_ms
        run["faults"] = {
            "crashes_injected": sum(e.crashes_injected for e in self.emulators.values()),
            "throttled_invocations": sum(e.throttles for e in self.emulators.values()),
            "aws_errors_injected": dict(self.fault_proxy.injected) if self.fault_proxy else {},
            "failure_queue_messages": len(failed),
        }
        shares = self.cfg.cpu_share and self.cpu.active
        cpu = results.CpuEmulation(
            mechanism=self.cpu.mechanism if self.cfg.cpu_share else "off",
            vcpus={v: round(e.vcpus, 3) for v, e in self.emulators.items()} if shares else {},
            note=self.cpu.reason
            or "each environment: memory / 1,769 MB vCPUs (max 6), capped at this machine's cores; "
            "a managed environment: its vCPUs (memory over GiB per vCPU), shared by its processes",
        )
        vcpus = {v: e.vcpus for v, e in self.emulators.items()}
        consistency = check_variants(self.cfg, self.cpu, vcpus, records, shares)
        machine = {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        }
        return results.build(
            target="local",
            model=model_identity(self.cfg.model_dir),
            variants=self.cfg.setups,
            records=records,
            cpu=cpu,
            run=run,
            region=REGION,
            endpoint=self.endpoint,
            machine=machine,
            consistency=consistency,
        )

    def close(self) -> None:
        """Stop dispatchers, environments, snapshot, serving app and emulator; free every port.

        Every step runs even if an earlier one fails, and any child a step missed
        (one interrupted while starting) is stopped at the end.
        """
        self.stop_event.set()
        steps: list[Callable[[], object]] = [e.stop for e in self.emulators.values()]
        steps += [x.stop for x in (self.snapshot, self.serving) if x is not None]
        steps += [functools.partial(t.join, timeout=5) for t in self.threads]
        steps += [lambda: self.executor.shutdown(wait=False, cancel_futures=True)]
        steps += [x.stop for x in (self.url, self.fault_proxy, self.server) if x is not None]
        steps += [stop_children]
        for step in steps:
            try:
                step()
            except Exception as exc:  # the next step must still run
                self.console.print(f"[yellow]cleanup: {type(exc).__name__}: {exc}[/yellow]")


def run(cfg: LocalConfig, console: Console | None = None, quiet: bool = False) -> results.Results:
    """Run the local proof of concept and return the results document."""
    console = console or Console()
    run_ = Run(cfg, console)

    # Installed before anything starts: the first Ctrl-C or SIGTERM stops the run, and
    # later ones wait for the cleanup (no process or port is left behind).
    interrupts.install()
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
        ) as progress:
            setup = progress.add_task("start emulator, snapshot, serving app", total=None)
            run_.start()
            progress.update(setup, total=1, completed=1)
            run_.drive(progress)
            check = progress.add_task("consistency check: raw session.run", total=None)
            doc = run_.collect()
            progress.update(check, total=1, completed=1)
        return doc
    finally:
        interrupts.stopping = True
        try:
            run_.close()
        finally:
            stop_children()
            interrupts.restore()
