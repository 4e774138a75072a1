"""Settings of the ``managed`` variant (Lambda Managed Instances), checked before anything runs.

Read by components.config (no pulumi import here). The rules come from botocore's lambda
model (ranges of MaxVCpuCount, PerExecutionEnvironmentMaxConcurrency, the memory per vCPU
ratio, FunctionScalingConfig) and from AWS's Lambda Managed Instances guide (2 GB and 1 vCPU
minimum; three instances launched by default for AZ resiliency; general purpose, compute
optimized and memory optimized families).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from audio_inference.settings import (
    DEFAULT_MANAGED_GIB_PER_VCPU,
    DEFAULT_MANAGED_MAX_CONCURRENCY,
    DEFAULT_MANAGED_MAX_ENVIRONMENTS,
    DEFAULT_MANAGED_MAX_VCPUS,
    DEFAULT_MANAGED_MEMORY_MB,
    DEFAULT_MANAGED_MIN_ENVIRONMENTS,
    MANAGED_ENVIRONMENTS,
    MANAGED_GIB_PER_VCPU,
    MANAGED_INSTANCES_AT_START,
    MANAGED_MAX_CONCURRENCY,
    MANAGED_MAX_VCPUS,
    MANAGED_MEMORY_MB,
    MANAGED_RESERVED_GIB,
    MANAGED_RESERVED_VCPUS,
    environments_per_instance,
    managed_vcpus,
    model_threads,
)

INSTANCE_TYPE = re.compile(
    r"^(?P<family>[cmr])(?P<generation>[5-8])(?P<extra>[a-z]*)\.(?P<size>\w+)$"
)
"""General purpose (m), compute optimized (c) and memory optimized (r), generations 5-8."""
TOO_SMALL = ("nano", "micro", "small", "medium")


class ManagedSettingsError(ValueError):
    """A managed-variant setting is invalid; the message names it and says how to fix it."""


def instance_vcpus(instance_type: str) -> int | None:
    """vCPUs of a c/m/r instance from its size (large 2, xlarge 4, Nxlarge 4N; EC2's naming
    for these families), None for metal and anything else."""
    found = INSTANCE_TYPE.match(instance_type)
    size = found["size"] if found else ""
    if size == "large":
        return 2
    multiple = re.fullmatch(r"(\d*)xlarge", size)
    return 4 * int(multiple[1] or 1) if multiple else None


GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8}
"""Memory per vCPU of compute (c), general purpose (m) and memory optimized (r) instances."""


def instance_memory_gib(instance_type: str) -> float | None:
    """Memory of a c/m/r instance from its family and vCPUs (c 2, m 4, r 8 GiB per vCPU;
    variants with more, such as c5n, are counted at their family's ratio)."""
    found = INSTANCE_TYPE.match(instance_type)
    vcpus = instance_vcpus(instance_type)
    return None if found is None or vcpus is None else float(vcpus * GIB_PER_VCPU[found["family"]])


def architecture_of(instance_type: str) -> str:
    """arm64 for Graviton families (c7g, m7gd, r8g, ...), x86_64 otherwise."""
    found = INSTANCE_TYPE.match(instance_type)
    return "arm64" if found and found["extra"].startswith("g") else "x86_64"


@dataclass(frozen=True, kw_only=True)
class ManagedSettings:
    """The capacity provider and function settings of the managed variant."""

    instance_type: str
    memory_mb: int
    memory_gib_per_vcpu: int
    max_concurrency: int
    """Requests one execution environment runs at once (one Python process each)."""
    max_vcpus: int
    """The capacity provider's MaxVCpuCount: the most vCPUs its instances may have together."""
    min_environments: int
    max_environments: int
    subnet_ids: tuple[str, ...] = field(default_factory=tuple)
    """Your private subnets; empty: the stack creates a VPC (3 AZs, NAT gateway)."""
    security_group_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def architecture(self) -> str:
        """The one architecture of the capacity provider and the function (from the type)."""
        return architecture_of(self.instance_type)

    @property
    def vcpus(self) -> int:
        """vCPUs of one execution environment."""
        return managed_vcpus(self.memory_mb, self.memory_gib_per_vcpu)

    @property
    def threads(self) -> int:
        """onnxruntime threads per request process (processes x threads <= vCPUs)."""
        return model_threads(self.vcpus, self.max_concurrency)

    @property
    def environments_per_instance(self) -> int:
        """Environments one instance holds after its OS reservation (0: none fits)."""
        vcpus, gib = instance_vcpus(self.instance_type), instance_memory_gib(self.instance_type)
        if vcpus is None or gib is None:
            return 1  # metal or an unknown size: at least the one Lambda would place
        return environments_per_instance(vcpus, gib, self.vcpus, self.memory_mb)

    def recorded(self) -> dict[str, int]:
        """What a results file records of these settings (``kit.results.ManagedSetup``)."""
        return {
            "memory_gib_per_vcpu": self.memory_gib_per_vcpu,
            "vcpus": self.vcpus,
            "max_concurrency": self.max_concurrency,
            "min_environments": self.min_environments,
            "max_environments": self.max_environments,
            "max_vcpus": self.max_vcpus,
            "nat_gateways": 1 if self.creates_network else 0,
        }

    @property
    def creates_network(self) -> bool:
        """Whether the stack creates the VPC, subnets, NAT gateway and security group."""
        return not self.subnet_ids


def _ids(key: str, raw: Any, prefix: str) -> tuple[str, ...]:
    if isinstance(raw, str) and raw.strip().startswith("["):
        import json

        try:
            raw = json.loads(raw)
        except ValueError:
            raise ManagedSettingsError(f"{key}={raw!r} is not a JSON list") from None
    elif isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ManagedSettingsError(
            f"{key}={raw!r} must be a list of {prefix}... ids; "
            f"set it with `pulumi config set {key} {prefix}aaa,{prefix}bbb`"
        )
    bad = [v for v in raw if not re.fullmatch(rf"{prefix}[0-9a-f]{{8,17}}", v)]
    if bad:
        raise ManagedSettingsError(
            f"{key}: {', '.join(map(repr, bad))} is not a {prefix}... id "
            f"(e.g. {prefix}0123456789abcdef0)"
        )
    return tuple(raw)


def load_managed(
    value: Callable[[str], Any],
    int_range: Callable[[str, Any, int, int, int], int],
    known_types: frozenset[str],
) -> ManagedSettings:
    """Read and check the managed settings; ``value(key)`` gives the stack's or the default."""
    instance_type = str(value("managedInstanceType"))
    found = INSTANCE_TYPE.match(instance_type)
    if instance_type not in known_types or not found or found["size"] in TOO_SMALL:
        raise ManagedSettingsError(
            f"managedInstanceType={instance_type!r} is not an EC2 type Lambda Managed Instances "
            "runs on (general purpose m, compute optimized c or memory optimized r, generation "
            "5-8, size large or larger); e.g. `pulumi config set managedInstanceType c7g.large`"
        )
    ratio = int_range(
        "managedMemoryGibPerVcpu",
        value("managedMemoryGibPerVcpu"),
        2,
        8,
        DEFAULT_MANAGED_GIB_PER_VCPU,
    )
    if ratio not in MANAGED_GIB_PER_VCPU:
        raise ManagedSettingsError(
            f"managedMemoryGibPerVcpu={ratio} must be one of "
            f"{', '.join(map(str, MANAGED_GIB_PER_VCPU))} (GiB of memory per vCPU); "
            "fix it with `pulumi config set managedMemoryGibPerVcpu 2`"
        )
    memory = int_range(
        "managedMemoryMb", value("managedMemoryMb"), *MANAGED_MEMORY_MB, DEFAULT_MANAGED_MEMORY_MB
    )
    if memory % (1024 * ratio):
        raise ManagedSettingsError(
            f"managedMemoryMb={memory} must be a whole number of vCPUs at "
            f"{ratio} GiB per vCPU (a multiple of {1024 * ratio}); "
            f"fix it with `pulumi config set managedMemoryMb {1024 * ratio}`"
        )
    settings = ManagedSettings(
        instance_type=instance_type,
        memory_mb=memory,
        memory_gib_per_vcpu=ratio,
        max_concurrency=int_range(
            "managedMaxConcurrency",
            value("managedMaxConcurrency"),
            *MANAGED_MAX_CONCURRENCY,
            DEFAULT_MANAGED_MAX_CONCURRENCY,
        ),
        max_vcpus=int_range(
            "managedMaxVcpus",
            value("managedMaxVcpus"),
            *MANAGED_MAX_VCPUS,
            DEFAULT_MANAGED_MAX_VCPUS,
        ),
        min_environments=int_range(
            "managedMinEnvironments",
            value("managedMinEnvironments"),
            *MANAGED_ENVIRONMENTS,
            DEFAULT_MANAGED_MIN_ENVIRONMENTS,
        ),
        max_environments=int_range(
            "managedMaxEnvironments",
            value("managedMaxEnvironments"),
            1,
            MANAGED_ENVIRONMENTS[1],
            DEFAULT_MANAGED_MAX_ENVIRONMENTS,
        ),
        subnet_ids=_ids("vpcSubnetIds", value("vpcSubnetIds") or [], "subnet-"),
        security_group_ids=_ids("vpcSecurityGroupIds", value("vpcSecurityGroupIds") or [], "sg-"),
    )
    if settings.min_environments > settings.max_environments:
        raise ManagedSettingsError(
            f"managedMinEnvironments={settings.min_environments} is above "
            f"managedMaxEnvironments={settings.max_environments}; lower the first or raise the second"
        )
    if bool(settings.subnet_ids) != bool(settings.security_group_ids):
        raise ManagedSettingsError(
            "vpcSubnetIds and vpcSecurityGroupIds go together: set both to use your own VPC "
            "(private subnets with a route to a NAT gateway), or neither to let the stack create one"
        )
    if len(settings.subnet_ids) > 16 or len(settings.security_group_ids) > 5:
        raise ManagedSettingsError(
            "vpcSubnetIds takes at most 16 subnets and vpcSecurityGroupIds at most 5 groups "
            "(CreateCapacityProvider's limits)"
        )
    per_instance = instance_vcpus(instance_type)
    if per_instance is not None:
        if not settings.environments_per_instance:
            raise ManagedSettingsError(
                f"managedMemoryMb={memory} at {ratio} GiB per vCPU is an environment of "
                f"{settings.vcpus} vCPU(s) and {memory} MB, and a {instance_type} has "
                f"{per_instance} vCPUs and {instance_memory_gib(instance_type):g} GiB of which "
                f"it keeps {MANAGED_RESERVED_VCPUS} vCPU and {MANAGED_RESERVED_GIB} GiB for "
                "itself; choose a larger managedInstanceType or less memory"
            )
        if settings.max_vcpus < MANAGED_INSTANCES_AT_START * per_instance:
            raise ManagedSettingsError(
                f"managedMaxVcpus={settings.max_vcpus} cannot hold the {MANAGED_INSTANCES_AT_START} "
                f"{instance_type} instances ({per_instance} vCPUs each) Lambda launches first; "
                "fix it with `pulumi config set managedMaxVcpus "
                f"{MANAGED_INSTANCES_AT_START * per_instance * 2}`"
            )
    return settings
