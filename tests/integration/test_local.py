"""``kit local`` end to end: real moto, awslambdaric processes, forked SnapStart copies, serving app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import psutil
import pytest
from rich.console import Console

from kit import ROOT, results
from kit.decide.report import SECTIONS, write_report
from kit.measure.local.run import run
from tests.helpers import local_config, run_cli

VARIANTS = ("standard", "snapstart", "sagemaker", "container", "http")


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    from model_build.samples import write_samples

    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder, 8)
    return folder


@pytest.fixture(scope="module")
def local_run(model_dir, samples, tmp_path_factory):
    cfg = local_config(
        model_dir,
        samples,
        tmp_path_factory.mktemp("results"),
        variants=VARIANTS,
        provisioned={"http": 1},
        requests=6,
        cold_starts=2,
        idle_timeout_s=1.0,
    )
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    doc = run(cfg, Console(quiet=True), quiet=True)
    time.sleep(0.5)
    leftover = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    return cfg, doc, leftover


def test_results_follow_the_schema(local_run):
    cfg, doc, _ = local_run
    again = results.validate(json.loads(json.dumps(doc.dump())))
    assert again == doc
    assert doc.target == "local" and set(doc.summary) == set(VARIANTS)
    assert len(doc.invocations) == 30
    assert doc.endpoint.startup_ms > 0 and doc.run["snapshot_init_ms"] > 0
    assert (
        doc.variants["http"].provisioned_concurrency == 1 and doc.variants["http"].entry == "http"
    )
    assert doc.model.sha256 == json.loads((cfg.model_dir / "model.json").read_text())["sha256"]


def test_every_upload_has_exactly_one_item(local_run):
    _, doc, _ = local_run
    assert doc.checks.lost == 0 and doc.checks.duplicated == 0
    assert all(r.status == "ok" for r in doc.invocations), [r.error for r in doc.invocations]
    assert all(r.request_id and r.e2e_ms > 0 for r in doc.invocations)


def test_cold_starts_happen_exactly_where_the_schedule_forces_them(local_run):
    cfg, doc, _ = local_run
    forced = {0} | cfg.gap_indices()
    assert forced == {0, 3}
    for variant in ("standard", "snapstart", "sagemaker", "container"):
        cold = {r.index for r in doc.invocations if r.variant == variant and r.cold}
        assert cold == forced, variant
    # one provisioned environment, started before traffic, never retired: no cold start at all
    assert not any(r.cold for r in doc.invocations if r.variant == "http")
    for r in doc.invocations:
        if r.variant == "snapstart":
            assert (r.restore_ms is not None) == r.cold and r.init_ms is None
            assert r.billed_restore_ms == (int(-(-r.restore_ms // 1)) if r.cold else 0)
        else:
            assert (r.init_ms is not None) == r.cold and r.restore_ms is None
        assert r.billed_ms >= r.duration_ms and r.billed_ms - r.duration_ms < 1


def test_snapstart_restore_is_faster_than_standard_init(local_run):
    _, doc, _ = local_run
    init = [r.init_ms for r in doc.invocations if r.variant == "standard" and r.cold]
    restore = [r.restore_ms for r in doc.invocations if r.variant == "snapstart" and r.cold]
    assert max(restore) < min(init)


def test_container_runs_from_the_image_layout_and_http_answers_requests(local_run):
    cfg, doc, _ = local_run
    (layout,) = (cfg.out_dir / "images").iterdir()
    assert (layout / "var" / "task" / "standard_handler.py").is_file()
    assert (layout / "var" / "task" / "audio_inference" / "core.py").is_file()
    assert (layout / "opt" / "model" / "model.onnx").is_file()
    assert not (layout / "var" / "task" / "sagemaker_proxy_handler.py").exists()  # not copied
    http = [r for r in doc.invocations if r.variant == "http"]
    assert all(r.object.startswith("https://127.0.0.1:") and "/requests/" in r.object for r in http)
    assert all(r.status == "ok" and r.e2e_ms >= r.duration_ms for r in http)


def test_run_leaves_no_process_behind(local_run):
    _, _, leftover = local_run
    assert leftover == []


def test_report_renders_every_section(local_run, tmp_path):
    _, doc, _ = local_run
    quick = {"levels": (0.3, 1.0, 3.0), "extend": False, "ci_reps": 3}  # the page: test_page.py
    md, html = write_report(doc, tmp_path, search=quick)
    text = md.read_text()
    for section in SECTIONS:
        assert f"## {section}" in text, section
    images = ("latency_timeline.png", "latency_boxplot.png", "simulation.png", "cost.png")
    for image in (*images, "cost_log.png", "frontier.png"):
        assert (tmp_path / image).stat().st_size > 5_000 and f"]({image})" in text
    page = html.read_text()
    # the plots in the details; the page draws the frontier itself from its data
    assert page.count("data:image/png;base64,") == 5 and "<table>" in page
    assert "id='page-data'" in page and page.count("<details>") == len(SECTIONS) - 1
    # the report opens with the recommendation: the answer paragraph from the search
    opening = text.split("## Recommendation", 1)[1].split("##", 1)[0]
    assert opening.strip().startswith("For your model (") and "a month**" in opening
    assert "4,000 requests a day, weekdays 09-17 UTC = 1.98 RPM average" in opening
    found = json.loads((tmp_path / "recommend.json").read_text())
    assert found["deploy"]["preflight_refused"] is False  # the stack to deploy, preflighted
    assert all(command in opening for command in found["deploy"]["commands"])
    assert "pulumi config set variants " in opening
    assert (tmp_path / "frontier.png").stat().st_size > 5_000
    assert "http" not in found["basis"]["sources"]  # the upload entry only
    sim = json.loads((tmp_path / "simulation.json").read_text())
    assert [lv["rpm"] for lv in sim["shapes"][0]["levels"]] == [0.1, 1, 10, 72, 200, 1000, 10000]
    assert "http" not in sim["shapes"][0]["levels"][0]["variants"]  # entries are not mixed


def _tagged(tag: str) -> list[psutil.Process]:
    """Every live process whose environment carries ``tag`` (children in new sessions too)."""
    found = []
    for p in psutil.process_iter():
        try:
            if p.environ().get("KIT_TEST_TAG") == tag and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _listening(procs: list[psutil.Process]) -> set[int]:
    ports = set()
    for p in procs:
        try:
            ports |= {c.laddr.port for c in p.net_connections() if c.status == "LISTEN"}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return ports


@pytest.mark.parametrize(
    ("signals", "after_children", "gap_s"),
    [
        (1, 3, 0.0),  # once, while running
        (2, 1, 0.05),  # twice during start-up: the serving app has just been started
        (3, 1, 0.2),  # three times during start-up, spread over the next starts
        (2, 4, 0.0),  # twice in a row while environments serve
    ],
)
def test_ctrl_c_stops_everything(model_dir, samples, tmp_path, signals, after_children, gap_s):
    """Ctrl-C once, twice or three times, at different moments: no process or port is left."""
    tag = uuid.uuid4().hex
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kit",
            "local",
            "--requests",
            "30",
            "--model-dir",
            str(model_dir),
            "--samples",
            str(samples),
            "--out",
            str(tmp_path),
            "--no-report",
        ],
        cwd=ROOT,
        env={**os.environ, "KIT_TEST_TAG": tag},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 90
    while time.time() < deadline and len(_tagged(tag)) < 1 + after_children:
        time.sleep(0.02)
    ports = _listening(_tagged(tag))
    for _ in range(signals):
        proc.send_signal(signal.SIGINT)
        time.sleep(gap_s)
    out, _ = proc.communicate(timeout=90)
    text = out.decode(errors="replace")
    assert proc.returncode == 130, text[-2000:]
    assert "Traceback" not in text, text[-2000:]
    time.sleep(0.5)
    stragglers = [(p.pid, p.cmdline()) for p in _tagged(tag)]
    assert stragglers == []
    listening = {c.laddr.port for c in psutil.net_connections() if c.status == "LISTEN"}
    assert ports and not (ports & listening)


def test_bad_arguments_are_refused():
    result = run_cli("kit", "local", "--variants", "gpu", timeout=60)
    assert result.returncode == 2 and "unknown" in result.stderr


def test_a_subset_of_variants_with_stack_settings(model_dir, samples, tmp_path):
    """`kit local --variants standard` used to end in a TypeError in the report."""
    import json

    stack = tmp_path / "Pulumi.small.yaml"
    stack.write_text("config:\n  audio-inference-kit:lambdaMemoryMb: 1769\n")
    result = run_cli(
        "kit",
        "local",
        "--variants",
        "standard",
        "--requests",
        "2",
        "--warm",
        "0",
        "--cold-starts",
        "1",
        "--model-dir",
        str(model_dir),
        "--samples",
        str(samples),
        "--out",
        str(tmp_path),
        "--stack-config",
        str(stack),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads((tmp_path / "local.json").read_text())
    assert {n: v["memory_mb"] for n, v in doc["variants"].items()} == {"standard": 1769}
    assert (tmp_path / "report.md").exists()


def test_a_user_supplied_onnx_model_runs_the_demo(samples, tmp_path):
    """Bring your own model: `model_build check` writes model.json, `kit local` runs it."""
    from tests.helpers.onnx_graphs import graph_model

    mine = graph_model(tmp_path / "mine.onnx")
    model_dir = tmp_path / "my-model"
    checked = run_cli(
        "model_build", "check", str(mine), "--labels", "quiet,medium,loud",
        "--sample-rate", "16000", "--out", str(model_dir),
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    out = tmp_path / "results"
    result = run_cli(
        "kit", "local", "--model-dir", str(model_dir), "--samples", str(samples),
        "--requests", "3", "--warm", "0", "--cold-starts", "1", "--variants", "standard,http",
        "--out", str(out), "--no-report", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads((out / "local.json").read_text())
    assert doc["model"]["source"] == "model_build check (your own model)"
    items = [r for r in doc["invocations"] if r["status"] == "ok"]
    assert len(items) == 6 and {r["label"] for r in items} <= {"quiet", "medium", "loud"}
    assert doc["checks"]["lost"] == 0


def test_every_model_in_lambda_variant_is_checked_against_raw_session_run(local_run):
    _, doc, _ = local_run
    assert set(doc.consistency) == {"standard", "snapstart", "container", "http"}  # not the proxy
    for variant, c in doc.consistency.items():
        warm = sum(r.variant == variant and not r.cold for r in doc.invocations)
        assert c.handler_samples == warm and c.reference_samples > 0, variant
        assert c.ratio is not None and 0.2 < c.ratio < 5, (variant, c)
        assert ("emulation artefact" in c.note) == (not c.trusted)


def test_summary_states_each_percentile_with_its_interval_or_not_at_all(local_run):
    _, doc, _ = local_run
    s = doc.summary["standard"]
    assert s.warm_count == 4
    p50, p99 = s.warm["p50"], s.warm["p99"]
    warm = sorted(r.latency_ms for r in doc.invocations if r.variant == "standard" and not r.cold)
    # 4 samples: too few for a bounded 95 % interval on a median (needs 6) or a p99 (needs 368)
    assert p50.value == pytest.approx((warm[1] + warm[2]) / 2) and not p50.bounded
    assert p99.needs == 368 and p99.high is None


def test_a_wrapped_model_runs_on_samples_in_label_folders_with_a_true_accuracy(tmp_path):
    """`model_build wrap` a one-sigmoid detector, then `kit local` on DIR/<label>/*.wav."""
    import soundfile

    from tests.helpers.onnx_graphs import single_sigmoid

    source = single_sigmoid(tmp_path / "detector.onnx")
    model_dir = tmp_path / "wrapped"
    wrapped = run_cli(
        "model_build", "wrap", str(source), "--labels", "wake", "--out", str(model_dir),
    )  # fmt: skip
    assert wrapped.returncode == 0, wrapped.stderr
    samples = tmp_path / "mine"
    t = np.arange(16_000) / 16_000
    for label, level in (("wake", 0.5), ("not-wake", 0.01)):  # the detector hears level
        (samples / label).mkdir(parents=True)
        for i in range(2):
            tone = level * np.sin(2 * np.pi * (300 + 100 * i) * t)
            soundfile.write(samples / label / f"{i}.wav", tone.astype(np.float32), 16_000)
    out = tmp_path / "results"
    result = run_cli(
        "kit", "local", "--model-dir", str(model_dir), "--samples", str(samples),
        "--requests", "4", "--warm", "0", "--cold-starts", "1", "--variants", "standard",
        "--out", str(out), "--no-report", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads((out / "local.json").read_text())
    answered = [r for r in doc["invocations"] if r["status"] == "ok"]
    assert len(answered) == 4 and all(r["label"] == r["true_label"] for r in answered)
    assert doc["checks"]["accuracy"] == 1.0
    bad = run_cli(
        "kit", "local", "--model-dir", str(model_dir), "--samples", str(tmp_path),
        "--requests", "1", "--variants", "standard", "--out", str(out), "--no-report",
    )  # fmt: skip
    assert bad.returncode == 2 and "no manifest.csv and no <label>/*.wav" in bad.stderr
    assert "Traceback" not in bad.stderr
