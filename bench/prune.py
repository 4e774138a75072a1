"""``python -m bench prune``: delete SnapStart versions that nothing invokes any more.

Every code or configuration change publishes a new SnapStart version; each one
is cached and billed while it exists (3 h minimum, dropped by AWS only after 14
days unused), so old versions keep costing. This keeps the version alias
``live`` points at, any version another alias points at, and the
``--keep-previous`` newest versions before it (for a quick rollback), and
deletes the rest.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from audio_inference.settings import SNAPSTART

from .aws.outputs import (
    EXIT_DECLINED,
    EXIT_INPUT,
    EXIT_OK,
    BenchError,
    Clients,
    load_outputs,
    variant_memory,
)


@dataclass
class PrunePlan:
    """Which published versions stay and which go."""

    function_name: str
    live: str
    keep: list[str]
    delete: list[str]


def plan(lambda_client: Any, function_name: str, alias: str, keep_previous: int = 1) -> PrunePlan:
    """Decide from the function's versions and aliases; changes nothing."""
    if keep_previous < 0:
        raise BenchError("--keep-previous must be 0 or more")
    versions: list[str] = []
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(
        FunctionName=function_name
    ):
        versions += [v["Version"] for v in page["Versions"] if v["Version"] != "$LATEST"]
    aliased = {
        a["FunctionVersion"]
        for page in lambda_client.get_paginator("list_aliases").paginate(FunctionName=function_name)
        for a in page["Aliases"]
    }
    live = lambda_client.get_alias(FunctionName=function_name, Name=alias)["FunctionVersion"]
    ordered = sorted(versions, key=int)
    older = [v for v in ordered if int(v) < int(live)]
    keep = set(aliased) | {live} | set(older[len(older) - keep_previous :] if keep_previous else [])
    return PrunePlan(
        function_name,
        live,
        [v for v in ordered if v in keep],
        [v for v in ordered if v not in keep],
    )


def execute(lambda_client: Any, prune_plan: PrunePlan) -> list[str]:
    """Delete the planned versions; return those deleted."""
    for version in prune_plan.delete:
        lambda_client.delete_function(FunctionName=prune_plan.function_name, Qualifier=version)
    return list(prune_plan.delete)


def main(args: Any) -> int:
    """CLI entry."""
    from rich.console import Console
    from rich.table import Table

    from .cost.model import Pricing

    console = Console()
    try:
        outputs = load_outputs(args.stack, args.outputs)
        if SNAPSTART not in outputs.get("variants", []):
            raise BenchError("this stack has no snapstart variant: nothing to prune")
        clients = Clients(outputs["region"])
        name = outputs["function_names"][SNAPSTART]
        todo = plan(clients.lambda_, name, outputs["snapstart_alias_name"], args.keep_previous)
    except BenchError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return exc.code
    except KeyError as exc:
        console.print(f"[red]error:[/red] stack output {exc} is missing: run `pulumi up` first")
        return EXIT_INPUT
    pricing = Pricing.load()
    gb = variant_memory(outputs, SNAPSTART) / 1024
    per_version = gb * pricing.seconds_per_month * pricing.price("snapstart_cache_gb_s")
    table = Table(
        title=f"Published versions of {name} (alias {outputs['snapstart_alias_name']} -> {todo.live})"
    )
    table.add_column("version")
    table.add_column("action")
    for v in sorted(todo.keep + todo.delete, key=int):
        table.add_row(v, "[red]delete[/red]" if v in todo.delete else "keep")
    console.print(table)
    console.print(
        f"Each active version's snapshot cache costs about ${per_version:,.2f} a month at "
        f"{gb * 1024:.0f} MB; deleting {len(todo.delete)} saves about "
        f"${per_version * len(todo.delete):,.2f} a month."
    )
    if not todo.delete or args.dry_run:
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            console.print("[red]error:[/red] refusing to delete without confirmation: pass --yes")
            return EXIT_DECLINED
        if input("Delete them? [y/N] ").strip().lower() not in ("y", "yes"):
            console.print("declined: nothing was deleted")
            return EXIT_DECLINED
    deleted = execute(clients.lambda_, todo)
    console.print(f"deleted versions {', '.join(deleted)}; active now: {', '.join(todo.keep)}")
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Declare this command and its options (``python -m bench`` wires it in)."""
    p = sub.add_parser(
        "prune",
        help="delete SnapStart versions nothing invokes (each one is billed while it exists)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--stack", help="Pulumi stack name (runs `pulumi stack output --json`)")
    p.add_argument("--outputs", help="file with the JSON `pulumi stack output --json` prints")
    p.add_argument(
        "--keep-previous",
        type=int,
        default=1,
        help="also keep this many versions older than the live one (default 1, for rollback)",
    )
    p.add_argument("--dry-run", action="store_true", help="show the plan, delete nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(run=main)
