"""The pricing model (``model.py``, prices in ``pricing.json``) and ``kit cost`` (``command.py``)."""

from .inputs import variants_from_results
from .model import (
    DEFAULT_RPM,
    CostInputError,
    CostModel,
    Crossover,
    Pricing,
    VariantCost,
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
