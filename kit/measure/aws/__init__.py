"""Benchmarks of a deployed stack: outputs, REPORT lines, cold starts, the run (``kit aws``)."""
