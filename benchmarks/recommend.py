"""Speed of `kit recommend`: the whole search (every family, 7 traffic levels and the levels
added above them, crossovers, intervals) for one traffic shape, on this machine.

Each case runs in a fresh process (numba's compile cache warm: one untimed run first), three
times; the table gives the median wall time and the simulations the search ran. The issue's
budget is 60 s on 2 cores for one shape over 7 levels.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CASES = {
    "business hours, 5,000 a day": ["--per-day", "5000", "--business-hours", "09-17", "--weekdays"],
    "steady 300 RPM": ["--rpm", "300"],
    "peaky 100 RPM (x3 at peak)": ["--rpm", "100", "--peak-ratio", "3"],
}
PRIMITIVES = ["--billed-ms", "120", "--cpu-ms", "90", "--memory-mb", "1769", "--init-ms", "900",
              "--restore-ms", "300", "--endpoint-ms", "80", "--proxy-billed-ms", "95"]  # fmt: skip


def _once(flags: list[str], results: str | None, out: Path) -> tuple[float, int]:
    source = ["--results", results] if results else PRIMITIVES
    command = [sys.executable, "-m", "kit", "recommend", *source, *flags, "--no-preflight",
               "--out", str(out)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    found = json.loads((out / "recommend.json").read_text())
    return elapsed, int(found["simulations"])


def main(args: Any) -> int:
    """Run every case, print the table, write the JSON."""
    from rich.console import Console
    from rich.table import Table

    results = args.results if args.results and Path(args.results).is_file() else None
    out = Path(args.out).with_suffix("")
    _once(CASES["steady 300 RPM"], results, out)  # warm numba's cache
    table = Table(
        title=f"kit recommend, whole search ({'results file' if results else 'primitives'})"
    )
    for col in ("case", "median s", "runs", "simulations"):
        table.add_column(col)
    figures: dict[str, Any] = {"source": results or "primitives", "cases": {}}
    for name, flags in CASES.items():
        runs = [_once(flags, results, out) for _ in range(args.repeats)]
        median = statistics.median(r[0] for r in runs)
        figures["cases"][name] = {"seconds": [r[0] for r in runs], "median_s": median,
                                  "simulations": runs[0][1]}  # fmt: skip
        table.add_row(name, f"{median:.1f}", str(len(runs)), f"{runs[0][1]:,}")
    Console().print(table)
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    p.add_argument("--results", default="results/local.json", help="measured samples (if present)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per case (default 3)")
    p.add_argument("--out", default="build/recommend-bench.json", help="JSON output")
