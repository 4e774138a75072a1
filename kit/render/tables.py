"""Every terminal (rich) and Markdown table the commands print."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from kit.results import Results

from .format import interval, md, money, ms, rpm


def latency_table(doc: Results) -> Any:
    """The seed article's table (mean, median, std) plus tails, cold starts and losses."""
    from rich.table import Table

    table = Table(
        title=f"Latency per variant ({doc.target} run, ms; cold = init/restore + duration)"
    )
    for col in (
        "variant",
        "n",
        "mean",
        "median",
        "std",
        "p90",
        "warm n",
        "warm p50 (95% CI)",
        "warm p99 (95% CI)",
        "cold starts",
        "cold mean",
        "e2e median",
        "errors",
        "lost",
    ):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for variant, s in doc.summary.items():
        table.add_row(
            variant,
            str(s.count),
            ms(s.mean_ms),
            ms(s.median_ms),
            ms(s.std_ms),
            ms(s.p90_ms),
            str(s.warm_count),
            interval(s.warm.get("p50")),
            interval(s.warm.get("p99")),
            str(s.cold_starts),
            ms(s.cold_mean_ms),
            ms(s.e2e_median_ms),
            str(s.errors),
            str(s.lost),
        )
    return table


def latency_markdown(doc: Results) -> str:
    """The same table as Markdown (for the report)."""
    head = (
        "| variant | n | mean | median | std | p90 | warm n | warm p50 (95% CI) "
        "| warm p99 (95% CI) | cold starts | cold mean | e2e median | errors | lost |\n|---|"
        + "---:|"
        * 13
    )
    rows = [
        f"| {v} | {s.count} | {ms(s.mean_ms)} | {ms(s.median_ms)} | {ms(s.std_ms)} | "
        f"{ms(s.p90_ms)} | {s.warm_count} | {interval(s.warm.get('p50'))} | "
        f"{interval(s.warm.get('p99'))} | {s.cold_starts} | {ms(s.cold_mean_ms)} | "
        f"{ms(s.e2e_median_ms)} | {s.errors} | {s.lost} |"
        for v, s in doc.summary.items()
    ]
    return "\n".join([head, *rows])


def cost_tables(report: dict) -> list[Any]:
    """Rich tables: prices, totals per traffic level, crossovers, sensitivity."""
    from rich.table import Table

    names = [v["name"] for v in report["variants"]]
    t1 = Table(
        title=f"Monthly cost ({report['region']}, prices of {report['pricing_effective_date']}, "
        f"{report['hours_per_month']:.0f} h/month)"
    )
    t1.add_column("traffic")
    for v in report["variants"]:
        t1.add_column(v["label"], justify="right")
    t1.add_row("price per 1M requests", *[money(v["per_million"]) for v in report["variants"]])
    t1.add_row("fixed monthly", *[money(v["fixed_monthly"]) for v in report["variants"]])
    for level in report["levels"]:
        totals = level["totals"]
        best = min(totals, key=totals.get)
        t1.add_row(
            f"{level['rpm']:g} RPM ({level['requests_per_month'] / 1e6:.2f}M req/mo)",
            *[("[bold green]" if n == best else "") + money(totals[n]) for n in names],
        )
    t2 = Table(title="Crossovers (where two variants cost the same)")
    for col in ("pair", "RPM", "requests/month", "cheaper below", "note"):
        t2.add_column(col)
    for x in report["crossovers"]:
        t2.add_row(
            f"{x['a']} vs {x['b']}",
            rpm(x["rpm"]),
            "-" if x["requests_per_month"] is None else f"{x['requests_per_month'] / 1e6:,.2f}M",
            x["cheaper_below"] or "-",
            x["reason"],
        )
    out = [t1, t2]
    if "sensitivity" in report:
        s = report["sensitivity"]
        t3 = Table(
            title=f"Sensitivity: {s['lambda']} vs {s['fixed']} crossover RPM "
            "by billed duration (rows) and memory (columns)"
        )
        t3.add_column("billed ms")
        for m in s["memories_mb"]:
            t3.add_column(f"{m} MB", justify="right")
        for d, row in s["crossover_rpm"].items():
            t3.add_row(
                f"{float(d):g}",
                *[rpm(row[m] if m in row else row[str(m)]) for m in s["memories_mb"]],
            )
        out.append(t3)
    return out


