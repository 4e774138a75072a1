"""Pruning: delete SnapStart versions that nothing invokes any more.

Every code or configuration change publishes a new SnapStart version; each one
is cached and billed while it exists (3 h minimum, dropped by AWS only after 14
days unused), so old versions keep costing. This keeps the version alias
``live`` points at, any version another alias points at, and the
``--keep-previous`` newest versions before it (for a quick rollback), and
deletes the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kit.errors import KitError


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
        raise KitError("--keep-previous must be 0 or more")
    versions: list[str] = []
    try:
        for page in lambda_client.get_paginator("list_versions_by_function").paginate(
            FunctionName=function_name
        ):
            versions += [v["Version"] for v in page["Versions"] if v["Version"] != "$LATEST"]
        aliased = {
            a["FunctionVersion"]
            for page in lambda_client.get_paginator("list_aliases").paginate(
                FunctionName=function_name
            )
            for a in page["Aliases"]
        }
    except lambda_client.exceptions.ResourceNotFoundException:
        raise KitError(f"function {function_name} does not exist: run `pulumi up` first") from None
    try:
        live = lambda_client.get_alias(FunctionName=function_name, Name=alias)["FunctionVersion"]
    except lambda_client.exceptions.ResourceNotFoundException:
        raise KitError(
            f"{function_name} has no alias {alias!r}: nothing can be known to be live, so nothing "
            "is deleted; run `pulumi up` to recreate the alias"
        ) from None
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
