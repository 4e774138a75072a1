"""The reference classifier: raw 16 kHz waveform in, class probabilities out.

The torchaudio front end (MelSpectrogram + AmplitudeToDB) is part of the model,
so the exported ONNX graph contains the STFT and needs nothing but onnxruntime.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

from .sizes import DEFAULT_SIZE, SIZES

SAMPLE_RATE = 16_000
N_MELS = 40
TOP_DB = 80.0


class AudioClassifier(nn.Module):
    """CNN over a log-mel spectrogram, pooled over time (any input length), in four sizes."""

    def __init__(self, num_classes: int, size: str = DEFAULT_SIZE) -> None:
        if size not in SIZES:
            raise ValueError(f"unknown model size {size!r}: use one of {', '.join(SIZES)}")
        super().__init__()
        self.size = size
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=512, win_length=400, hop_length=160, n_mels=N_MELS
        )
        self.to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=TOP_DB)
        layers: list[nn.Module] = []
        channels = SIZES[size]
        previous = 1
        for i, width in enumerate(channels):
            layers += [nn.Conv2d(previous, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(previous, num_classes)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Map ``[batch, samples]`` float32 at 16 kHz to ``[batch, classes]`` probabilities."""
        # [batch, 1, mels, frames]: the channel axis keeps AmplitudeToDB's top_db
        # clamp per example instead of across the batch.
        spec = self.to_db(self.mel(waveform.unsqueeze(1)))
        # dB relative to each clip's own peak, scaled to about [-1, 0]: loudness-invariant.
        peak = spec.amax(dim=(1, 2, 3), keepdim=True)
        x = (spec - peak) / TOP_DB
        x = self.features(x)
        # Mean over frequency, max over time: the score of a clip does not depend
        # on how much silence surrounds it (training pads 1 s crops with zeros).
        x = x.mean(dim=2).amax(dim=2)
        return torch.softmax(self.head(x), dim=-1)
