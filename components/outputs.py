"""The stack's output names, defined once: ``__main__.py`` exports them, ``kit aws`` reads them.

``REQUIRED`` are exported by every stack; ``PER_VARIANT`` lists what a variant
adds. Nothing here imports pulumi.
"""

from __future__ import annotations

from audio_inference.settings import HTTP, MANAGED, SAGEMAKER, SNAPSTART

REGION = "region"
BUCKET_NAME = "bucket_name"
TABLE_NAME = "table_name"
FAILURE_QUEUE_URL = "failure_queue_url"
MODEL_S3_URI = "model_s3_uri"
MODEL_SHA256 = "model_sha256"
VARIANTS = "variants"
ARCHITECTURE = "architecture"
MEMORY_MB = "memory_mb"
"""Per variant: the function's memory (the proxy's for sagemaker)."""
TIMEOUT_SECONDS = "timeout_seconds"
UPLOAD_PREFIXES = "upload_prefixes"
PROVISIONED_CONCURRENCY = "provisioned_concurrency"
"""Per variant: environments kept initialized (only variants that have some)."""
TARGET_ARNS = "target_arns"
FUNCTION_NAMES = "function_names"
LOG_GROUP_NAMES = "log_group_names"
FUNCTION_URLS = "function_urls"
SNAPSTART_ALIAS_ARN = "snapstart_alias_arn"
SNAPSTART_ALIAS_NAME = "snapstart_alias_name"
ENDPOINT_NAME = "endpoint_name"
SAGEMAKER_INSTANCE_TYPE = "sagemaker_instance_type"
"""The real-time instance type, or "serverless"."""
SAGEMAKER_INSTANCE_COUNT = "sagemaker_instance_count"
SAGEMAKER_SERVERLESS_MEMORY_MB = "sagemaker_serverless_memory_mb"
SAGEMAKER_SERVERLESS_MAX_CONCURRENCY = "sagemaker_serverless_max_concurrency"
ENDPOINT_LOG_GROUP_NAME = "endpoint_log_group_name"
MANAGED_SETUP = "managed"
"""The managed variant's capacity: instance_type, architecture, memory_gib_per_vcpu, vcpus (of
one environment), max_concurrency, min_environments, max_environments, max_vcpus,
nat_gateways and capacity_provider_arn."""

SERVERLESS = "serverless"
"""The value of SAGEMAKER_INSTANCE_TYPE when the endpoint is SageMaker Serverless."""

REQUIRED = (
    REGION,
    BUCKET_NAME,
    TABLE_NAME,
    VARIANTS,
    ARCHITECTURE,
    TIMEOUT_SECONDS,
    PROVISIONED_CONCURRENCY,
    FUNCTION_NAMES,
    LOG_GROUP_NAMES,
    MEMORY_MB,
)
PER_VARIANT = {
    SNAPSTART: (SNAPSTART_ALIAS_NAME,),
    SAGEMAKER: (
        ENDPOINT_NAME,
        SAGEMAKER_INSTANCE_TYPE,
        SAGEMAKER_INSTANCE_COUNT,
        SAGEMAKER_SERVERLESS_MEMORY_MB,
        SAGEMAKER_SERVERLESS_MAX_CONCURRENCY,
    ),
    HTTP: (FUNCTION_URLS,),
    MANAGED: (MANAGED_SETUP,),
}
