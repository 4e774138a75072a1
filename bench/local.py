"""``python -m bench local``: the whole pipeline on an embedded AWS emulator.

audio file -> S3 (moto) -> S3 event (moto, via SQS) -> Lambda execution
environments (awslambdaric processes running the real handlers; SnapStart
copies forked from an initialized snapshot; the proxy calling the SageMaker
serving app as a local process) -> DynamoDB (moto).
"""

from __future__ import annotations

import json
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from audio_inference.events import s3_objects
from audio_inference.settings import (
    ENV_FAILURE_QUEUE_URL,
    ENV_FUNCTION_TIMEOUT,
    HANDLERS,
    SAGEMAKER,
    SNAPSTART,
    VARIANTS,
    upload_prefix,
)
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from model_build.samples import read_manifest

from . import results
from .emulator import MotoServer, create_stack, handler_env, receive_events
from .fault_proxy import Fault, FaultProxy
from .processes import ROOT, ServingProcess
from .runtime_api import (
    EnvironmentFailed,
    ExecutionEnvironment,
    RestoredEnvironment,
    Snapshot,
    billed_ms,
)

BANNER = (
    "[bold]Local emulation, not AWS.[/bold] S3, SQS and DynamoDB are moto on loopback; each "
    "Lambda environment is a local awslambdaric process and SnapStart restores are forks of an "
    "initialized process. Not reproduced: Firecracker microVM start and snapshot restore, network "
    "latency to AWS services, and the CPU share Lambda gives each memory size (every environment "
    "here shares this machine's cores). A crashed or timed-out environment is discarded and the "
    "invocation retried twice, with Lambda's ~1 and ~2 minute delays scaled down to 1 and 2 s, then "
    "kept in the failure queue. Use it to check the pipeline and compare variants relative to each "
    "other; use `python -m bench aws` for figures that price a deployment."
)


@dataclass
class LocalConfig:
    """Settings of one local run (recorded in the results file)."""

    requests: int = 40
    rpm: float = 0.0
    concurrency: int = 1
    cold_starts: int = 3
    idle_timeout_s: float = 2.0
    variants: tuple[str, ...] = VARIANTS
    seed: int = 7
    model_dir: Path = ROOT / "build"
    samples_dir: Path = ROOT / "build" / "samples"
    out_dir: Path = ROOT / "results"
    memory_mb: dict[str, int] = field(default_factory=dict)
    architecture: str = "x86_64"
    sagemaker_instance_type: str = "ml.t2.medium"
    timeout_s: float = 90.0
    serving_workers: int = 1
    max_environments: int = 10
    """Concurrency limit per function; beyond it invocations are throttled and retried."""
    retry_delays_s: tuple[float, ...] = (1.0, 2.0)
    """Lambda's two async retries come ~1 and ~2 minutes apart; scaled down 60x locally."""
    crash_rate: float = 0.0
    """Share of invocations whose environment is killed mid-invocation (fault injection)."""
    s3_fault_rate: float = 0.0
    """Share of the handlers' S3 requests answered 503 SlowDown (fault injection)."""
    dynamodb_fault_rate: float = 0.0
    """Share of the handlers' DynamoDB requests answered ThrottlingException (fault injection)."""
    burst: int = 0
    """Upload this many objects per variant at once instead of the paced schedule."""

    def gap_indices(self) -> set[int]:
        """Requests preceded by an idle gap longer than the idle timeout (forced cold starts)."""
        k = max(1, self.cold_starts)
        return {round(i * self.requests / k) for i in range(1, k)} - {0}


