"""Build the reference ONNX model: generate data, train a torch model, export and gate it.

Build-time only: torch and torchaudio never reach a Lambda or the serving image.

Training reuses the shared ``audio_inference`` package (installed), so the
model sees exactly the preprocessing used at inference.
"""


class ModelBuildError(RuntimeError):
    """A user-facing failure: the message says what is wrong and what to do."""
