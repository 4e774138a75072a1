"""The decision report for a results file (Markdown + self-contained HTML)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kit import ROOT, results
from kit.decide.cost import DEFAULT_RPM, CostModel, Pricing, variants_from_results
from kit.decide.cost.unpriced import unpriced_lines
from kit.decide.simulate.options import SimulateOptions
from kit.decide.simulate.study import run_study
from kit.render.format import md, money
from kit.render.page import decision_page, plain_page
from kit.render.plots import plot_cost, plot_latency
from kit.render.recommend import recommendation_markdown
from kit.render.simulation import (
    assumption_lines,
    crossover_lines,
    plot_simulation,
    simulation_markdown,
)
from kit.render.tables import (
    consistency_lines,
    latency_markdown,
    run_config_markdown,
    sample_lines,
)
from kit.results import Kind, Results

SECTIONS = (
    "Recommendation",
    "Verdict",
    "Run configuration",
    "Latency",
    "Simulated traffic",
    "Cost",
    "Crossovers",
    "Sensitivity",
    "Prices",
    "Assumptions and limits",
)


def _plain(line: str) -> str:
    """A rich-markup line as plain text (its [style] tags removed, escapes undone)."""
    from rich.text import Text

    return Text.from_markup(line).plain


def _rpm(x: float) -> str:
    return f"{x:,.1f} requests per minute ({x * 60 * 730 / 1e6:,.2f}M per month)"


def default_demand() -> Any:
    """The demo's traffic when none is given: seed 003's "4,000 a day, mostly in business hours"."""
    from kit.decide.demand import Demand

    return Demand(per_day=4000.0, business_hours=(9, 17), weekdays=True)


def run_model_path(doc: Results) -> str | None:
    """The model a local run measured, as the stack's modelPath (relative to the project when
    inside it); None for the stack's default."""
    folder = doc.run.get("model_dir")
    if not folder or not (Path(folder) / "model.onnx").is_file():
        return None
    path = (Path(folder) / "model.onnx").resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def verdict(doc: Results, sim: dict) -> list[str]:
    """Plain-language observations from the run, each traceable to a figure in the report."""
    lines = []
    timed = {v: s for v, s in doc.summary.items() if s.median_ms is not None}
    if timed:
        fastest = min(timed, key=lambda v: timed[v].median_ms or 0.0)
        lines.append(
            f"Fastest median latency in this run: **{fastest}** ({timed[fastest].median_ms:,.1f} ms)."
        )
        cold = {v: s.cold_mean_ms for v, s in timed.items() if s.cold_mean_ms is not None}
        if cold:
            lines.append(
                "Mean cold-start latency: "
                + ", ".join(f"{v} {ms:,.0f} ms" for v, ms in cold.items())
                + "."
            )
    from kit.results.summary import MIN_COLD_STARTS, few_cold_starts

    few = few_cold_starts(doc)
    if few:
        lines.append(
            f"Warning: the simulated p99 at low traffic, where cold starts set it, rests on few "
            f"measured cold starts ({', '.join(few)}; {MIN_COLD_STARTS} are the least that "
            "bound their median): measure more with `--cold-starts`."
        )
    for variant in doc.untrusted():
        lines.append(
            f"**{variant} is left out of every ranking**: {doc.consistency[variant].note}."
        )
    if doc.target == "local":
        lines.append(
            "These latencies come from a local emulation; the thresholds use its billed durations. "
            "Re-run `python -m kit report` on a `kit aws` results file before deciding."
        )
    return lines


