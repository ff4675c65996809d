"""Evaluation: datasets, grid, judge, automatic checks and report (never imported by the service)."""
