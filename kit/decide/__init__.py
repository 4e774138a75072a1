"""Deciding: cost, traffic simulation and the report, computed from results files."""