def sample_lines(doc: Results) -> list[str]:
    """What the run measured enough to state, and what it did not (rich markup)."""
    from kit.results.quantiles import samples_needed
    from kit.results.summary import MIN_COLD_STARTS, few_cold_starts

    lines = [
        "percentiles: order-statistic 95% intervals (no distribution assumed); a warm p99 "
        f"needs {samples_needed(99)} warm samples, a p90 {samples_needed(90)}, a median "
        f"{samples_needed(50)}: 'n<N' marks a figure this run cannot state"
    ]
    short = few_cold_starts(doc)
    for v, setup in doc.variants.items():
        if setup.managed is not None:
            levels: dict[int, int] = {}
            for r in doc.invocations:
                if r.variant == v and r.concurrency is not None:
                    levels[r.concurrency] = levels.get(r.concurrency, 0) + 1
            counts = ", ".join(f"{n} at {k}" for k, n in sorted(levels.items())) or "none"
            lines.append(
                f"{v}: requests per environment while each ran (of its {setup.managed.max_concurrency}"
                f" slots): {counts}; the simulator draws durations per level"
            )
    if short:
        lines.append(
            f"[yellow]cold starts measured: {', '.join(short)} (fewer than {MIN_COLD_STARTS}, "
            "the least that bounds their median): the cold-start part of a simulated p99 at "
            "low traffic rests on these few samples; raise --cold-starts[/yellow]"
        )
    return lines


def consistency_lines(doc: Results) -> list[str]:
    """The emulation check per model-in-Lambda variant, and which figures not to trust."""
    if not doc.consistency:
        return []
    from kit.measure.local.reference import TOLERANCE

    parts = []
    for variant, c in doc.consistency.items():
        style = "green" if c.trusted else "red"
        parts.append(f"[{style}]{escape(variant)}: {escape(c.note)}[/{style}]")
    distrusted = [v for v, c in doc.consistency.items() if not c.trusted]
    verdict = (
        f"[red]figures this run would not trust: {', '.join(distrusted)}[/red]"
        if distrusted
        else f"[green]every model-in-Lambda variant within ±{TOLERANCE:.0%} of the reference[/green]"
    )
    return [
        "emulation check (handler's warm inference vs raw session.run, same quota):",
        *parts,
        verdict,
    ]


def run_lines(doc: Results) -> list[str]:
    """What a run accounted for: items, failures, faults, start-up times (rich markup)."""
    c = doc.checks
    style = "green" if c.lost == 0 and c.duplicated == 0 else "red"
    accuracy = "n/a" if c.accuracy is None else f"{c.accuracy:.1%}"
    lines = [
        f"[{style}]{c.uploads} uploads: {c.items} items, {c.failed} in the failure queue with a "
        f"reason, {c.lost} unaccounted, {c.duplicated} duplicated; {c.redelivered} redeliveries "
        f"absorbed by the idempotent write[/{style}]",
        f"prediction accuracy: {accuracy} ({escape(c.accuracy_note)})",
    ]
    lines += sample_lines(doc)
    lines += consistency_lines(doc)
    faults = doc.run.get("faults") or {}
    if any(faults.values()):
        lines.append(
            f"faults: {faults['crashes_injected']} environment crashes injected, "
            f"{faults['aws_errors_injected'] or 'no'} AWS errors injected, "
            f"{faults['throttled_invocations']} throttled invocations (retried)"
        )
    if doc.endpoint is not None and doc.endpoint.startup_ms is not None:
        lines.append(
            "SageMaker serving app startup (the endpoint's cold start, local): "
            f"{doc.endpoint.startup_ms:.0f} ms"
        )
    if doc.run.get("snapshot_init_ms") is not None:
        lines.append(
            "SnapStart snapshot init (once per published version, before any request): "
            f"{doc.run['snapshot_init_ms']:.0f} ms"
        )
    return lines


