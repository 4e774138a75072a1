"""Number formats shared by every table, plot and report (one each)."""

from __future__ import annotations


def money(x: float) -> str:
    """US dollars with cents: $1,234.56."""
    return f"${x:,.2f}"


def rpm(x: float | None) -> str:
    """Requests per minute, or "never" for a crossover that does not happen."""
    return "never" if x is None else f"{x:,.1f}"


def ms(value: float | None) -> str:
    """Milliseconds, or "-" when not measured."""
    return "-" if value is None else f"{value:,.1f}"
