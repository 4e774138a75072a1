"""Benchmarks of a deployed stack: outputs, REPORT lines, cold starts, the run, the memory sweep."""

from .cold import NONCE_VARIABLE, ColdStarts
from .outputs import BenchError, Clients, check_outputs, load_outputs, variant_memory
from .reports import fetch_reports, parse_report
from .run import AwsRun, Workload
from .tune import sweep

__all__ = [
    "NONCE_VARIABLE",
    "AwsRun",
    "BenchError",
    "Clients",
    "ColdStarts",
    "Workload",
    "check_outputs",
    "fetch_reports",
    "load_outputs",
    "parse_report",
    "sweep",
    "variant_memory",
]
