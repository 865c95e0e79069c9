"""Helpers shared by the tests and the benchmarks: a gunicorn on a free port, synthetic posts."""
