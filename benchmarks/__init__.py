"""Benchmarks run by ``make bench``: each prints its figures and a ratio against a peer
measured in the same run. They are never timed tests."""