def _cost_tables(cost: dict) -> str:
    names = [v["name"] for v in cost["variants"]]
    head = (
        "| traffic | "
        + " | ".join(v["label"] for v in cost["variants"])
        + " |\n|---|"
        + "---:|" * len(names)
    )
    rows = [
        "| price per 1M requests | "
        + " | ".join(money(v["per_million"]) for v in cost["variants"])
        + " |",
        "| fixed monthly | "
        + " | ".join(money(v["fixed_monthly"]) for v in cost["variants"])
        + " |",
    ]
    for level in cost["levels"]:
        totals = level["totals"]
        best = min(totals, key=totals.get)
        cells = [f"**{money(totals[n])}**" if n == best else money(totals[n]) for n in names]
        rows.append(
            f"| {level['rpm']:g} RPM ({level['requests_per_month'] / 1e6:.2f}M req/mo) | "
            + " | ".join(cells)
            + " |"
        )
    parts = [
        "| component per 1M requests | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names)
    ]
    keys = sorted({k for v in cost["variants"] for k in v["breakdown_per_million"]})
    for k in keys:
        parts.append(
            f"| {k.replace('_', ' ')} | "
            + " | ".join(money(v["breakdown_per_million"].get(k, 0.0)) for v in cost["variants"])
            + " |"
        )
    return (
        "\n".join([head, *rows])
        + "\n\nWhere the money goes (1M requests in a month, fixed costs included):\n\n"
        + "\n".join(parts)
    )


def _crossovers(cost: dict) -> str:
    rows = ["| pair | RPM | requests / month | cheaper below | note |", "|---|---:|---:|---|---|"]
    for x in cost["crossovers"]:
        rpm = "never" if x["rpm"] is None else f"{x['rpm']:,.1f}"
        per_month = (
            "-" if x["requests_per_month"] is None else f"{x['requests_per_month'] / 1e6:,.2f}M"
        )
        rows.append(
            f"| {x['a']} vs {x['b']} | {rpm} | {per_month} | {x['cheaper_below'] or '-'} | {x['reason']} |"
        )
    return "\n".join(rows)


def _sensitivity(cost: dict) -> str:
    s = cost.get("sensitivity")
    if not s:
        return "Not applicable: the run has no pair of a Lambda variant and a fixed-cost endpoint."
    head = (
        f"Crossover RPM of **{s['lambda']}** against **{s['fixed']}** when the billed duration (rows) "
        "or the memory size (columns) changes, all else equal. More memory also buys CPU, so a real "
        "change of memory moves the duration too: use `kit tune` to measure that.\n\n"
    )
    rows = [
        "| billed ms | " + " | ".join(f"{m} MB" for m in s["memories_mb"]) + " |",
        "|---:|" + "---:|" * len(s["memories_mb"]),
    ]
    for d, row in s["crossover_rpm"].items():
        cells = [row.get(m, row.get(str(m))) for m in s["memories_mb"]]
        rows.append(
            f"| {float(d):g} | "
            + " | ".join("never" if c is None else f"{c:,.1f}" for c in cells)
            + " |"
        )
    return head + "\n".join(rows)


def _price_table(pricing: Pricing) -> str:
    from kit.decide.cost.pricing import price_rows

    rows = ["| price | value | unit | source | verified |", "|---|---|---|---|---|"]
    rows += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in price_rows(pricing)]
    return "\n".join(rows)


def _assumptions(doc: Results, cost: dict, sim: dict, pricing: Pricing) -> list[str]:
    notes = [
        f"Prices: {cost['region']}, on-demand, catalogue dated {cost['pricing_effective_date']} "
        "(`kit/decide/cost/pricing.json`; SageMaker instance prices are from secondary sources). "
        f"A month is {cost['hours_per_month']:.0f} hours.",
        "Traffic is simulated (section above): each variant's measured warm durations, cold-start "
        "times and endpoint service times are drawn per request; environments start cold and "
        "retire when idle, the endpoint queues. The cost table below is the warm price without "
        "cold starts; the simulated totals include them.",
        "On-demand cold starts bill their INIT phase as duration (since August 2025). SnapStart bills a "
        "cache charge for every active published version all month ("
        + ", ".join(
            f"{v['snapstart_versions']} for {v['name']}"
            for v in cost["variants"]
            if v["kind"] == Kind.SNAPSTART
        )
        + "; `python -m kit prune` deletes unused ones), plus a restore charge per GB and the "
        "billed restore duration per restore.",
        "Every upload: one S3 PUT, two S3 GETs (a ranged GET that learns the size, then the rest), one "
        "DynamoDB write unit; an http request: the DynamoDB write only (the audio is in the request).",
        "The SageMaker endpoint runs all month; the proxy Lambda's cost is included. Data "
        "transfer out of AWS is not included (the results stay in the region).",
        *unpriced_lines(pricing, doc.run.get("largest_upload_bytes")),
    ]
    if doc.target == "local":
        notes.append(
            "This is a local emulation: Firecracker restore and network latency to AWS are not "
            "reproduced; billed durations were measured on this machine's CPUs "
            f"({doc.cpu.mechanism}: {doc.cpu.note})."
        )
    notes += [f"Simulation parameter {line}" for line in assumption_lines(sim)]
    return notes


