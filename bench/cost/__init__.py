"""The pricing model (``model.py``, prices in ``pricing.json``) and ``bench cost`` (``command.py``)."""

from .model import (
    DEFAULT_RPM,
    CostInputError,
    CostModel,
    Crossover,
    Pricing,
    VariantCost,
    variants_from_results,
)

__all__ = [
    "DEFAULT_RPM",
    "CostInputError",
    "CostModel",
    "Crossover",
    "Pricing",
    "VariantCost",
    "variants_from_results",
]
