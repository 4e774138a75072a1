"""One simulation study: the variants (measured or given), the traffic levels, the results.

What ``kit simulate``, ``kit cost`` and ``kit report`` run: services from a
results file (or primitives), every (shape, level), ``simulate_levels``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kit.decide.cost.inputs import Primitives, parse_price
from kit.decide.cost.model import Pricing
from kit.results import Kind, Results

from .engine import Options
from .levels import simulate_levels
from .options import SimulateOptions
from .platform import PlatformParams
from .replay import load_trace
from .service import Service, ServiceError, from_costs, from_results, managed_instances
from .traffic import Traffic, make

Progress = Callable[[str, float, float], None]


def build_services(
    opts: SimulateOptions,
    doc: Results | None,
    primitives: Primitives,
    pricing: Pricing,
    platform: PlatformParams,
) -> list[Service]:
    """The variants to simulate, plus a Lambda Managed Instances row from the Lambda variant's
    times when no managed variant was measured (unless turned off)."""
    if doc is not None:
        services = from_results(doc, opts.snapstart_versions, pricing)
    else:
        services = from_costs(primitives.variants())
    if opts.variants:
        unknown = set(opts.variants) - {s.name for s in services}
        if unknown:
            raise ServiceError(
                f"--variants: {', '.join(sorted(unknown))} not in the results "
                f"({', '.join(s.name for s in services)})"
            )
        services = [s for s in services if s.name in opts.variants]
    base = next((s for s in services if s.cost.kind == Kind.LAMBDA), None)
    measured = any(s.cost.kind == Kind.MANAGED for s in services)
    if opts.managed_instances and base is not None and not measured:
        count = int(platform["managed_instances_count"])
        services.append(managed_instances(base, opts.managed_instances, count, pricing))
    return services


def build_traffic(opts: SimulateOptions, span_s: float) -> list[Traffic]:
    """Every (shape, level) to simulate; a replay is one level of its own."""
    t = opts.traffic
    out = [
        make(s, r, span_s, t.offpeak, t.burst_on_s, t.burst_off_s)
        for s in t.shapes
        for r in t.levels_rpm
    ]
    if t.replay is not None:
        out.append(load_trace(t.replay, np.random.default_rng(opts.seed)))
    return out


def run_study(
    opts: SimulateOptions,
    doc: Results | None,
    primitives: Primitives | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate every variant at every level; the document ``kit simulate --json`` writes."""
    pricing = Pricing.load(opts.prices_file)
    platform = PlatformParams.load(opts.platform_file, lambda_idle_lifetime_s=opts.idle_lifetime_s)
    services = build_services(opts, doc, primitives or Primitives(), pricing, platform)
    given = [parse_price(p) for p in opts.given_prices]
    shapes = build_traffic(opts, pricing.seconds_per_month)
    engine = Options(
        max_exact=opts.max_exact, seed=opts.seed, max_instances=opts.max_instances, pricing=pricing
    )
    return simulate_levels(
        services,
        shapes,
        platform,
        engine,
        pricing,
        slo_ms=opts.slo_p99_ms,
        ci_reps=opts.ci_reps,
        gpu_ms=opts.gpu_ms,
        given=given,
        progress=progress,
    )
