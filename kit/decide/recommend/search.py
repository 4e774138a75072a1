"""The search: bounds that prune, simulations that decide, intervals, crossovers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kit.decide.cost.model import Pricing
from kit.decide.simulate.engine import (
    Options,
    Tally,
    drops_transients,
    monthly_cost,
    simulate,
)
from kit.decide.simulate.platform import PlatformParams
from kit.decide.simulate.service import Service
from kit.decide.simulate.traffic import Traffic
from kit.errors import KitError

from .bounds import lower_bound, steady_state_refusal
from .space import (
    FAMILIES,
    LEVELS,
    NOT_DEPLOYABLE,
    PER_REQUEST,
    Basis,
    Candidate,
    RecommendError,
    Target,
    candidates,
)

# -- the search ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """One simulated configuration at one level."""

    candidate: Candidate
    aggregate: bool
    """simulated level by level (transients at level changes not counted) rather than exactly"""
    monthly: float
    breakdown: dict[str, float]
    p50_ms: float
    p99_ms: float
    cold_share: float
    refused_share: float
    feasible: bool
    why_not: str = ""

    def summary(self) -> dict[str, Any]:
        """Plain data for JSON and the page."""
        c = self.candidate
        return {
            "label": c.label,
            "family": c.family,
            "config": c.config,
            "deployable": c.family not in NOT_DEPLOYABLE,
            "monthly": self.monthly,
            "breakdown": self.breakdown,
            "p50_ms": _finite(self.p50_ms),
            "p99_ms": _finite(self.p99_ms),
            "cold_share": self.cold_share,
            "refused_share": self.refused_share,
            "feasible": self.feasible,
            "why_not": self.why_not,
            "aggregate": self.aggregate,
            "notes": list(c.notes),
        }


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass
class Search:
    """Everything one search needs besides the candidates."""

    traffic: Traffic
    target: Target
    platform: PlatformParams
    pricing: Pricing
    max_exact: int = 200_000
    seed: int = 7
    simulated: int = 0
    aggregate: bool = False

    @property
    def n_month(self) -> float:
        """Requests a month at this traffic."""
        return self.traffic.expected_requests * self.pricing.seconds_per_month / self.traffic.span_s

    @property
    def peak_rate(self) -> float:
        """The busiest rate (requests per second): a segment's, or a trace's busiest minute."""
        if self.traffic.timestamps is not None:
            stamps = self.traffic.timestamps
            # the busiest minute of the trace
            counts = np.bincount((stamps // 60).astype(np.int64))
            return float(counts.max()) / 60
        return float(self.traffic.rates.max())

    @property
    def mean_rate(self) -> float:
        """Requests per second averaged over the span."""
        return self.traffic.expected_requests / self.traffic.span_s

    def run(
        self,
        c: Candidate,
        service: Service | None = None,
        max_exact: int | None = None,
        seed: int | None = None,
    ) -> tuple[Tally, float, dict[str, float]]:
        """Simulate one configuration (or a resampled copy of it): tally, monthly cost, parts."""
        svc = service or c.service
        opts = Options(
            max_exact=max_exact or self.max_exact,
            seed=self.seed if seed is None else seed,
            max_instances=max(c.autoscale_to, int(svc.cost.instance_count)),
            pricing=self.pricing,
        )
        tallies, _ = simulate([svc], self.traffic, self.platform, opts)
        tally = tallies[svc.name]
        cost, parts, _ = monthly_cost(svc, tally, self.traffic, self.platform, self.pricing)
        self.simulated += 1
        self.aggregate = drops_transients(self.traffic, opts.max_exact)
        return tally, cost, parts

    def outcome(self, c: Candidate, max_exact: int | None = None) -> Outcome:
        """Simulate ``c`` and judge it against the target and the budget."""
        tally, cost, parts = self.run(c, max_exact=max_exact)
        n = max(tally.requests, 1.0)
        p99, p50 = tally.percentile(99), tally.percentile(50)
        refused = tally.throttled / n
        why = ""
        if refused > 0:
            why = f"{refused:.2%} of requests refused (needs more capacity)"
        elif not p99 <= self.target.p99_ms:
            why = f"p99 {p99:,.0f} ms is over the {self.target.p99_ms:,.0f} ms target"
        elif self.target.p50_ms is not None and not p50 <= self.target.p50_ms:
            why = f"p50 {p50:,.0f} ms is over the {self.target.p50_ms:,.0f} ms target"
        elif self.target.budget is not None and cost > self.target.budget:
            why = f"${cost:,.2f} a month is over the ${self.target.budget:,.2f} budget"
        return Outcome(
            c,
            self.aggregate,
            cost,
            parts,
            p50,
            p99,
            (tally.cold + tally.endpoint_cold) / n,
            refused,
            not why,
            why,
        )

    def best(self, options: list[Candidate]) -> tuple[Outcome | None, dict[str, Any]]:
        """The cheapest feasible configuration (branch and bound), and what the search did."""
        n_month = self.n_month
        bounded = sorted(
            ((lower_bound(c, n_month, self.pricing), i, c) for i, c in enumerate(options)),
            key=lambda x: x[:2],
        )
        winner: Outcome | None = None
        closest: Outcome | None = None
        refusals: list[str] = []
        simulated = pruned = confirmed = 0
        for bound, _, c in bounded:
            if winner is not None and bound >= winner.monthly:
                pruned = len(bounded) - simulated - len(refusals)
                break
            why = steady_state_refusal(
                c, self.peak_rate, self.mean_rate, self.target, self.platform, self.pricing
            )
            if why:
                refusals.append(f"{c.label}: {why}")
                continue
            simulated += 1
            o = self.outcome(c)
            if o.feasible and (winner is None or o.monthly < winner.monthly) and o.aggregate:
                # the search's window dropped transients at level changes (queues building up,
                # autoscaling lag): a winner is confirmed request by request
                o = self.outcome(c, max_exact=VERIFY_MAX_EXACT)
                confirmed += 1
            if o.feasible and (winner is None or o.monthly < winner.monthly):
                winner = o
            if not o.feasible and (closest is None or _better_miss(o, closest)):
                closest = o
        stats = {
            "configurations": len(options),
            "simulated": simulated,
            "refused_by_bound": len(refusals),
            "pruned_by_cost": pruned,
            "confirmed_exactly": confirmed,
            "closest_miss": closest.summary() if closest and winner is None else None,
            "refusal_example": refusals[-1] if refusals and winner is None else None,
        }
        return winner, stats


VERIFY_MAX_EXACT = 3_000_000
"""Requests a winner found in aggregate mode is re-simulated with (a whole week of a weekly
shape up to ~300 RPM; above it, windows per level)."""


def _better_miss(a: Outcome, b: Outcome) -> bool:
    """Whether ``a`` misses the target by less than ``b`` (fewer refusals, then lower p99)."""
    return (a.refused_share, a.p99_ms) < (b.refused_share, b.p99_ms)


def interval(
    search: Search, o: Outcome, reps: int, max_exact: int = 200_000
) -> dict[str, list[float] | None]:
    """5th-95th percentiles of cost and p99 over ``reps`` bootstrap resamples of the
    measured samples (the simulation's own noise included: each rep has its own seed)."""
    if reps <= 0:
        return {"monthly": None, "p99_ms": None}
    costs, p99s = [], []
    for rep in range(reps):
        rng = np.random.default_rng([search.seed, 5000 + rep])
        svc = o.candidate.service.resampled(rng)
        tally, cost, _ = search.run(
            o.candidate, svc, max_exact=max_exact, seed=search.seed + 1 + rep
        )
        costs.append(cost)
        p99s.append(tally.percentile(99))
    return {"monthly": _q5_95(costs), "p99_ms": _q5_95(p99s)}


def _q5_95(values: list[float]) -> list[float]:
    ordered = np.asarray(values, dtype=float)  # inf (no answer) sorts last
    return [float(v) for v in np.quantile(ordered, [0.05, 0.95], method="inverted_cdf")]


Progress = Callable[[str, float, float], None]


MAX_EXTRA = 4
"""Levels added above the highest asked while a per-request family is still cheapest..."""
MAX_SEARCH_RPM = 10_000.0
"""... up to this average rate."""


def search_levels(
    basis: Basis,
    demand_traffic: Callable[[float], Traffic],
    target: Target,
    platform: PlatformParams,
    pricing: Pricing,
    levels: tuple[float, ...] = LEVELS,
    ci_reps: int = 10,
    max_exact: int = 200_000,
    seed: int = 7,
    progress: Progress | None = None,
    extend: bool = True,
) -> dict[str, Any]:
    """Per level (a multiple of the user's demand) and family: the cheapest feasible
    configuration with its cost, p99 and intervals, or why none is; then the crossovers."""
    if basis.lambda_ is None and basis.sagemaker is None:
        raise RecommendError("nothing to search: the results hold no variant that runs the model")
    rows: list[dict[str, Any]] = []
    queue = sorted(levels)
    total = float(len(queue))
    searches: dict[float, Search] = {}
    while queue:
        scale = queue.pop(0)
        try:
            traffic = demand_traffic(scale)
        except KitError:  # beyond the simulator's range: the search stops there
            break
        search = Search(traffic, target, platform, pricing, max_exact, seed)
        searches[scale] = search
        per_family = {}
        options = candidates(basis, target, platform, pricing, search.peak_rate)
        for family, opts in options.items():
            winner, stats = search.best(opts)
            entry: dict[str, Any] = {"family": family, "label": FAMILIES[family], "search": stats}
            if winner is None:
                entry["feasible"] = False
                entry["why_not"] = _why_family_fails(family, stats, target, opts)
            else:
                entry.update(winner.summary())
                entry["ci"] = interval(search, winner, ci_reps)
            per_family[family] = entry
        rows.append(
            {
                "scale": scale,
                "rpm": traffic.rpm,
                "peak_rpm": search.peak_rate * 60,
                "requests_per_month": search.n_month,
                "families": per_family,
                "pick": _pick(per_family),
                "pick_deployable": _pick(per_family, deployable_only=True),
            }
        )
        if progress:
            progress("searching traffic levels", 1, total)
        if (
            extend
            and not queue
            and rows[-1]["pick"] in PER_REQUEST
            and len(rows) < len(levels) + MAX_EXTRA
            and traffic.rpm * 3 <= MAX_SEARCH_RPM
        ):
            queue.append(scale * 3)  # Lambda still cheapest: look further up for the change
            total += 1
    crossovers = _crossovers(
        rows, basis, demand_traffic, target, platform, pricing, max_exact, seed
    )
    return {
        "levels": rows,
        "crossovers": crossovers,
        "simulations": sum(s.simulated for s in searches.values()),
    }


def _why_family_fails(
    family: str, stats: dict[str, Any], target: Target, options: list[Candidate]
) -> str:
    if not options:
        if family == "serverless":
            return "the uploads are over Serverless's 4 MB payload limit"
        return "no configuration to try"
    miss = stats.get("closest_miss")
    if miss:
        return f"cannot meet the target: the closest, {miss['label']}, {miss['why_not']}"
    example = stats.get("refusal_example")
    if family in ("sagemaker", "managed") and example:
        return f"cannot meet the target with up to {target.max_instances} instances ({example})"
    return f"cannot meet the target ({example})" if example else "cannot meet the target"


def _pick(per_family: dict[str, dict[str, Any]], deployable_only: bool = False) -> str | None:
    feasible = [
        (e["monthly"], f)
        for f, e in per_family.items()
        if e.get("feasible") and (not deployable_only or e.get("deployable"))
    ]
    return min(feasible)[1] if feasible else None


def _crossovers(
    rows: list[dict[str, Any]],
    basis: Basis,
    demand_traffic: Callable[[float], Traffic],
    target: Target,
    platform: PlatformParams,
    pricing: Pricing,
    max_exact: int,
    seed: int,
    steps: int = 6,
) -> list[dict[str, Any]]:
    """Where the cheapest feasible family changes between adjacent levels, located by
    bisection on the traffic (log scale) with the two families searched at each step."""

    def cheapest_at(scale: float, families: tuple[str, ...]) -> str | None:
        search = Search(demand_traffic(scale), target, platform, pricing, max_exact, seed)
        options = candidates(basis, target, platform, pricing, search.peak_rate)
        best: tuple[float, str] | None = None
        for family in families:
            winner, _ = search.best(options.get(family, []))
            if winner is not None and (best is None or winner.monthly < best[0]):
                best = (winner.monthly, family)
        return best[1] if best else None

    out = []
    for lo, hi in zip(rows, rows[1:], strict=False):
        a, b = lo["pick"], hi["pick"]
        if a is None or b is None or a == b:
            continue
        low, high = lo["scale"], hi["scale"]
        for _ in range(steps):
            mid = math.sqrt(low * high)
            winner = cheapest_at(mid, (a, b))
            if winner == a:
                low = mid
            else:
                high = mid
        per_scale = lo["rpm"] / lo["scale"]
        out.append(
            {
                "below": a,
                "above": b,
                "rpm": per_scale * math.sqrt(low * high),
                "bracket_rpm": [per_scale * low, per_scale * high],
                "scale": math.sqrt(low * high),
            }
        )
    return out