def write_report(
    doc: Results,
    out_dir: Path,
    prices: Path | None = None,
    cold_fraction: float | None = None,
    rpm: tuple[float, ...] = DEFAULT_RPM,
    traffic: SimulateOptions | None = None,
    console: Any = None,
    demand: Any = None,
    target: Any = None,
    search: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write report.md and report.html (with the plots) into ``out_dir``.

    ``traffic`` holds the simulation options (``kit simulate``'s traffic and platform
    flags); by default a Poisson sweep over ``DEFAULT_LEVELS``. ``search`` holds
    ``recommend``'s search settings (levels, ci_reps, extend) for the page's every study.
    """
    from kit.decide.recommend.grid import grid, page_data
    from kit.decide.recommend.space import Target
    from kit.decide.recommend.study import recommend
    from kit.render.recommend import plot_frontier

    out_dir.mkdir(parents=True, exist_ok=True)
    ranked = doc.without(doc.untrusted())  # an emulation artefact never picks the winner
    if not any(r.status in ("ok", "error") and r.duration_ms for r in ranked.invocations):
        why = (
            "no variant this report may rank completed an invocation (every upload failed, or "
            "the consistency check flagged every variant): nothing was measured to decide from; "
            "see the run's checks and fix what failed"
        )
        sections = [
            ("Recommendation", f"No recommendation: {why}."),
            ("Run configuration", run_config_markdown(doc)),
            ("Latency", latency_markdown(doc)),
        ]
        return _write_pages(_title(doc), sections, out_dir)
    wanted, goal = demand or default_demand(), target or Target()
    found = recommend(
        doc,
        wanted,
        goal,
        prices=prices,
        out=out_dir,
        model_path=run_model_path(doc),
        **(search or {}),
    )
    results.write_json(found, out_dir / "recommend.json")
    plot_frontier(found, out_dir / "frontier.png")
    with _bar(console, "decision page: the other shapes and targets") as progress:
        studies = grid(  # from the same document as the user's own study
            doc,
            wanted,
            goal,
            found,
            prices=prices,
            progress=progress,
            **(search or {}),
        )
    results.write_json(studies, out_dir / "grid.json")
    options = traffic or SimulateOptions(prices_file=prices)
    # one entry at a time: the synchronous http variant is not ranked against the uploads
    uploads = [v for v, setup in ranked.variants.items() if setup.entry == "s3"]
    ranked = ranked.without([v for v in ranked.variants if v not in uploads])
    sim = run_study(options, ranked)
    results.write_json(sim, out_dir / "simulation.json")
    you = found["demand"]["average_rpm"]
    sim_plot = plot_simulation(sim, out_dir / "simulation.png", you_rpm=you)
    pricing = Pricing.load(prices)  # once: the cost tables, the price list, the assumptions
    model = CostModel(variants_from_results(ranked, cold_fraction or 0.0), pricing)
    cost = model.report(rpm)
    latency_plots = plot_latency(doc, out_dir)
    cost_plot = plot_cost(cost, out_dir / "cost.png", you_rpm=you)
    cost_log = plot_cost(cost, out_dir / "cost_log.png", log=True, you_rpm=you)
    lines = {
        "Recommendation": recommendation_markdown(found, given=demand is not None),
        "Verdict": [f"- {line}" for line in verdict(doc, sim)],
        "Run configuration": [run_config_markdown(doc)],
    }
    lines["Latency"] = [
        "Latency is what a caller of the function sees: init or restore plus duration on a cold start, "
        "duration otherwise. e2e is upload until the prediction is in DynamoDB.",
        latency_markdown(doc),
        f"Lost items: {doc.checks.lost}, duplicated: {doc.checks.duplicated}, prediction accuracy: "
        + ("n/a" if doc.checks.accuracy is None else f"{doc.checks.accuracy:.1%}")
        + f" ({md(doc.checks.accuracy_note)}).",
        *[f"- {_plain(line)}" for line in sample_lines(doc) + consistency_lines(doc)],
        *[f"![{p.stem}]({p.name})" for p in latency_plots],
    ]
    lines["Simulated traffic"] = [
        "Each variant under the traffic below, request by request, from this run's measured "
        "samples (`python -m kit simulate`; figures in `simulation.json`). Cold share in "
        "brackets: at both ends of the idle-lifetime range. Intervals: 5-95 % over resamples of "
        "the measured samples.",
        simulation_markdown(sim),
        f"![cost and latency target by traffic]({sim_plot.name})",
    ]
    lines["Cost"] = [
        "Warm prices (no cold starts; the simulated totals above include them"
        + (f"; cold share given: {cold_fraction:.1%}" if cold_fraction is not None else "")
        + ").",
        _cost_tables(cost),
        f"![cost]({cost_plot.name})",
        f"![cost, log scales]({cost_log.name})",
    ]
    lines["Crossovers"] = [
        "With the cold-start share of each simulated traffic level:",
        *[f"- {line}" for line in crossover_lines(sim)],
        "Warm prices only:",
        _crossovers(cost),
    ]
    lines["Sensitivity"] = [_sensitivity(cost)]
    lines["Prices"] = [
        "Every price the figures use, with its source and whether it was checked against AWS's "
        "own page (`python -m kit prices`; `--refresh` fetches the instance prices from the AWS "
        "Price List API).",
        _price_table(pricing),
    ]
    lines["Assumptions and limits"] = [f"- {n}" for n in _assumptions(doc, cost, sim, pricing)]
    sections = [(heading, "\n\n".join(body)) for heading, body in lines.items()]
    data = page_data(studies, found)
    return _write_pages(_title(doc), sections, out_dir, found["answer"], data)


@contextlib.contextmanager
def _bar(console: Any, what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on ``console`` (none without one), fed (done, total)."""
    if console is None:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), console=console) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _title(doc: Results) -> str:
    return f"Serverless audio inference: {doc.target} run of {doc.created_at}"


def _write_pages(
    title: str,
    sections: list[tuple[str, str]],
    out_dir: Path,
    answer: str | None = None,
    data: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """report.md (every section), and report.html: the decision page when there is a
    recommendation (its Recommendation section is the page itself), else the sections."""
    text = f"# {md(title)}\n\n" + "".join(f"## {h}\n\n{body}\n\n" for h, body in sections)
    md_path = out_dir / "report.md"
    md_path.write_text(text)
    if answer is None or data is None:
        page = plain_page(title, sections, out_dir)
    else:
        details = [(h, body) for h, body in sections if h != "Recommendation"]
        subtitle = f"Recommendation from {data['studies'][next(iter(data['studies']))]['simulations']:,} simulated configurations for your traffic and target, and the same search for the other shapes and targets below."
        page = decision_page(title, subtitle, answer, data, details, out_dir)
    html_path = out_dir / "report.html"
    html_path.write_text(page)
    return md_path, html_path
