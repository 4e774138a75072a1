"""A fault-injecting HTTP proxy in front of the emulator: AWS errors on purpose.

Handlers talk to the proxy (their ``AWS_ENDPOINT_URL``); it forwards each
request to moto, or answers instead with the error the real service sends when
it throttles, fails or refuses: S3 ``503 SlowDown`` and ``500 InternalError``,
DynamoDB ``ThrottlingException`` and ``InternalServerError``, S3
``403 AccessDenied``. Which requests fail is decided by seeded rules, so a run
is repeatable.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# service -> kind -> (status, content type, body)
ERRORS: dict[str, dict[str, tuple[int, str, bytes]]] = {
    "s3": {
        "throttle": (
            503,
            "application/xml",
            b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        ),
        "5xx": (
            500,
            "application/xml",
            b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>",
        ),
        "denied": (
            403,
            "application/xml",
            b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        ),
    },
    "dynamodb": {
        "throttle": (
            400,
            "application/x-amz-json-1.0",
            json.dumps(
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                    "message": "Rate of requests exceeds the allowed throughput.",
                }
            ).encode(),
        ),
        "5xx": (
            500,
            "application/x-amz-json-1.0",
            json.dumps(
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                    "message": "Internal server error",
                }
            ).encode(),
        ),
    },
}


@dataclass(frozen=True)
class Fault:
    """Fail ``rate`` of the requests to ``service`` (whose path contains ``match``) with ``kind``."""

    service: str
    kind: str = "throttle"
    rate: float = 1.0
    match: str = ""

    def __post_init__(self) -> None:
        if self.service not in ERRORS or self.kind not in ERRORS[self.service]:
            known = ", ".join(f"{s}:{k}" for s, kinds in ERRORS.items() for k in kinds)
            raise ValueError(f"unknown fault {self.service}:{self.kind}; known: {known}")
        if not 0 <= self.rate <= 1:
            raise ValueError(f"fault rate {self.rate} must be between 0 and 1")


def service_of(headers: Any, path: str) -> str:
    """Which AWS service a request is for, the way moto's single endpoint tells them apart."""
    target = headers.get("X-Amz-Target", "")
    if target.startswith("DynamoDB_"):
        return "dynamodb"
    if target.startswith("AmazonSQS"):
        return "sqs"
    return "s3"


class FaultProxy:
    """Forward to ``upstream`` on a free loopback port, injecting ``faults``; count what it did."""

    def __init__(self, upstream: str, faults: list[Fault], seed: int = 0) -> None:
        self.upstream = urlsplit(upstream)
        self.faults = faults
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: dict[str, int] = {}
        self.forwarded = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.pick(service_of(self.headers, self.path), self.path)
                if fault is not None:
                    status, content_type, payload = ERRORS[fault.service][fault.kind]
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                status, headers, payload = proxy.forward(
                    self.command, self.path, self.headers, body
                )
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                """A client that hung up (botocore's read timeout) is not a traceback on stderr."""

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def pick(self, service: str, path: str) -> Fault | None:
        """The fault to inject for this request, if any (seeded, so runs repeat)."""
        with self.lock:
            for fault in self.faults:
                if (
                    fault.service == service
                    and fault.match in path
                    and self.random.random() < fault.rate
                ):
                    key = f"{fault.service}:{fault.kind}"
                    self.injected[key] = self.injected.get(key, 0) + 1
                    return fault
            self.forwarded += 1
        return None

    def forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request on to the emulator unchanged."""
        conn = http.client.HTTPConnection(
            self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=60
        )
        try:
            conn.request(method, path, body=body, headers=dict(headers.items()))
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
