"""Figures as standard JSON files (no NaN or infinities: a browser's JSON.parse reads them)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def standard_json(value: Any) -> Any:
    """``value`` with NaN and infinities as null, so any JSON reader (a browser) can read it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): standard_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [standard_json(v) for v in value]
    return value


def write_json(doc: Any, path: Path | str) -> Path:
    """Any figures as indented standard JSON (no NaN: null), folders created; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(standard_json(doc), indent=2, default=str, allow_nan=False)
    path.write_text(text + "\n")
    return path
