"""The consistency check's reference: raw ``session.run`` under a variant's CPU quota.

Each model-in-Lambda variant's warm ``inference`` timing (measured by its handler) should
match what the same model costs when nothing but onnxruntime runs under the same quota:
same thread count (from the same memory setting), same clips, same decode. A variant
further off than ``TOLERANCE`` measured an artefact of the emulation (a thread pool lost
in a fork, spinning threads, a quota that changed mid-run), not the model, and its figure
must not price anything.

Run as ``python -m kit.measure.local.reference JOB_JSON`` (what ``reference_ms`` starts) inside
the variant's cgroup; it prints one JSON line: the median and every timing in ms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from audio_inference.audio import load_waveform
from audio_inference.model import ENV_LAMBDA_MEMORY, OnnxModel
from audio_inference.settings import ENV_MODEL_THREADS, MODEL_IN_LAMBDA

from kit import ROOT
from kit.results import Consistency, Invocation

from .config import LocalConfig
from .cpu_share import CpuGroup, CpuShare, vcpus_for

TOLERANCE = 0.15
"""How far (relative) a variant's warm inference may sit from the reference."""
REPEATS = 3
"""Timed passes over the sample clips (after one untimed warm-up pass)."""
PAUSE_S = 0.02
"""Idle time before each run when the variant's own is unknown. Idle pool threads are
woken by the next run, and the wake-up cost grows with the idle time (measured here with
2 threads: 2.3 ms per run after 10 ms idle, 2.67 ms after 30 ms), so the reference idles
as long as the variant's handler does between inferences."""


def measure(
    model_dir: Path, samples_dir: Path, repeats: int, pause_s: float = PAUSE_S
) -> dict[str, list[float]]:
    """Time ``session.run`` on every clip: clip name -> ``repeats`` timings, after a warm-up.

    Each run follows what precedes inference in a handler: ``pause_s`` idle (S3, DynamoDB,
    the event's delivery) and the clip's decode, so caches and pool threads are in the state
    a handler leaves them.
    """
    model = OnnxModel.from_dir(model_dir)
    clips = {path.name: path.read_bytes() for path in sorted(samples_dir.glob("*.wav"))}
    timings: dict[str, list[float]] = {name: [] for name in clips}
    for rep in range(repeats + 1):
        for name, data in clips.items():
            time.sleep(pause_s)
            waveform = load_waveform(data, name, model.sample_rate)
            started = time.perf_counter()
            model.predict(waveform)
            if rep:
                timings[name].append((time.perf_counter() - started) * 1000)
    return timings


def back_to_back_ms(model_dir: Path, samples_dir: Path, runs: int) -> dict[str, list[float]]:
    """Wall time per run of ``runs`` back-to-back ``session.run`` calls on each clip: the
    throughput a quota allows, throttling pauses included wherever they fall."""
    model = OnnxModel.from_dir(model_dir)
    out = {}
    for path in sorted(samples_dir.glob("*.wav")):
        waveform = load_waveform(path.read_bytes(), path.name, model.sample_rate)
        model.predict(waveform)
        started = time.perf_counter()
        for _ in range(runs):
            model.predict(waveform)
        out[path.name] = [(time.perf_counter() - started) * 1000 / runs]
    return out


