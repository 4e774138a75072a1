"""The model family's sizes (no torch import, so the CLI starts fast)."""

# The family: the same architecture, wider and deeper. Compute grows about 100x from tiny to
# large (a 1 s clip: ~2 ms to tens of ms on one core); large is tens of MB on disk.
SIZES: dict[str, tuple[int, ...]] = {
    "tiny": (16, 32, 48),
    "small": (32, 64, 96),
    "base": (64, 128, 256),
    "large": (128, 256, 512, 768),
}
DEFAULT_SIZE = "tiny"
