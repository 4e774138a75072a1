"""Read a schema-v1 results file (earlier releases) as a v2 document.

v1 kept the run's settings in an untyped ``config`` dict and did not record
provisioned concurrency, the SageMaker instance count or the serverless
memory. The conversion fills each missing fact with the default the v1
writers deployed and lists it in ``assumed``, so a reader sees what was not
measured.
"""

from __future__ import annotations

from typing import Any

from audio_inference.settings import (
    DEFAULT_ARCHITECTURE,
    DEFAULT_SAGEMAKER_INSTANCE_TYPE,
    DEFAULT_SERVERLESS_MAX_CONCURRENCY,
    HTTP,
    SAGEMAKER,
    SNAPSTART,
)

V1_SERVERLESS_MEMORY_MB = 2048
"""The serverless memory the v1 stacks deployed (not recorded in v1 files)."""
V1_DEFAULT_MEMORY_MB = 2048
UNKNOWN_SHA256 = "0" * 64
SUMMARY_DROPPED = ("memory_mb",)
"""v1 summary fields that moved to ``variants``."""


def _variant(
    name: str, config: dict[str, Any], summary: dict[str, Any], assumed: list[str]
) -> dict[str, Any]:
    memory = summary.get("memory_mb") or (config.get("memory_mb") or {}).get(name)
    if not memory:
        memory = V1_DEFAULT_MEMORY_MB
        assumed.append(f"{name}: memory not recorded: assumed {memory} MB")
    setup: dict[str, Any] = {
        "kind": "lambda",
        "entry": "http" if name == HTTP else "s3",
        "memory_mb": int(memory),
        "architecture": config.get("architecture") or DEFAULT_ARCHITECTURE,
        "provisioned_concurrency": int((config.get("provisioned") or {}).get(name, 0)),
    }
    if name == SNAPSTART:
        setup["kind"] = "snapstart"
        setup["snapstart_versions"] = 1
        assumed.append(f"{name}: active SnapStart versions not recorded: assumed 1")
    elif name == SAGEMAKER:
        instance = config.get("sagemaker_instance_type") or DEFAULT_SAGEMAKER_INSTANCE_TYPE
        if instance == "serverless":
            setup["kind"] = "sagemaker-serverless"
            setup["serverless_memory_mb"] = V1_SERVERLESS_MEMORY_MB
            setup["serverless_max_concurrency"] = DEFAULT_SERVERLESS_MAX_CONCURRENCY
            assumed.append(
                f"{name}: serverless memory not recorded: assumed {V1_SERVERLESS_MEMORY_MB} MB"
            )
            assumed.append(
                f"{name}: serverless max concurrency not recorded: "
                f"assumed {DEFAULT_SERVERLESS_MAX_CONCURRENCY}"
            )
        else:
            setup["kind"] = "sagemaker"
            setup["instance_type"] = instance
            setup["instance_count"] = 1
            assumed.append(f"{name}: instance count not recorded: assumed 1")
    if "provisioned" not in config and setup["kind"] == "lambda":
        assumed.append(f"{name}: provisioned concurrency not recorded: assumed 0")
    return setup


def _model(config: dict[str, Any], assumed: list[str]) -> dict[str, Any]:
    info = config.get("model") or {}
    sha = config.get("model_sha256")
    if not sha:
        sha = UNKNOWN_SHA256
        assumed.append("model: sha256 not recorded (shown as zeros)")
    rate = info.get("sample_rate")
    if not rate:
        rate = 16_000
        assumed.append("model: sample rate not recorded: assumed 16000 Hz")
    return {
        "sha256": sha,
        "size_bytes": int(info.get("file_kib", 0)) * 1024,
        "sample_rate": rate,
        "source": info.get("source") or "model_build",
        "size": info.get("size"),
        "parameters": info.get("parameters"),
    }


def _cpu(doc: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    if doc.get("target") == "aws":
        return {"mechanism": "aws", "note": "real Lambda"}
    cpu = config.get("cpu_emulation") or {}
    vcpus = cpu.get("vcpus")
    return {
        "mechanism": cpu.get("mechanism", "none"),
        "vcpus": vcpus if isinstance(vcpus, dict) else {},
        "note": str(cpu.get("note", "")),
    }


def from_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """The v2 form of a v1 document; what v1 did not record is listed in ``assumed``."""
    config: dict[str, Any] = doc["config"] if isinstance(doc.get("config"), dict) else {}
    summaries: dict[str, Any] = doc["summary"] if isinstance(doc.get("summary"), dict) else {}
    assumed: list[str] = []
    names = list(summaries) or list(config.get("variants") or [])
    variants = {name: _variant(name, config, summaries.get(name) or {}, assumed) for name in names}
    summary = {
        name: {k: v for k, v in figures.items() if k not in SUMMARY_DROPPED}
        for name, figures in summaries.items()
        if isinstance(figures, dict)
    }
    invocations = [
        {k: v for k, v in r.items() if k != "latency_ms"} if isinstance(r, dict) else r
        for r in doc.get("invocations") or []
    ]
    endpoint = doc.get("endpoint") or {}
    run = {k: v for k, v in config.items() if k not in ("model", "cpu_emulation", "memory_mb")}
    return {
        "schema": "audio-inference-kit/results/v2",
        "target": doc.get("target"),
        "created_at": doc.get("created_at", ""),
        "model": _model(config, assumed),
        "variants": variants,
        "run": run,
        "cpu": _cpu(doc, config),
        "region": doc.get("region") or config.get("region"),
        "machine": doc.get("machine") or {},
        "endpoint": {
            "name": endpoint.get("name"),
            "startup_ms": endpoint.get("startup_ms"),
            "note": str(endpoint.get("note", "")),
        }
        if endpoint
        else None,
        "summary": summary,
        "invocations": invocations,
        "checks": doc.get("checks"),
        "assumed": assumed,
    }
