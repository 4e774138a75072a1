"""Instance prices from the AWS Price List API, as a ``--prices`` override file.

The shipped SageMaker and EC2 instance prices come from secondary sources that disagree
with each other, and they set every crossover. ``kit prices --refresh`` asks the Price
List API (``pricing:GetProducts``, with your credentials) for the on-demand hourly price of
each instance type the catalogue knows, in your region, and writes them with the date
and the API as their source; ``--prices FILE`` then uses them everywhere.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .pricing import CostInputError, Pricing

API_REGION = "us-east-1"
"""Where the Price List API answers (it also does in eu-central-1 and ap-south-1)."""


def _match(field: str, value: str) -> dict[str, str]:
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def _on_demand_hourly(item: str) -> tuple[dict[str, str], float | None]:
    """(attributes, USD per hour of the on-demand term) of one PriceList entry."""
    doc = json.loads(item)
    attributes = doc.get("product", {}).get("attributes", {})
    for term in doc.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit") in ("Hrs", "Hours") and usd is not None and float(usd) > 0:
                return attributes, float(usd)
    return attributes, None


def _products(client: Any, service: str, filters: list[dict[str, str]]) -> list[str]:
    items: list[str] = []
    for page in client.get_paginator("get_products").paginate(
        ServiceCode=service, Filters=filters, FormatVersion="aws_v1"
    ):
        items += page["PriceList"]
    return items


def sagemaker_hosting(client: Any, region: str, types: list[str]) -> dict[str, float]:
    """On-demand hourly price of each real-time hosting instance type in ``region``."""
    items = _products(
        client,
        "AmazonSageMaker",
        [
            _match("regionCode", region),
            _match("productFamily", "ML Instance"),
            _match("component", "Hosting"),
        ],
    )
    found: dict[str, float] = {}
    for item in items:
        attributes, hourly = _on_demand_hourly(item)
        name = attributes.get("instanceName")
        if name in types and hourly is not None:
            found[name] = min(hourly, found.get(name, hourly))
    return found


def ec2_linux(client: Any, region: str, types: list[str]) -> dict[str, float]:
    """On-demand hourly price of each EC2 type (Linux, shared tenancy) in ``region``."""
    found: dict[str, float] = {}
    for instance_type in types:
        items = _products(
            client,
            "AmazonEC2",
            [
                _match("regionCode", region),
                _match("instanceType", instance_type),
                _match("operatingSystem", "Linux"),
                _match("tenancy", "Shared"),
                _match("preInstalledSw", "NA"),
                _match("capacitystatus", "Used"),
                _match("licenseModel", "No License required"),
            ],
        )
        prices = [h for _, h in map(_on_demand_hourly, items) if h is not None]
        if prices:
            found[instance_type] = min(prices)
    return found


def refresh(client: Any, region: str, pricing: Pricing | None = None) -> dict[str, Any]:
    """The override document: every instance type of the catalogue the API priced."""
    pricing = pricing or Pricing.load()
    shipped = pricing.data["prices"]
    today = datetime.now(UTC).date().isoformat()
    source = f"AWS Price List API (pricing:GetProducts, {region}, fetched {today})"
    out: dict[str, Any] = {}
    missing: list[str] = []
    for key, fetch in (
        ("sagemaker_instance_hour", sagemaker_hosting),
        ("ec2_instance_hour", ec2_linux),
    ):
        types = sorted(shipped[key]["instances"])
        got = fetch(client, region, types)
        missing += [t for t in types if t not in got]
        if got:
            out[key] = {"instances": got, "source": source, "verified": True}
    if not out:
        raise CostInputError(
            f"the Price List API returned no instance price for {region}: check the region "
            "name and that your credentials allow pricing:GetProducts"
        )
    return {
        "region": region,
        "effective_date": today,
        "notes": "Instance prices refreshed from the AWS Price List API; the other prices are "
        "the shipped catalogue's."
        + (
            f" Not found in {region} (shipped price kept): {', '.join(missing)}." if missing else ""
        ),
        "prices": out,
    }
