"""The prices every figure uses, with source and verification; `--refresh` fetches the
instance prices (SageMaker hosting, EC2 for Lambda Managed Instances) from the AWS Price
List API with your credentials and writes them as a `--prices` file.

    python -m kit prices                                  # the catalogue, one row per price
    python -m kit prices --refresh --region eu-west-1 --out prices.json
    python -m kit recommend --results results/local.json --prices prices.json ...

Needs pricing:GetProducts (the API answers in us-east-1 for every region's prices).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kit.cli import options
from kit.errors import EXIT_OK, KitError


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    p.add_argument("--prices", metavar="FILE", help="show the catalogue with this override file")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="fetch the instance prices from the AWS Price List API (needs credentials)",
    )
    p.add_argument("--region", default="us-east-1", help="the region to price (us-east-1)")
    p.add_argument(
        "--out", default="prices.json", help="where --refresh writes the override (prices.json)"
    )


def run(args: argparse.Namespace) -> int:
    """Print the catalogue, or refresh the instance prices into ``--out``."""
    from rich.markup import escape
    from rich.table import Table

    from kit.decide.cost.model import Pricing
    from kit.decide.cost.pricing import price_rows

    console = options.console()
    if args.refresh:
        out = Path(args.out)
        doc = _refresh(args.region)
        out.write_text(json.dumps(doc, indent=2) + "\n")
        n = sum(len(v["instances"]) for v in doc["prices"].values())
        console.print(f"wrote {n} instance prices for {escape(args.region)} to {escape(str(out))}")
        console.print(escape(doc["notes"]))
        console.print(f"use them with --prices {escape(str(out))}")
        return EXIT_OK
    pricing = Pricing.load(Path(args.prices) if args.prices else None)
    table = Table(
        title=f"Prices: {pricing.data['region']}, effective {pricing.data['effective_date']}"
    )
    for column in ("price", "value", "unit", "source", "verified"):
        table.add_column(column, overflow="fold")
    for row in price_rows(pricing):
        table.add_row(*(escape(str(cell)) for cell in row))
    console.print(table)
    return EXIT_OK


def _refresh(region: str) -> dict:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from kit.decide.cost.refresh import API_REGION, refresh

    try:
        client = boto3.client("pricing", region_name=API_REGION)
        return refresh(client, region)
    except ClientError as exc:
        raise KitError(
            f"the Price List API refused: {exc.response['Error'].get('Message', exc)} "
            "(the credentials need pricing:GetProducts)"
        ) from None
    except BotoCoreError as exc:
        raise KitError(f"cannot reach the Price List API: {exc}") from None