class FunctionEmulator:
    """The Lambda service for one function: a pool of execution environments.

    An idle environment is reused; a new one starts when none is idle, up to
    ``max_environments`` (beyond it the invocation is throttled and retried, as
    Lambda does for asynchronous events); environments idle for longer than
    ``idle_timeout_s`` are retired, so the next invocation after a long gap is
    a cold start. An environment that crashed or timed out is discarded.
    """

    def __init__(
        self,
        variant: str,
        env: dict[str, str],
        cfg: LocalConfig,
        log: Path,
        snapshot: Snapshot | None = None,
    ) -> None:
        self.variant = variant
        self.env = env
        self.cfg = cfg
        self.log = log
        self.snapshot = snapshot
        self.pool: list[ExecutionEnvironment] = []
        self.lock = threading.Lock()
        self.count = 0
        self.throttles = 0
        self.crashes_injected = 0
        self.random = random.Random(cfg.seed)

    def _acquire(self) -> tuple[ExecutionEnvironment, bool] | None:
        """An environment to run on (and whether it is new), or None when throttled."""
        with self.lock:
            now = time.monotonic()
            for env in [
                e
                for e in self.pool
                if e.dead or (not e.busy and now - e.last_used > self.cfg.idle_timeout_s)
            ]:
                self.pool.remove(env)
                env.stop()
            for env in self.pool:
                if not env.busy:
                    env.busy = True
                    return env, False
            if len(self.pool) >= self.cfg.max_environments:
                self.throttles += 1
                return None
            self.count += 1
            name = f"{self.variant}-env{self.count}"
            handler = HANDLERS[self.variant]
            if self.snapshot is not None:
                env = RestoredEnvironment(
                    name, self.snapshot, handler, self.env, self.cfg.timeout_s, self.log
                )
            else:
                env = ExecutionEnvironment(name, handler, self.env, self.cfg.timeout_s, self.log)
            env.busy = True
            self.pool.append(env)
        try:
            env.start()
        except EnvironmentFailed:
            with self.lock:
                self.pool.remove(env)
            env.stop()
            raise
        return env, True

    def _run_once(self, event: dict) -> dict:
        acquired = None
        backoff = 0.05
        while acquired is None:  # throttled: async events wait and are retried
            acquired = self._acquire()
            if acquired is None:
                time.sleep(backoff)
                backoff = min(1.0, backoff * 2)
        env, cold = acquired
        try:
            if self.random.random() < self.cfg.crash_rate:
                self.crashes_injected += 1
                threading.Timer(0.0, env.kill).start()  # dies as the invocation starts
            item = env.invoke(event)
            return {
                "environment": env.name,
                "cold": cold,
                "kind": env.kind,
                "startup_ms": env.startup_ms if cold else None,
                "duration_ms": item.duration_ms,
                "finished": item.finished,
                "response": item.response,
                "error": item.error,
                "request_id": item.request_id,
                "max_memory_mb": env.peak_memory_mb(),
            }
        finally:
            env.busy = False
            env.last_used = time.monotonic()

    def invoke(self, event: dict) -> list[dict]:
        """Asynchronous invoke semantics: a failed invocation is retried after Lambda's delays."""
        attempts: list[dict] = []
        for delay in (0.0, *self.cfg.retry_delays_s):
            time.sleep(delay)
            try:
                attempt = self._run_once(event)
            except EnvironmentFailed as exc:  # init failed: Lambda retries that too
                attempt = {"error": {"errorType": "Runtime.InitError", "errorMessage": str(exc)}}
            attempts.append(attempt)
            if attempt.get("error") is None:
                break
        return attempts

    def stop(self) -> None:
        """Stop every environment."""
        with self.lock:
            for env in self.pool:
                env.stop()
            self.pool.clear()


