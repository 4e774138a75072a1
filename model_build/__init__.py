"""Build the reference ONNX model: generate data, train a torch model, export and gate it.

Build-time only: torch and torchaudio never reach a Lambda or the serving image.
"""

import sys
from pathlib import Path

# The shared audio code lives in the Lambda code root (functions/); training
# reuses it so the model sees exactly the preprocessing used at inference.
_FUNCTIONS = str(Path(__file__).resolve().parent.parent / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.insert(0, _FUNCTIONS)


class ModelBuildError(RuntimeError):
    """A user-facing failure: the message says what is wrong and what to do."""
