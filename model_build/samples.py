"""Labelled demo WAVs in the formats users upload: 8-48 kHz, mono/stereo, PCM16/float32."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile

from .data import LABELS, make_clip

FORMATS = (("PCM_16", 1), ("FLOAT", 2), ("PCM_16", 2), ("FLOAT", 1))
MANIFEST = "manifest.csv"


def label_of(filename: str) -> str:
    """True label of a sample file, from its name (``NNN-<label>-...wav``)."""
    return Path(filename).name.split("-")[1]


def write_samples(out: Path, count: int, seed: int = 1000) -> list[dict]:
    """Write ``count`` labelled WAVs and ``manifest.csv``; return the manifest rows.

    The seed differs from the training data's, so samples are unseen clips.
    """
    if count < 1:
        raise ValueError(f"--count must be at least 1, got {count}")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        label = LABELS[i % len(LABELS)]
        clip = make_clip(label, rng)
        # formats rotate per round of labels, so every label comes in every format
        subtype, channels = FORMATS[(i // len(LABELS)) % len(FORMATS)]
        samples = clip.samples
        if channels == 2:  # panned a little, with its own faint noise, as real stereo has
            right = 0.8 * samples + rng.normal(0, 1e-3, len(samples)).astype(np.float32)
            samples = np.stack([samples, right], axis=1)
        name = f"{i:03d}-{label}-{clip.sample_rate}hz-{channels}ch-{subtype.lower()}.wav"
        soundfile.write(out / name, samples, clip.sample_rate, subtype=subtype)
        rows.append(
            {
                "file": name,
                "label": label,
                "sample_rate": clip.sample_rate,
                "channels": channels,
                "subtype": subtype,
                "seconds": round(len(clip.samples) / clip.sample_rate, 3),
            }
        )
    with (out / MANIFEST).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def read_manifest(folder: Path) -> dict[str, str]:
    """Map file name to true label from ``folder/manifest.csv``."""
    with (folder / MANIFEST).open() as f:
        return {row["file"]: row["label"] for row in csv.DictReader(f)}
