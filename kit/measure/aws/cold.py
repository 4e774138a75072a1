"""Cold starts on purpose (reconfigure, burst) and undoing every change afterwards."""

from __future__ import annotations

import time
import uuid
from typing import Any

from audio_inference.settings import (
    SNAPSTART,
)

from .outputs import KitError

NONCE_VARIABLE = "KIT_COLD_START_NONCE"


class ColdStarts:
    """Ways to make the next invocation a cold start on AWS, and undo them afterwards.

    ``reconfigure`` changes an environment variable (Lambda retires warm
    environments on any configuration change); for SnapStart it also publishes
    a version and moves the alias once the version is active. ``restore()`` puts
    the original configuration and alias back and deletes the versions it made.
    """

    def __init__(self, lambda_client: Any, outputs: dict, strategy: str) -> None:
        self.client = lambda_client
        self.outputs = outputs
        self.strategy = strategy
        self.original_env: dict[str, dict] = {}
        self.original_alias: str | None = None
        self.published: list[str] = []
        self.calls: list[str] = []

    def wait_updated(self, name: str) -> None:
        """Wait until a configuration update of ``name`` has finished (or failed)."""
        for _ in range(120):
            config = self.client.get_function_configuration(FunctionName=name)
            if config.get("LastUpdateStatus", "Successful") != "InProgress":
                if config.get("LastUpdateStatus") == "Failed":
                    raise KitError(
                        f"updating {name} failed: {config.get('LastUpdateStatusReason')}"
                    )
                return
            time.sleep(1)
        raise KitError(f"{name} did not finish updating within 2 minutes")

    def _wait_active(self, name: str, version: str) -> None:
        for _ in range(600):  # SnapStart optimisation of a new version takes minutes
            state = self.client.get_function_configuration(
                FunctionName=name, Qualifier=version
            ).get("State", "Active")
            if state == "Active":
                return
            if state == "Failed":
                raise KitError(f"version {version} of {name} failed to become active")
            time.sleep(2)
        raise KitError(f"version {version} of {name} was not active within 20 minutes")

    def force(self, variant: str) -> None:
        """Retire warm environments of ``variant`` (reconfigure strategy only)."""
        if self.strategy != "reconfigure":
            return
        name = self.outputs["function_names"][variant]
        config = self.client.get_function_configuration(FunctionName=name)
        env = dict(config.get("Environment", {}).get("Variables", {}))
        self.original_env.setdefault(name, {k: v for k, v in env.items() if k != NONCE_VARIABLE})
        env[NONCE_VARIABLE] = uuid.uuid4().hex
        self.client.update_function_configuration(FunctionName=name, Environment={"Variables": env})
        self.calls.append(f"update_function_configuration {name}")
        self.wait_updated(name)
        if variant == SNAPSTART:
            alias = self.outputs["snapstart_alias_name"]
            if self.original_alias is None:
                self.original_alias = self.client.get_alias(FunctionName=name, Name=alias)[
                    "FunctionVersion"
                ]
            version = self.client.publish_version(FunctionName=name)["Version"]
            self.published.append(version)
            self.calls.append(f"publish_version {name} -> {version}")
            self._wait_active(name, version)
            self.client.update_alias(FunctionName=name, Name=alias, FunctionVersion=version)
            self.calls.append(f"update_alias {alias} -> {version}")

    def restore(self) -> None:
        """Undo every change: environment, alias, published versions."""
        for name, env in self.original_env.items():
            self.client.update_function_configuration(
                FunctionName=name, Environment={"Variables": env}
            )
            self.calls.append(f"restore environment {name}")
            self.wait_updated(name)
        if self.original_alias is not None:
            name = self.outputs["function_names"][SNAPSTART]
            self.client.update_alias(
                FunctionName=name,
                Name=self.outputs["snapstart_alias_name"],
                FunctionVersion=self.original_alias,
            )
            self.calls.append(f"restore alias -> {self.original_alias}")
            for version in self.published:
                self.client.delete_function(FunctionName=name, Qualifier=version)
                self.calls.append(f"delete version {version}")
        self.original_env.clear()
        self.original_alias = None
        self.published.clear()
