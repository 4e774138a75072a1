"""`kit prices`: the catalogue with sources, and instance prices from the Price List API.

The API is stubbed with botocore's Stubber, which checks every request against the real
Pricing service model; the responses are PriceList entries in the API's published aws_v1
format (a JSON string per product, on-demand terms with an hourly price dimension).
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from kit.decide.cost.model import Pricing
from kit.decide.cost.refresh import refresh
from kit.errors import KitError
from tests.helpers import run_cli


def _entry(attributes: dict, usd: str, unit: str = "Hrs") -> str:
    sku = "ABCDEFGH12345678"
    return json.dumps(
        {
            "product": {"productFamily": "ML Instance", "attributes": attributes, "sku": sku},
            "serviceCode": "X",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "pricePerUnit": {"USD": usd},
                                "description": "per hour",
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def test_refresh_writes_the_api_prices_as_an_override_the_catalogue_accepts(tmp_path):
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    shipped = Pricing.load().data["prices"]
    ml_types = sorted(shipped["sagemaker_instance_hour"]["instances"])
    ec2_types = sorted(shipped["ec2_instance_hour"]["instances"])
    with Stubber(client) as stub:
        stub.add_response(
            "get_products",
            {
                "FormatVersion": "aws_v1",
                "PriceList": [
                    _entry(
                        {"instanceName": "ml.t2.medium", "component": "Hosting"}, "0.0650000000"
                    ),
                    _entry(
                        {"instanceName": "ml.m5.xlarge", "component": "Hosting"}, "0.2690000000"
                    ),
                    _entry({"instanceName": "ml.p9.huge", "component": "Hosting"}, "99.0"),
                    _entry({"instanceName": "ml.c5.large"}, "0.0", "Hrs"),  # free tier line
                ],
            },
            {"ServiceCode": "AmazonSageMaker", "Filters": ANY, "FormatVersion": "aws_v1"},
        )
        for t in ec2_types:
            stub.add_response(
                "get_products",
                {"FormatVersion": "aws_v1", "PriceList": [_entry({"instanceType": t}, "0.1")]},
                {"ServiceCode": "AmazonEC2", "Filters": ANY, "FormatVersion": "aws_v1"},
            )
        doc = refresh(client, "us-east-1")
        stub.assert_no_pending_responses()
    ml = doc["prices"]["sagemaker_instance_hour"]
    assert ml["instances"] == {"ml.t2.medium": 0.065, "ml.m5.xlarge": 0.269}  # only known types
    assert ml["verified"] is True and "Price List API" in ml["source"]
    assert "ml.c5.large" in doc["notes"] and len(ml_types) > 2  # the rest kept, and said so
    out = tmp_path / "prices.json"
    out.write_text(json.dumps(doc))
    pricing = Pricing.load(out)  # the override passes the catalogue's own checks
    assert pricing.instance_hour("ml.t2.medium") == 0.065
    assert (
        pricing.instance_hour("ml.c5.large")
        == shipped["sagemaker_instance_hour"]["instances"]["ml.c5.large"]
    )
    assert pricing.ec2_type(ec2_types[0]).hourly == 0.1


def test_refresh_with_nothing_priced_says_what_to_check():
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        for _ in range(1 + len(Pricing.load().data["prices"]["ec2_instance_hour"]["instances"])):
            stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []})
        with pytest.raises(KitError, match="no instance price for xx-nowhere-1"):
            refresh(client, "xx-nowhere-1")


def test_prices_command_lists_every_price_with_its_source():
    result = run_cli("kit", "prices", timeout=60)
    assert result.returncode == 0, result.stderr
    for key in Pricing.load().data["prices"]:
        assert key[:20] in result.stdout.replace("\n", "")  # names fold in narrow terminals
