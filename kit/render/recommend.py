"""The recommendation in the terminal (answer, table, stack) and as a frontier plot (PNG)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from .format import md, money, rate
from .plots import mark_x

FAMILY_COLORS = {
    "lambda": "#1f77b4",
    "snapstart": "#ff7f0e",
    "sagemaker": "#2ca02c",
    "serverless": "#bcbd22",
    "managed": "#e377c2",
}


def rich_answer(text: str) -> str:
    """The answer paragraph as rich markup: its content escaped, **bold** kept."""
    from rich.markup import escape

    return re.sub(r"\*\*(.+?)\*\*", r"[bold]\1[/bold]", escape(text))


def cell(entry: dict[str, Any]) -> str:
    """One family at one level: cost and p99, or why it cannot meet the target."""
    if not entry.get("feasible"):
        why = entry.get("why_not") or "cannot meet the target"
        return "cannot meet the target" if len(why) > 60 else why
    p99 = entry.get("p99_ms")
    return (
        f"{money(entry['monthly'])}, p99 {p99:,.0f} ms"
        if p99 is not None
        else money(entry["monthly"])
    )


def level_cells(found: dict[str, Any], level: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each family's cell at one level (configuration and cost, or why not), and whether it
    is the level's pick."""
    out = []
    for f, e in level["families"].items():
        text = cell(e)
        if e.get("feasible"):
            text = f"{e['label'].removeprefix(found['families'][f]).strip(' ,')}: {text}"
        out.append((text, level["pick"] == f))
    return out


def level_table(found: dict[str, Any]) -> Any:
    """Rows: traffic levels; columns: families (the cheapest feasible configuration of each)."""
    from rich.markup import escape
    from rich.table import Table

    families = list(found["levels"][0]["families"])
    table = Table(title="Cheapest configuration meeting the target, per family and traffic")
    table.add_column("RPM (avg)", justify="right")
    for f in families:
        table.add_column(found["families"][f])
    for level in found["levels"]:
        you = " (you)" if math.isclose(level["scale"], 1.0) else ""
        cells = [
            f"[bold]{escape(text)}[/bold]" if pick else escape(text)
            for text, pick in level_cells(found, level)
        ]
        table.add_row(f"{rate(level['rpm'])}{you}", *cells)
    return table


def crossover_lines(found: dict[str, Any]) -> list[str]:
    """Each change of the cheapest family, once, with its bracket from the search."""
    names = found["families"]
    return [
        f"{names[x['below']]} is cheapest below about {rate(x['rpm'])} RPM, {names[x['above']]} "
        f"above (between {rate(x['bracket_rpm'][0])} and {rate(x['bracket_rpm'][1])} RPM)"
        for x in found["crossovers"]
    ]


def assumption_lines(found: dict[str, Any]) -> list[str]:
    """What the figures rest on."""
    b = found["basis"]
    lines = [b["memory"], *b["sources"].values(), b["payload"]]
    if b["excluded_as_emulation_artefacts"]:
        lines.append(
            "left out as emulation artefacts (the consistency check): "
            + ", ".join(b["excluded_as_emulation_artefacts"])
        )
    p = found["pricing"]
    lines.append(
        f"prices: {p['region']}, effective {p['effective_date']}, {p['hours_per_month']:g} h a month"
    )
    lines += p.get("unpriced", [])
    notes = {
        n for lv in found["levels"] for e in lv["families"].values() for n in e.get("notes", [])
    }
    lines += sorted(notes)
    return lines


def print_recommendation(console: Any, found: dict[str, Any]) -> None:
    """Answer first, then the table, the crossovers, the stack to deploy and the assumptions."""
    from rich.markup import escape
    from rich.panel import Panel

    console.print(Panel(rich_answer(found["answer"]), title="Recommendation", expand=True))
    console.print(level_table(found))
    for line in crossover_lines(found):
        console.print(f"  {escape(line)}")
    d = found.get("deploy")
    if d:
        if d["preflight_refused"]:
            console.print(
                f"[red]kit preflight refuses the recommended stack ({escape(d['stack_file'])}):[/red]"
            )
            for f in d["preflight_findings"]:
                console.print(f"  {escape(f['resource'])}: {escape(f['problem'])}")
        else:
            console.print(
                f"To deploy {escape(d['label'])} (checked by kit preflight; stack file "
                f"{escape(d['stack_file'])}):"
            )
            for c in d["commands"]:
                console.print(f"  {escape(c)}")
    console.print("[dim]Assumptions:[/dim]")
    for line in assumption_lines(found):
        console.print(f"  [dim]- {escape(line)}[/dim]")
    console.print(f"[dim]{found['simulations']:,} configurations simulated.[/dim]")


def plot_frontier(found: dict[str, Any], out: Path) -> Path:
    """Each family's cheapest feasible cost against traffic; crossovers and your traffic marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    levels = found["levels"]
    for family in levels[0]["families"]:
        points = [(lv["rpm"], lv["families"][family]) for lv in levels]
        ok = [(r, e["monthly"]) for r, e in points if e.get("feasible")]
        color = FAMILY_COLORS.get(family)
        if ok:
            ax.plot(*zip(*ok, strict=True), "-o", color=color, label=found["families"][family])
        bad = [r for r, e in points if not e.get("feasible")]
        if bad:
            for r in bad:
                ax.annotate(
                    "x",
                    (r, 1),
                    xycoords=("data", "axes fraction"),
                    color=color,
                    ha="center",
                    va="top",
                    fontsize=9,
                )
    for x in found["crossovers"]:
        mark_x(ax, x["rpm"], f"{rate(x['rpm'])} RPM", color="grey", top=False)
    mark_x(ax, found["demand"]["average_rpm"], "your traffic")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("average requests per minute")
    ax.set_ylabel("USD a month (cheapest configuration meeting the target)")
    ax.set_title(
        f"Cheapest feasible cost per option (p99 <= {found['target']['p99_ms']:,.0f} ms; x: cannot meet it)"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def recommendation_markdown(found: dict[str, Any], given: bool) -> list[str]:
    """The recommendation section: the answer, the table per family and level, the stack."""
    families = list(found["levels"][0]["families"])
    header = "| RPM (avg) | " + " | ".join(found["families"][f] for f in families) + " |"
    rows = [header, "|" + "---|" * (len(families) + 1)]
    for level in found["levels"]:
        cells = [f"**{md(t)}**" if pick else md(t) for t, pick in level_cells(found, level)]
        you = " (yours)" if abs(level["scale"] - 1.0) < 1e-9 else ""
        rows.append(f"| {rate(level['rpm'])}{you} | " + " | ".join(cells) + " |")
    out = [
        found["answer"],
        (
            ""
            if given
            else "(Traffic: the demo's example; run `python -m kit recommend --results "
            "results/local.json --per-day N --business-hours 09-17 --weekdays` with yours.)"
        ),
        "\n".join(rows),
        *[f"- {line}" for line in crossover_lines(found)],
    ]
    d = found.get("deploy")
    if d and not d["preflight_refused"]:
        out.append(
            f"To deploy {d['label']} (checked by `kit preflight`; stack file `{Path(d['stack_file']).name}`):"
        )
        out.append("```\n" + "\n".join(d["commands"]) + "\n```")
    elif d:
        out.append(
            "`kit preflight` refuses the recommended stack: "
            + "; ".join(f["problem"] for f in d["preflight_findings"])
        )
    out.append("Assumptions: " + "; ".join(assumption_lines(found)) + ".")
    out.append("![cheapest feasible cost per option](frontier.png)")
    return [line for line in out if line]
