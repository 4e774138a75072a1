"""Every terminal (rich) and Markdown table the commands print."""

from __future__ import annotations

from typing import Any

from .format import money, ms, rpm


def latency_table(doc: dict) -> Any:
    """The seed article's table (mean, median, std) plus tails, cold starts and losses."""
    from rich.table import Table

    table = Table(
        title=f"Latency per variant ({doc['target']} run, ms; cold = init/restore + duration)"
    )
    for col in (
        "variant",
        "n",
        "mean",
        "median",
        "std",
        "p90",
        "p99",
        "cold starts",
        "cold mean",
        "warm median",
        "e2e median",
        "errors",
        "lost",
    ):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for variant, s in doc["summary"].items():
        table.add_row(
            variant,
            str(s["count"]),
            ms(s["mean_ms"]),
            ms(s["median_ms"]),
            ms(s["std_ms"]),
            ms(s["p90_ms"]),
            ms(s["p99_ms"]),
            str(s["cold_starts"]),
            ms(s["cold_mean_ms"]),
            ms(s["warm_median_ms"]),
            ms(s["e2e_median_ms"]),
            str(s["errors"]),
            str(s["lost"]),
        )
    return table


def latency_markdown(doc: dict) -> str:
    """The same table as Markdown (for the report)."""
    head = (
        "| variant | n | mean | median | std | p90 | p99 | cold starts | cold mean | warm median "
        "| e2e median | errors | lost |\n|---|" + "---:|" * 12
    )
    rows = [
        f"| {v} | {s['count']} | {ms(s['mean_ms'])} | {ms(s['median_ms'])} | {ms(s['std_ms'])} | "
        f"{ms(s['p90_ms'])} | {ms(s['p99_ms'])} | {s['cold_starts']} | {ms(s['cold_mean_ms'])} | "
        f"{ms(s['warm_median_ms'])} | {ms(s['e2e_median_ms'])} | {s['errors']} | {s['lost']} |"
        for v, s in doc["summary"].items()
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
