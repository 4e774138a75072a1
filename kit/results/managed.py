"""What a Lambda Managed Instances variant ran on (``VariantSetup.managed``)."""

from __future__ import annotations

from typing import Annotated

from audio_inference.settings import (
    MANAGED_ENVIRONMENTS,
    MANAGED_GIB_PER_VCPU,
    MANAGED_MAX_CONCURRENCY,
    MANAGED_MAX_VCPUS,
)
from pydantic import BaseModel, ConfigDict, Field, model_validator


class ManagedSetup(BaseModel):
    """The capacity provider and execution environments of a ``managed`` variant."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    memory_gib_per_vcpu: Annotated[int, Field(ge=min(MANAGED_GIB_PER_VCPU), le=8)]
    vcpus: Annotated[int, Field(ge=1, le=64)]
    """vCPUs of one execution environment (its memory over the ratio)."""
    max_concurrency: Annotated[
        int, Field(ge=MANAGED_MAX_CONCURRENCY[0], le=MANAGED_MAX_CONCURRENCY[1])
    ]
    """Requests one environment runs at once, one process each."""
    min_environments: Annotated[int, Field(ge=MANAGED_ENVIRONMENTS[0], le=MANAGED_ENVIRONMENTS[1])]
    max_environments: Annotated[int, Field(ge=1, le=MANAGED_ENVIRONMENTS[1])]
    max_vcpus: Annotated[int, Field(ge=MANAGED_MAX_VCPUS[0], le=MANAGED_MAX_VCPUS[1])]
    """The capacity provider's MaxVCpuCount."""
    nat_gateways: Annotated[int, Field(ge=0, le=3)] = 1
    """NAT gateways of the stack's own VPC (0: your own subnets)."""

    @model_validator(mode="after")
    def _ordered(self) -> ManagedSetup:
        if self.min_environments > self.max_environments:
            raise ValueError("min_environments is above max_environments")
        return self

    @property
    def threads(self) -> int:
        """onnxruntime threads per request process (processes x threads <= vCPUs)."""
        from audio_inference.settings import model_threads

        return model_threads(self.vcpus, self.max_concurrency)
