"""Delete SnapStart versions that nothing invokes any more (each one is billed while it exists).

Every code or configuration change publishes a new SnapStart version; each one
is cached and billed while it exists (3 h minimum; AWS deletes a snapshot only
after 14 days without an invocation). This keeps the version alias `live` points
at, any version another alias points at, and the --keep-previous newest versions
before it (for a quick rollback), and deletes the rest.

Needs lambda:ListVersionsByFunction, lambda:ListAliases, lambda:GetAlias and
lambda:DeleteFunction on the function.
"""

from __future__ import annotations

import argparse
import sys

from kit.cli import options
from kit.errors import EXIT_DECLINED, EXIT_OK, KitError


def configure(p: argparse.ArgumentParser) -> None:
    """Declare the options."""
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


def run(args: argparse.Namespace) -> int:
    """Plan, show what goes and what it saves, ask, delete."""
    from audio_inference.settings import SNAPSTART
    from rich.table import Table

    from components import outputs as out
    from kit.decide.cost.model import Pricing
    from kit.measure.aws.outputs import Clients, load_outputs, variant_memory
    from kit.stack.prune import execute, plan

    console = options.console()
    outputs = load_outputs(args.stack, args.outputs)
    if SNAPSTART not in (outputs.get(out.VARIANTS) or []):
        raise KitError("this stack has no snapstart variant: nothing to prune")
    try:
        name = outputs[out.FUNCTION_NAMES][SNAPSTART]
        alias = outputs[out.SNAPSTART_ALIAS_NAME]
        region = outputs[out.REGION]
    except (KeyError, TypeError) as exc:
        raise KitError(f"stack output {exc} is missing: run `pulumi up` first") from None
    clients = Clients(region)
    todo = plan(clients.lambda_, name, alias, args.keep_previous)
    pricing = Pricing.load()
    gb = variant_memory(outputs, SNAPSTART) / 1024
    per_version = gb * pricing.seconds_per_month * pricing.price("snapstart_cache_gb_s")
    table = Table(title=f"Published versions of {name} (alias {alias} -> {todo.live})")
    table.add_column("version")
    table.add_column("action")
    for v in sorted(todo.keep + todo.delete, key=int):
        table.add_row(v, "[red]delete[/red]" if v in todo.delete else "keep")
    console.print(table)
    console.print(
        f"Each active version's snapshot cache costs about ${per_version:,.2f} a month at "
        f"{gb * 1024:.0f} MB while it is kept; deleting {len(todo.delete)} saves up to "
        f"${per_version * len(todo.delete):,.2f} a month (AWS itself drops a snapshot after "
        "14 days without an invocation, so a version nothing invokes costs at most about "
        f"${per_version * 14 / 30.4:,.2f} in all)."
    )
    if not todo.delete or args.dry_run:
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise KitError("refusing to delete without confirmation: pass --yes", EXIT_DECLINED)
        if input("Delete them? [y/N] ").strip().lower() not in ("y", "yes"):
            raise KitError("declined: nothing was deleted", EXIT_DECLINED)
    deleted = execute(clients.lambda_, todo)
    console.print(f"deleted versions {', '.join(deleted)}; active now: {', '.join(todo.keep)}")
    return EXIT_OK
