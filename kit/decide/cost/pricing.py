"""The price catalogue (``pricing.json``: region, date, source and verified flag per price)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from kit.errors import KitError

PRICING_FILE = Path(__file__).with_name("pricing.json")


class CostInputError(KitError):
    """Impossible input; the message names it."""


@dataclass
class Pricing:
    """The catalogue, with overrides applied."""

    data: dict
    hours_per_month: float = 730.0

    @classmethod
    def load(cls, overrides: Path | None = None, hours_per_month: float | None = None) -> Pricing:
        """Read pricing.json, merge an override file (same shape, only changed keys)."""
        data = json.loads(PRICING_FILE.read_text())
        if overrides is not None:
            try:
                extra = json.loads(Path(overrides).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise CostInputError(
                    f"--prices {overrides}: cannot read it as JSON ({exc})"
                ) from None
            for key, value in extra.get("prices", {}).items():
                if key not in data["prices"]:
                    raise CostInputError(
                        f"--prices {overrides}: unknown price {key!r}; "
                        f"known: {', '.join(sorted(data['prices']))}"
                    )
                if isinstance(value, dict) and isinstance(data["prices"][key], dict):
                    merged = dict(data["prices"][key])
                    for k, v in value.items():
                        merged[k] = (
                            {**merged[k], **v}
                            if isinstance(v, dict) and isinstance(merged.get(k), dict)
                            else v
                        )
                    data["prices"][key] = merged
                else:
                    data["prices"][key]["price"] = float(value)
            if "hours_per_month" in extra:
                data["hours_per_month"] = float(extra["hours_per_month"])
        hours = float(hours_per_month or data.get("hours_per_month", 730))
        if hours <= 0:
            raise CostInputError(f"hours per month must be positive, got {hours}")
        return cls(data, hours)

    def price(self, key: str) -> float:
        """A flat price."""
        return float(self.data["prices"][key]["price"])

    def duration(self, gb_seconds: float, architecture: str) -> float:
        """Tiered Lambda duration cost for a month's GB-seconds."""
        key = f"lambda_duration_{architecture}"
        if key not in self.data["prices"]:
            raise CostInputError(f"architecture {architecture!r} has no price; use x86_64 or arm64")
        cost, lower = 0.0, 0.0
        for tier in self.data["prices"][key]["tiers"]:
            upper = tier["up_to_gb_s"] if tier["up_to_gb_s"] is not None else math.inf
            if gb_seconds > lower:
                cost += (min(gb_seconds, upper) - lower) * tier["price"]
            lower = upper
        return cost

    def instance_hour(self, instance_type: str) -> float:
        """Hourly price of a SageMaker hosting instance."""
        table = self.data["prices"]["sagemaker_instance_hour"]["instances"]
        if instance_type not in table:
            raise CostInputError(
                f"unknown SageMaker instance type {instance_type!r}; "
                f"priced: {', '.join(sorted(table))} (add it with --prices)"
            )
        return float(table[instance_type])

    def ec2_hour(self, instance_type: str) -> tuple[float, int]:
        """Hourly price and vCPUs of an EC2 instance (Lambda Managed Instances capacity)."""
        entry = self.data["prices"]["ec2_instance_hour"]
        if instance_type not in entry["instances"]:
            raise CostInputError(
                f"unknown EC2 instance type {instance_type!r}; "
                f"priced: {', '.join(sorted(entry['instances']))} (add it with --prices)"
            )
        return float(entry["instances"][instance_type]), int(entry["vcpus"][instance_type])

    @property
    def seconds_per_month(self) -> float:
        """Seconds in the pricing month."""
        return self.hours_per_month * 3600
