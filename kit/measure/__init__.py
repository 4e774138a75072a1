"""Measuring: the local emulator and a deployed stack produce a results file (``kit.results``)."""
