"""The platform parameters (``platform.json``), each with its source, date and a verified flag."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import KitError

PLATFORM_FILE = Path(__file__).with_name("platform.json")


class PlatformError(KitError):
    """An override that cannot be applied; the message names it."""


@dataclass
class PlatformParams:
    """Parameter values by name, plus where each came from."""

    parameters: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, overrides: Path | None = None, **values: Any) -> PlatformParams:
        """Read platform.json, merge an override file (same keys), then keyword values."""
        params = json.loads(PLATFORM_FILE.read_text())["parameters"]
        if overrides is not None:
            try:
                extra = json.loads(Path(overrides).read_text()).get("parameters", {})
            except (OSError, json.JSONDecodeError) as exc:
                raise PlatformError(
                    f"--platform {overrides}: cannot read it as JSON ({exc})"
                ) from None
            for key, entry in extra.items():
                if key not in params:
                    raise PlatformError(
                        f"--platform {overrides}: unknown parameter {key!r}; "
                        f"known: {', '.join(sorted(params))}"
                    )
                update = entry if isinstance(entry, dict) else {"value": entry}
                params[key] = {**params[key], **update, "overridden": str(overrides)}
        for key, value in values.items():
            if value is not None:
                params[key] = {**params[key], "value": value, "overridden": "command line"}
        return cls(params)

    def __getitem__(self, key: str) -> Any:
        return self.parameters[key]["value"]

    def range(self, key: str) -> tuple[float, float]:
        """The plausible range of an undocumented parameter (its value twice if none)."""
        low, high = self.parameters[key].get("range", [self[key], self[key]])
        return float(low), float(high)

    def assumptions(self) -> list[dict[str, Any]]:
        """Every parameter as a row: name, value, unit, source, date, verified."""
        return [
            {
                "name": k,
                "value": p["value"],
                "range": p.get("range"),
                "unit": p["unit"],
                "source": p["source"],
                "date": p["date"],
                "verified": p["verified"],
                "note": p.get("note", ""),
                "overridden": p.get("overridden", ""),
            }
            for k, p in self.parameters.items()
        ]
