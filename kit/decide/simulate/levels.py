"""From simulations to a decision: per level and shape, what each variant costs and how slow it is.

``simulate_levels`` simulates every variant at every traffic level of every shape and returns
plain data (the CLI prints it, the report embeds it, the plot draws it):

- per variant: cold-start share (and its range over the idle-lifetime range),
  p50/p95/p99 latency, throttled and queued shares, monthly cost and breakdown,
  and 90 % intervals for cost and p99 from resampling the measured samples;
- per level: the cheapest variant whose p99 meets the target;
- crossovers between levels (with each level's own cold-start share);
- price-only rows for options this kit does not deploy;
- a recommendation in plain words, with the assumptions it rests on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from kit.decide.cost.model import CostModel, Pricing, VariantCost
from kit.results import Kind

from .engine import Options, Tally, monthly_cost, simulate
from .platform import PlatformParams
from .service import Service
from .traffic import Traffic

DEFAULT_LEVELS = (0.1, 1, 10, 72, 200, 1000, 10000)
DEFAULT_SLO_MS = 1000.0


def _quantiles(values: list[float]) -> list[float] | None:
    """The 5th and 95th percentiles; inf counts as larger than anything (a p99 with no answer)."""
    if not values:
        return None
    ordered = np.sort(np.asarray(values, dtype=float))  # inf sorts last
    low, high = np.quantile(ordered, [0.05, 0.95], method="inverted_cdf")
    return [float(low), float(high)]


def _row(
    service: Service,
    tally: Tally,
    traffic: Traffic,
    platform: PlatformParams,
    pricing: Pricing,
    slo_ms: float,
) -> dict[str, Any]:
    cost, parts, priced = monthly_cost(service, tally, traffic, platform, pricing)
    n = max(tally.requests, 1.0)
    p99 = tally.percentile(99)
    return {
        "label": priced.label,
        "kind": priced.kind,
        "cold_share": (tally.cold + tally.endpoint_cold) / n,
        "p50_ms": tally.percentile(50),
        "p95_ms": tally.percentile(95),
        "p99_ms": p99,
        "throttled_share": tally.throttled / n,
        "queued_share": tally.queued / n,
        "monthly": cost,
        "breakdown": parts,
        "billed_ms_mean": priced.billed_ms,
        "instances_mean": priced.instance_count
        if priced.kind in (Kind.SAGEMAKER, Kind.SERVERLESS)
        else None,
        "meets_slo": bool(p99 <= slo_ms),
    }


def price_only_rows(
    services: list[Service],
    rpm: float,
    pricing: Pricing,
    platform: PlatformParams,
    gpu_ms: float | None,
) -> list[dict[str, Any]]:
    """Monthly cost of options this kit does not deploy, at ``rpm`` (no latency simulated)."""
    n = rpm * 60 * pricing.hours_per_month
    base = next(
        (s for s in services if s.cost.kind == Kind.LAMBDA), services[0] if services else None
    )
    service_s = float(np.mean(base.warm_ms)) / 1000 if base is not None else 0.1
    prices = pricing.data["prices"]
    storage = n * (prices["s3_put"]["price"] + 2 * prices["s3_get"]["price"])
    storage += n * prices["dynamodb_write"]["price"]
    rows = []
    # Fargate: an always-on service, 1 vCPU + 2 GB tasks, enough to stay under 70 % busy
    tasks = max(1, math.ceil(rpm / 60 * service_s / 0.7))
    hourly = (
        prices["fargate_vcpu_hour_x86_64"]["price"] + 2 * prices["fargate_gb_hour_x86_64"]["price"]
    )
    rows.append(
        {
            "name": "fargate",
            "label": f"Fargate, {tasks} x (1 vCPU, 2 GB) always on (not deployed by this kit)",
            "monthly": tasks * hourly * pricing.hours_per_month + storage,
            "note": "latency not simulated; per-second billing, 1-minute minimum per task",
            "verified": False,
        }
    )
    # SageMaker Batch Transform: daily jobs on one ml.m5.large (hosting price, assumed equal)
    jobs = float(platform["batch_jobs_per_day"]) * pricing.hours_per_month / 24
    busy_s = n * service_s / 2 + jobs * float(platform["batch_job_overhead_s"])
    rows.append(
        {
            "name": "batch-transform",
            "label": "SageMaker Batch Transform, ml.m5.large, daily jobs (not deployed by this kit)",
            "monthly": busy_s / 3600 * pricing.instance_hour("ml.m5.large") + storage,
            "note": "not real time: results arrive up to a day late",
            "verified": False,
        }
    )
    if gpu_ms is not None:
        for offer, price in prices["gpu_serverless_second"]["offers"].items():
            rows.append(
                {
                    "name": f"gpu: {offer}",
                    "label": f"{offer}, {gpu_ms:g} ms GPU per request (not deployed by this kit)",
                    "monthly": n * gpu_ms / 1000 * price + storage,
                    "note": "GPU time given with --gpu-ms; cold starts and minimum billing not included",
                    "verified": prices["gpu_serverless_second"]["verified"],
                }
            )
    return rows


def _crossovers(levels: list[dict], names: list[str]) -> list[dict[str, Any]]:
    """Where two variants' costs cross between adjacent levels (linear in between)."""
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for lo, hi in zip(levels, levels[1:], strict=False):
                da = lo["variants"][a]["monthly"] - lo["variants"][b]["monthly"]
                db = hi["variants"][a]["monthly"] - hi["variants"][b]["monthly"]
                if da == 0 or (da < 0) == (db < 0):
                    continue
                rpm = lo["rpm"] + (hi["rpm"] - lo["rpm"]) * da / (da - db)
                out.append(
                    {
                        "a": a,
                        "b": b,
                        "rpm": rpm,
                        "cheaper_below": a if da < 0 else b,
                        "cold_share_at": {
                            n: [lv["variants"][n].get("cold_share") for lv in (lo, hi)]
                            for n in (a, b)
                        },
                    }
                )
    return out


