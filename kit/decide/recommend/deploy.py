"""The recommended configuration as a stack: ``Pulumi.<stack>.yaml``, ``pulumi config set``
commands, and ``kit preflight``'s verdict on them before they are shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# -- the stack to deploy ----------------------------------------------------------------------


def stack_fragment(config: dict[str, Any], project: str, model_path: str | None = None) -> str:
    """The configuration as a ``Pulumi.<stack>.yaml`` (YAML lists and maps, typed as the CLI wants)."""
    import yaml

    values: dict[str, Any] = {f"{project}:{k}": v for k, v in config.items()}
    if model_path:
        values[f"{project}:modelPath"] = model_path
    return yaml.safe_dump({"config": values}, sort_keys=False)


def config_commands(config: dict[str, Any]) -> list[str]:
    """``pulumi config set`` lines that produce the same settings."""
    out = []
    for key, value in config.items():
        if isinstance(value, dict):
            out += [f"pulumi config set --path {key}.{k} {v}" for k, v in value.items()]
        elif isinstance(value, list):
            out.append(f"pulumi config set {key} {','.join(map(str, value))}")
        else:
            out.append(f"pulumi config set {key} {value}")
    return out


def deploy(
    config: dict[str, Any], out_dir: Path, stack: str = "recommended", model_path: str | None = None
) -> dict[str, Any]:
    """Write ``Pulumi.<stack>.yaml`` for ``config`` and run ``kit preflight`` on it."""
    from components.config import project_name
    from kit.stack.preflight import run as preflight

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"Pulumi.{stack}.yaml"
    path.write_text(stack_fragment(config, project_name(), model_path))
    report = preflight(path, stack)
    return {
        "stack_file": str(path),
        "commands": config_commands(config),
        "preflight_refused": report["refused"],
        "preflight_findings": report["findings"],
        "resources": report["resources"],
        "fixed_monthly": report["fixed_monthly"],
    }
