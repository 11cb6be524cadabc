"""The benchmarks: a development tool run from the repository (`make bench`), never installed."""
