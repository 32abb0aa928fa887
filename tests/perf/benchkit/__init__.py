"""The platform benchmark (`make bench`): helpers and scenarios behind tests/perf/bench.py."""