def ensure_inputs(cfg: LocalConfig, console: Console) -> None:
    """Build the model and the labelled samples if they are missing."""
    if not (cfg.model_dir / "model.onnx").exists():
        console.print("[yellow]No model yet: running `python -m model_build` first.[/yellow]")
        subprocess.run([sys.executable, "-m", "model_build"], cwd=ROOT, check=True)
    if not (cfg.samples_dir / "manifest.csv").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "model_build",
                "samples",
                "--out",
                str(cfg.samples_dir),
                "--count",
                "40",
            ],
            cwd=ROOT,
            check=True,
        )


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
        self.endpoint: dict[str, Any] = {}
        self.snapshot_init_ms: float | None = None
        self.fault_proxy: FaultProxy | None = None
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
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.cfg.memory_mb[variant]),
                "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
            }
            snapshot = None
            if variant == SAGEMAKER:
                self.serving = ServingProcess(
                    self.cfg.model_dir, workers=self.cfg.serving_workers, log=self.log
                )
                self.endpoint = {
                    "startup_ms": self.serving.startup_ms,
                    "instance_type": self.cfg.sagemaker_instance_type,
                    "note": "local serving process; its startup stands in for the endpoint's",
                }
                env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = self.serving.url
            if variant == SNAPSTART:
                self.snapshot = snapshot = Snapshot(HANDLERS[variant], env, self.log)
                self.snapshot_init_ms = snapshot.init_ms
            self.emulators[variant] = FunctionEmulator(variant, env, self.cfg, self.log, snapshot)
            thread = threading.Thread(target=self._dispatch, args=(variant,), daemon=True)
            thread.start()
            self.threads.append(thread)

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
        """Lambda's on-failure destination: the event and why, in its record format."""
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
        sqs = self.server.client("sqs")  # type: ignore[union-attr]
        sqs.send_message(QueueUrl=self.failure_queue, MessageBody=json.dumps(record, default=str))

    def failed_events(self) -> dict[str, str]:
        """Object URI -> reason, for every event kept in the failure queue."""
        sqs = self.server.client("sqs")  # type: ignore[union-attr]
        reasons: dict[str, str] = {}
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.failure_queue, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return reasons
            for message in messages:
                record = json.loads(message["Body"])
                reason = (
                    record["responsePayload"].get("errorType", "")
                    + ": "
                    + str(record["responsePayload"].get("errorMessage", ""))
                )
                for obj in s3_objects(record["requestPayload"]):
                    reasons[obj.uri] = reason
                sqs.delete_message(
                    QueueUrl=self.failure_queue, ReceiptHandle=message["ReceiptHandle"]
                )

    def drive(self, progress: Progress) -> None:
        """Upload the schedule for each variant in turn and wait for every result."""
        s3 = self.server.client("s3")  # type: ignore[union-attr]
        manifest = read_manifest(self.cfg.samples_dir)
        files = sorted(manifest)
        rng = random.Random(self.cfg.seed)
        order = [rng.choice(files) for _ in range(self.cfg.requests)]
        gaps = self.cfg.gap_indices()
        for variant in self.cfg.variants:
            task = progress.add_task(variant, total=self.cfg.requests)
            slots = threading.Semaphore(self.cfg.concurrency)
            started = time.perf_counter()
            uris = []
            for i, sample in enumerate(order):
                if self.stop_event.is_set():
                    return
                if i in gaps:
                    progress.update(task, description=f"{variant} (idle gap: next is cold)")
                    time.sleep(self.cfg.idle_timeout_s + 0.5)
                    progress.update(task, description=variant)
                if self.cfg.rpm > 0:
                    time.sleep(max(0.0, started + i * 60 / self.cfg.rpm - time.perf_counter()))
                slots.acquire()
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

    def _release(self, uri: str, slots: threading.Semaphore, progress: Progress, task: Any) -> None:
        self.done[uri].wait(self.cfg.timeout_s * 3 + 30)
        slots.release()
        progress.advance(task)

    def collect(self) -> dict:
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
                item = {k: des.deserialize(v) for k, v in raw.items()}
                key = (item["object"], item["predictor"])
                copies[key] = copies.get(key, 0) + 1
                items[key] = item
        failed = self.failed_events()
        records = []
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
            else:
                status = "lost"
            records.append(
                {
                    "variant": variant,
                    "object": uri,
                    "index": p["index"],
                    "sample": p["sample"],
                    "true_label": p["true_label"],
                    "label": (item or {}).get("label"),
                    "status": status,
                    "error": (item or {}).get("error") or failed.get(uri),
                    "cold": cold,
                    "init_ms": None if is_snap else startup,
                    "restore_ms": startup if is_snap else None,
                    "duration_ms": duration,
                    "billed_ms": billed_ms(duration) if duration else None,
                    "billed_init_ms": billed_ms(startup) if startup and not is_snap else 0,
                    "billed_restore_ms": billed_ms(startup) if startup and is_snap else 0,
                    "latency_ms": (duration + (startup or 0)) if duration is not None else None,
                    "e2e_ms": (final["finished"] - p["uploaded"]) * 1000
                    if final.get("finished") and item
                    else None,
                    "max_memory_mb": first.get("max_memory_mb"),
                    "memory_mb": self.cfg.memory_mb[variant],
                    "environment": first.get("environment"),
                    "request_id": (item or {}).get("request_id"),
                    "attempts": len(attempts),
                    # more than one item for one upload (the table's key should make it impossible)
                    "duplicated": max(0, copies.get((uri, variant), 0) - 1),
                    # deliveries the idempotent write absorbed (a retry after a crash, a redelivery)
                    "redelivered": sum(r.get("status") == "duplicate" for r in responses),
                    "timings_ms": (item or {}).get("timings_ms"),
                }
            )
        records.sort(key=lambda r: (self.cfg.variants.index(r["variant"]), r["index"]))
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.cfg).items()}
        config["variants"] = list(self.cfg.variants)
        config["gap_indices"] = sorted(self.cfg.gap_indices())
        config["snapshot_init_ms"] = self.snapshot_init_ms
        config["faults"] = {
            "crashes_injected": sum(e.crashes_injected for e in self.emulators.values()),
            "throttled_invocations": sum(e.throttles for e in self.emulators.values()),
            "aws_errors_injected": dict(self.fault_proxy.injected) if self.fault_proxy else {},
            "failure_queue_messages": len(failed),
        }
        config["model_sha256"] = json.loads((self.cfg.model_dir / "model.json").read_text())[
            "sha256"
        ]
        machine = {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        }
        return results.build("local", config, records, self.cfg.memory_mb, self.endpoint, machine)

    def close(self) -> None:
        """Stop dispatchers, environments, snapshot, serving app and emulator; free every port."""
        self.stop_event.set()
        for emulator in self.emulators.values():
            emulator.stop()
        if self.snapshot is not None:
            self.snapshot.stop()
        if self.serving is not None:
            self.serving.stop()
        for thread in self.threads:
            thread.join(timeout=5)
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.fault_proxy is not None:
            self.fault_proxy.stop()
        if self.server is not None:
            self.server.stop()


