"""The platform parameters (``platform.json``), each with its source, date and a verified flag."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import KitError

PLATFORM_FILE = Path(__file__).with_name("platform.json")
BOUNDS: dict[
    str, tuple[float, float]
] = {  # what an override may set: values beyond these are not a platform, but a typo
    "lambda_idle_lifetime_s": (1, 7 * 86400),
    "lambda_scale_envs_per_10s": (1, 1_000_000),
    "lambda_account_concurrency": (1, 10_000_000),
    "lambda_async_retry_delay_s": (0, 6 * 3600),
    "t2_baseline_per_vcpu": (0.01, 1),
    "t2_credits_per_hour": (0, 10_000),
    "t2_max_credits": (0, 1_000_000),
    "t2_initial_credits": (0, 1_000_000),
    "sagemaker_autoscaling_target_utilization": (0.05, 1),
    "sagemaker_scale_out_delay_s": (0, 86400),
    "sagemaker_scale_in_cooldown_s": (0, 86400),
    "queue_max_wait_s": (1, 3600),
    "serverless_cold_start_s": (0, 600),
    "serverless_idle_lifetime_s": (1, 86400),
    "managed_instances_count": (1, 1000),
    "managed_target_utilization": (0.05, 1),
    "managed_scale_out_delay_s": (0, 86400),
    "managed_scale_in_cooldown_s": (0, 86400),
    "batch_job_overhead_s": (0, 86400),
    "batch_jobs_per_day": (1, 1440),
}


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
                doc = json.loads(Path(overrides).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise PlatformError(
                    f"--platform {overrides}: cannot read it as JSON ({str(exc)[:200]})"
                ) from None
            extra = doc.get("parameters") if isinstance(doc, dict) else None
            if not isinstance(extra, dict):
                raise PlatformError(
                    f'--platform {overrides}: expected {{"parameters": {{"name": value, ...}}}} '
                    "as in kit/decide/simulate/platform.json"
                )
            for key, entry in extra.items():
                if key not in params:
                    raise PlatformError(
                        f"--platform {overrides}: unknown parameter {key!r}; "
                        f"known: {', '.join(sorted(params))}"
                    )
                update = entry if isinstance(entry, dict) else {"value": entry}
                params[key] = {**params[key], **update, "overridden": str(overrides)}
                check_parameter(key, params[key], f"--platform {overrides}: {key}")
        for key, value in values.items():
            if value is not None:
                params[key] = {**params[key], "value": value, "overridden": "command line"}
                check_parameter(key, params[key], key)
        return cls(params)

    def __getitem__(self, key: str) -> Any:
        """A parameter's value."""
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


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_parameter(key: str, entry: dict[str, Any], where: str) -> None:
    """Refuse a value of the wrong type or outside ``BOUNDS`` (and a malformed ``range``)."""
    value = entry.get("value")
    if key == "sagemaker_instance_vcpus":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and _number(v) and 1 <= v <= 1024 for k, v in value.items()
        ):
            raise PlatformError(f"{where}: give a map of instance type to vCPUs (1-1024)")
    elif key in BOUNDS:
        low, high = BOUNDS[key]
        if not (_number(value) and low <= float(value or 0) <= high):
            raise PlatformError(f"{where}: {value!r} must be a number from {low:g} to {high:g}")
    span = entry.get("range")
    if span is not None:
        low, high = BOUNDS.get(key, (-math.inf, math.inf))
        if not (
            isinstance(span, list)
            and len(span) == 2
            and all(_number(v) and low <= v <= high for v in span)
            and span[0] <= span[1]
        ):
            raise PlatformError(
                f"{where}: range must be [low, high], two numbers within {low:g}-{high:g}"
            )
