"""Train the reference classifier on generated data or on a ``DATA/<label>/*.wav`` folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from audio_inference.audio import AudioError, decode, to_model_input
from rich.progress import Progress
from torch import nn

from . import ModelBuildError
from .data import Clip
from .net import SAMPLE_RATE, AudioClassifier
from .sizes import DEFAULT_SIZE

CROP_SAMPLES = SAMPLE_RATE  # train on 1 s windows; the model itself accepts any length


@dataclass
class Example:
    """One training example: mono 16 kHz waveform and its class index."""

    waveform: np.ndarray
    target: int


def load_folder(data_dir: Path) -> tuple[list[str], list[Example]]:
    """Read ``data_dir/<label>/*.wav``; labels are the sub-folder names, sorted."""
    if not data_dir.is_dir():
        raise ModelBuildError(
            f"data folder {data_dir} does not exist: lay it out as DATA/<label>/*.wav"
        )
    labels = sorted(p.name for p in data_dir.iterdir() if p.is_dir() and any(p.glob("*.wav")))
    if len(labels) < 2:
        raise ModelBuildError(
            f"data folder {data_dir} has {len(labels)} label folder(s) with .wav files; "
            "training needs at least 2, laid out as DATA/<label>/*.wav"
        )
    examples = []
    for target, label in enumerate(labels):
        for path in sorted((data_dir / label).glob("*.wav")):
            try:
                samples, rate = decode(path.read_bytes(), str(path))
                waveform = to_model_input(samples, rate, SAMPLE_RATE, str(path))
            except AudioError as exc:
                raise ModelBuildError(
                    f"{exc} (remove or replace the file, then train again)"
                ) from None
            examples.append(Example(waveform, target))
    return labels, examples


def from_clips(clips: list[Clip], labels: tuple[str, ...]) -> list[Example]:
    """Turn generated clips into examples with the inference preprocessing (soxr to 16 kHz)."""
    index = {label: i for i, label in enumerate(labels)}
    return [
        Example(to_model_input(c.samples[:, None], c.sample_rate, SAMPLE_RATE), index[c.label])
        for c in clips
    ]


def _crop(waveform: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(waveform) >= CROP_SAMPLES:
        start = int(rng.integers(0, len(waveform) - CROP_SAMPLES + 1))
        return waveform[start : start + CROP_SAMPLES]
    out = np.zeros(CROP_SAMPLES, dtype=np.float32)
    start = int(rng.integers(0, CROP_SAMPLES - len(waveform) + 1))
    out[start : start + len(waveform)] = waveform
    return out


def split(
    examples: list[Example], holdout: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Stratified split into (train, held-out)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for target in sorted({e.target for e in examples}):
        group = [e for e in examples if e.target == target]
        order = rng.permutation(len(group))
        n_test = max(1, int(round(len(group) * holdout)))
        test += [group[i] for i in order[:n_test]]
        train += [group[i] for i in order[n_test:]]
    return train, test


def accuracy(model: nn.Module, examples: list[Example]) -> float:
    """Fraction classified correctly, each example at its full length."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for e in examples:
            probs = model(torch.from_numpy(e.waveform)[None])
            correct += int(probs.argmax(dim=-1).item() == e.target)
    return correct / len(examples)


def train(
    labels: list[str],
    examples: list[Example],
    *,
    epochs: int = 20,
    seed: int = 0,
    holdout: float = 0.2,
    size: str = DEFAULT_SIZE,
    progress: Progress | None = None,
) -> tuple[AudioClassifier, dict]:
    """Train and return the model and its metrics (held-out accuracy, counts, seconds)."""
    if not examples:
        raise ModelBuildError("no training examples: the data folder holds no readable .wav files")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_set, test_set = split(examples, holdout, seed)
    model = AudioClassifier(len(labels), size)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    steps = epochs * -(-len(train_set) // 32)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    loss_fn = nn.NLLLoss()
    batch = 32
    started = time.perf_counter()
    task = progress.add_task("train", total=epochs) if progress else None
    for _epoch in range(epochs):
        model.train()
        order = rng.permutation(len(train_set))
        total = 0.0
        for i in range(0, len(order), batch):
            items = [train_set[j] for j in order[i : i + batch]]
            x = torch.from_numpy(np.stack([_crop(e.waveform, rng) for e in items]))
            y = torch.tensor([e.target for e in items])
            optimiser.zero_grad()
            loss = loss_fn(torch.log(model(x) + 1e-9), y)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(items)
        if progress is not None and task is not None:
            progress.update(
                task, advance=1, description=f"train (loss {total / len(train_set):.3f})"
            )
    metrics = {
        "heldout_accuracy": accuracy(model, test_set),
        "train_examples": len(train_set),
        "heldout_examples": len(test_set),
        "epochs": epochs,
        "size": size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return model, metrics


def save_checkpoint(path: Path, model: AudioClassifier, labels: list[str], metrics: dict) -> None:
    """Write a checkpoint that ``export`` can rebuild the model from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": model.state_dict(),
            "labels": labels,
            "metrics": metrics,
            "size": model.size,
        },
        path,
    )


def load_checkpoint(path: Path) -> tuple[AudioClassifier, list[str], dict]:
    """Rebuild a trained model from ``path``; clear error if it is missing or not a checkpoint."""
    if not path.is_file():
        raise ModelBuildError(
            f"checkpoint {path} does not exist: run `python -m model_build train` first"
        )
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = AudioClassifier(len(saved["labels"]), saved.get("size", DEFAULT_SIZE))
        model.load_state_dict(saved["state_dict"])
    except Exception as exc:  # torch raises many types for a bad file
        raise ModelBuildError(
            f"checkpoint {path} is not a model_build checkpoint ({type(exc).__name__}): "
            "train again with `python -m model_build train`"
        ) from None
    model.eval()
    return model, list(saved["labels"]), dict(saved.get("metrics", {}))