def _recommend(shape: dict, slo_ms: float) -> list[str]:
    """One sentence per run of levels with the same pick."""
    lines = []
    runs: list[list] = []
    for level in shape["levels"]:
        pick = level["cheapest_meeting_slo"]
        if runs and runs[-1][0] == pick:
            runs[-1][2] = level
        else:
            runs.append([pick, level, level])
    for pick, first, last in runs:
        span = (
            f"{first['rpm']:,.4g} RPM"
            if first is last
            else f"{first['rpm']:,.4g} to {last['rpm']:,.4g} RPM"
        )
        if pick is None:
            lines.append(
                f"At {span} ({shape['shape']}), no variant keeps p99 under {slo_ms:,.0f} ms: "
                "raise the target, add capacity (provisioned concurrency, more instances) or "
                "shorten the model's service time."
            )
            continue
        a, b = first["variants"][pick], last["variants"][pick]
        cost = (
            f"${a['monthly']:,.2f} a month"
            if first is last
            else f"${a['monthly']:,.2f} to ${b['monthly']:,.2f} a month"
        )
        text = f"At {span} ({shape['shape']}): **{pick}**, {cost}, p99 up to {max(a['p99_ms'], b['p99_ms']):,.0f} ms"
        runner_up = sorted(
            (n for n, r in first["variants"].items() if r["meets_slo"] and n != pick),
            key=lambda n: first["variants"][n]["monthly"],
        )
        if runner_up:
            r = first["variants"][runner_up[0]]
            text += f"; next: {runner_up[0]} (${r['monthly']:,.2f} at {first['rpm']:,.4g} RPM)"
        cheaper = [
            n
            for n, r in first["variants"].items()
            if r["monthly"] < a["monthly"] and not r["meets_slo"]
        ]
        if cheaper:
            text += f"; cheaper but over the target: {', '.join(cheaper)}"
        lines.append(text + ".")
    return lines


