"""The reference classifier: raw 16 kHz waveform in, class probabilities out.

The torchaudio front end (MelSpectrogram + AmplitudeToDB) is part of the model,
so the exported ONNX graph contains the STFT and needs nothing but onnxruntime.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

SAMPLE_RATE = 16_000
N_MELS = 40
TOP_DB = 80.0


class AudioClassifier(nn.Module):
    """Small CNN over a log-mel spectrogram, pooled over time (any input length)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=512, win_length=400, hop_length=160, n_mels=N_MELS
        )
        self.to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=TOP_DB)
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 48, 3, padding=1),
            nn.BatchNorm2d(48),
            nn.ReLU(),
        )
        self.head = nn.Linear(48, num_classes)

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
