"""Stack settings for the kit's commands: ``components.config`` with the kit's error type."""

from __future__ import annotations

from pathlib import Path

from components.config import StackConfig, StackConfigError, read_settings
from kit.errors import KitError


def read_stack(stack_file: Path | None = None, check_model: bool = True) -> StackConfig:
    """Pulumi.yaml's defaults, overlaid with ``stack_file`` (a ``Pulumi.<stack>.yaml``)."""
    try:
        return read_settings(stack_file, check_model=check_model)
    except StackConfigError as exc:
        raise KitError(str(exc)) from None
