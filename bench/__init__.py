"""Benchmarks: `python -m bench.<name>` (each prints its own figures)."""
