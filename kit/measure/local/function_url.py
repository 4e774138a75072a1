"""A Lambda function URL on loopback: HTTP requests in, payload-format-2.0 events to a function.

Requests are synchronous invocations: no retries, the function's answer (or a
502 when it fails) goes back to the caller, as a function URL does. What each
invocation did (cold start, duration, environment) is kept for the results,
keyed by the object name the handler stores the item under.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from audio_inference.settings import MAX_PAYLOAD_BYTES

from .functions import FunctionEmulator


class FunctionUrl:
    """Serve ``emulator``'s function at ``url`` until stop()."""

    def __init__(self, emulator: FunctionEmulator) -> None:
        self.emulator = emulator
        self.attempts: dict[str, dict[str, Any]] = {}
        url = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_PAYLOAD_BYTES:  # Lambda refuses it before the function runs
                    self.rfile.read(length)
                    self._answer(
                        413, b'{"Message":"Request must be smaller than 6291456 bytes"}', {}
                    )
                    return
                status, body, headers = url.invoke(
                    self.command, self.path, self.headers, self.rfile.read(length)
                )
                # the caller may have given up (its timeout): nothing to answer then
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(status, body, headers)

            do_GET = do_POST = _handle

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                """A broken connection is the caller's business, not a traceback on stderr."""

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.host}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def event(self, method: str, path: str, headers: Any, body: bytes) -> dict[str, Any]:
        """The event Lambda builds for a function URL request (payload format 2.0)."""
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "headers": {k.lower(): v for k, v in headers.items()},
            "requestContext": {
                "domainName": self.host,
                "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
                "requestId": str(uuid.uuid4()),
                "timeEpoch": int(time.time() * 1000),
            },
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
        }

    def invoke(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        """One synchronous invocation; return (status, body, headers) for the caller."""
        event = self.event(method, path, headers, body)
        if len(json.dumps(event)) > MAX_PAYLOAD_BYTES:  # Lambda refuses it before the handler
            message = f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            return (
                413,
                json.dumps({"Message": message}).encode(),
                {"content-type": "application/json"},
            )
        attempt = self.emulator.invoke(event, retries=False)[-1]
        response = attempt.get("response")
        if attempt.get("error") or not isinstance(response, dict):
            return 502, b'{"Message":"Internal Server Error"}', {"content-type": "application/json"}
        try:
            name = json.loads(response.get("body") or "{}").get("object")
        except ValueError:
            name = None
        if name:
            self.attempts[name] = attempt
        text = response.get("body") or ""
        data = base64.b64decode(text) if response.get("isBase64Encoded") else text.encode()
        return int(response.get("statusCode", 200)), data, dict(response.get("headers") or {})

    def post(self, data: bytes, timeout_s: float) -> tuple[int, dict[str, Any], float, float]:
        """A caller's POST of ``data``: (HTTP status, JSON answer, sent at, answered at) in
        perf_counter time; status 0 when no answer came (with the reason as ``error``)."""
        import http.client

        conn = http.client.HTTPConnection(self.host, timeout=timeout_s)
        sent = time.perf_counter()
        status = 0
        try:
            conn.request("POST", "/", body=data, headers={"Content-Type": "audio/wav"})
            response = conn.getresponse()
            status = response.status
            text = response.read()
            try:
                body = json.loads(text or b"{}")
            except ValueError:
                body = {"error": text[:300].decode("utf-8", "replace")}
        except OSError as exc:
            body = {"error": f"no answer ({type(exc).__name__}: {exc})"}
        finally:
            conn.close()
        if not isinstance(body, dict):
            body = {"error": str(body)[:300]}
        return status, body, sent, time.perf_counter()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
