"""Benchmarks: measured against a baseline in the same run, never timed in unit tests."""
