"""The seed article's (000_...) cost table, an external figure the cost model must reproduce."""

from __future__ import annotations

from kit.decide.cost import CostModel, VariantCost
from kit.results import Kind

SEED = {  # the seed article's table: totals per month
    10: {"standard": 6.05, "snapstart": 7.37, "sagemaker": 41.24},
    50: {"standard": 30.24, "snapstart": 36.87, "sagemaker": 42.66},
    72: {"standard": 43.51, "snapstart": 53.05, "sagemaker": 43.43},
    200: {"standard": 120.84, "snapstart": 147.32, "sagemaker": 47.97},
    1000: {"standard": 604.22, "snapstart": 736.62, "sagemaker": 76.38},
}


def seed_model() -> CostModel:
    return CostModel(
        [
            VariantCost(name="standard", kind=Kind.MANUAL, per_million=13.80, fixed_monthly=0.0),
            VariantCost(name="snapstart", kind=Kind.MANUAL, per_million=16.82, fixed_monthly=0.0),
            VariantCost(name="sagemaker", kind=Kind.MANUAL, per_million=0.81, fixed_monthly=40.88),
        ]
    )