def simulate_levels(
    services: list[Service],
    shapes: list[Traffic],
    platform: PlatformParams,
    opts: Options,
    pricing: Pricing,
    slo_ms: float = DEFAULT_SLO_MS,
    ci_reps: int = 10,
    ci_max: int = 200_000,
    gpu_ms: float | None = None,
    given: list[VariantCost] | None = None,
    progress: Callable[[str, float, float], None] | None = None,
) -> dict[str, Any]:
    """Simulate every variant at every shape; see the module docstring for what comes back."""
    idle_low, idle_high = platform.range("lambda_idle_lifetime_s")
    out_shapes = []
    for traffic in shapes:
        total = traffic.expected_requests

        def tick(n: float, label: str = traffic.label, total: float = total) -> None:
            if progress:
                progress(label, n, total)

        tallies, aggregate = simulate(services, traffic, platform, opts, progress=tick)
        rows = {
            s.name: _row(s, tallies[s.name], traffic, platform, pricing, slo_ms) for s in services
        }
        small = replace(opts, max_exact=min(ci_max, opts.max_exact))
        for idle in (idle_low, idle_high):
            short, _ = simulate(services, traffic, platform, small, idle_s=idle)
            for s in services:
                t = short[s.name]
                rows[s.name].setdefault("cold_share_range", []).append(
                    (t.cold + t.endpoint_cold) / max(t.requests, 1.0)
                )
        if ci_reps:
            samples: dict[str, dict[str, list[float]]] = {
                s.name: {"monthly": [], "p99": []} for s in services
            }
            for rep in range(ci_reps):
                rng = np.random.default_rng([opts.seed, 1000 + rep])
                again = [s.resampled(rng) for s in services]
                rep_opts = replace(small, seed=opts.seed + 1 + rep)
                reps, _ = simulate(again, traffic, platform, rep_opts)
                for s in again:
                    cost, _, _ = monthly_cost(s, reps[s.name], traffic, platform, pricing)
                    samples[s.name]["monthly"].append(cost)
                    samples[s.name]["p99"].append(reps[s.name].percentile(99))
            for name, d in samples.items():
                rows[name]["ci"] = {
                    "monthly": _quantiles(d["monthly"]),
                    "p99": _quantiles(d["p99"]),
                }
        for v in given or []:
            model = CostModel([v], pricing)
            n_month = total * pricing.seconds_per_month / traffic.span_s
            rows[v.name] = {
                "label": f"{v.name} (given price)",
                "kind": Kind.MANUAL,
                "monthly": model.monthly(v, n_month),
                "breakdown": model.breakdown(v, n_month),
                "p99_ms": math.nan,
                "meets_slo": True,
            }
        meeting = [n for n, r in rows.items() if r["meets_slo"]]
        out_shapes.append(
            {
                "shape": traffic.shape,
                "label": traffic.label,
                "rpm": traffic.rpm,
                "span_s": traffic.span_s,
                "requests_simulated_per_month": total * pricing.seconds_per_month / traffic.span_s,
                "aggregate": aggregate,
                "variants": rows,
                "cheapest_meeting_slo": min(meeting, key=lambda n: rows[n]["monthly"])
                if meeting
                else None,
                "price_only": price_only_rows(services, traffic.rpm, pricing, platform, gpu_ms),
                "trace_cost": {
                    n: r["monthly"] * traffic.span_s / pricing.seconds_per_month
                    for n, r in rows.items()
                }
                if traffic.shape == "replay"
                else None,
            }
        )
    return _assemble(out_shapes, services, platform, pricing, slo_ms, opts)


def _assemble(
    levels: list[dict],
    services: list[Service],
    platform: PlatformParams,
    pricing: Pricing,
    slo_ms: float,
    opts: Options,
) -> dict[str, Any]:
    by_shape: dict[str, dict[str, Any]] = {}
    for level in levels:
        by_shape.setdefault(level["shape"], {"shape": level["shape"], "levels": []})[
            "levels"
        ].append(level)
    for shape in by_shape.values():
        shape["levels"].sort(key=lambda x: x["rpm"])
        names = list(shape["levels"][0]["variants"])
        shape["crossovers"] = _crossovers(shape["levels"], names)
        shape["recommendation"] = _recommend(shape, slo_ms)
    return {
        "slo_p99_ms": slo_ms,
        "region": pricing.data["region"],
        "pricing_effective_date": pricing.data["effective_date"],
        "hours_per_month": pricing.hours_per_month,
        "max_exact_requests": opts.max_exact,
        "seed": opts.seed,
        "variants": {
            s.name: {
                "samples": {
                    "warm": int(s.warm_ms.size),
                    "cold": int(s.cold_ms.size),
                    "endpoint": int(s.endpoint_ms.size),
                }
            }
            for s in services
        },
        "shapes": list(by_shape.values()),
        "platform": platform.assumptions(),
    }
