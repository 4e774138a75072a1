"""``python -m benchmarks simulator``: how fast and how lean the simulator is (run by ``make bench``).

Three cases, each in a fresh process (wall time and peak memory of that process):

1. one month at 1,000 RPM (43.8M requests), every variant, request by request;
2. 1e9 requests a month (~22,831 RPM), every variant, in aggregate mode (a window of
   ``--max-exact`` requests per level, scaled to the month);
3. replaying a 1M-line S3 server access log (generated), every variant.

Targets: 30 s, 60 s, and 1 GB of memory for the replay.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from kit import ROOT

TARGETS = {"month_1000rpm": 30.0, "billion_per_month": 60.0}
REPLAY_MEMORY_MB = 1024

_CASE = """
import json, resource, time
from pathlib import Path
import numpy as np
from kit import results
from kit.decide.cost.inputs import Primitives
from kit.decide.cost.model import Pricing
from kit.decide.simulate.engine import Options, simulate
from kit.decide.simulate.options import SimulateOptions
from kit.decide.simulate.platform import PlatformParams
from kit.decide.simulate.study import build_services
from kit.decide.simulate.replay import load_trace
from kit.decide.simulate.traffic import make
case = {case!r}
pricing, platform = Pricing.load(), PlatformParams.load()
doc = results.load(case["results"]) if case["results"] else None
services = build_services(SimulateOptions(), doc, Primitives(), pricing, platform)
t0 = time.perf_counter()
if case["replay"]:
    traffic = load_trace(Path(case["replay"]), np.random.default_rng(0))
else:
    traffic = make("poisson", case["rpm"], pricing.seconds_per_month)
tallies, aggregate = simulate(services, traffic, platform, Options(max_exact=case["max_exact"]))
print(json.dumps({{
    "seconds": time.perf_counter() - t0,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "variants": len(services),
    "requests": traffic.expected_requests,
    "aggregate": aggregate,
}}))
"""


def _run(case: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _CASE.format(case=case)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_access_log(path: Path, lines: int, days: float = 30.0) -> Path:
    """A synthetic S3 server access log: ``lines`` uploads spread over ``days`` (90 % PUTs)."""
    from datetime import UTC, datetime

    import numpy as np

    rng = np.random.default_rng(0)
    start = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
    stamps = np.sort(start + rng.uniform(0, days * 86400, lines))
    with path.open("w") as f:
        for i, s in enumerate(stamps):
            when = datetime.fromtimestamp(int(s), UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
            op = "REST.PUT.OBJECT" if i % 10 else "REST.GET.OBJECT"
            f.write(
                f"79a59df9 kit-uploads [{when}] 192.0.2.3 arn:aws:iam::123456789012:user/u "
                f'3E57427F{i:08d} {op} uploads/{i}.wav "PUT /uploads/{i}.wav HTTP/1.1" 200 - - '
                "32000 41 12 -\n"
            )
    return path


def main(args: Any) -> int:
    """Run the three cases, print the table, write the JSON."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    console = Console()
    base = {
        "results": args.results if args.results and Path(args.results).exists() else None,
        "replay": None,
    }
    work = Path(args.out).parent
    work.mkdir(parents=True, exist_ok=True)
    cases = {
        "month_1000rpm": {**base, "rpm": 1000.0, "max_exact": 50_000_000},
        "billion_per_month": {**base, "rpm": 1e9 / (730 * 60), "max_exact": args.max_exact},
        "replay_1m_lines": {**base, "rpm": 0.0, "max_exact": 50_000_000},
    }
    figures: dict[str, Any] = {"inputs": base["results"] or "primitives (no results file)"}
    with Progress(console=console) as bar:
        task = bar.add_task("simulator benchmark", total=len(cases) + 1)
        log = write_access_log(work / "access-1m.log", 1_000_000)
        cases["replay_1m_lines"]["replay"] = str(log)
        bar.advance(task)
        for name, case in cases.items():
            figures[name] = _run(case)
            bar.advance(task)
    table = Table(title="Simulator benchmark (one run, fresh process per case)")
    for col in ("case", "requests", "variants", "mode", "seconds", "peak memory", "target"):
        table.add_column(col, justify="right" if col != "case" else "left")
    for name in cases:
        f = figures[name]
        if name in TARGETS:
            ok = f["seconds"] <= TARGETS[name]
            target = f"<= {TARGETS[name]:.0f} s " + ("[green]met" if ok else "[red]missed")
        else:
            ok = f["peak_mb"] <= REPLAY_MEMORY_MB
            target = f"<= {REPLAY_MEMORY_MB} MB " + ("[green]met" if ok else "[red]missed")
        window = cases[name]["max_exact"]
        mode = f"aggregate (window of {window:,} requests)" if f["aggregate"] else "exact"
        table.add_row(
            name,
            f"{f['requests']:,.0f}",
            str(f["variants"]),
            mode,
            f"{f['seconds']:.1f}",
            f"{f['peak_mb']:,.0f} MB",
            target,
        )
    console.print(table)
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    p.add_argument(
        "--results",
        default="results/local.json",
        help="measured samples to simulate (default results/local.json; primitives if missing)",
    )
    p.add_argument(
        "--max-exact",
        type=int,
        default=20_000_000,
        help="requests simulated per level in aggregate mode (default 20,000,000)",
    )
    p.add_argument("--out", default="build/simulate-bench.json", help="JSON output")
