"""Benchmarks: `make bench` (all) or `python -m bench NAME [options]` (one). Results in README.md."""
