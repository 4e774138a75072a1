"""The decision page's data: the recommendation searched in advance for a grid of traffic
shapes and p99 targets, so the page only looks results up (it computes nothing).

The grid holds the user's own study (their demand and target, with intervals and the
stack preflighted) and, beside it, the same search for
- the same monthly volume in another shape: steady around the clock, or weekdays 09-17
  if the user's traffic is already steady;
- other p99 targets: a quarter, half and twice the user's.

Every study searches the same traffic levels (multiples of the user's average rate), so
a level on the page is one point of each study; the page snaps to the nearest searched
level instead of interpolating (the cheapest configuration is a step function of traffic).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from kit.decide.demand import Demand
from kit.results import Results

from .deploy import config_commands, deploy
from .space import Target

STEADY = "steady"
OFFICE = "office"
GIVEN = "given"
SHAPE_LABELS = {
    GIVEN: "as you gave it",
    STEADY: "steady, around the clock",
    OFFICE: "weekdays 09-17 UTC only",
}
TARGET_FACTORS = (0.25, 0.5, 1.0, 2.0)
"""p99 targets on the page, as multiples of the user's."""
GRID_CI_REPS = 5
"""Bootstrap resamples for the grid's other studies (the user's own keeps its ``ci_reps``)."""


def shapes(demand: Demand, average_rpm: float) -> dict[str, Demand]:
    """The user's demand and the same volume in a contrasting shape."""
    out = {GIVEN: demand}
    if demand.replay is None and not demand.shaped:
        # same average rate, all of it on weekdays 09-17 (the highest peak that shape allows)
        out[OFFICE] = Demand(rpm=average_rpm, peak_ratio=168 / 40)
    else:
        out[STEADY] = Demand(rpm=average_rpm)
    return out


def targets(target: Target) -> list[float]:
    """The page's p99 targets: the user's, and multiples of it."""
    return sorted({round(target.p99_ms * f, 6) for f in TARGET_FACTORS})


def key(shape: str, p99_ms: float) -> str:
    """A study's name in the page's data."""
    return f"{shape}|{p99_ms:g}"


def compact(found: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of one study: per level and family the pick, its cost, latency,
    breakdown and ``pulumi config set`` commands; the crossovers; the answer."""
    levels = []
    for level in found["levels"]:
        families = {}
        for family, e in level["families"].items():
            entry = {
                k: e.get(k)
                for k in (
                    "label",
                    "feasible",
                    "deployable",
                    "monthly",
                    "breakdown",
                    "p50_ms",
                    "p99_ms",
                    "cold_share",
                    "refused_share",
                    "why_not",
                    "ci",
                    "aggregate",
                    "config",
                )
            }
            entry["commands"] = config_commands(e["config"]) if e.get("config") else []
            families[family] = entry
        levels.append(
            {
                k: level[k]
                for k in (
                    "scale",
                    "rpm",
                    "peak_rpm",
                    "requests_per_month",
                    "pick",
                    "pick_deployable",
                )
            }
            | {"families": families}
        )
    return {
        "answer": found["answer"],
        "levels": levels,
        "crossovers": found["crossovers"],
        "simulations": found["simulations"],
        "restated": found["demand"]["restated"],
    }


def _study(job: tuple[Results | None, Demand, Target, dict[str, Any]]) -> dict[str, Any]:
    from .study import recommend

    doc, demand, target, kwargs = job
    return compact(recommend(doc, demand, target, **kwargs))


def grid(
    doc: Results | None,
    demand: Demand,
    target: Target,
    main: dict[str, Any],
    ci_reps: int = GRID_CI_REPS,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Every study of the grid; ``main`` is the user's own (already searched).

    ``kwargs`` go to ``recommend`` (prices, platform, levels, arm64_factor, seed). The
    other studies run in ``workers`` processes (default: one per CPU, at most 4).
    """
    average = main["demand"]["average_rpm"]
    by_shape = shapes(demand, average)
    studies: dict[str, dict[str, Any]] = {key(GIVEN, target.p99_ms): compact(main)}
    reps = min(ci_reps, kwargs.get("ci_reps", ci_reps))  # never more than the user's own study
    jobs: dict[str, tuple[Results | None, Demand, Target, dict[str, Any]]] = {}
    for shape, d in by_shape.items():
        for p99 in targets(target):
            k = key(shape, p99)
            if k not in studies:
                jobs[k] = (doc, d, replace(target, p99_ms=p99), kwargs | {"ci_reps": reps})
    n = workers or min(4, os.cpu_count() or 1)
    if jobs and n > 1:
        # forkserver, not fork: the parent may hold threads (the Pulumi mocks' gRPC server
        # after a preflight) that a forked child would inherit stuck
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, "kit.decide.recommend.study"])
        with ProcessPoolExecutor(n, mp_context=context) as pool:
            for i, (k, result) in enumerate(
                zip(jobs, pool.map(_study, jobs.values()), strict=True)
            ):
                studies[k] = result
                if progress:
                    progress(i + 1, len(jobs))
    else:
        for i, (k, job) in enumerate(jobs.items()):
            studies[k] = _study(job)
            if progress:
                progress(i + 1, len(jobs))
    return {
        "shapes": [
            {
                "id": s,
                "label": SHAPE_LABELS[s],
                "restated": studies[key(s, target.p99_ms)]["restated"],
            }
            for s in by_shape
        ],
        "targets_ms": targets(target),
        "default": {"shape": GIVEN, "p99_ms": target.p99_ms},
        "studies": studies,
        "ci_reps": {"yours": main.get("ci_reps"), "others": reps},
    }


def page_data(studies: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """What the decision page looks up: the grid, the families' names, preflight verdicts."""
    return studies | {
        "families": found["families"],
        "average_rpm": found["demand"]["average_rpm"],
        "preflight": preflight_picks(studies, found),
    }


MAX_PREFLIGHTS = 12
"""Distinct configurations the page's grid would deploy that are checked with kit preflight."""


def preflight_picks(studies: dict[str, Any], found: dict[str, Any]) -> dict[str, list[str]]:
    """``kit preflight``'s findings for each distinct configuration the page can show to
    deploy, keyed by its commands (the user's own pick is checked by ``recommend``)."""
    import tempfile

    checked: dict[str, list[str]] = {}
    d = found.get("deploy")
    if d:
        checked["\n".join(d["commands"])] = [f["problem"] for f in d["preflight_findings"]]
    picks: dict[str, dict[str, Any]] = {}
    for study in studies["studies"].values():
        for level in study["levels"]:
            family = level["pick_deployable"]
            if family:
                entry = level["families"][family]
                picks.setdefault("\n".join(entry["commands"]), entry["config"])
    with tempfile.TemporaryDirectory() as tmp:
        for commands, config in list(picks.items())[:MAX_PREFLIGHTS]:
            if commands not in checked:
                report = deploy(config, Path(tmp))
                checked[commands] = [f["problem"] for f in report["preflight_findings"]]
    return checked
