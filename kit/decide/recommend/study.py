"""One recommendation, end to end: basis -> search over levels -> answer -> stack to deploy.

What ``kit recommend`` and the report run; returns plain data (the JSON the page reads).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kit.decide.cost.model import Pricing
from kit.decide.cost.unpriced import unpriced_lines
from kit.decide.demand import Demand
from kit.decide.simulate.platform import PlatformParams
from kit.results import Results

from .answer import answer, at_users_traffic
from .basis import basis_from_primitives, basis_from_results
from .deploy import deploy
from .search import Progress, search_levels
from .space import FAMILIES, LEVELS, NOT_DEPLOYABLE, Target


@dataclass(frozen=True)
class Primitives:
    """Service times given by hand (``--billed-ms`` and friends), used without a results file."""

    billed_ms: float = 200.0
    memory_mb: int = 1769
    cpu_ms: float = 0.0
    init_ms: float = 0.0
    restore_ms: float = 0.0
    proxy_billed_ms: float = 100.0
    endpoint_ms: float = 100.0


def largest_upload(doc: Results | None) -> int | None:
    """The largest upload a results file records (None: not recorded)."""
    return None if doc is None else doc.run.get("largest_upload_bytes")


def recommend(
    doc: Results | None,
    demand: Demand,
    target: Target,
    primitives: Primitives | None = None,
    levels: tuple[float, ...] = LEVELS,
    arm64_factor: float = 1.0,
    ci_reps: int = 10,
    seed: int = 7,
    prices: Path | None = None,
    platform: Path | None = None,
    out: Path | None = None,
    model_path: str | None = None,
    progress: Progress | None = None,
    extend: bool = True,
) -> dict[str, Any]:
    """Search, answer, and (with ``out``) write and preflight the recommended stack.

    ``extend``: search further levels above ``levels`` while Lambda is still cheapest."""
    pricing = Pricing.load(prices)
    params = PlatformParams.load(platform)
    if doc is not None:
        basis = basis_from_results(doc, target.entry, arm64_factor)
        excluded = doc.untrusted()
    else:
        p = primitives or Primitives()
        basis = basis_from_primitives(**asdict(p), entry=target.entry, arm64_factor=arm64_factor)
        excluded = []
    span = pricing.seconds_per_month

    def traffic(scale: float) -> Any:
        return demand.traffic(span, scale, seed)

    found = search_levels(
        basis,
        traffic,
        target,
        params,
        pricing,
        levels,
        ci_reps,
        seed=seed,
        progress=progress,
        extend=extend,
    )
    restated = demand.restated()
    found["answer"] = answer(found, basis, target, restated)
    found["demand"] = {"restated": restated, "average_rpm": at_users_traffic(found)["rpm"]}
    found["target"] = asdict(target)
    found["ci_reps"] = ci_reps
    found["basis"] = {
        "memory": basis.memory_note,
        "sources": basis.sources,
        "arm64_factor": arm64_factor,
        "excluded_as_emulation_artefacts": excluded,
        "payload": (
            "largest upload not recorded: Serverless's 4 MB payload limit is not checked"
            if target.max_object_bytes is None
            else f"largest upload {target.max_object_bytes:,} bytes"
        ),
    }
    found["families"] = {f: FAMILIES[f] for f in FAMILIES}
    found["not_deployable"] = NOT_DEPLOYABLE
    found["pricing"] = {
        "region": pricing.data["region"],
        "effective_date": pricing.data["effective_date"],
        "hours_per_month": pricing.hours_per_month,
        "unpriced": unpriced_lines(pricing, target.max_object_bytes),
    }
    here = at_users_traffic(found)
    pick = here.get("pick_deployable")
    found["deploy"] = None
    if pick is not None and out is not None:
        found["deploy"] = deploy(here["families"][pick]["config"], out, model_path=model_path) | {
            "label": here["families"][pick]["label"]
        }
    return found
