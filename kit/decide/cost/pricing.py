"""The price catalogue (``pricing.json``: region, date, source and verified flag per price)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import KitError

PRICING_FILE = Path(__file__).with_name("pricing.json")


class CostInputError(KitError):
    """Impossible input; the message names it."""


@dataclass(frozen=True)
class Ec2Type:
    """One EC2 instance type of the catalogue."""

    name: str
    hourly: float
    vcpus: int
    memory_gib: float


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
            where = f"--prices {overrides}"
            try:
                extra = json.loads(Path(overrides).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise CostInputError(
                    f"{where}: cannot read it as JSON ({str(exc)[:200]})"
                ) from None
            prices = extra.get("prices", {}) if isinstance(extra, dict) else None
            if not isinstance(prices, dict):
                raise CostInputError(
                    f'{where}: expected {{"prices": {{"name": price, ...}}}} as in '
                    "kit/decide/cost/pricing.json"
                )
            for key, value in prices.items():
                if key not in data["prices"]:
                    raise CostInputError(
                        f"{where}: unknown price {key!r}; known: {', '.join(sorted(data['prices']))}"
                    )
                shipped = data["prices"][key]
                if isinstance(value, dict):
                    merged = dict(shipped)
                    for k, v in value.items():
                        merged[k] = (
                            {**merged[k], **v}
                            if isinstance(v, dict) and isinstance(merged.get(k), dict)
                            else v
                        )
                    data["prices"][key] = merged
                elif "price" in shipped:
                    data["prices"][key] = {**shipped, "price": value}
                else:
                    raise CostInputError(
                        f"{where}: {key} is not a single price; give it in the shape "
                        "pricing.json has (tiers, instances or offers)"
                    )
                check_price(shipped, data["prices"][key], f"{where}: {key}")
            if "hours_per_month" in extra:
                data["hours_per_month"] = extra["hours_per_month"]
        hours = hours_per_month or data.get("hours_per_month", 730)
        if not _number(hours) or not 1 <= hours <= 744:
            raise CostInputError(f"hours per month must be a number from 1 to 744, got {hours!r}")
        hours = float(hours)
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

    def ec2_type(self, instance_type: str) -> Ec2Type:
        """Hourly price, vCPUs and memory of an EC2 instance (Lambda Managed Instances capacity)."""
        entry = self.data["prices"]["ec2_instance_hour"]
        known = [t for t in entry["instances"] if t in entry["vcpus"] and t in entry["memory_gib"]]
        if instance_type not in known:
            raise CostInputError(
                f"unknown EC2 instance type {instance_type!r}; priced with vCPUs and memory: "
                f"{', '.join(sorted(known))} (add it with --prices: instances, vcpus and "
                "memory_gib of ec2_instance_hour)"
            )
        return Ec2Type(
            instance_type,
            float(entry["instances"][instance_type]),
            int(entry["vcpus"][instance_type]),
            float(entry["memory_gib"][instance_type]),
        )

    def ec2_types(self) -> list[str]:
        """Every EC2 type the catalogue prices with its vCPUs and memory."""
        entry = self.data["prices"]["ec2_instance_hour"]
        return [t for t in entry["instances"] if t in entry["vcpus"] and t in entry["memory_gib"]]

    @property
    def seconds_per_month(self) -> float:
        """Seconds in the pricing month."""
        return self.hours_per_month * 3600


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_price(shipped: Any, given: Any, where: str) -> None:
    """``given`` has ``shipped``'s shape and every price in it is a finite number >= 0."""
    if isinstance(shipped, dict):
        if not isinstance(given, dict):
            raise CostInputError(f"{where}: expected an object as in pricing.json")
        for k, v in given.items():
            if k in ("unit", "source", "verified", "note", "date"):
                continue
            if k == "up_to_gb_s" and v is None:  # the last tier has no ceiling
                continue
            check_price(shipped.get(k, v), v, f"{where}.{k}")
    elif isinstance(shipped, list):
        if not isinstance(given, list) or not given:
            raise CostInputError(f"{where}: expected a list as in pricing.json")
        for i, v in enumerate(given):
            check_price(shipped[min(i, len(shipped) - 1)], v, f"{where}[{i}]")
    elif _number(shipped) and (not _number(given) or given < 0):
        raise CostInputError(f"{where}: {given!r} must be a finite price of 0 or more")


def price_rows(pricing: Pricing) -> list[tuple[str, str, str, str, str]]:
    """(name, value, unit, source, verified) for every price in the catalogue, as used."""
    rows = []
    for key, entry in pricing.data["prices"].items():
        if "price" in entry:
            value = f"{entry['price']:g}"
        elif "tiers" in entry:
            value = ", ".join(f"{t['price']:g}" for t in entry["tiers"]) + " (tiers)"
        else:
            table = entry.get("instances") or entry.get("offers") or {}
            value = ", ".join(f"{k} {v:g}" for k, v in table.items())
        verified = entry.get("verified")
        rows.append(
            (
                key,
                value,
                str(entry.get("unit", "")),
                str(entry.get("source", "")),
                "yes" if verified is True else "no" if verified is False else str(verified),
            )
        )
    return rows
