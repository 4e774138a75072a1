"""Test helpers: WAV bytes in any format, uploads that return S3's real event, handler loading."""

from __future__ import annotations

import importlib
import io
import struct
import sys
from typing import Any

import numpy as np
import soundfile
from audio_inference.settings import upload_prefix

from kit.measure.local.emulator import LocalStack, MotoServer, receive_events


def tone(
    seconds: float = 1.0,
    rate: int = 16_000,
    freq: float = 440.0,
    channels: int = 1,
    level: float = 0.5,
) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


def wav_bytes(samples: np.ndarray, rate: int = 16_000, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, samples, rate, subtype=subtype, format="WAV")
    return buf.getvalue()


def with_chunk_before_data(data: bytes, size: int) -> bytes:
    """Insert a LIST chunk of ``size`` bytes between 'fmt ' and 'data'."""
    fmt_end = data.index(b"data")
    chunk = b"LIST" + struct.pack("<I", size) + b"INFO" + b"\0" * (size - 4)
    body = data[12:fmt_end] + chunk + data[fmt_end:]
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def upload(server: MotoServer, stack: LocalStack, variant: str, name: str, data: bytes) -> dict:
    """Upload under the variant's prefix and return the S3 event moto delivered for it."""
    key = upload_prefix(variant) + name
    server.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=data)
    return next_event(server, stack, variant)


def next_event(server: MotoServer, stack: LocalStack, variant: str) -> dict:
    sqs = server.client("sqs")
    for _ in range(10):
        for event in receive_events(sqs, stack.queues[variant], wait_seconds=1):
            if event.get("Event") != "s3:TestEvent":
                return event
    raise AssertionError(f"no S3 event arrived on the {variant} queue")


def load_handler(module: str) -> Any:
    """Import a handler module afresh, so its module-scope init runs with the current env."""
    sys.modules.pop(module, None)
    return importlib.import_module(module)


def get_item(server: MotoServer, stack: LocalStack, key: str, variant: str) -> dict | None:
    from audio_inference.settings import table_key
    from boto3.dynamodb.types import TypeDeserializer

    raw = (
        server.client("dynamodb")
        .get_item(
            TableName=stack.table,
            Key={k: {"S": v} for k, v in table_key(stack.bucket, key, variant).items()},
            ConsistentRead=True,
        )
        .get("Item")
    )
    if raw is None:
        return None
    des = TypeDeserializer()
    return {k: des.deserialize(v) for k, v in raw.items()}


def all_items(server: MotoServer, stack: LocalStack) -> list[dict]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    pages = server.client("dynamodb").get_paginator("scan").paginate(TableName=stack.table)
    return [{k: des.deserialize(v) for k, v in it.items()} for p in pages for it in p["Items"]]


class Context:
    """The two attributes of a Lambda context the handlers read."""

    def __init__(self, request_id: str = "req-1") -> None:
        self.aws_request_id = request_id
        self.function_name = "test"


def run_cli(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Any:
    """Run ``python -m <args>`` from the project root, as a user would; capture its output.
    ``env`` adds variables to this process's environment."""
    import os
    import subprocess

    from kit import ROOT

    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else os.environ | env,
    )


def local_config(
    model_dir: Any,
    samples: Any,
    out: Any,
    variants: tuple[str, ...] = ("standard",),
    provisioned: dict[str, int] | None = None,
    memory_mb: int | None = None,
    **kw: Any,
) -> Any:
    """A LocalConfig whose variants have the stack's default settings (as `kit local` builds it)."""
    from kit.measure.local.config import LocalConfig
    from kit.measure.setup import from_settings
    from kit.stack.settings import read_stack

    setups = from_settings(read_stack(check_model=False), variants)
    for name, count in (provisioned or {}).items():
        setups[name] = setups[name].model_copy(update={"provisioned_concurrency": count})
    if memory_mb is not None:
        setups = {
            n: s.model_copy(update={"memory_mb": memory_mb}) if n != "sagemaker" else s
            for n, s in setups.items()
        }
    return LocalConfig(setups=setups, model_dir=model_dir, samples_dir=samples, out_dir=out, **kw)


def url_event(body: bytes, method: str = "POST") -> dict:
    """A function URL request as Lambda delivers it (payload format 2.0, binary body in base64)."""
    import base64

    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {"content-type": "audio/wav"},
        "requestContext": {
            "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "http": {"method": method, "path": "/"},
            "requestId": "r-1",
            "timeEpoch": 1764000000000,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
