"""What the cost figures leave out, each with an estimate of its size.

These prices are from AWS's public pricing pages and not verified here; none of them is
in ``pricing.json`` because none changes which option is cheapest at the kit's sizes (the
estimates below say by how much). CloudWatch Logs ingestion is priced (``pricing.json``:
``log_bytes_per_invocation`` x ``cloudwatch_logs_ingest_gb``).
"""

from __future__ import annotations

from .pricing import Pricing

SAGEMAKER_DATA_GB = 0.016
"""SageMaker real-time inference, data processed in and out, per GB each way (unverified)."""
EPHEMERAL_GB_S = 0.0000000309
"""Lambda ephemeral storage above the free 512 MB, per GB-second (unverified)."""
ECR_GB_MONTH = 0.10
"""ECR private repository storage, per GB-month (unverified)."""
KEPT_IMAGES = 10
"""Images each repository keeps (components/_images.py's lifecycle policy)."""


def unpriced_lines(pricing: Pricing, upload_bytes: int | None = None) -> list[str]:
    """One line per cost left out or priced on an estimate, with its size."""
    log_b = pricing.price("log_bytes_per_invocation")
    log_gb = pricing.price("cloudwatch_logs_ingest_gb")
    upload = upload_bytes or 1_000_000
    data = 2 * upload / 1e9 * SAGEMAKER_DATA_GB * 1e6  # in (the audio) and out, roughly
    return [
        f"CloudWatch Logs ingestion is priced at {log_b:,.0f} B per invocation and "
        f"${log_gb:g}/GB (${log_b / 1e9 * log_gb * 1e6:,.2f} per million invocations; both "
        "unverified: put your own figures in --prices as log_bytes_per_invocation and "
        "cloudwatch_logs_ingest_gb).",
        f"Not priced: SageMaker real-time data processing (${SAGEMAKER_DATA_GB}/GB in and out, "
        f"unverified): about ${data:,.2f} per million requests for "
        + (f"uploads of {upload:,} bytes (the run's largest)" if upload_bytes else "1 MB uploads")
        + ".",
        f"Not priced: Lambda ephemeral storage above the free 512 MB (${EPHEMERAL_GB_S}/GB-s, "
        "unverified); the stack keeps 512 MB unless ephemeralStorageMb is set: 10 GB would add "
        f"${9.5 * 0.1 * 1e6 * EPHEMERAL_GB_S:,.2f} per million 100 ms invocations.",
        f"Not priced: ECR storage (${ECR_GB_MONTH:.2f}/GB-month, unverified) for the container "
        f"and SageMaker images, at most {KEPT_IMAGES} kept per repository: a 400 MB image costs "
        f"at most ${0.4 * KEPT_IMAGES * ECR_GB_MONTH:,.2f} a month.",
    ]
