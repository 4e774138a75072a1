"""Every plot the kit draws, as PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kit.results import Results

COLORS = {
    "standard": "#1f77b4",
    "snapstart": "#ff7f0e",
    "sagemaker": "#2ca02c",
    "container": "#9467bd",
    "http": "#8c564b",
    "managed-instances": "#e377c2",
}


def plot_latency(doc: Results, out_dir: Path) -> list[Path]:
    """Latency per invocation (cold starts circled) and a box plot per variant, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out_dir.mkdir(parents=True, exist_ok=True)
    records = [r for r in doc.invocations if r.latency_ms is not None]
    latency = {id(r): float(r.latency_ms or 0.0) for r in records}
    fig, ax = plt.subplots(figsize=(10, 5))
    for variant in doc.summary:
        rows = [r for r in records if r.variant == variant]
        color = COLORS.get(variant)
        ax.plot(
            [r.index for r in rows],
            [latency[id(r)] for r in rows],
            "-",
            marker=".",
            color=color,
            label=variant,
            linewidth=1,
        )
        cold = [r for r in rows if r.cold]
        ax.scatter(
            [r.index for r in cold],
            [latency[id(r)] for r in cold],
            s=120,
            facecolors="none",
            edgecolors=color,
            linewidths=2,
        )
    ax.scatter([], [], s=120, facecolors="none", edgecolors="black", label="cold start")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("invocation (schedule order)")
    ax.set_ylabel("latency, ms (log)")
    ax.set_title(f"Latency per invocation - {doc.target} run")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    timeline = out_dir / "latency_timeline.png"
    fig.tight_layout()
    fig.savefig(timeline, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5))
    variants = list(doc.summary)
    data = [[latency[id(r)] for r in records if r.variant == v] for v in variants]
    box = ax.boxplot(data, tick_labels=variants, showfliers=True, patch_artist=True)
    for patch, v in zip(box["boxes"], variants, strict=True):
        patch.set_facecolor(COLORS.get(v, "#999999"))
        patch.set_alpha(0.5)
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms (log)")
    ax.set_title(f"Latency distribution - {doc.target} run")
    ax.grid(alpha=0.3, axis="y", which="both")
    boxes = out_dir / "latency_boxplot.png"
    fig.tight_layout()
    fig.savefig(boxes, dpi=120)
    plt.close(fig)
    return [timeline, boxes]


def mark_x(ax: Any, x: float, text: str, color: str = "black", top: bool = True) -> None:
    """A vertical line at ``x`` with its label inside the axes, rotated, at the top or bottom
    (your traffic: black at the top; a crossover: grey and dashed at the bottom)."""
    ax.axvline(x, color=color, lw=1.5 if top else 1, ls="-" if top else "--")
    ax.annotate(
        text,
        (x, 0.98 if top else 0.02),
        xycoords=("data", "axes fraction"),
        rotation=90,
        ha="right",
        va="top" if top else "bottom",
        fontsize=9 if top else 8,
        color=color,
    )


def _x_range(
    report: dict, log: bool, max_rpm: float | None, you: float | None
) -> tuple[float, float]:
    """Where the decision is: around the user's traffic and the nearest crossover when the
    user's traffic is known; else up to the busiest level or crossover."""
    xs = sorted(x["rpm"] for x in report["crossovers"] if x["rpm"])
    if you:
        near = [x for x in xs if x <= 100 * you]  # the first change of the cheapest variant
        top = max(4 * you, 1.5 * near[0]) if near else 4 * you
        return (you / 10, max(top, 100 * you)) if log else (0.0, top)
    top = max_rpm or max([r["rpm"] for r in report["levels"]] + [2 * x for x in xs] + [100])
    return (top / 1e4 if log else 0.0, top)


def plot_cost(
    report: dict,
    out: Path,
    log: bool = False,
    max_rpm: float | None = None,
    you_rpm: float | None = None,
) -> Path:
    """Monthly cost against requests per minute, one line per variant, crossovers and the
    user's traffic marked (labels inside the axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Lines from the report's own figures (overrides included); duration tiers
    # only bend them beyond billions of GB-seconds a month.
    per_month = 60 * report["hours_per_month"]
    per_m = {v["name"]: v["per_million"] for v in report["variants"]}
    fixed = {v["name"]: v["fixed_monthly"] for v in report["variants"]}
    lo, top = _x_range(report, log, max_rpm, you_rpm)
    grid = (
        [lo + (top - lo) * i / 400 for i in range(401)]
        if not log
        else [lo * (top / lo) ** (i / 200) for i in range(201)]
    )
    fig, ax = plt.subplots(figsize=(10, 6))
    for v in report["variants"]:
        ys = [fixed[v["name"]] + per_m[v["name"]] * r * per_month / 1e6 for r in grid]
        ax.plot(grid, ys, label=v["label"], color=COLORS.get(v["name"]), linewidth=2)
    shown = [x for x in report["crossovers"] if x["rpm"] and lo <= x["rpm"] <= top]
    for x in sorted(shown, key=lambda c: c["rpm"]):
        y = fixed[x["a"]] + per_m[x["a"]] * x["rpm"] * per_month / 1e6
        ax.plot([x["rpm"]], [y], "ko")
        label = f"{x['a']} = {x['b']}: {x['rpm']:,.1f} RPM, ${y:,.2f}/mo"
        mark_x(ax, x["rpm"], label, color="0.3", top=False)
    if you_rpm:
        mark_x(ax, you_rpm, "your traffic")
    ax.set_xlim(lo, top)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("requests per minute (steady)")
    ax.set_ylabel("USD per month")
    ax.set_title(
        f"Monthly cost by traffic ({report['region']}, {report['hours_per_month']:.0f} h/month)"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)  # your traffic is labelled at the top
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_sweep(sweep_doc: dict, out: Path) -> Path:
    """Cost per 1M and median duration against memory, one line pair per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    ax2 = ax.twinx()
    for v in dict.fromkeys(p["variant"] for p in sweep_doc["points"]):
        rows = sorted(
            (p for p in sweep_doc["points"] if p["variant"] == v), key=lambda p: p["memory_mb"]
        )
        xs = [p["memory_mb"] for p in rows]
        ax.plot(xs, [p["cost_per_million"] for p in rows], "o-", label=f"{v} cost per 1M")
        ax2.plot(xs, [p["median_ms"] for p in rows], "s--", label=f"{v} median duration")
    ax.set_xlabel("memory, MB")
    ax.set_ylabel("USD per 1M requests")
    ax2.set_ylabel("median duration, ms")
    ax.set_title("Memory sweep: cost and speed")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
