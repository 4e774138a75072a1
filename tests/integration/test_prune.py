"""`kit prune` against moto's Lambda: only versions nothing invokes are deleted."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from kit.stack.prune import execute, plan


@pytest.fixture
def function(moto_server):
    moto_server.reset()
    lam, iam = moto_server.client("lambda"), moto_server.client("iam")
    role = iam.create_role(
        RoleName="r",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("h.py", "def handler(e, c):\n    return 1\n")
    lam.create_function(
        FunctionName="snap",
        Runtime="python3.12",
        Role=role,
        Handler="h.handler",
        Code={"ZipFile": code.getvalue()},
    )
    versions = []
    for i in range(5):  # each deploy publishes a new version
        lam.update_function_configuration(FunctionName="snap", Description=f"deploy {i}")
        versions.append(lam.publish_version(FunctionName="snap")["Version"])
    lam.create_alias(FunctionName="snap", Name="live", FunctionVersion=versions[3])
    lam.create_alias(FunctionName="snap", Name="canary", FunctionVersion=versions[0])
    return lam, versions


def test_prune_keeps_live_previous_and_aliased_versions(function):
    lam, versions = function
    todo = plan(lam, "snap", "live", keep_previous=1)
    assert todo.live == versions[3]
    assert todo.keep == [versions[0], versions[2], versions[3]]
    assert todo.delete == [versions[1], versions[4]]
    execute(lam, todo)
    left = [v["Version"] for v in lam.list_versions_by_function(FunctionName="snap")["Versions"]]
    assert left == ["$LATEST", versions[0], versions[2], versions[3]]
    assert plan(lam, "snap", "live", keep_previous=0).delete == [versions[2]]


def test_a_missing_alias_or_function_is_one_line_and_deletes_nothing(function):
    from kit.errors import KitError

    lam, versions = function
    with pytest.raises(KitError, match=r"snap has no alias 'gone'.*nothing is deleted"):
        plan(lam, "snap", "gone")
    with pytest.raises(KitError, match=r"function nope does not exist"):
        plan(lam, "nope", "live")
    left = [v["Version"] for v in lam.list_versions_by_function(FunctionName="snap")["Versions"]]
    assert left == ["$LATEST", *versions]
