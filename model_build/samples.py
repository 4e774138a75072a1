"""Labelled demo WAVs in the formats users upload: 8-48 kHz, mono/stereo, PCM16/float32."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile

from . import ModelBuildError
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


def labelled_folders(folder: Path) -> dict[str, str]:
    """``folder/<label>/*.wav`` as {"<label>/<file>": label} (empty if there are none)."""
    if not folder.is_dir():
        return {}
    return {
        f"{wav.parent.name}/{wav.name}": wav.parent.name
        for wav in sorted(folder.glob("*/*.wav"))
        if wav.is_file()
    }


def read_manifest(folder: Path) -> dict[str, str]:
    """Map each sample (a path relative to ``folder``) to its true label.

    Two layouts: ``folder/manifest.csv`` with columns ``file`` (a WAV in the folder) and
    ``label`` (empty for an unlabelled sample; other columns are ignored), or one folder
    per label, ``folder/<label>/*.wav``.
    """
    path = folder / MANIFEST
    if not path.is_file():
        found = labelled_folders(folder)
        if found:
            return found
        raise ModelBuildError(
            f"{folder}: no {MANIFEST} and no <label>/*.wav folders; give labelled samples as "
            f"{folder}/<label>/*.wav, or a {MANIFEST} with columns file,label"
        )
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ModelBuildError(f"{path}: cannot read it as CSV ({exc})") from None
    if not rows or "file" not in rows[0]:
        raise ModelBuildError(f"{path}: expected a header with a file column (and label)")
    missing = [r["file"] for r in rows if not (folder / (r["file"] or "")).is_file()]
    if missing:
        raise ModelBuildError(
            f"{path}: {len(missing)} listed files are not in {folder} (first: {missing[0]!r})"
        )
    return {row["file"]: (row.get("label") or "") for row in rows}
