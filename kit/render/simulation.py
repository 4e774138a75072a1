"""The simulation's tables (terminal and Markdown) and its cost-versus-traffic plot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .format import money
from .plots import COLORS, mark_x


def _ms(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return "no answer" if math.isinf(x) else f"{x:,.0f}"


def _share(x: float) -> str:
    return f"{x:.2%}" if x < 0.1 else f"{x:.1%}"


def _ci(row: dict, key: str, fmt: Any) -> str:
    ci = (row.get("ci") or {}).get(key)
    return "" if not ci else f" ({fmt(ci[0])}-{fmt(ci[1])})"


def level_rows(level: dict, slo_ms: float) -> list[list[str]]:
    """Cells per variant: label, cold share (range), p50, p95, p99 (CI), throttled, queued, cost (CI)."""
    out = []
    for name, r in level["variants"].items():
        mark = "" if r["meets_slo"] else " ✗"
        rng = r.get("cold_share_range")
        cold = "-" if "cold_share" not in r else _share(r["cold_share"])
        if rng:
            cold += f" ({_share(min(rng))}-{_share(max(rng))})"
        out.append(
            [
                name + (" ★" if name == level["cheapest_meeting_slo"] else ""),
                cold,
                _ms(r.get("p50_ms")),
                _ms(r.get("p95_ms")),
                _ms(r.get("p99_ms")) + _ci(r, "p99", _ms) + mark,
                _share(r["throttled_share"]) if "throttled_share" in r else "-",
                _share(r["queued_share"]) if "queued_share" in r else "-",
                money(r["monthly"]) + _ci(r, "monthly", money),
            ]
        )
    for row in level["price_only"]:
        out.append(
            [row["name"] + " (price only)", "-", "-", "-", "-", "-", "-", money(row["monthly"])]
        )
    return out


HEADERS = [
    "variant",
    "cold share (idle-lifetime range)",
    "p50 ms",
    "p95 ms",
    "p99 ms (90 % CI)",
    "throttled",
    "queued",
    "USD/month (90 % CI)",
]


def _title(level: dict, slo_ms: float) -> str:
    mode = ", aggregate mode" if level["aggregate"] else ""
    return (
        f"{level['label']}: {level['requests_simulated_per_month'] / 1e6:,.3g}M requests/month"
        f"{mode} (★ cheapest with p99 <= {slo_ms:,.0f} ms; ✗ misses it)"
    )


def simulation_tables(doc: dict) -> list[Any]:
    """One rich table per shape and level."""
    from rich.table import Table

    tables = []
    for shape in doc["shapes"]:
        for level in shape["levels"]:
            t = Table(title=_title(level, doc["slo_p99_ms"]))
            for h in HEADERS:
                t.add_column(h, justify="left" if h == "variant" else "right")
            for cells in level_rows(level, doc["slo_p99_ms"]):
                t.add_row(*cells)
            tables.append(t)
    return tables


def simulation_markdown(doc: dict) -> str:
    """The same tables in Markdown, then recommendations, crossovers and assumptions."""
    parts = []
    for shape in doc["shapes"]:
        for level in shape["levels"]:
            parts.append(f"**{_title(level, doc['slo_p99_ms'])}**")
            lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
            lines += ["| " + " | ".join(c) + " |" for c in level_rows(level, doc["slo_p99_ms"])]
            parts.append("\n".join(lines))
            if level.get("trace_cost"):
                parts.append(
                    "This trace would have cost: "
                    + ", ".join(f"{n} {money(c)}" for n, c in level["trace_cost"].items())
                    + f" over its {level['span_s'] / 86400:,.2f} days."
                )
    return "\n\n".join(parts)


def crossover_lines(doc: dict) -> list[str]:
    """Crossovers in words, with the cold shares on either side."""
    out = []
    for shape in doc["shapes"]:
        for x in shape["crossovers"]:
            other = x["b"] if x["cheaper_below"] == x["a"] else x["a"]
            shares = (
                "; ".join(
                    f"{n} cold share {_share(v[0])} → {_share(v[1])}"
                    for n, v in x["cold_share_at"].items()
                    if v[0] is not None
                )
                or "given prices"
            )
            out.append(
                f"{shape['shape']}: {x['cheaper_below']} is cheaper than {other} below about "
                f"{x['rpm']:,.1f} RPM ({shares})"
            )
    return out


def assumption_lines(doc: dict) -> list[str]:
    """Every platform parameter with its value, source, date and whether it is verified."""
    out = []
    for p in doc["platform"]:
        rng = f" (range {p['range'][0]:g}-{p['range'][1]:g})" if p.get("range") else ""
        flag = "verified" if p["verified"] is True else "unverified"
        value = p["value"]
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        over = f"; overridden from {p['overridden']}" if p.get("overridden") else ""
        note = f"; {p['note']}" if p.get("note") else ""
        out.append(
            f"`{p['name']}` = {value}{rng} {p['unit']} — {p['source']}, {p['date']}, {flag}{note}{over}"
        )
    return out


def plot_simulation(
    doc: dict, out: Path, shape: str | None = None, you_rpm: float | None = None
) -> Path:
    """Monthly cost against traffic per variant; where p99 misses the target the line is
    shaded; the user's traffic marked when known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = next(s for s in doc["shapes"] if shape in (None, s["shape"]))
    levels = chosen["levels"]
    xs = [lv["rpm"] for lv in levels]
    fig, ax = plt.subplots(figsize=(10, 6))
    for i, name in enumerate(levels[0]["variants"]):
        color = COLORS.get(name, f"C{i % 10}")
        ys = [lv["variants"][name]["monthly"] for lv in levels]
        ax.plot(xs, ys, "-o", color=color, label=levels[0]["variants"][name]["label"], linewidth=2)
        for lv in levels:
            ci = (lv["variants"][name].get("ci") or {}).get("monthly")
            if ci:
                ax.plot([lv["rpm"]] * 2, ci, color=color, linewidth=1)
        miss = [not lv["variants"][name]["meets_slo"] for lv in levels]
        for j, missed in enumerate(miss):
            if missed:
                lo = xs[j] / 1.6 if j == 0 else math.sqrt(xs[j - 1] * xs[j])
                hi = xs[j] * 1.6 if j == len(xs) - 1 else math.sqrt(xs[j] * xs[j + 1])
                y = ys[j]
                ax.fill_between([lo, hi], [y / 1.35] * 2, [y * 1.35] * 2, color=color, alpha=0.18)
                ax.plot([xs[j]], [y], "x", color="black", markersize=9)
    for row_i, row in enumerate(levels[0]["price_only"]):
        if row["name"].startswith("gpu"):
            continue
        ys = [
            next(r["monthly"] for r in lv["price_only"] if r["name"] == row["name"])
            for lv in levels
        ]
        ax.plot(xs, ys, ":", color=f"{0.35 + 0.2 * row_i:.2f}", label=row["label"], linewidth=1.5)
    ax.plot([], [], "x", color="black", label=f"p99 over {doc['slo_p99_ms']:,.0f} ms (shaded)")
    if you_rpm:
        mark_x(ax, you_rpm, "your traffic")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"requests per minute ({chosen['shape']} traffic, monthly average)")
    ax.set_ylabel("USD per month (bars: 90 % interval)")
    ax.set_title(
        f"Cost and latency target by traffic, simulated ({doc['region']}, prices of "
        f"{doc['pricing_effective_date']})"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def print_simulation(console: Any, sim: dict, max_exact: int) -> None:
    """Everything ``kit simulate`` prints: tables, crossovers, trace costs, recommendations."""
    for table in simulation_tables(sim):
        console.print(table)
    for line in crossover_lines(sim):
        console.print(f"crossover: {line}")
    for shape in sim["shapes"]:
        for level in shape["levels"]:
            if level.get("trace_cost"):
                console.print(
                    f"{level['label']}: this traffic would have cost "
                    + ", ".join(f"{n} {money(c)}" for n, c in level["trace_cost"].items())
                    + f" over its {level['span_s'] / 86400:,.2f} days"
                )
        for line in shape["recommendation"]:
            console.print(f"• {line.replace('**', '')}")
    unverified = [p["name"] for p in sim["platform"] if p["verified"] is not True]
    console.print(
        "Assumed (unverified, see kit/decide/simulate/platform.json; override with --platform): "
        + ", ".join(unverified)
    )
    if any(level["aggregate"] for s in sim["shapes"] for level in s["levels"]):
        console.print(
            f"Aggregate mode: levels above {max_exact:,} requests a month were simulated "
            "on a representative window and scaled (see `--max-exact`)."
        )
