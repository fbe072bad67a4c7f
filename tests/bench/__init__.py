"""Benchmarks (`make bench`, `python -m tests.bench`): figures and targets, not timed tests."""
