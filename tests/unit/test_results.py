"""The results contract: typed, validated, documented field by field, v1 files converted."""

from __future__ import annotations

import json
import re

import pytest

from kit import ROOT, results
from kit.results import Kind
from tests.helpers import run_cli
from tests.helpers.results import doc, setup


def good() -> dict:
    d = doc(
        {"standard": setup(), "sagemaker": setup(Kind.SAGEMAKER, memory_mb=128, instance_count=2)},
        {"standard": [20.0, 21.0, 19.5], "sagemaker": [40.0, 41.0]},
        cold_ms={"standard": [300.0]},
    )
    return json.loads(json.dumps(d.dump()))


def test_a_written_file_reads_back_identical(tmp_path):
    d = results.validate(good())
    path = results.write(d, tmp_path / "r.json")
    again = results.load(path)
    assert again == d
    assert again.variants["sagemaker"].instance_count == 2
    assert again.summary["standard"].cold_starts == 1
    assert again.invocations[0].latency_ms == pytest.approx(320.0)  # derived, not trusted


def _set(d: dict, path: str, value: object) -> dict:
    *parents, last = path.split(".")
    node = d
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is _DROP:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return d


_DROP = object()
EDITS = [
    ("summary", _DROP, "summary"),
    ("variants.standard", _DROP, "variants"),
    ("variants.standard.memory_mb", "4 GB", "variants.standard.memory_mb"),
    ("variants.standard.memory_mb", 64, "variants.standard.memory_mb"),
    ("variants.sagemaker.instance_count", 0, "variants.sagemaker.instance_count"),
    ("variants.standard.architecture", "sparc", "variants.standard.architecture"),
    ("variants.standard.kind", "gpu", "variants.standard.kind"),
    ("summary.standard.p99_ms", -3, "summary.standard.p99_ms"),
    ("summary.standard.cold_fraction", 1.5, "summary.standard.cold_fraction"),
    ("invocations.0.duration_ms", "fast", "invocations.0.duration_ms"),
    ("invocations.0.status", "great", "invocations.0.status"),
    ("invocations.0.variant", "gpu", "invocations.0"),
    ("checks", None, "checks"),
    ("model.sha256", "abc", "model.sha256"),
    ("target", "mars", "target"),
]


@pytest.mark.parametrize(("path", "value", "named"), EDITS, ids=[e[0] for e in EDITS])
def test_a_hand_edited_file_gets_one_line_naming_the_field(path, value, named):
    with pytest.raises(results.ResultsError) as err:
        results.validate(_set(good(), path, value), "r.json")
    message = str(err.value)
    assert "\n" not in message and message.startswith("r.json: ")
    assert named in message


def test_nan_is_not_a_number_here(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(good()).replace('"duration_ms": 20.0', '"duration_ms": NaN', 1))
    with pytest.raises(results.ResultsError, match="duration_ms"):
        results.load(path)


@pytest.mark.parametrize(
    "text",
    ["", "[]", '"results"', "{", "[" * 100_000, '{"schema": "something/else"}'],
    ids=["empty", "a list", "a string", "broken", "deeply nested", "another schema"],
)
def test_files_that_are_not_results_are_refused(tmp_path, text):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(results.ResultsError, match=re.escape(str(path))):
        results.load(path)


def test_the_commands_refuse_a_broken_file_in_one_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(_set(good(), "summary.standard.p99_ms", "slow")))
    for command in (["report", str(broken)], ["simulate", "--results", str(broken)]):
        done = run_cli("kit", *command, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        assert done.stderr.count("\n") == 1 and "summary.standard.p99_ms" in done.stderr


def v1_file() -> dict:
    """A results file as the v1 writer wrote it (its config held the settings, untyped)."""
    record = {
        "variant": "sagemaker",
        "object": "s3://b/k",
        "index": 0,
        "sample": "0.wav",
        "true_label": "tone",
        "label": "tone",
        "status": "ok",
        "cold": False,
        "init_ms": None,
        "restore_ms": None,
        "duration_ms": 50.0,
        "billed_ms": 51,
        "billed_init_ms": 0,
        "billed_restore_ms": 0,
        "latency_ms": 50.0,
        "e2e_ms": 80.0,
        "max_memory_mb": 70.0,
        "memory_mb": 128,
        "environment": "e",
        "request_id": "r",
        "report_found": True,
    }
    summary = results.validate(good()).summary["sagemaker"].model_dump()
    return {
        "schema": results.SCHEMA_V1,
        "target": "aws",
        "created_at": "2026-11-20T10:00:00+00:00",
        "config": {"architecture": "arm64", "sagemaker_instance_type": "serverless"},
        "machine": {},
        "endpoint": {"name": "ep", "instance_type": "serverless"},
        "summary": {"sagemaker": {**summary, "memory_mb": 128}},
        "checks": {"uploads": 1, "items": 1, "failed": 0, "lost": 0, "duplicated": 0},
        "invocations": [record],
    }


def test_a_v1_file_is_converted_and_says_what_it_assumed():
    d = results.validate(v1_file())
    setup_ = d.variants["sagemaker"]
    assert setup_.kind == Kind.SERVERLESS and setup_.architecture == "arm64"
    assert setup_.serverless_memory_mb == 2048 and setup_.memory_mb == 128
    assert any("serverless memory not recorded: assumed 2048" in a for a in d.assumed)
    assert any("max concurrency" in a for a in d.assumed)


def test_every_field_is_documented():
    page = (ROOT / "docs" / "results.md").read_text()
    records = (
        results.Results,
        results.VariantSetup,
        results.ModelIdentity,
        results.CpuEmulation,
        results.Invocation,
        results.Summary,
        results.Checks,
        results.Endpoint,
        results.SizePoint,
    )
    missing = [
        f"{r.__name__}.{f.alias or name}"
        for r in records
        for name, f in r.model_fields.items()
        if f"`{f.alias or name}`" not in page
    ]
    assert missing == []


def test_a_run_where_every_upload_failed_still_gets_a_report_saying_why(tmp_path):
    from kit.results import Invocation

    failed = [
        Invocation(variant="standard", object=f"s3://b/{i}", index=i, sample="x.wav",
                   status="failed", error="environment crashed")
        for i in range(3)
    ]  # fmt: skip
    broken = results.build(
        target="local",
        model=doc({"standard": setup()}, {"standard": [10.0]}).model,
        variants={"standard": setup()},
        records=failed,
        cpu=results.CpuEmulation(mechanism="none"),
    )
    done = run_cli("kit", "report", str(results.write(broken, tmp_path / "r.json")))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "report.md").read_text()
    assert "No recommendation: no variant this report may rank completed an invocation" in text
