"""A deterministic, labelled audio dataset that needs no download.

Classes (each clip 0.5-3 s, sample rate drawn from 8-48 kHz, peak level from
-30 to -1 dBFS, background noise at 10-40 dB SNR, random start offset):

- ``tone``   steady harmonic tone, 110-880 Hz fundamental, 1-5 harmonics, light vibrato
- ``chirp``  a sweep up or down between 150 Hz and 3.5 kHz (linear or exponential)
- ``noise``  a band-limited noise burst (random band of 1-3 octaves), no pitch
- ``pulses`` a train of short decaying clicks, 3-15 per second, like knocking

The same seed gives the same clips on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

LABELS: tuple[str, ...] = ("tone", "chirp", "noise", "pulses")
SAMPLE_RATES: tuple[int, ...] = (8000, 11025, 16000, 22050, 32000, 44100, 48000)


@dataclass(frozen=True)
class Clip:
    """One generated example at its native sample rate."""

    label: str
    samples: np.ndarray  # float32 mono, peak <= 1
    sample_rate: int


def _tone(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    f0 = rng.uniform(110, 880)
    vibrato = 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(3, 7) * t)
    phase = 2 * np.pi * f0 * np.cumsum(vibrato) / (len(t) / t[-1] if t[-1] else 1)
    out = np.zeros_like(t)
    for h in range(1, int(rng.integers(1, 6)) + 1):
        out += np.sin(h * phase) / h
    return out


def _chirp(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    lo, hi = rng.uniform(150, 600), rng.uniform(1500, 3500)
    f_start, f_end = (lo, hi) if rng.random() < 0.5 else (hi, lo)
    duration = t[-1] if t[-1] else 1.0
    if rng.random() < 0.5:
        freq = f_start + (f_end - f_start) * t / duration
    else:
        freq = f_start * (f_end / f_start) ** (t / duration)
    dt = t[1] - t[0] if len(t) > 1 else 1.0
    return np.sin(2 * np.pi * np.cumsum(freq) * dt)


def _noise(rng: np.random.Generator, t: np.ndarray, sample_rate: int) -> np.ndarray:
    white = rng.standard_normal(len(t))
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(len(t), 1 / sample_rate)
    low = rng.uniform(100, 1500)
    high = min(low * 2 ** rng.uniform(1, 3), sample_rate / 2 * 0.95)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n=len(t))


def _pulses(rng: np.random.Generator, t: np.ndarray, sample_rate: int) -> np.ndarray:
    rate = rng.uniform(3, 15)
    out = np.zeros_like(t)
    decay = rng.uniform(0.003, 0.015)
    click_t = np.arange(int(decay * 6 * sample_rate)) / sample_rate
    click = np.exp(-click_t / decay) * np.sin(2 * np.pi * rng.uniform(800, 3000) * click_t)
    start = rng.uniform(0, 1 / rate)
    for onset in np.arange(start, t[-1], 1 / rate):
        i = int(onset * sample_rate)
        n = min(len(click), len(out) - i)
        out[i : i + n] += click[:n]
    return out


def make_clip(label: str, rng: np.random.Generator) -> Clip:
    """Generate one clip of ``label`` with random pitch, length, level, noise and rate."""
    sample_rate = int(rng.choice(SAMPLE_RATES))
    seconds = rng.uniform(0.5, 3.0)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    if label == "tone":
        signal = _tone(rng, t)
    elif label == "chirp":
        signal = _chirp(rng, t)
    elif label == "noise":
        signal = _noise(rng, t, sample_rate)
    elif label == "pulses":
        signal = _pulses(rng, t, sample_rate)
    else:
        raise ValueError(f"unknown label {label!r}: use one of {', '.join(LABELS)}")
    # Fade in/out over 10 ms and start at a random offset inside the clip.
    fade = min(int(0.01 * sample_rate), n // 4)
    if fade:
        ramp = np.linspace(0, 1, fade)
        signal[:fade] *= ramp
        signal[-fade:] *= ramp[::-1]
    offset = int(rng.uniform(0, 0.2) * n)
    signal = np.concatenate([np.zeros(offset), signal[: n - offset]])
    signal /= np.max(np.abs(signal)) or 1.0
    snr_db = rng.uniform(10, 40)
    signal = signal + rng.standard_normal(n) * 10 ** (-snr_db / 20) * np.std(signal)
    peak_db = rng.uniform(-30, -1)
    signal *= 10 ** (peak_db / 20) / (np.max(np.abs(signal)) or 1.0)
    return Clip(label=label, samples=signal.astype(np.float32), sample_rate=sample_rate)


def generate(per_class: int, seed: int = 0) -> list[Clip]:
    """Return ``per_class`` clips of every label, interleaved, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    return [make_clip(label, rng) for _ in range(per_class) for label in LABELS]


def write_dataset(clips: list[Clip], out: Path) -> None:
    """Write clips as ``out/<label>/<label>-NNNN.wav`` (16-bit PCM), the layout train reads."""
    counters: dict[str, int] = {}
    for clip in clips:
        index = counters.get(clip.label, 0)
        counters[clip.label] = index + 1
        path = out / clip.label / f"{clip.label}-{index:04d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, clip.samples, clip.sample_rate, subtype="PCM_16")
