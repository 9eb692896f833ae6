"""Benchmarks of the system against bare loops and single-process tf-agents SAC (./bench.sh)."""
