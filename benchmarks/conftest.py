"""Fixtures shared by the pytest-benchmark suites (``benchmarks/bench_*.py``).

Sizes: ``KALIB_BENCH_SIZES`` (default ``1e3,1e5``, so that a direct
``pytest benchmarks/`` stays quick); ``make bench`` (run_bench.py) runs the
nightly set ``1e3,1e5,1e6``. The ``workload`` fixture is parametrized over
them, so test ids end in ``[1e3]``, ``[1e5]``, ``[1e6]``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # workloads, kalib_tasks; the repository

from workloads import make_workload, selected_sizes  # noqa: E402

SIZES = selected_sizes()
SLOW = 0.2  # seconds per call above which a benchmark gets 3 plain rounds


@pytest.fixture(scope="session", params=list(SIZES.values()), ids=list(SIZES))
def workload(request):
    """The seeded workload of each selected size (shared, read-only)."""
    return make_workload(request.param)


@pytest.fixture(scope="session")
def workload_1e3():
    """The n = 1e3 workload, for suites that only make sense at survey size."""
    return make_workload(1_000)


def measure(benchmark, workload, function, *args, **kwargs):
    """Benchmark ``function(*args, **kwargs)``, tagging the result with n.

    One untimed call first: when it takes more than ``SLOW`` seconds (n = 1e6,
    replicate suites), 3 rounds of one call replace pytest-benchmark's own
    calibration, which would otherwise spend minutes on such calls.
    """
    benchmark.extra_info["n"] = workload.n
    start = time.perf_counter()
    function(*args, **kwargs)
    if time.perf_counter() - start > SLOW:
        return benchmark.pedantic(function, args=args, kwargs=kwargs, rounds=3,
                                  iterations=1, warmup_rounds=0)
    return benchmark(function, *args, **kwargs)
