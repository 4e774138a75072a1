"""The paragraph the report leads with: the pick at the user's traffic, where it changes,
what each family cannot do; every figure from the search."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kit.render.format import rate

from .space import FAMILIES, PER_REQUEST, Basis, Target

# -- the answer ------------------------------------------------------------------------------


def _money(x: float) -> str:
    return f"${x:,.2f}" if x < 1000 else f"${x:,.0f}"


def _interval(ci: dict[str, Any] | None, key: str, fmt: Any) -> str:
    if not ci or not ci.get(key):
        return ""
    lo, hi = ci[key]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f"{fmt(lo)}-{fmt(hi)}"


def _ms(x: float | None) -> str:
    return "no answer" if x is None or not math.isfinite(x) else f"{x:,.0f} ms"


def at_users_traffic(found: dict[str, Any]) -> dict[str, Any]:
    """The level searched at the user's own traffic (scale 1)."""
    return min(found["levels"], key=lambda lv: abs(math.log(lv["scale"])))


def answer(found: dict[str, Any], basis: Basis, target: Target, restated: str) -> str:
    """The one paragraph that answers the question, every figure from ``found``."""
    lam = basis.lambda_ or basis.sagemaker
    assert lam is not None
    model = f"{float(np.median(lam.warm_ms)):,.1f} ms warm at {lam.cost.memory_mb:,} MB"
    model += f", median of {lam.warm_ms.size}" if lam.warm_ms.size > 1 else ", given by hand"
    here = at_users_traffic(found)
    goal = f"p99 <= {target.p99_ms:,.0f} ms" + (
        f", p50 <= {target.p50_ms:,.0f} ms" if target.p50_ms else ""
    )
    entry = (
        "uploads to S3 (upload -> prediction in DynamoDB)"
        if target.entry == "s3"
        else "synchronous HTTP requests"
    )
    text = f"For your model ({model}) and {restated}, {entry}, with {goal}: "
    pick = here["pick"]
    if pick is None:
        text += (
            "**no option meets the target at your traffic.** "
            + "; ".join(f"{FAMILIES[f]} {e['why_not']}" for f, e in here["families"].items())
            + ". Raise the target or shorten the model's service time."
        )
        return text
    best = here["families"][pick]
    cost_ci = _interval(best.get("ci"), "monthly", _money)
    p99_ci = _interval(best.get("ci"), "p99_ms", lambda x: f"{x:,.0f}")
    text += f"**{best['label']}, {_money(best['monthly'])} a month**"
    extras = []
    if cost_ci:
        extras.append(f"90 % interval {cost_ci}")
    extras.append(f"p99 {_ms(best['p99_ms'])}" + (f", interval {p99_ci} ms" if p99_ci else ""))
    text += f" ({'; '.join(extras)})."
    if not best.get("deployable"):
        alt = here.get("pick_deployable")
        if alt:
            a = here["families"][alt]
            text += f" This kit cannot deploy it yet; the cheapest it can deploy is **{a['label']}**, {_money(a['monthly'])} a month."
    # where the answer changes
    shift = next(
        (
            x
            for x in found["crossovers"]
            if x["below"] in PER_REQUEST and x["above"] not in PER_REQUEST
        ),
        None,
    )
    if pick in PER_REQUEST:
        if shift and shift["rpm"] > here["rpm"] * 0.999:
            above = _pick_label(found, shift["above"], shift["scale"])
            lo, hi = shift["bracket_rpm"]
            text += (
                f" Lambda stays cheapest up to about **{rate(shift['rpm'])} RPM** (between {rate(lo)} and "
                f"{rate(hi)} in the search); above that, **{above}** is cheaper."
            )
        else:
            top = found["levels"][-1]
            if top["pick"] in PER_REQUEST:
                text += f" Lambda stays cheapest over the whole range searched, up to {rate(top['rpm'])} RPM ({rate(top['scale'])} x your traffic)."
    else:
        back = next(
            (
                x
                for x in reversed(found["crossovers"])
                if x["below"] in PER_REQUEST and x["rpm"] <= here["rpm"]
            ),
            None,
        )
        if back:
            text += f" Lambda was cheaper only below about {rate(back['rpm'])} RPM."
    text += " " + _snapstart_sentence(found, here)
    limits = _limits(found)
    if limits:
        text += " " + " ".join(limits)
    return text.strip()


def _pick_label(found: dict[str, Any], family: str, scale: float) -> str:
    above = [
        lv
        for lv in found["levels"]
        if lv["scale"] >= scale and lv["families"].get(family, {}).get("feasible")
    ]
    return above[0]["families"][family]["label"] if above else FAMILIES[family]


def _snapstart_sentence(found: dict[str, Any], here: dict[str, Any]) -> str:
    snap, plain = here["families"].get("snapstart"), here["families"].get("lambda")
    if not snap or not plain:
        return ""
    if snap.get("feasible") and not plain.get("feasible"):
        return (
            f"SnapStart is worth its cache charge here: on-demand Lambda {plain['why_not']}, while "
            f"SnapStart holds p99 {_ms(snap['p99_ms'])} for {_money(snap['monthly'])}."
        )
    if snap.get("feasible") and plain.get("feasible"):
        extra = snap["monthly"] - plain["monthly"]
        if extra > 0:
            return (
                f"SnapStart is not worth its cache and restore charges at your traffic: "
                f"{_money(extra)} a month more than on-demand Lambda, which already meets the target "
                f"(p99 {_ms(plain['p99_ms'])} vs {_ms(snap['p99_ms'])})."
            )
        return (
            f"SnapStart costs {_money(-extra)} a month less than on-demand Lambda at your traffic."
        )
    return ""


def _limits(found: dict[str, Any]) -> list[str]:
    """For each family that stops meeting the target as traffic grows: from where."""
    out = []
    families = list(found["levels"][0]["families"])
    for family in families:
        was = None
        for level in found["levels"]:
            entry = level["families"][family]
            if entry.get("feasible"):
                was = level
            elif was is not None:
                out.append(
                    f"{FAMILIES[family]} cannot meet the target from {rate(level['rpm'])} RPM "
                    f"({entry['why_not'].removeprefix('cannot meet the target: ')})."
                )
                break
    return out
