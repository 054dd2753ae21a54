"""Failures of the benchmark harness, one subclass per kind."""


class PerfError(Exception):
    """Root of every error the harness raises."""


class ConfigError(PerfError):
    """A bad option: unknown size, empty concurrency list, budget too small."""


class ServiceStartError(PerfError):
    """A service under test (baseline, gateway) did not come up."""


class MeasurementError(PerfError):
    """A measurement produced no usable result (perf_analyzer failed, every request failed)."""
