"""Benchmarks of Trellis's hot paths, each printed as a ratio against a baseline run in the same
process (see bench/README.md). Run them with `python bench/run.py`."""
