"""Emulated AWS for local runs and tests: an embedded moto server on loopback.

It holds the same resources as the stack (bucket, predictions table with the
functions package's key schema, model in S3) and delivers S3 event
notifications per variant prefix to SQS, so handlers receive the event bodies
S3 itself would send.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from audio_inference.settings import (
    TABLE_HASH_KEY,
    TABLE_RANGE_KEY,
    UPLOAD_SUFFIX,
    UPLOAD_VARIANTS,
    VARIANTS,
    upload_prefix,
)

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class MotoServer:
    """moto's threaded server on a free loopback port; stop() releases the port."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """Environment that points AWS SDKs (in this or child processes) at the emulator."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.url}

    def client(self, service: str) -> Any:
        """A boto3 client for the emulator."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
        )

    def reset(self) -> None:
        """Forget every resource (between tests)."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"))

    def stop(self) -> None:
        """Forget every resource and stop the server.

        moto keeps its state per process, not per server: without the reset, the next
        server in this process would already hold this one's tables and buckets.
        """
        with contextlib.suppress(OSError):
            self.reset()
        self._server.stop()


def create_table(dynamodb: Any, name: str) -> None:
    """The predictions table, with the key schema every part of the kit shares."""
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": TABLE_HASH_KEY, "KeyType": "HASH"},
            {"AttributeName": TABLE_RANGE_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": TABLE_HASH_KEY, "AttributeType": "S"},
            {"AttributeName": TABLE_RANGE_KEY, "AttributeType": "S"},
        ],
    )


@dataclass
class LocalStack:
    """The emulated resources of one run."""

    bucket: str
    table: str
    model_uri: str
    model_dir: str = ""
    """The model folder (what a container image bakes in)."""
    queues: dict[str, str] = field(default_factory=dict)  # variant -> SQS queue URL


def create_stack(
    server: MotoServer,
    model_dir: Path,
    variants: tuple[str, ...] = VARIANTS,
    bucket: str = "audio-uploads",
    table: str = "predictions",
) -> LocalStack:
    """Create bucket, table, model objects and one notification queue per variant."""
    s3, sqs = server.client("s3"), server.client("sqs")
    s3.create_bucket(Bucket=bucket)
    create_table(server.client("dynamodb"), table)
    for name in ("model.onnx", "model.json"):
        s3.upload_file(str(model_dir / name), bucket, f"model/{name}")
    stack = LocalStack(
        bucket=bucket,
        table=table,
        model_uri=f"s3://{bucket}/model/model.onnx",
        model_dir=str(model_dir),
    )
    configs = []
    for variant in (v for v in variants if v in UPLOAD_VARIANTS):
        url = sqs.create_queue(QueueName=f"events-{variant}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        stack.queues[variant] = url
        configs.append(
            {
                "Id": variant,
                "QueueArn": arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {
                    "Key": {
                        "FilterRules": [
                            {"Name": "prefix", "Value": upload_prefix(variant)},
                            {"Name": "suffix", "Value": UPLOAD_SUFFIX},
                        ]
                    }
                },
            }
        )
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
    )
    return stack


def receive_events(sqs: Any, queue_url: str, wait_seconds: int = 1) -> list[dict]:
    """Pop S3 event bodies from a queue (test events included, as S3 sends them)."""
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
    )
    events = []
    for message in response.get("Messages", []):
        events.append(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return events


def handler_env(
    server: MotoServer, stack: LocalStack, variant: str, endpoint_name: str | None = None
) -> dict[str, str]:
    """The environment the Pulumi components give a function, pointed at the emulator."""
    from audio_inference.settings import (
        CONTAINER,
        ENV_ENDPOINT_NAME,
        ENV_MODEL_DIR,
        ENV_MODEL_S3_URI,
        ENV_PREDICTIONS_TABLE,
        ENV_VARIANT,
        SAGEMAKER,
    )

    env = {**server.env(), ENV_PREDICTIONS_TABLE: stack.table, ENV_VARIANT: variant}
    if variant == SAGEMAKER:
        env[ENV_ENDPOINT_NAME] = endpoint_name or "audio-endpoint"
    elif variant == CONTAINER:  # baked into the image: a folder, no S3 download
        env[ENV_MODEL_DIR] = stack.model_dir
    else:
        env[ENV_MODEL_S3_URI] = stack.model_uri
    return env


def apply_env(env: dict[str, str]) -> dict[str, str | None]:
    """Set ``env`` in os.environ; return the previous values for restore_env."""
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    return previous


def restore_env(previous: dict[str, str | None]) -> None:
    """Undo apply_env."""
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
