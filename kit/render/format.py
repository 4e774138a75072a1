"""Number formats shared by every table, plot and report (one each)."""

from __future__ import annotations

import re
from typing import Any


def money(x: float) -> str:
    """US dollars with cents: $1,234.56."""
    return f"${x:,.2f}"


def rpm(x: float | None) -> str:
    """Requests per minute, or "never" for a crossover that does not happen."""
    return "never" if x is None else f"{x:,.1f}"


def rate(x: float) -> str:
    """A rate to three significant figures without exponents: 0.248, 2.48, 6,700."""
    import math

    if x <= 0 or not math.isfinite(x):
        return f"{x:g}"
    if x >= 100:
        digits = int(math.floor(math.log10(x))) - 2
        return f"{round(x, -digits):,.0f}"
    return f"{x:.3g}"


def ms(value: float | None) -> str:
    """Milliseconds, or "-" when not measured."""
    return "-" if value is None else f"{value:,.1f}"


def interval(q: Any) -> str:
    """A percentile with its interval, '24.1 (22.0-27.3)', or why it is not stated."""
    if q is None or q.value is None:
        return "-"
    if not q.bounded:
        return f"n<{q.needs}"
    return f"{q.value:,.1f} ({q.low:,.1f}-{q.high:,.1f})"


MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def md(value: object) -> str:
    """A value from a results file, model.json or trace as Markdown text: one line, its
    Markdown control characters escaped and HTML's as entities, so it adds no structure."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return MD_SPECIAL.sub(r"\\\1", text)
