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

from audio_inference.audio import AudioError  # noqa: E402
from audio_inference.core import LocalClassifier  # noqa: E402
from audio_inference.endpoint import decode_name  # noqa: E402
from audio_inference.model import OnnxModel, available_cpus  # noqa: E402
from audio_inference.settings import (  # noqa: E402
    DEFAULT_MAX_AUDIO_SECONDS,
    ENV_MAX_AUDIO_SECONDS,
    ENV_MODEL_DIR,
    MAX_PAYLOAD_BYTES,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import _FUNCTIONS  # noqa: F401  (puts the shared package on sys.path)

CONTENT_TYPES = {
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "audio/vnd.wave",
    "application/octet-stream",
}
ENV_THREADS = "MODEL_THREADS"
logger = logging.getLogger("sagemaker.serve")


async def _classify(request: Request, classifier: LocalClassifier) -> tuple[int, dict]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        return 415, {
            "error": f"content type {content_type or '(none)'} is not supported: "
            "send audio/wav or application/octet-stream"
        }
    declared = int(request.headers.get("content-length") or 0)
    if declared > 10 * MAX_PAYLOAD_BYTES:  # not worth reading; the client sees a reset
        return 413, {"error": f"payload of {declared} bytes is over the 6 MB limit"}
    body = await request.body()  # read it all so the client receives the answer
    if len(body) > MAX_PAYLOAD_BYTES:
        return 413, {"error": f"payload of {len(body)} bytes is over the 6 MB limit"}
    name = decode_name(request.headers.get("x-amzn-sagemaker-custom-attributes")) or "request body"
    try:
        # Each worker process has one single-threaded session, so inference runs
        # on the event loop: a thread hand-off would cost more than it frees.
        result = classifier.classify(body, name)
    except AudioError as exc:
        return 400, {"error": str(exc)}
    except Exception:  # a server fault: log it, answer 500
        logger.exception("inference failed")
        return 500, {"error": "internal error during inference"}
    return 200, result.to_json()


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection.

    With several workers, uvicorn hands each process a copy of the listening
    socket whose protocol field reads 0, so asyncio skips TCP_NODELAY on accepted
    connections; on kept-alive connections (SageMaker's front end keeps them) a
    response then waits ~40 ms for a delayed ACK.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Turn Nagle off, then let uvicorn set the connection up."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def create_app(model_dir: str | None = None) -> Starlette:
    """Build the app; the model is loaded once per worker process."""
    folder = model_dir or os.environ.get(ENV_MODEL_DIR, "/opt/ml/model")
    threads = int(os.environ.get(ENV_THREADS, "0")) or None
    max_seconds = float(os.environ.get(ENV_MAX_AUDIO_SECONDS) or DEFAULT_MAX_AUDIO_SECONDS)
    classifier = LocalClassifier(OnnxModel.from_dir(folder, threads), max_seconds)
    classifier.model.prime()

    async def ping(request: Request) -> Response:
        return Response(status_code=200)

    async def invocations(request: Request) -> Response:
        status, body = await _classify(request, classifier)
        return JSONResponse(body, status_code=status)

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
        return JSONResponse(error, status_code=424, headers={"x-amzn-ErrorType": "ModelError"})

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
        http=NoDelayH11Protocol,
        log_level="warning",
        timeout_keep_alive=75,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
