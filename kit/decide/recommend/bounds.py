"""Cheap bounds the search prunes with: a cost no simulation can come under, and loads no
configuration can carry."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from audio_inference.settings import (
    DEFAULT_SERVERLESS_MAX_CONCURRENCY,
)

from kit.decide.cost.model import CostModel, Pricing
from kit.decide.simulate.engine import (
    endpoint_workers,
)
from kit.decide.simulate.platform import PlatformParams
from kit.results import Kind

from .space import (
    Candidate,
    Target,
)

# -- bounds --------------------------------------------------------------------------------


def lower_bound(c: Candidate, n_month: float, pricing: Pricing) -> float:
    """A monthly cost no simulation of ``c`` can come under: no cold starts, the fewest
    instances, every request at its warm mean (cold starts and scaling only add)."""
    v = c.service.cost
    mean = float(np.mean(c.service.warm_ms))
    changes: dict[str, Any] = {
        "billed_ms": math.ceil(mean) if v.kind != Kind.MANAGED else 0.0,
        "cold_fraction": 0.0,
    }
    if v.kind == Kind.SERVERLESS:
        changes["serverless_ms"] = float(np.mean(c.service.endpoint_ms))
    bound = replace(v, **changes)
    return CostModel([bound], pricing).monthly(bound, n_month)


def steady_state_refusal(
    c: Candidate,
    peak_rate: float,
    mean_rate: float,
    target: Target,
    platform: PlatformParams,
    pricing: Pricing,
) -> str | None:
    """Why ``c`` cannot meet the target whatever the simulation says, or None."""
    s = c.service
    alone = s.by_concurrency[0] if s.by_concurrency else s.warm_ms  # managed: one at a time
    warm99 = float(np.percentile(alone, 99))
    if warm99 > target.p99_ms:
        return f"its warm p99 alone is {warm99:,.0f} ms"
    v = s.cost
    if v.kind in (Kind.SAGEMAKER, Kind.MANAGED, Kind.SERVERLESS):
        # busy workers at the peak (a managed variant's durations are per concurrency level)
        busy = s.by_concurrency[0] if v.kind == Kind.MANAGED else s.endpoint_ms
        load = peak_rate * float(np.mean(busy)) / 1000
        if v.kind == Kind.SAGEMAKER:
            per = endpoint_workers(platform, v.instance_type)
            capacity = per * max(c.autoscale_to, int(v.instance_count))
            if v.instance_type.startswith("ml.t2."):
                # CPU credits cover bursts; the month's average must fit the baseline
                baseline = capacity * float(platform["t2_baseline_per_vcpu"])
                average = mean_rate * float(np.mean(s.endpoint_ms)) / 1000
                if average > baseline:
                    return (
                        f"the average load needs {average:,.2f} busy vCPUs, over the T2 "
                        f"baseline of {baseline:,.2f} (CPU credits run out)"
                    )
            if load >= capacity:
                return f"the peak needs {load:,.1f} busy workers, more than {capacity}"
        elif v.kind == Kind.MANAGED and s.managed is not None:
            # each environment at most finishes slots requests per (duration at slots)
            slots = s.managed.slots
            per_env = slots * 1000 / float(np.mean(s.by_concurrency[slots - 1]))
            most = per_env * s.managed.max_environments
            if peak_rate >= most:
                return (
                    f"the peak of {peak_rate * 60:,.0f} RPM is more than its "
                    f"{s.managed.max_environments} environments finish ({most * 60:,.0f} RPM)"
                )
        elif load >= (s.max_concurrency or DEFAULT_SERVERLESS_MAX_CONCURRENCY):
            return f"the peak needs {load:,.1f} concurrent requests, over max concurrency {s.max_concurrency}"
    else:
        load = peak_rate * float(np.mean(s.warm_ms)) / 1000
        limit = float(platform["lambda_account_concurrency"])
        if load >= limit:
            return f"the peak needs {load:,.0f} concurrent environments, over the account's {limit:,.0f}"
    return None