def sweep_table(rows: list[dict[str, Any]], title: str) -> Any:
    """One row per (variant, memory size): durations, cold start, cost per 1M, errors."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("variant", "memory MB", "median ms", "p90 ms", "inference ms", "cold start ms"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    table.add_column("cost per 1M", justify="right")
    table.add_column("errors", justify="right")
    for r in rows:
        table.add_row(
            r["variant"],
            str(r["memory_mb"]),
            *(ms(r[k]) for k in ("median_ms", "p90_ms", "inference_ms", "cold_ms")),
            "-" if r["cost_per_million"] is None else money(r["cost_per_million"]),
            str(r["errors"]),
        )
    return table


def sweep_lines(picks: dict[str, dict[str, int]], tracking: list[dict[str, Any]]) -> list[str]:
    """The picks per variant, and how speed followed the CPU share between neighbouring sizes."""
    lines = [
        f"{v}: cheapest {p['cheapest']} MB, fastest {p['fastest']} MB, balanced {p['balanced']} MB"
        for v, p in picks.items()
    ]
    for pair in tracking:
        if pair["duration_ratio"] is None:
            continue
        text = (
            f"{pair['from_mb']} -> {pair['to_mb']} MB: duration x{pair['duration_ratio']:.2f} "
            f"faster, CPU share x{pair['cpu_share_ratio']:.2f} "
            + ("(tracks it within 15 %)" if pair["within_15_percent"] else "(not CPU-bound here)")
        )
        if pair.get("inference_ratio"):
            text += f"; inference alone x{pair['inference_ratio']:.2f} " + (
                "(tracks it within 15 %)" if pair["inference_within_15_percent"] else "(does not)"
            )
        lines.append(text)
    return lines


def memory_model_lines(models: dict[str, Any]) -> list[str]:
    """The fitted duration(memory) per variant with its residual at every measured size."""
    lines = []
    for variant, m in models.items():
        residuals = ", ".join(
            f"{size} MB {r:+.0f}%" for size, r in zip(m.sizes_mb, m.residual_pct, strict=True)
        )
        cap = f", v capped at {m.cores:g} cores" if m.cores else ""
        lines.append(
            f"{escape(variant)} duration(memory) = {m.fixed_ms:.1f} ms fixed + "
            f"{m.single_thread_ms:.1f} ms / min(v, 1) + {m.parallel_ms:.1f} ms / v "
            f"(v = memory / 1,769 MB vCPUs{cap}; {m.source}); fit residuals: {residuals}"
        )
    return lines


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, dict):
        return ", ".join(f"{md(k)}={_cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return md(value)


RUN_WORDS = {
    "requests": "{} uploads per variant",
    "warm": "{} warm invocations measured",
    "concurrency": "concurrency {}",
    "cold_starts": "{} cold starts forced",
    "idle_timeout_s": "environments retired after {} s idle",
    "max_environments": "at most {} environments per variant",
    "burst": "bursts of {} uploads",
    "rpm": "{} uploads a minute (0: as fast as they complete)",
    "seed": "seed {}",
    "crash_rate": "crash rate {}",
    "s3_fault_rate": "S3 throttling rate {}",
    "dynamodb_fault_rate": "DynamoDB throttling rate {}",
    "retry_delays_s": "retries after {} s",
}
"""Run settings said in words; any other key is listed as it is."""


def _setup_words(name: str, setup: Any) -> str:
    v = setup.model_dump(exclude_none=True, mode="json")
    words = f"{md(name)}: {md(v['kind'])}, {v['memory_mb']:,} MB {md(v.get('architecture', ''))}"
    if v.get("instance_type"):
        words += f", {md(v.get('instance_count', 1))} x {md(v['instance_type'])}"
    if v.get("serverless_memory_mb"):
        words += f", Serverless {md(v['serverless_memory_mb'])} MB x {md(v.get('serverless_max_concurrency'))}"
    if v.get("provisioned_concurrency"):
        words += f", provisioned concurrency {md(v['provisioned_concurrency'])}"
    if m := v.get("managed"):
        words += (
            f", environments of {md(m['vcpus'])} vCPU x {md(m['max_concurrency'])} requests, "
            f"{md(m['min_environments'])}-{md(m['max_environments'])} of them, "
            f"MaxVCpuCount {md(m['max_vcpus'])}, {md(m['nat_gateways'])} NAT gateway"
        )
    return words + f", timeout {md(v.get('timeout_s'))} s, entry {md(v.get('entry'))}"


def run_config_markdown(doc: Results) -> str:
    """The run's configuration in sentences (every value escaped as text)."""
    run = dict(doc.run)
    said = [
        RUN_WORDS[k].format(_cell(run.pop(k)))
        for k in list(RUN_WORDS)
        if k in run and run[k] not in (None, 0, 0.0, [], {})
    ]
    for k in list(RUN_WORDS):
        run.pop(k, None)
    run.pop("gap_indices", None)  # which uploads were preceded by an idle gap: in the JSON
    m = doc.model
    lines = [
        f"- Run: {doc.target} on {md(doc.machine.get('cpus', '?'))} CPUs "
        f"({md(doc.machine.get('platform', 'unknown platform'))}, Python "
        f"{md(doc.machine.get('python', '?'))}); " + ", ".join(said) + ".",
        "- Variants: " + "; ".join(_setup_words(n, s) for n, s in doc.variants.items()) + ".",
        f"- Model: {md(m.source)}"
        + (f" ({md(m.size)})" if m.size else "")
        + f", {m.size_bytes:,} bytes, {m.sample_rate:,} Hz, labels "
        + ", ".join(md(x) for x in m.labels)
        + f", sha256 {md(m.sha256[:12])}.",
        f"- CPU share: {md(doc.cpu.mechanism)}, "
        + ", ".join(f"{md(k)} {v:.2f} vCPU" for k, v in doc.cpu.vcpus.items())
        + f" ({md(doc.cpu.note)}).",
    ]
    if doc.endpoint is not None:
        e = doc.endpoint
        started = f", started in {e.startup_ms:,.0f} ms" if e.startup_ms is not None else ""
        note = f" ({md(e.note)})" if e.note else ""
        lines.append(f"- Endpoint: {md(e.name or 'unnamed')}{started}{note}.")
    if run:
        lines.append(
            "- Other settings: " + "; ".join(f"{md(k)} {_cell(v)}" for k, v in run.items()) + "."
        )
    return "\n".join(lines)
