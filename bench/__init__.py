"""Local proof of concept, AWS benchmarks, cost model and report (``python -m bench``)."""

import sys
from pathlib import Path

# The shared names (variants, table keys, env vars) live in the Lambda code root.
FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))
