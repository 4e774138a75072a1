"""HTTP server for a SageMaker real-time endpoint (and for local runs as a plain process).

SageMaker contract: ``GET /ping`` and ``POST /invocations`` on port 8080, model
unpacked into ``/opt/ml/model``. Responses: 200 with the classification, 400
for audio that cannot be classified, 413 over 6 MB, 415 for other content
types, 5xx only for server faults.

For local runs the app also answers ``POST /endpoints/{name}/invocations``,
the route the SageMaker runtime API exposes, with SageMaker's error shape, so
``boto3.client("sagemaker-runtime")`` works against it through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` exactly as against AWS.

Run: ``python -m sagemaker.serve --model-dir build --port 8080`` (the container
runs ``serve`` with the defaults: /opt/ml/model, port 8080, one worker per CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from audio_inference.audio import AudioError
from audio_inference.core import LocalClassifier
from audio_inference.endpoint import decode_name
from audio_inference.model import OnnxModel, available_cpus
from audio_inference.settings import (
    AUDIO_CONTENT_TYPES,
    DEFAULT_MAX_AUDIO_SECONDS,
    ENV_MAX_AUDIO_SECONDS,
    ENV_MODEL_DIR,
    MAX_PAYLOAD_BYTES,
    ConfigError,
    env_number,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

CONTENT_TYPES = AUDIO_CONTENT_TYPES
ENV_THREADS = "MODEL_THREADS"
ENV_INLINE_MAX_MS = "INLINE_MAX_MS"
ENV_READ_TIMEOUT = "REQUEST_READ_TIMEOUT_SECONDS"
ENV_IDLE_TIMEOUT = "IDLE_BEFORE_REQUEST_SECONDS"
# A request's headers and body must arrive within this; slow or stalled clients get 408.
DEFAULT_READ_TIMEOUT_S = 30.0
# A new connection must send its first byte within this, or it is closed: silent connections
# would otherwise hold every slot of MAX_CONNECTIONS_PER_WORKER for good.
DEFAULT_IDLE_TIMEOUT_S = 5.0
# Connections one worker serves at once; beyond it uvicorn answers 503 at once.
MAX_CONNECTIONS_PER_WORKER = 64
logger = logging.getLogger("sagemaker.serve")


async def _classify(request: Request, classifier: LocalClassifier) -> tuple[int, dict]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in CONTENT_TYPES:
        return 415, {
            "error": f"content type {content_type or '(none)'} is not supported: "
            "send audio/wav or application/octet-stream"
        }
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        return 400, {"error": "the Content-Length header is not a number"}
    if declared > MAX_PAYLOAD_BYTES:
        if declared <= 2 * MAX_PAYLOAD_BYTES:  # read and drop it, so the client sees the 413
            async for _ in request.stream():
                pass
        return 413, {"error": f"payload of {declared} bytes is over the 6 MB limit"}
    body = bytearray()
    async for chunk in request.stream():  # counted as it arrives: chunked bodies too
        body += chunk
        if len(body) > MAX_PAYLOAD_BYTES:
            return 413, {"error": "payload is over the 6 MB limit"}
    name = decode_name(request.headers.get("x-amzn-sagemaker-custom-attributes")) or "request body"
    try:
        if INLINE.allows(len(body)):
            # short and known to be fast: the hand-off to the inference thread would
            # cost more than the work (~1.5 ms on one vCPU)
            started = time.perf_counter()
            result = classifier.classify(bytes(body), name)
            INLINE.observe(len(body), (time.perf_counter() - started) * 1000)
        else:
            # on the worker's inference thread, so the event loop keeps answering /ping
            # (SageMaker wants it within 2 s) while a long inference runs
            result = await asyncio.get_running_loop().run_in_executor(
                INFERENCE, INLINE.timed, classifier, bytes(body), name
            )
    except AudioError as exc:
        return 400, {"error": str(exc)}
    except Exception:  # a server fault: log it, answer 500 as JSON
        logger.exception("inference failed")
        return 500, {"error": "internal error during inference"}
    return 200, result.to_json()


# One inference thread per worker process (each has a single-threaded session).
INFERENCE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")


class InlineGate:
    """Decides where a request's inference runs: inline on the event loop, or the inference thread.

    Inline only for small bodies whose recent inference time (moving average) is short, so
    the longest the event loop (and /ping) can wait is about MAX_CONNECTIONS_PER_WORKER x
    ``max_ms`` (64 x 20 ms = 1.3 s, under SageMaker's 2 s). Until a small request has been
    timed, everything goes to the thread.
    """

    def __init__(self, max_bytes: int = 256 * 1024, max_ms: float = 20.0) -> None:
        self.max_bytes, self.max_ms = max_bytes, max_ms
        self.recent_ms = float("inf")

    def allows(self, size: int) -> bool:
        """Whether a body of ``size`` bytes may run inline."""
        return size <= self.max_bytes and self.recent_ms <= self.max_ms

    def observe(self, size: int, ms: float) -> None:
        """Record one small request's inference time."""
        if size <= self.max_bytes:
            self.recent_ms = (
                ms if self.recent_ms == float("inf") else 0.8 * self.recent_ms + 0.2 * ms
            )

    def timed(self, classifier: LocalClassifier, data: bytes, name: str) -> Any:
        """Classify on the inference thread and record the time."""
        started = time.perf_counter()
        result = classifier.classify(data, name)
        self.observe(len(data), (time.perf_counter() - started) * 1000)
        return result


def serving_settings() -> dict[str, float]:
    """The app's numeric settings from the environment, checked (ConfigError names the
    variable); main() reads them before anything starts, so a bad value is one line."""
    names = {
        "inline_max_ms": (ENV_INLINE_MAX_MS, float),
        "read_timeout_s": (ENV_READ_TIMEOUT, float),
        "idle_timeout_s": (ENV_IDLE_TIMEOUT, float),
        "max_audio_seconds": (ENV_MAX_AUDIO_SECONDS, float),
        "threads": (ENV_THREADS, int),
    }
    defaults = serving_settings_defaults()
    return {
        key: env_number(os.environ, name, defaults[key], kind, zero_ok=key in ZERO_OK)
        for key, (name, kind) in names.items()
    }


ZERO_OK = {"inline_max_ms", "threads"}  # 0 turns inline serving off / sizes threads by CPU


def _settings_or_defaults() -> dict[str, float]:
    try:
        return serving_settings()
    except ConfigError:  # main() reports it in one line; importing the module must not fail
        return serving_settings_defaults()


def serving_settings_defaults() -> dict[str, float]:
    """What serving_settings() returns with none of the variables set."""
    return {
        "inline_max_ms": 20.0,
        "read_timeout_s": DEFAULT_READ_TIMEOUT_S,
        "idle_timeout_s": DEFAULT_IDLE_TIMEOUT_S,
        "max_audio_seconds": DEFAULT_MAX_AUDIO_SECONDS,
        "threads": 0,
    }


SETTINGS = _settings_or_defaults()
INLINE = InlineGate(max_ms=SETTINGS["inline_max_ms"])


class NoDelayHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (the httptools parser) with Nagle off and a deadline per request.

    With several workers, uvicorn hands each process a copy of the listening
    socket whose protocol field reads 0, so asyncio skips TCP_NODELAY on accepted
    connections; on kept-alive connections (SageMaker's front end keeps them) a
    response then waits ~40 ms for a delayed ACK.

    uvicorn has no timeout for a request that is still arriving: a client that
    sends headers byte by byte, or announces a body and never sends it, holds
    the connection forever. Here the whole request (headers and body) must
    arrive within REQUEST_READ_TIMEOUT_SECONDS of its first byte, or the client
    gets 408 (if no response has started) and the connection is closed.

    The httptools parser (C) costs less per request than h11 (pure Python): on a
    1-vCPU budget with the tiny model it served ~15 % more requests per second.
    """

    read_timeout_s = SETTINGS["read_timeout_s"]
    idle_timeout_s = SETTINGS["idle_timeout_s"]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Turn Nagle off, then let uvicorn set the connection up."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.read_deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        # uvicorn arms its keep-alive timer only after a response; arm it for the first
        # request too (any byte received cancels it), so a silent connection is closed.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.idle_timeout_s, self.timeout_keep_alive_handler
        )

    def on_headers_complete(self) -> None:
        """/ping is answered even when every connection slot is taken: SageMaker replaces an
        instance whose health check fails, and the check costs no inference."""
        if self.limit_concurrency is None or self.url.split(b"?", 1)[0] != b"/ping":
            super().on_headers_complete()
            return
        limit, self.limit_concurrency = self.limit_concurrency, None
        try:
            super().on_headers_complete()
        finally:
            self.limit_concurrency = limit

    def on_message_begin(self) -> None:
        """The first byte of a request: its deadline starts (more bytes do not extend it)."""
        if self.read_deadline is None:
            self.read_deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)
        super().on_message_begin()

    def on_message_complete(self) -> None:
        """The whole request arrived: no deadline any more."""
        self._cancel_deadline()
        super().on_message_complete()

    def _cancel_deadline(self) -> None:
        if getattr(self, "read_deadline", None) is not None:
            self.read_deadline.cancel()  # type: ignore[union-attr]
            self.read_deadline = None

    def _read_timed_out(self) -> None:
        self.read_deadline = None
        if self.transport.is_closing():
            return
        cycle = getattr(self, "cycle", None)
        if cycle is None or not cycle.response_started:
            body = b'{"error": "the request did not arrive in time; send it again"}'
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline with the connection."""
        self._cancel_deadline()
        super().connection_lost(exc)


def _closing(status: int) -> dict[str, str]:
    """After 413 the rest of the body is unread: close instead of draining it."""
    return {"connection": "close"} if status == 413 else {}


def create_app(model_dir: str | None = None) -> Starlette:
    """Build the app; the model is loaded once per worker process."""
    folder = model_dir or os.environ.get(ENV_MODEL_DIR, "/opt/ml/model")
    settings = serving_settings()
    threads = int(settings["threads"]) or None
    max_seconds = settings["max_audio_seconds"]
    classifier = LocalClassifier(OnnxModel.from_dir(folder, threads), max_seconds)
    classifier.model.prime()

    async def ping(request: Request) -> Response:
        return Response(status_code=200)

    async def invocations(request: Request) -> Response:
        status, body = await _classify(request, classifier)
        return JSONResponse(body, status_code=status, headers=_closing(status))

    async def runtime_invocations(request: Request) -> Response:
        # SageMaker's front end wraps a container's non-200 answer in ModelError.
        status, body = await _classify(request, classifier)
        if status == 200:
            return JSONResponse(body)
        error = {
            "ErrorCode": "CLIENT_ERROR_FROM_MODEL" if status < 500 else "SERVER_ERROR_FROM_MODEL",
            "Message": f"Received client error ({status}) from primary with message "
            f'"{json.dumps(body)}".',
            "OriginalStatusCode": status,
            "OriginalMessage": json.dumps(body),
        }
        return JSONResponse(
            error, status_code=424, headers={"x-amzn-ErrorType": "ModelError", **_closing(status)}
        )

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/endpoints/{name}/invocations", runtime_invocations, methods=["POST"]),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Start uvicorn with one worker process per CPU (each with a single-threaded session)."""
    parser = argparse.ArgumentParser(
        prog="python -m sagemaker.serve", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve"],
        help="SageMaker starts the container with `serve`",
    )
    parser.add_argument(
        "--model-dir",
        default=os.environ.get(ENV_MODEL_DIR, "/opt/ml/model"),
        help="folder with model.onnx and model.json (default /opt/ml/model)",
    )
    parser.add_argument("--host", default="0.0.0.0", help="bind address (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--workers", type=int, default=0, help="worker processes (default: one per CPU)"
    )
    args = parser.parse_args(argv)
    try:
        serving_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name in ("model.onnx", "model.json"):
        if not os.path.isfile(os.path.join(args.model_dir, name)):
            print(
                f"error: {args.model_dir}/{name} is missing: pass --model-dir with the "
                "folder `python -m model_build export` wrote",
                file=sys.stderr,
            )
            return 2
    workers = args.workers or available_cpus()
    os.environ[ENV_MODEL_DIR] = args.model_dir
    # Throughput comes from processes; one intra-op thread each avoids oversubscription.
    os.environ.setdefault(ENV_THREADS, str(max(1, available_cpus() // workers)))
    import uvicorn

    uvicorn.run(
        "sagemaker.serve:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        http=NoDelayHttpProtocol,
        log_level="warning",
        timeout_keep_alive=75,
        limit_concurrency=MAX_CONNECTIONS_PER_WORKER,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
