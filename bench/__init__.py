"""Benchmarks of the DLXH intake service (see bench/README.md)."""
