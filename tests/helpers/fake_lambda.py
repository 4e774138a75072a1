"""Stand-in for the Lambda platform in moto, for `kit aws` tests (moto cannot run functions).

It creates the stack's functions, alias and log groups in moto, then delivers each S3 event
(from moto's S3 -> SQS notifications) to the real handler pipeline of its variant, and writes
REPORT lines as Lambda does: text on-demand and SnapStart formats, the JSON ``platform.report``
format, one log stream per execution environment, some lines arriving late. A configuration
change (new environment variables or memory, or a new alias version) retires the environment,
so the next invocation is cold, as on Lambda.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from audio_inference.runtime import build_pipeline
from audio_inference.settings import (
    HANDLERS,
    HTTP,
    MANAGED,
    SAGEMAKER,
    SNAPSTART,
    STANDARD,
    Settings,
    upload_prefix,
)

from components import outputs as out
from kit.measure.local.emulator import LocalStack, MotoServer, receive_events

MEMORY = {SAGEMAKER: 128, MANAGED: 2048}
MANAGED_OUTPUT = {
    "instance_type": "c7g.large",
    "architecture": "arm64",
    "memory_gib_per_vcpu": 2,
    "vcpus": 1,
    "max_concurrency": 2,
    "min_environments": 3,
    "max_environments": 6,
    "max_vcpus": 12,
    "nat_gateways": 1,
    "capacity_provider_arn": "arn:aws:lambda:us-east-1:123456789012:capacity-provider:kit-test",
}


@dataclass
class Environment:
    pipeline: object
    stream: str
    config_key: tuple


class FakeLambda:
    """Creates the functions in moto and runs them on S3 events."""

    def __init__(
        self,
        server: MotoServer,
        stack: LocalStack,
        variants: tuple[str, ...],
        endpoint_url: str | None = None,
        late: set[int] | None = None,
        extra_outputs: dict | None = None,
    ) -> None:
        """``extra_outputs`` are stack outputs as a deployed stack with other settings has them."""
        self.extra_outputs = extra_outputs or {}
        self.server, self.stack, self.variants = server, stack, variants
        self.lam, self.logs = server.client("lambda"), server.client("logs")
        self.endpoint_url = endpoint_url
        self.late = late or set()
        self.envs: dict[str, Environment] = {}
        self.durations: dict[str, float] = {}
        self.count = 0
        self.stop_event = threading.Event()
        self.timers: list[threading.Timer] = []
        self.outputs = self._deploy()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        self.signatures: list[str] = []
        if HTTP in variants:
            self.url_server = self._function_url()
            self.outputs["function_urls"] = {
                HTTP: f"http://127.0.0.1:{self.url_server.server_port}/"
            }

    def _deploy(self) -> dict:
        iam = self.server.client("iam")
        role = iam.create_role(
            RoleName="fn-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("standard_handler.py", "def handler(e, c):\n    return {}\n")
        outputs = {
            out.REGION: "us-east-1",
            out.BUCKET_NAME: self.stack.bucket,
            out.TABLE_NAME: self.stack.table,
            out.VARIANTS: list(self.variants),
            out.UPLOAD_PREFIXES: {},
            out.FUNCTION_NAMES: {},
            out.LOG_GROUP_NAMES: {},
            out.MEMORY_MB: {v: MEMORY.get(v, 4096) for v in self.variants},
            out.ARCHITECTURE: "x86_64",
            out.TIMEOUT_SECONDS: 90,
            out.PROVISIONED_CONCURRENCY: {},
            out.MODEL_SHA256: json.loads((Path(self.stack.model_dir) / "model.json").read_text())[
                "sha256"
            ],
            **self.extra_outputs,
        }
        for v in self.variants:
            name = f"kit-{v}-fn"
            self.lam.create_function(
                FunctionName=name,
                Runtime="python3.13" if v == MANAGED else "python3.12",
                Role=role,
                Handler=HANDLERS[v],
                Code={"ZipFile": code.getvalue()},
                MemorySize=MEMORY.get(v, 4096),
                Environment={"Variables": {"VARIANT": v}},
            )
            group = f"/aws/lambda/kit/test/{v}"
            self.logs.create_log_group(logGroupName=group)
            if v != HTTP:
                outputs["upload_prefixes"][v] = upload_prefix(v)
            outputs["function_names"][v] = name
            outputs["log_group_names"][v] = group
            if v == SNAPSTART:
                version = self.lam.publish_version(FunctionName=name)["Version"]
                self.lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
                outputs["snapstart_alias_name"] = "live"
            if v == MANAGED:  # what the stack exports for it (components/managed_lambda.py)
                outputs.setdefault(out.MANAGED_SETUP, dict(MANAGED_OUTPUT))
            if v == SAGEMAKER:
                outputs.setdefault(out.ENDPOINT_NAME, "audio-endpoint")
                outputs.setdefault(out.SAGEMAKER_INSTANCE_TYPE, "ml.t2.medium")
                outputs.setdefault(out.SAGEMAKER_INSTANCE_COUNT, 1)
                outputs.setdefault(out.SAGEMAKER_SERVERLESS_MEMORY_MB, 0)
                outputs.setdefault(out.SAGEMAKER_SERVERLESS_MAX_CONCURRENCY, 5)
        return outputs

    def _config_key(self, variant: str) -> tuple:
        name = self.outputs["function_names"][variant]
        config = self.lam.get_function_configuration(FunctionName=name)
        key = (json.dumps(config.get("Environment", {}), sort_keys=True), config["MemorySize"])
        if variant == SNAPSTART:
            key += (self.lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"],)
        return key

    def _environment(self, variant: str) -> tuple[Environment, bool]:
        key = self._config_key(variant)
        env = self.envs.get(variant)
        if env is not None and env.config_key == key:
            return env, False
        settings = Settings(
            predictions_table=self.stack.table,
            variant=variant,
            model_s3_uri=None if variant == SAGEMAKER else self.stack.model_uri,
            endpoint_name="audio-endpoint" if variant == SAGEMAKER else None,
        )
        started = time.perf_counter()
        pipeline = build_pipeline(settings)
        self.init_ms = (time.perf_counter() - started) * 1000
        stream = f"2026/11/22/[{'3' if variant == SNAPSTART else '$LATEST'}]{uuid.uuid4().hex}"
        self.logs.create_log_stream(
            logGroupName=self.outputs["log_group_names"][variant], logStreamName=stream
        )
        env = Environment(pipeline, stream, key)
        self.envs[variant] = env
        return env, True

    def _report(
        self, variant: str, request_id: str, duration: float, cold: bool, memory: int
    ) -> str:
        billed = math.ceil(duration)
        if variant in (SAGEMAKER, MANAGED):  # the stack sets the JSON log format
            metrics = {
                "durationMs": round(duration, 2),
                "billedDurationMs": billed,
                "memorySizeMB": memory,
                "maxMemoryUsedMB": 71,
            }
            if cold and variant != MANAGED:  # managed environments start before any traffic
                metrics["initDurationMs"] = round(self.init_ms, 2)
                metrics["billedDurationMs"] = math.ceil(duration + self.init_ms)
            return json.dumps(
                {
                    "time": "2026-11-22T12:00:00.000Z",
                    "type": "platform.report",
                    "record": {"requestId": request_id, "metrics": metrics, "status": "success"},
                }
            )
        line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms\t"
            f"Memory Size: {memory} MB\tMax Memory Used: 312 MB\t"
        )
        if cold and variant == STANDARD:
            line += f"Init Duration: {self.init_ms:.2f} ms\t"
        if cold and variant == SNAPSTART:
            restore = 0.2 * self.init_ms
            line += f"Restore Duration: {restore:.2f} ms\tBilled Restore Duration: {math.ceil(restore)} ms\t"
        return line

    def _put(self, group: str, stream: str, message: str) -> None:
        self.logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
        )

    def _loop(self) -> None:
        sqs = self.server.client("sqs")
        while not self.stop_event.is_set():
            for variant in (v for v in self.variants if v != HTTP):
                try:
                    events = receive_events(sqs, self.stack.queues[variant], wait_seconds=0)
                except Exception:
                    return
                for event in events:
                    if event.get("Event") == "s3:TestEvent":
                        continue
                    self._invoke(variant, event)
            time.sleep(0.05)

    def _function_url(self) -> ThreadingHTTPServer:
        """The http variant's function URL: checks the SigV4 signature, runs the real handler."""
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                platform.signatures.append(self.headers.get("Authorization", ""))
                event = {
                    "version": "2.0",
                    "requestContext": {
                        "domainName": f"127.0.0.1:{self.server.server_port}",
                        "http": {"method": "POST", "path": "/"},
                        "requestId": str(uuid.uuid4()),
                        "timeEpoch": int(time.time() * 1000),
                    },
                    "body": base64.b64encode(body).decode(),
                    "isBase64Encoded": True,
                }
                answer = platform._invoke(HTTP, event)
                data = answer["body"].encode()
                self.send_response(answer["statusCode"])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def _invoke(self, variant: str, event: dict) -> dict:
        env, cold = self._environment(variant)
        request_id = str(uuid.uuid4())
        context = type("Context", (), {"aws_request_id": request_id})()
        started = time.perf_counter()
        handle = env.pipeline.handle_http if variant == HTTP else env.pipeline.handle
        answer = handle(event, context)
        duration = (time.perf_counter() - started) * 1000
        self.durations[request_id] = duration
        memory = self.lam.get_function_configuration(
            FunctionName=self.outputs["function_names"][variant]
        )["MemorySize"]
        group = self.outputs["log_group_names"][variant]
        self._put(group, env.stream, f"START RequestId: {request_id} Version: $LATEST")
        report = self._report(variant, request_id, duration, cold, memory)
        self.count += 1
        if self.count in self.late:  # REPORT lines can arrive seconds later
            timer = threading.Timer(3.0, self._put, (group, env.stream, report))
            timer.start()
            self.timers.append(timer)
        else:
            self._put(group, env.stream, report)
        return answer

    def stop(self) -> None:
        self.stop_event.set()
        if HTTP in self.variants:
            self.url_server.shutdown()
            self.url_server.server_close()
        for t in self.timers:
            t.cancel()
        self.thread.join(timeout=5)
