"""SageMaker serving container for the shared inference code.

Not the SageMaker SDK: this package is only the serving app (``serve.py``) and
its Dockerfile. It imports the Lambda code root's ``audio_inference`` package,
copied into the image, so both run the same inference code.
"""

import sys
from pathlib import Path

_FUNCTIONS = str(Path(__file__).resolve().parent.parent / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.insert(0, _FUNCTIONS)
