"""Helpers for tests of the Pulumi program under mocks."""

from __future__ import annotations

import json

from kit.stack.mocks import StackRun

FN = "aws:lambda/function:Function"


def policies(run: StackRun) -> dict[str, dict]:
    """Every role policy document, by resource name."""
    return {
        r.name: json.loads(r.inputs["policy"])
        for r in run.mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    }
