"""What AWS would refuse, found before `pulumi up` (no Pulumi CLI, no account).

Runs the Pulumi program under the SDK's mocks with your stack settings, checks
every resource's inputs against the API models botocore ships (enums such as
runtimes and instance types, numeric ranges, string lengths and patterns,
required fields) and the documented rules those models do not carry, lints
every IAM document with parliament, and prints the resources, the stack's fixed
monthly cost and each finding with the setting that causes it.

Exit codes: 0 nothing found, 1 AWS would refuse something, 2 unreadable settings.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kit.cli import options
from kit.errors import EXIT_CHECKS, EXIT_OK


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
    p.add_argument(
        "--stack-config",
        metavar="FILE",
        help="a Pulumi.<stack>.yaml to check (default: Pulumi.yaml's defaults)",
    )
    p.add_argument("--stack", default="dev", help="stack name used for resource names (dev)")
    p.add_argument("--json", help="write the findings as JSON here")


def run(args: argparse.Namespace) -> int:
    """Check, print, exit 1 when AWS would refuse something."""
    from rich.markup import escape
    from rich.table import Table

    from kit.stack.preflight import run as preflight

    console = options.console()
    report = preflight(Path(args.stack_config) if args.stack_config else None, args.stack)
    if report["resources"]:
        table = Table(title=f"Resources `pulumi up` would create in {report['region']}")
        table.add_column("type")
        table.add_column("count", justify="right")
        for typ, n in sorted(report["resources"].items()):
            table.add_row(typ, str(n))
        console.print(table)
    if report["fixed_monthly"]:
        total = sum(report["fixed_monthly"].values())
        parts = ", ".join(f"{k} ${v:,.2f}" for k, v in report["fixed_monthly"].items())
        console.print(f"Fixed monthly cost with no traffic: [bold]${total:,.2f}[/bold] ({parts})")
    for warning in report.get("warnings", []):
        console.print(f"[yellow]note:[/yellow] {escape(warning)}")
    if report["findings"]:
        table = Table(title="AWS would refuse")
        for col in ("resource", "field", "problem", "setting", "checked by"):
            table.add_column(col)
        for f in report["findings"]:
            table.add_row(f["resource"], f["field"], f["problem"], f["setting"], f["source"])
        console.print(table)
    else:
        console.print(
            "[green]No findings:[/green] every input is within what the AWS APIs accept, and "
            "parliament finds nothing in the IAM documents."
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return EXIT_CHECKS if report["findings"] else EXIT_OK