def run(cfg: LocalConfig, console: Console | None = None, quiet: bool = False) -> dict:
    """Run the local proof of concept and return the results document."""
    console = console or Console()
    run_ = Run(cfg, console)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_term)
        # A shell starts background jobs with SIGINT ignored; Ctrl-C must still clean up.
        signal.signal(signal.SIGINT, signal.default_int_handler)
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
        return run_.collect()
    finally:
        run_.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def main(args: Any) -> int:
    """CLI entry: run, print the table, write results/local.json and the plots."""
    from components.config import StackConfigError, read_settings

    console = Console(width=None if sys.stdout.isatty() else 150)
    try:
        stack = read_settings(
            Path(args.stack_config) if args.stack_config else None, check_model=False
        )
    except StackConfigError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    variants = tuple(v for v in VARIANTS if v in args.variants.split(","))
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown or not variants:
        console.print(
            f"[red]error:[/red] unknown variant(s) {', '.join(sorted(unknown))}; use {','.join(VARIANTS)}"
        )
        return 2
    rates = (args.crash_rate, args.s3_fault_rate, args.dynamodb_fault_rate)
    if any(not 0 <= r <= 1 for r in rates):
        console.print("[red]error:[/red] fault rates must be between 0 and 1")
        return 2
    if args.burst:  # everything at once: no pacing, no forced idle gaps
        args.requests, args.concurrency, args.rpm, args.cold_starts = args.burst, args.burst, 0, 1
    if args.requests < 1 or args.concurrency < 1 or args.rpm < 0 or args.max_environments < 1:
        console.print("[red]error:[/red] --requests and --concurrency must be >= 1 and --rpm >= 0")
        return 2
    memory = {v: stack.memory_mb(v) for v in variants}
    cfg = LocalConfig(
        requests=args.requests,
        rpm=args.rpm,
        concurrency=args.concurrency,
        cold_starts=args.cold_starts,
        idle_timeout_s=args.idle_timeout,
        variants=variants,
        seed=args.seed,
        model_dir=Path(args.model_dir).resolve(),
        samples_dir=Path(args.samples).resolve(),
        out_dir=Path(args.out).resolve(),
        memory_mb=memory,
        architecture=stack.architecture,
        sagemaker_instance_type=stack.sagemaker_instance_type,
        timeout_s=float(stack.timeout_seconds),
        max_environments=args.max_environments,
        crash_rate=args.crash_rate,
        s3_fault_rate=args.s3_fault_rate,
        dynamodb_fault_rate=args.dynamodb_fault_rate,
        burst=args.burst,
    )
    console.print(Panel(BANNER, title="bench local", border_style="yellow"))
    ensure_inputs(cfg, console)
    try:
        doc = run(cfg, console)
    except KeyboardInterrupt:
        console.print(
            "[yellow]Interrupted: every process started by this run was stopped.[/yellow]"
        )
        return 130
    out = cfg.out_dir / "local.json"
    results.write(doc, out)
    plots = results.plot_latency(doc, cfg.out_dir)
    console.print(results.latency_table(doc))
    checks = doc["checks"]
    accuracy = "n/a" if checks["accuracy"] is None else f"{checks['accuracy']:.1%}"
    style = "green" if checks["lost"] == 0 and checks["duplicated"] == 0 else "red"
    console.print(
        f"[{style}]{checks['uploads']} uploads: {checks['items']} items, {checks['failed']} in the "
        f"failure queue with a reason, {checks['lost']} unaccounted, "
        f"{checks['duplicated']} duplicated; {checks['redelivered']} redeliveries absorbed by the "
        f"idempotent write[/{style}]; prediction accuracy vs true labels: {accuracy}"
    )
    faults = doc["config"].get("faults", {})
    if any(faults.values()):
        console.print(
            f"faults: {faults['crashes_injected']} environment crashes injected, "
            f"{faults['aws_errors_injected'] or 'no'} AWS errors injected, "
            f"{faults['throttled_invocations']} throttled invocations (retried)"
        )
    if doc["endpoint"]:
        console.print(
            "SageMaker serving app startup (the endpoint's cold start, local): "
            f"{doc['endpoint']['startup_ms']:.0f} ms"
        )
    if doc["config"]["snapshot_init_ms"] is not None:
        console.print(
            "SnapStart snapshot init (once per published version, before any request): "
            f"{doc['config']['snapshot_init_ms']:.0f} ms"
        )
    console.print(
        f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} and "
        + ", ".join(p.name for p in plots)
    )
    if getattr(args, "report", True):
        from .report import write_report

        paths = write_report(doc, cfg.out_dir)
        console.print(f"report: {paths[0]} (and {paths[1].name})")
    return 0 if checks["lost"] == 0 and checks["duplicated"] == 0 else 1