def reference_ms(
    model_dir: Path,
    samples_dir: Path,
    memory_mb: int,
    group: CpuGroup | None,
    repeats: int = REPEATS,
    pause_s: float = PAUSE_S,
    back_to_back: bool = False,
    threads: int | None = None,
) -> dict[str, list[float]]:
    """``measure`` (or ``back_to_back_ms``) in a fresh process in ``group`` (its quota), threads
    set by ``memory_mb`` (or ``threads``, a managed environment's per process)."""
    env = {**os.environ, ENV_LAMBDA_MEMORY: str(memory_mb)}
    if threads is not None:
        env[ENV_MODEL_THREADS] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), str(ROOT)])
    job = {
        "model_dir": str(model_dir),
        "samples_dir": str(samples_dir),
        "repeats": repeats,
        "pause_s": min(pause_s, 1.0),
        "back_to_back": back_to_back,
    }
    proc = subprocess.run(
        [sys.executable, "-m", __name__, json.dumps(job)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=group.join if group else None,  # throttled from its first instruction
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"reference session.run failed: {proc.stderr.strip()[-400:]}")
    return dict(json.loads(proc.stdout.splitlines()[-1]))


def compare(
    variant: str,
    handler: list[tuple[str, float]],
    reference: dict[str, list[float]],
    vcpus: float | None,
) -> Consistency:
    """The check's verdict for one variant, clip by clip.

    ``handler`` is (clip name, warm inference ms) per invocation; each is divided by the
    reference median of the same clip, and the verdict rests on the median of those ratios
    (so a run that drew more long clips is not mistaken for a slow one).
    """
    medians = {name: statistics.median(t) for name, t in reference.items() if t}
    pairs = [(ms, medians[name]) for name, ms in handler if name in medians]
    base = {
        "variant": variant,
        "handler_samples": len(pairs),
        "reference_samples": sum(len(t) for t in reference.values()),
        "vcpus": vcpus,
    }
    if not pairs:
        return Consistency(
            **base, trusted=False, note="no warm inference timings to compare with the reference"
        )
    ratio = statistics.median(h / r for h, r in pairs)
    handler_ms = statistics.median(h for h, _ in pairs)
    reference_ms_ = statistics.median(r for _, r in pairs)
    trusted = abs(ratio - 1) <= TOLERANCE
    note = (
        f"warm inference {ratio:.2f}x raw session.run of the same clip under the same quota "
        f"({ratio - 1:+.0%}; median over {len(pairs)} invocations)"
    )
    if not trusted:
        note = (
            f"this figure is an emulation artefact: {note}, beyond ±{TOLERANCE:.0%}; the run "
            "measured the emulator, not the model, so do not price this variant from it"
        )
    return Consistency(
        **base,
        handler_median_ms=handler_ms,
        reference_median_ms=reference_ms_,
        ratio=ratio,
        trusted=trusted,
        note=note,
    )


def check_variants(
    cfg: LocalConfig,
    cpu: CpuShare,
    vcpus_of: dict[str, float],
    records: list[Invocation],
    shares: bool,
) -> dict[str, Consistency]:
    """Each model-in-Lambda variant's warm inference vs raw session.run in a fresh
    process under the same quota, the same thread count and the same idle time between
    runs (the variant's median request time outside inference), on the same clips. A managed
    variant is compared on the requests that ran alone in their environment."""
    out = {}
    for variant in cfg.variants:
        if variant not in MODEL_IN_LAMBDA:
            continue
        managed = cfg.setups[variant].managed
        if managed is not None and not shares:
            out[variant] = Consistency(
                variant=variant,
                trusted=False,
                note="concurrency measured without the environment's CPU quota (no cgroup "
                "here, or --no-cpu-share): overlapping requests did not share its vCPUs",
            )
            continue
        warm = [
            r
            for r in records
            if r.variant == variant
            and not r.cold
            and r.status == "ok"
            and r.timings_ms
            and "inference" in r.timings_ms
            and r.concurrency in (None, 1)
        ]
        pairs = [(r.sample, (r.timings_ms or {})["inference"]) for r in warm]
        outside = [r.e2e_ms - i for r, (_, i) in zip(warm, pairs, strict=True) if r.e2e_ms]
        memory = cfg.memory_mb(variant)
        group = None
        if shares:
            quota = vcpus_of[variant] if managed is not None else vcpus_for(memory)
            group = cpu.group(f"reference-{variant}", quota)
        try:
            reference = reference_ms(
                cfg.model_dir,
                cfg.samples_dir,
                memory,
                group,
                pause_s=statistics.median(outside) / 1000 if outside else PAUSE_S,
                threads=managed.threads if managed is not None else None,
            )
        finally:
            if group is not None:
                group.remove()
        vcpus = round(vcpus_of[variant], 3) if shares else None
        out[variant] = compare(variant, pairs, reference, vcpus)
    return out


def main() -> None:
    """Measure in this process and print one JSON line (the job is one JSON argument: the
    parent's internal protocol, not a command line for people)."""
    job = json.loads(sys.argv[1])
    model_dir, samples_dir = Path(job["model_dir"]), Path(job["samples_dir"])
    if job["back_to_back"]:
        print(json.dumps(back_to_back_ms(model_dir, samples_dir, job["repeats"])))
    else:
        print(json.dumps(measure(model_dir, samples_dir, job["repeats"], job["pause_s"])))


if __name__ == "__main__":
    main()
