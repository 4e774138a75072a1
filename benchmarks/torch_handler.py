"""Benchmark reference only: the same handler built on torch + torchaudio instead of ONNX.

It exists to measure what the ONNX export saves at cold start; it is never
deployed (torch does not belong in a Lambda).
"""

import io
import os

import boto3
import soundfile
import torch

from model_build.net import AudioClassifier

_s3 = boto3.client("s3")
_bucket, _key = os.environ["CHECKPOINT_S3_URI"][5:].split("/", 1)
_saved = torch.load(
    io.BytesIO(_s3.get_object(Bucket=_bucket, Key=_key)["Body"].read()),
    map_location="cpu",
    weights_only=True,
)
MODEL = AudioClassifier(len(_saved["labels"]), _saved.get("size", "tiny"))
MODEL.load_state_dict(_saved["state_dict"])
MODEL.eval()
LABELS = _saved["labels"]


def classify(data: bytes) -> str:
    """Decode (16 kHz mono input) and classify with torch."""
    samples, _ = soundfile.read(io.BytesIO(data), dtype="float32")
    with torch.no_grad():
        return LABELS[int(MODEL(torch.from_numpy(samples)[None]).argmax())]
